"""publish-npm: `npm publish` with trusted publishing (OIDC) instead of an `NODE_AUTH_TOKEN` secret.

The step's `NODE_AUTH_TOKEN` goes; `actions/setup-node` keeps writing the `.npmrc` (with its placeholder
token), and in CI the npm CLI tries OIDC first and uses the short-lived token it gets. npm needs
npm ≥ 11.5.1 on Node ≥ 22.14: when the job's Node is older or unknown we insert a pinned
`actions/setup-node` (Node 24, which bundles npm 11) right before the publishing step, so earlier steps
keep their Node. Provenance is automatic with trusted publishing, so no `--provenance` is added.
Refused: self-hosted or unrecognised runners, yarn/pnpm publish, registries other than npmjs.com.
GitHub Packages (`registry-url: https://npm.pkg.github.com`) with a stored token takes the job's
GITHUB_TOKEN with `packages: write` instead, whatever client publishes (the GHCR rule for npm).
"""

from __future__ import annotations

import json
import re
from typing import Any

from transforms import publishing as pub
from transforms import publishing_explain as pubx
from transforms.base import Context, Finding
from transforms.model import Job, Step, Workflow
from transforms.oidc_plan import old_secrets, one_secret
from transforms.yamldoc import Doc
from transforms.yamledit import DeleteKey, Op, ReplaceValue

ID = "publish-npm"
SETUP = "actions/setup-node"
NPMJS = re.compile(r"^https?://registry\.npmjs\.org/?$", re.I)
GITHUB_PACKAGES = re.compile(r"^https?://npm\.pkg\.github\.com/?$", re.I)
NODE = 24  # bundles npm 11 (≥ 11.5.1 from 24.5.0); Node 22 still ships npm 10
ALIASES_OK = {"latest", "current", "node", "lts/*", "lts/krypton"}
OTHER_CLIENTS = {"yarn": "yarn", "pnpm": "pnpm", "bun": "bun"}


def node_ok(spec: Any) -> bool:
    """True when setup-node's `node-version` resolves to a Node ≥ 22.14 that bundles npm ≥ 11.5.1."""
    text = str(spec).strip().lower()
    if text in ALIASES_OK:
        return True
    m = re.fullmatch(r"v?(\d+)(?:\.(x|\d+))?(?:\.(x|\d+))?", text)
    if not m:
        return False
    major, minor = int(m.group(1)), m.group(2)
    return major >= 25 or (major == 24 and (minor in (None, "x") or int(minor) >= 5))


def _publishes(step: Step) -> tuple[list[str], list[str]]:
    """(npm publish commands, other clients' publish commands) of a step."""
    npm, other = [], []
    for cmd in pub.run_commands(step):
        words = cmd[1:] if cmd[:1] == ["npx"] else cmd
        if len(words) >= 2 and words[0] == "npm" and words[1] == "publish" and "--dry-run" not in words:
            npm.append(" ".join(words))
        elif words[:1] and words[0] in OTHER_CLIENTS and "publish" in words[1:3] and "--dry-run" not in words:
            other.append(" ".join(words[:3]))
    return npm, other


def _match(doc: Doc, wf: Workflow, job: Job, step: Step, ctx: Context) -> pub.Site | None:
    if step.run is None:
        return None
    npm, other = _publishes(step)
    if not npm and not other:
        return None
    var = next((v for n in ("NODE_AUTH_TOKEN", "NPM_TOKEN", "NPM_AUTH_TOKEN")
                if (v := pub.find_env(wf, job, step, n)) is not None and pub.secret_refs(v.value)), None)
    if var is None:
        return None  # no token, or the GITHUB_TOKEN (GitHub Packages): nothing to migrate
    setup = pub.setup_step(job, step, SETUP)
    registry = str(setup.with_.get("registry-url", "")) if setup else ""
    site = pub.Site(step, "", secrets=pub.secret_refs(var.value), removed={(*var.owner, "env", var.name)},
                    extra={"registry_url": registry or "(none)", "node": _node_shown(setup)})
    if GITHUB_PACKAGES.match(registry):
        return _github_packages(site, var, ctx)
    site.refusal = _refusal(job, var, npm, other, registry)
    if site.refusal is None:
        _ops(doc, job, step, site, var, setup)
    return site


