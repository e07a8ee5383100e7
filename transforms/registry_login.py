"""registry-login: `docker/login-action` with a password from secrets -> short-lived credentials.

- GAR / GCR (`*-docker.pkg.dev`, `gcr.io`) with `_json_key`: a pinned `auth` step (Workload
  Identity Federation, `token_format: access_token`) before the login, which then uses
  `oauth2accesstoken` and the step's access token.
- ACR (`*.azurecr.io`): a pinned OIDC `azure/login` before the login step, which becomes
  `az acr login --name <registry>` in place (same name and condition; the registry name reaches
  the script through `env:`, never through the script text).
- GHCR with a personal token: the job's own `GITHUB_TOKEN` (`packages: write`), no OIDC needed.
- Docker Hub: an organization's OIDC connection (Docker Team/Business). docker/login-action v4.5.0+
  exchanges the job's OIDC token when `password` is absent and env `DOCKERHUB_OIDC_CONNECTIONID` is
  set; `username` becomes the organization. The step moves to a corroborated v4.6.0 pin (the snapshot
  of the action's own repository predates v4.5.0). Option `dockerhub = false` turns this off for an
  org whose Docker plan has no OIDC connections (then a note, as before). A Docker Hub
  `echo "$PW" | docker login ... --password-stdin` line in a script gets the same login as a step
  inserted before it (`registry_script`).
- ECR belongs to oidc-aws. Other registries: a note.
"""

from __future__ import annotations

import re
from typing import Any

from transforms import oidc, registry_script
from transforms.base import Context, Finding, Severity
from transforms.model import Job, Step, Workflow, load_workflow
from transforms.oidc_azure import LOGIN as AZURE_LOGIN
from transforms.oidc_azure import login_inputs, setup_lines
from transforms.oidc_gcp import AUTH
from transforms.oidc_gcp import auth_inputs as gcp_auth_inputs
from transforms.oidc_gcp import setup_lines as gcp_setup
from transforms.oidc_plan import (
    Plan,
    explain_common,
    fixable_ops,
    fresh_id,
    label,
    leftovers,
    mark_kept,
    slug,
    subjects,
    to_finding,
    with_ops,
)
from transforms.pins import known, pin, version
from transforms.yamldoc import Doc
from transforms.yamledit import DeleteKey, InsertItem, InsertKey, Op, ReplaceValue

