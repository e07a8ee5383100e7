"""oidc-vault: log `hashicorp/vault-action` in with the job's GitHub OIDC token (JWT auth).

A static Vault token (`token:`, method `token`) or an AppRole pair (`roleId`/`secretId`) becomes
`method: jwt` + `role` (org config `role`, else `vars.VAULT_ROLE`) + an explicit
`jwtGithubAudience`. The action has no default audience (action.yml) while its README claims
`sigstore`; we never rely on either. The audience defaults to the step's own `url:` value: it names
this Vault only, so a token minted for it is useless at any other relying party, and the owner binds
`bound_audiences` to the address they already know. Org config `audience` overrides it. `url`,
`secrets`, `namespace` and the other inputs stay; the auth mount `path` goes (it named the old
method's mount) unless org config `path` names the JWT mount.
"""

from __future__ import annotations

import json
from typing import Any

from transforms import oidc
from transforms.base import Context, Finding
from transforms.model import Job, Step, Workflow, load_workflow
from transforms.oidc_plan import (
    Plan,
    explain_common,
    finish,
    fixable_ops,
    label,
    mark_kept,
    one_secret,
    pin_ops,
    slug,
    subjects,
    to_finding,
    with_ops,
)
from transforms.yamldoc import Doc
from transforms.yamledit import Op

ID = "oidc-vault"
ACTION = "hashicorp/vault-action"
# method -> the inputs holding its static credential
STATIC = {"token": ("token",), "approle": ("roleId", "secretId")}


def _method(step: Step) -> str:
    return str(step.with_.get("method", "token")).strip().lower()


def _static(step: Step) -> bool:
    keys = STATIC.get(_method(step), ())
    return slug(step) == ACTION and any(k in step.with_ for k in keys)


class _Builder:
    def __init__(self, job: Job, ctx: Context) -> None:
        self.job, self.ctx = job, ctx
        self.values = oidc.Values(ctx)
        self.plan = Plan(job)
        self.removed: set[Any] = set()
        self.audiences: list[str] = []

    def step(self, step: Step) -> None:
        keys = [k for k in STATIC[_method(step)] if k in step.with_]
        names = [one_secret(step.with_[k]) for k in keys]
        if None in names:
            bad = keys[names.index(None)]
            self.plan.refused = (f'step "{label(step)}": `{bad}` is not a single `${{{{ secrets.NAME }}}}` '
                                 "reference; its source cannot be traced")
            return
        role = self.values.get("role", "VAULT_ROLE", "name of the Vault JWT role for this repository")
        audience = self.ctx.options.get("audience") or step.with_.get("url") or self.values.get(
            "audience", "VAULT_AUDIENCE", "the audience bound in the Vault role (`bound_audiences`)")
        add = {"method": "jwt", "role": role, "jwtGithubAudience": audience}
        path = self.ctx.options.get("path")
        if path:
            add["path"] = path
        drop = [*keys, *(["path"] if "path" in step.with_ and not path else [])]
        self.plan.ops += with_ops(step, drop, add) + pin_ops(step, ACTION)
        self.plan.secrets |= {n for n in names if n}
        self.plan.steps.append(label(step))
        self.removed |= {(*step.path, "with", k) for k in keys}
        self.audiences.append(str(audience))


def plan_job(doc: Doc, wf: Workflow, job: Job, ctx: Context) -> Plan | None:
    found = [s for s in job.steps if _static(s)]
    if not found:
        return None
    b = _Builder(job, ctx)
    b.plan.refused = oidc.refusal(wf, job) or ""
    for step in found:
        if b.plan.refused:
            break
        b.step(step)
    b.plan.data.update(variables=b.values.variables, audiences=b.audiences,
                       subjects=subjects(wf, job, ctx.repo or "OWNER/REPO", ctx.options.get("default_branch", "main")))
    return b.plan if b.plan.refused else finish(b.plan, doc, wf, ctx, b.removed)


def _other_methods(job: Job) -> list[Finding]:
    """Logins we do not rewrite (github PAT, userpass, ldap...): say so instead of staying silent."""
    out = []
    for step in job.steps:
        method = _method(step)
        if slug(step) == ACTION and method not in (*STATIC, "jwt", "oidc", "kubernetes", "aws", "gcp", "azure"):
            out.append(Finding(f"{ID}-unsupported", f'step "{label(step)}" logs in to Vault with method '
                               f"`{method}` (a static credential); switch it to `method: jwt` by hand",
                               step.line, yaml_path=".".join(map(str, step.path)), data={"job": job.id}))
    return out


def plans(doc: Doc, ctx: Context) -> tuple[list[Plan], list[Finding]]:
    wf = load_workflow(doc)
    if wf is None:
        return [], []
    found = [p for job in wf.jobs if (p := plan_job(doc, wf, job, ctx)) is not None]
    return mark_kept(wf, found), [f for job in wf.jobs for f in _other_methods(job)]


def setup_lines(findings: list[Finding]) -> list[str]:
    fixed = [f for f in findings if f.fixable]
    repo = fixed[0].data["repo"] if fixed else "OWNER/REPO"
    audiences = list(dict.fromkeys(a for f in fixed for a in f.data.get("audiences", [])))
    subs = list(dict.fromkeys(s for f in fixed for s in f.data.get("subjects", [])))
    claims = {"repository": repo, "sub": subs[0] if len(subs) == 1 else f"repo:{repo}:*"}
    return [
        "```sh",
        "vault auth enable jwt   # once; the action's default mount path is `jwt`",
        "vault write auth/jwt/config \\",
        "  oidc_discovery_url=https://token.actions.githubusercontent.com \\",
        "  bound_issuer=https://token.actions.githubusercontent.com",
        f"vault write auth/jwt/role/{repo.split('/')[-1]} - <<'EOF'",
        json.dumps({"role_type": "jwt", "user_claim": "repository", "bound_audiences": audiences,
                    "bound_claims_type": "glob", "bound_claims": claims,
                    "token_policies": ["<the policies the old token or AppRole had>"], "token_ttl": "15m"}, indent=2),
        "EOF",
        "```",
        "",
        f"`bound_audiences` must equal the `jwtGithubAudience` value ({', '.join(f'`{a}`' for a in audiences)}; "
        "when it is an expression, use the value it resolves to). The subjects these jobs present: "
        + ", ".join(f"`{s}`" for s in subs) + ". Use the role name as `VAULT_ROLE`. An exact `sub` is stricter "
        "than the glob: prefer `bound_claims_type=string` with one subject when only one branch deploys.",
    ]


class OidcVault:
    id = ID
    summary = "Log hashicorp/vault-action in with GitHub OIDC (JWT auth) instead of a Vault token or AppRole secret."
    # Only files mentioning one of these can match: every form is hashicorp/vault-action.
    requires_text = ("vault",)
    safe = False
    intended = ("jobs.*.steps", "jobs.*.permissions", "runs.steps")

    def detect(self, doc: Doc, ctx: Context) -> list[Finding]:
        found, notes = plans(doc, ctx)
        return [to_finding(p, ID, "a static Vault credential", ctx) for p in found] + notes

    def apply(self, doc: Doc, ctx: Context, findings: list[Finding]) -> list[Op]:
        return fixable_ops(plans(doc, ctx)[0], findings)

    def explain(self, findings: list[Finding]) -> str:
        return explain_common(findings, "HashiCorp Vault: static token -> JWT auth with GitHub OIDC",
                              setup_lines(findings))