def _github_packages(site: pub.Site, var: pub.EnvVar, ctx: Context) -> pub.Site:
    """GitHub Packages takes the job's own GITHUB_TOKEN (any client reads the .npmrc): no OIDC, no registration."""
    site.extra["github_packages"] = True
    site.refusal = _packages_refusal(site.step, var, ctx)
    if site.refusal is None:
        site.ops = [ReplaceValue((*var.owner, "env", var.name), "${{ secrets.GITHUB_TOKEN }}")]
        site.grant = {"packages": "write"}
        site.change = "NODE_AUTH_TOKEN becomes the job's GITHUB_TOKEN (GitHub Packages), with `packages: write`"
    return site


def _token_refusal(var: pub.EnvVar, registry: str, advice: str) -> str | None:
    """The token must be setup-node's NODE_AUTH_TOKEN of this job: the only .npmrc credential we manage."""
    if var.name != "NODE_AUTH_TOKEN":
        return f"the token reaches {registry} through `{var.name}` (an .npmrc this workflow does not manage); {advice}"
    if var.level == "workflow":
        return "NODE_AUTH_TOKEN is set in the workflow-level `env:` that every job shares; move it to the job first"
    return None


def _packages_refusal(step: Step, var: pub.EnvVar, ctx: Context) -> str | None:
    why = _token_refusal(var, "the registry", "migrate by hand")
    if why:
        return why
    if one_secret(var.value) is None:
        return "NODE_AUTH_TOKEN is more than one `${{ secrets.X }}`; migrate by hand"
    scope = _package_scope(step, ctx)
    owner = (ctx.repo or "").split("/")[0]
    if scope and owner and scope.lower() != owner.lower():
        return (f"package.json names the scope `@{scope}`, not this repository's owner `{owner}`; the "
                "GITHUB_TOKEN can only publish packages of the repository's owner")
    return None


def _package_scope(step: Step, ctx: Context) -> str:
    """The `@scope` of the package.json the step publishes, when the checkout shows it ("" otherwise)."""
    folder = step.data.get("working-directory")
    text = ctx.read(f"{folder.strip('/')}/package.json" if isinstance(folder, str) else "package.json")
    try:
        name = json.loads(text).get("name", "") if text else ""
    except (ValueError, AttributeError):
        return ""
    return name[1:].split("/", 1)[0] if isinstance(name, str) and name.startswith("@") else ""


def _node_shown(setup: Step | None) -> str:
    if setup is None:
        return "runner default"
    w = setup.with_
    return str(w.get("node-version") or (f"from {w['node-version-file']}" if "node-version-file" in w else "default"))


def _refusal(job: Job, var: pub.EnvVar, npm: list[str], other: list[str], registry: str) -> str | None:
    if other:
        return (f"`{other[0]}`: npm trusted publishing covers only the npm CLI (`npm publish`); "
                "publish with `npm publish` first")
    why = _token_refusal(var, "npm", "use actions/setup-node `registry-url` and migrate by hand")
    if why:
        return why
    if not registry:
        return "no actions/setup-node `registry-url` before this step, so the token's .npmrc is not one we manage"
    if not NPMJS.match(registry):
        return f"it publishes to `{registry}`; trusted publishing is an npmjs.com (registry.npmjs.org) feature"
    where = pub.hosted(job)
    if where is False:
        return "the job runs on a self-hosted runner; npm trusted publishing supports only GitHub-hosted runners"
    if where is None:
        return (f"cannot tell that `runs-on: {job.runs_on}` is a GitHub-hosted runner; "
                "npm trusted publishing supports only GitHub-hosted runners")
    return None