ID = "registry-login"
ACTION = "docker/login-action"
ENV_REF = re.compile(r"\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
PACKAGES_REASON = "ghcr.io login with the GITHUB_TOKEN"
PUSH = re.compile(r"\b(docker|podman|buildah)\s+(image\s+)?push\b|--push\b|compose\s+push|\bgoreleaser\b")
PULL = re.compile(r"\b(docker|podman)\s+(pull|run|compose\s+up|compose\s+pull)\b")
PUSHING_ACTIONS = ("docker/build-push-action", "docker/bake-action", "goreleaser/goreleaser-action")


def packages_level(job: Job) -> str:
    """`read` only for a job that visibly just pulls images; anything else may push."""
    runs = " ".join(s.run or "" for s in job.steps)
    if any(slug(s) in PUSHING_ACTIONS for s in job.steps) or PUSH.search(runs):
        return "write"
    return "read" if PULL.search(runs) else "write"


def registry_of(wf: Workflow, job: Job, step: Step) -> str:
    """The registry host, with `${{ env.X }}` resolved from literal workflow/job/step env values."""
    env = {**wf.env, **job.env, **step.env}
    raw = str(step.with_.get("registry") or "docker.io")
    return ENV_REF.sub(lambda m: str(env.get(m[1], m[0])), raw).strip().removeprefix("https://")


def kind(host: str) -> str:
    host = host.split("/")[0].lower()
    if ".dkr.ecr." in host or host == "public.ecr.aws":
        return "ecr"
    if host.endswith("-docker.pkg.dev") or host == "gcr.io" or host.endswith(".gcr.io"):
        return "gar"
    if host.endswith(".azurecr.io"):
        return "acr"
    if host in DOCKER_HUB:
        return "dockerhub"
    return "ghcr" if host == "ghcr.io" else "other"


DOCKER_HUB = {"", *registry_script.DOCKER_HUB}
# docker/login-action learned Docker Hub OIDC in this release.
DOCKERHUB_OIDC = "v4.5.0"
CONNECTION_VAR = "DOCKERHUB_OIDC_CONNECTIONID"
SCRIPT_STEP = "Log in to Docker Hub"
SHA_RE = re.compile(r"[0-9a-f]{40}")


def _secret_password(step: Step) -> set[str]:
    return oidc.secret_names(step.with_.get("password", "")) if slug(step) == ACTION else set()


class _Builder:
    def __init__(self, doc: Doc, wf: Workflow, job: Job, ctx: Context) -> None:
        self.doc, self.wf, self.job, self.ctx = doc, wf, job, ctx
        self.values = oidc.Values(ctx)
        self.plan = Plan(job)
        self.removed: set[Any] = set()
        self.federated = False  # any GAR/ACR rewrite: the job needs id-token
        self.packages = ""  # the `packages:` level a GHCR rewrite needs

    def step(self, step: Step, host: str, secrets: set[str]) -> None:
        getattr(self, f"_{kind(host)}")(step, host)
        self.plan.secrets |= secrets
        self.plan.steps.append(label(step))
        self.removed |= {(*step.path, "with", "password"), (*step.path, "with", "username"), (*step.path, "with")}

    def _gar(self, step: Step, host: str) -> None:
        if str(step.with_.get("username", "")).strip() not in ("_json_key", "_json_key_base64"):
            self.plan.refused = f'step "{label(step)}" logs in to {host} without `_json_key`; migrate it by hand'
            return
        auth_id = fresh_id(self.job, "auth")
        inputs = gcp_auth_inputs(self.values, token=True)
        auth = {"name": "Authenticate to Google Cloud", "id": auth_id, "uses": pin(AUTH).uses, "with": inputs}
        self._insert(step, auth, pin(AUTH).tag)
        self._credentials(step, "oauth2accesstoken", f"${{{{ steps.{auth_id}.outputs.access_token }}}}")
        self.federated = True
        self.plan.data["gar"] = True

    def _acr(self, step: Step, host: str) -> None:
        """The login step becomes `az acr login` (it writes the docker credentials itself)."""
        if next(iter(step.data), None) == "uses":
            self.plan.refused = (f'step "{label(step)}" starts with `uses:`, so it cannot become a `run:` step in '
                                 "place; give it a `name:` first or migrate it by hand")
            return
        if not any(slug(s) == AZURE_LOGIN and s.index < step.index for s in self.job.steps):
            login = {"name": "Log in to Azure", "uses": pin(AZURE_LOGIN).uses, "with": login_inputs(self.values)}
            self._insert(step, login, pin(AZURE_LOGIN).tag)
        # The registry value goes through env, never into the script text (no template injection).
        run = {"shell": "bash", "env": {"ACR_NAME": step.with_.get("registry")},
               "run": 'az acr login --name "${ACR_NAME%%.*}"'}
        self.plan.ops += [DeleteKey(step.path, k) for k in ("uses", "with")]
        self.plan.ops += [InsertKey(step.path, k, v) for k, v in run.items() if k not in step.data]
        if "env" in step.data or "shell" in step.data:
            self.plan.refused = f'step "{label(step)}" already sets `env:` or `shell:`; migrate it by hand'
        self.federated = True
        self.plan.data["acr"] = True

    def _ghcr(self, step: Step, host: str) -> None:
        user = str(step.with_.get("username", ""))
        keep = user.strip().startswith("${{") and "github." in user and not oidc.secret_names(user)
        self._credentials(step, user if keep else "${{ github.actor }}", "${{ secrets.GITHUB_TOKEN }}")
        self.packages = packages_level(self.job)
        self.plan.data["ghcr"] = True

    def _dockerhub(self, step: Step, host: str) -> None:
        """No password: login-action trades the job's OIDC token through the org's OIDC connection."""
        env = step.data.get("env")
        if env is not None and not isinstance(env, dict):
            self.plan.refused = f'step "{label(step)}" sets `env:` from an expression; migrate it by hand'
            return
        upgrade = _login_action_upgrade(step)
        if isinstance(upgrade, str):
            self.plan.refused = upgrade
            return
        org, connection = self._dockerhub_values()
        self.plan.ops += upgrade
        self.plan.ops += with_ops(step, ["password"], {"username": org})
        if env is None:
            self.plan.ops.append(InsertKey(step.path, "env", {CONNECTION_VAR: connection}, before="with"))
        elif CONNECTION_VAR in env:
            self.plan.ops.append(ReplaceValue((*step.path, "env", CONNECTION_VAR), connection))
        else:
            self.plan.ops.append(InsertKey((*step.path, "env"), CONNECTION_VAR, connection))
        self._dockerhub_done()

    def script_login(self, login: registry_script.ScriptLogin) -> None:
        """A `docker login` line in a script: a pinned login-action step before it does the login instead."""
        org, connection = self._dockerhub_values()
        current = pin(ACTION, at_least=DOCKERHUB_OIDC)
        new = registry_script.login_step(login, SCRIPT_STEP, current.uses, org, connection, CONNECTION_VAR)
        self._insert(login.step, new, current.tag)
        self.plan.ops += registry_script.script_ops(login, SCRIPT_STEP)
        self.plan.secrets.add(login.secret)
        self.plan.steps.append(label(login.step))
        self.removed |= registry_script.removed_paths(login)
        self._dockerhub_done()

    def _dockerhub_values(self) -> tuple[str, str]:
        org = self.values.get("dockerhub_organization", "DOCKERHUB_ORGANIZATION",
                              "Docker Hub organization that owns the pushed repositories and the OIDC connection")
        connection = self.values.get("dockerhub_connection_id", CONNECTION_VAR,
                                     "ID of the organization's OIDC connection (Docker Home -> OIDC connections)")
        return org, connection

    def _dockerhub_done(self) -> None:
        self.federated = True
        self.plan.data["dockerhub"] = True
        branch = self.ctx.options.get("default_branch", "main")
        self.plan.data["subjects"] = subjects(self.wf, self.job, self.ctx.repo or "OWNER/REPO", str(branch))

    def _insert(self, before: Step, value: dict[str, Any], tag: str | None) -> None:
        comments = {("uses",): tag} if tag else {}
        self.plan.ops.append(InsertItem((*self.job.path, "steps"), before.index, value, comments=comments))

    def _credentials(self, step: Step, username: str, password: str) -> None:
        path = (*step.path, "with")
        for key, value in (("username", username), ("password", password)):
            if step.with_.get(key) != value:
                op = ReplaceValue((*path, key), value) if key in step.with_ else InsertKey(path, key, value)
                self.plan.ops.append(op)


REASONS = {"id-token": oidc.ID_TOKEN_REASON, "packages": PACKAGES_REASON}


def _login_action_upgrade(step: Step) -> list[Op] | str:
    """Move the step to a release with Docker Hub OIDC; a commit we cannot date is the owner's to move."""
    ref = step.uses.ref if step.uses else ""
    if SHA_RE.fullmatch(ref):
        known_pin = known(ACTION, ref)
        if known_pin is None:
            return (f'step "{label(step)}" pins {ACTION} to a commit ztbot cannot date; Docker Hub OIDC needs '
                    f"{DOCKERHUB_OIDC} or later: move the pin by hand")
        ref = known_pin.tag
    if len(version(ref)) == 3 and version(ref) >= version(DOCKERHUB_OIDC):
        return []
    current = pin(ACTION, at_least=DOCKERHUB_OIDC)
    return [ReplaceValue((*step.path, "uses"), current.uses, comments={(): current.tag})]


def _finish(b: _Builder) -> Plan:
    plan = b.plan
    hits = leftovers(b.wf, b.job, plan.secrets, b.removed)
    scopes = {**({"id-token": "write"} if b.federated else {}), **({"packages": b.packages} if b.packages else {})}
    grant = oidc.grant_ops(b.doc, b.wf, b.job, b.ctx, scopes, REASONS) if not hits else ""
    if hits:
        plan.refused = f"{hits[0]}; rewrite that use too, or migrate the job by hand"
    elif isinstance(grant, str):
        plan.refused = grant
    else:
        plan.ops += grant
    return plan


def plan_job(doc: Doc, wf: Workflow, job: Job, ctx: Context) -> tuple[Plan | None, list[Finding]]:
    b = _Builder(doc, wf, job, ctx)
    notes: list[Finding] = []
    refused = oidc.refusal(wf, job) or ""
    migratable = False  # a refusal matters only for a job that has a login we could have federated
    for step in job.steps:
        secrets = _secret_password(step)
        host = registry_of(wf, job, step) if secrets else ""
        if not secrets or kind(host) == "ecr":
            continue
        if kind(host) == "other" or (kind(host) == "dockerhub" and ctx.options.get("dockerhub") is False):
            notes.append(_no_federation(job, step, host))
            continue
        migratable = True
        if not refused:
            b.step(step, host, secrets)
    for login in registry_script.find(wf, job):
        if ctx.options.get("dockerhub") is False:
            notes.append(_no_federation(job, login.step, "docker.io"))
            continue
        migratable = True
        if not refused:
            b.script_login(login)
    if refused and migratable:
        b.plan.refused = refused
    if not b.plan.steps and not b.plan.refused:
        return None, notes
    b.plan.data.update(variables=b.values.variables, federated=b.federated)
    return (b.plan if b.plan.refused else _finish(b)), notes


def _no_federation(job: Job, step: Step, host: str) -> Finding:
    if host.lower() in DOCKER_HUB:
        advice = ("Docker Hub accepts GitHub OIDC only through an organization's OIDC connection: a Docker org "
                  "admin creates it, then the step uses docker/login-action v4.5.0 or later with the org name as "
                  "`username`, no `password`, env `DOCKERHUB_OIDC_CONNECTIONID` and job `id-token: write`; "
                  "ztbot leaves it to you. Until then use a token scoped to the pushed repositories and rotate it")
    else:
        advice = ("no GitHub OIDC federation is known to ztbot for this registry, so it stays: use a token scoped "
                  "to the pushed repositories, read/write only, and rotate it")
    return Finding(f"{ID}-static", f'step "{label(step)}" logs in to {host or "docker.io"} with a stored token; '
                   + advice, step.line, yaml_path=".".join(map(str, step.path)),
                   severity=Severity.NOTE, data={"job": job.id, "registry": host})


def plans(doc: Doc, ctx: Context) -> tuple[list[Plan], list[Finding]]:
    wf = load_workflow(doc)
    if wf is None:
        return [], []
    found, notes = [], []
    for job in wf.jobs:
        plan, more = plan_job(doc, wf, job, ctx)
        notes += more
        if plan is not None:
            found.append(plan)
    return mark_kept(wf, found), notes


def explain(findings: list[Finding]) -> str:
    fixed = [f for f in findings if f.fixable]
    setup: list[str] = []
    if any(f.data.get("gar") for f in fixed):
        setup += ["**Google Artifact Registry / Container Registry**: the service account the key belonged to keeps "
                  "its registry roles (`roles/artifactregistry.writer` to push); federate it as for oidc-gcp:", ""]
        setup += gcp_setup([f for f in fixed if f.data.get("gar")])
    if any(f.data.get("acr") for f in fixed):
        setup += ["", "**Azure Container Registry**: give the app registration `AcrPush` (or `AcrPull`) on the "
                  "registry; the token from `az acr login --expose-token` lasts about 3 hours.", ""]
        setup += setup_lines([f for f in fixed if f.data.get("acr")])
    hub = [f for f in fixed if f.data.get("dockerhub")]
    if hub:
        setup += ([""] if setup else []) + _dockerhub_setup(hub)
    if any(f.data.get("ghcr") for f in fixed):
        setup += ["", "**GHCR**: nothing to federate; the job's `GITHUB_TOKEN` gets `packages: write`. A package "
                  "first pushed with a personal token must grant this repository write access (package settings -> "
                  "Manage Actions access), and the token can only push to packages of this repository's owner.", ""]
    return explain_common(findings, "Container registries: stored passwords -> short-lived credentials", setup)


def _dockerhub_setup(fixed: list[Finding]) -> list[str]:
    subs = list(dict.fromkeys(s for f in fixed for s in f.data.get("subjects", [])))
    note = pin(ACTION, at_least=DOCKERHUB_OIDC)
    return [
        "**Docker Hub**: OIDC works only for a Docker **organization** on a plan with OIDC connections (Team or "
        "Business); a personal namespace cannot use it. If yours has none, do not merge: set "
        "`dockerhub = false` under `[transforms.registry-login]` in the ztbot config instead.", "",
        "1. The pushed repositories must belong to the organization (its name goes in `username`).",
        "2. An organization owner or editor creates an OIDC connection (Docker Home -> the organization -> "
        "Settings -> OIDC connections) for GitHub Actions, with a ruleset that admits only these subjects "
        "and grants push on the pushed repositories only:", "",
        *[f"   - `{s}`" for s in subs], "",
        f"3. `{ACTION}` runs at {note.tag} (Docker Hub OIDC needs {DOCKERHUB_OIDC} or later), pinned to "
        f"`{note.sha}`. "
        + (f"That commit was not read from {ACTION} itself: {note.corroborated}. Compare it with the "
           f"{note.tag} tag on github.com/{ACTION}/releases before merging." if note.corroborated else ""),
    ]


class RegistryLogin:
    id = ID
    summary = ("Log in to GAR/GCR, ACR, GHCR and Docker Hub with short-lived credentials instead of stored "
               "registry passwords.")
    # Only files mentioning one of these can match: every form is docker/login-action.
    requires_text = ("login",)
    safe = False
    intended = ("jobs.*.steps", "jobs.*.permissions", "runs.steps")

    def detect(self, doc: Doc, ctx: Context) -> list[Finding]:
        found, notes = plans(doc, ctx)
        return [_finding(p, ctx) for p in found] + notes

    def apply(self, doc: Doc, ctx: Context, findings: list[Finding]) -> list[Op]:
        return fixable_ops(plans(doc, ctx)[0], findings)

    def explain(self, findings: list[Finding]) -> str:
        return explain(findings)


def _finding(plan: Plan, ctx: Context) -> Finding:
    return to_finding(plan, ID, "a stored registry password", ctx, goal="switch to short-lived credentials")