def _ops(doc: Doc, job: Job, step: Step, site: pub.Site, var: pub.EnvVar, setup: Step | None) -> None:
    deleted = pub.delete_env(doc, var)
    if isinstance(deleted, str):
        site.refusal = deleted
        return
    site.ops = deleted
    site.change = "drop NODE_AUTH_TOKEN: npm publishes with trusted publishing (OIDC)"
    if setup is not None and "always-auth" in setup.with_:
        # Only meaningful with a token (it sends it on installs too); zizmor reports it as a manual credential.
        site.ops.append(DeleteKey((*setup.path, "with"), "always-auth"))
        site.change += "; drop setup-node `always-auth`"
    version = setup.with_.get("node-version") if setup else None
    if version is not None and node_ok(version) and "node-version-file" not in (setup.with_ if setup else {}):
        return
    value, comments = pub.action_step(SETUP, f"Use Node {NODE} for npm trusted publishing", step,
                                      {"node-version": NODE, "package-manager-cache": False})
    comments = {**comments, ("with", "node-version"): "trusted publishing needs Node >= 22.14 and npm >= 11.5.1"}
    site.ops.append(pub.insert_before(job, step, value, comments))
    site.change += f"; switch to Node {NODE} just before publishing (the job's Node is {_node_shown(setup)})"


class PublishNpm:
    id = ID
    summary = ("Publish to npm with trusted publishing (OIDC), to GitHub Packages with the GITHUB_TOKEN, "
               "instead of a stored token.")
    # Only files mentioning one of these can match: npm publish, other clients' publish, NODE_AUTH_TOKEN.
    requires_text = ("npm", "publish", "node_auth_token")
    safe = False  # the package must name this workflow as its trusted publisher on npmjs.com first
    intended = ("jobs.*.steps", "jobs.*.env", "jobs.*.permissions")

    def detect(self, doc: Doc, ctx: Context) -> list[Finding]:
        return [f for f, _ in pub.plan(doc, ctx, ID, "npm", _match)]

    def apply(self, doc: Doc, ctx: Context, findings: list[Finding]) -> list[Op]:
        return pub.chosen_ops(pub.plan(doc, ctx, ID, "npm", _match), findings)

    def explain(self, findings: list[Finding]) -> str:
        packages = [f for f in findings if f.data.get("github_packages")]
        npmjs = [f for f in findings if not f.data.get("github_packages")]
        return (_explain_npmjs(npmjs) if npmjs else "") + (_explain_packages(packages) if packages else "")


def _explain_npmjs(findings: list[Finding]) -> str:
    fields = [
        *pubx.publisher_fields("Organization or user", "Repository", "Workflow filename", "Environment name"),
        ("Allowed actions", lambda f: "`npm publish`"),
    ]
    moved = any(f.fixable and "Node 24" in f.data.get("change", "") for f in findings)
    after = [
        *(["`npm publish` now runs on Node 24 (a step inserted right before it): check that the package's "
           "`prepublishOnly`/`prepack`/`prepare` scripts work there."] if moved else []),
        "The package must already exist on npmjs.com (the first publish is manual), and `package.json` "
        "`repository.url` must match this repository exactly.",
        "Then set Publishing access to \"Require two-factor authentication and disallow tokens\".",
        "Installs of private packages still need a read-only token; only `npm publish` uses OIDC.",
        "Provenance is generated automatically for public packages from public repositories.",
    ]
    return pubx.registration(findings, "npm trusted publishing",
                            "npmjs.com → the package → Settings → Trusted Publisher → GitHub Actions",
                            fields, after)


def _explain_packages(findings: list[Finding]) -> str:
    """GitHub Packages: no registration, only the package's access settings and the old token to revoke."""
    fixed = [f for f in findings if f.fixable]
    lines = ["### GitHub Packages (npm): stored token -> the job's GITHUB_TOKEN", ""]
    lines += [f"- {f.message}" for f in fixed]
    if fixed:
        olds, kept = old_secrets(fixed)
        lines += ["", "**Before merging**: nothing to federate. A package first published with a personal token "
                  "must let this repository write to it (the package's settings -> Manage Actions access -> add "
                  "the repository with the Write role); a package this workflow creates is linked to the "
                  "repository by itself. The GITHUB_TOKEN publishes only packages whose scope is the "
                  "repository's owner.", ""]
        if olds:
            lines += [f"**After merging** and one green publish, delete {', '.join(f'`{s}`' for s in olds)} and "
                      "revoke the personal token."]
        lines += [f"**Keep** `{s}` for now: {where} still reads it." for s, where in sorted(kept.items())]
        lines += ["", "**Roll back**: revert this commit; the old token keeps working until you revoke it.", ""]
    refused = [f for f in findings if not f.fixable]
    lines += ["**Left unchanged:**", "", *(f"- {f.message}" for f in refused), ""] if refused else []
    return "\n".join(lines)
