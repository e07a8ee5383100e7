"""Terraform's azurerm / azuread providers and azurerm backend: `ARM_CLIENT_SECRET` -> `ARM_USE_OIDC`.

Part of oidc-azure (its plans gain these edits; no transform of its own). The providers and the
backend read `ARM_CLIENT_ID` / `ARM_TENANT_ID` / `ARM_SUBSCRIPTION_ID` from the environment; with
`ARM_USE_OIDC=true` instead of `ARM_CLIENT_SECRET` they request the job's GitHub OIDC token
themselves (the runner's `ACTIONS_ID_TOKEN_REQUEST_*` variables, present with `id-token: write`).
The ids stay exactly as written, from secrets or not: they identify, they do not authenticate.

A workflow `env:` entry that several jobs share is removed only when every one of those jobs is
rewritten (each one passes every check below); one refused job keeps the secret for all of them.
Jobs that call a reusable workflow do not count: workflow `env:` does not reach the called workflow.

Refused with a reason: a value that is not one `${{ secrets.NAME }}`, no terraform step in its
reach, `ARM_USE_OIDC` set to false, no `ARM_CLIENT_ID` in reach, the variable or the secret read
anywhere else, a `-backend-config` that passes a client secret, or (shared entry) another job
sharing it that is not rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from transforms import oidc
from transforms.base import Finding, Path
from transforms.model import Job, Step, Workflow
from transforms.oidc_plan import Plan, label, one_secret, slug
from transforms.yamledit import DeleteKey, InsertKey, Op, ReplaceValue

SECRET_VAR = "ARM_CLIENT_SECRET"
USE_OIDC = "ARM_USE_OIDC"
TF_RUN = re.compile(r"(^|[\s;&|(])(terraform|terragrunt|tofu)(\s|$)", re.M)
TF_ACTIONS = re.compile(r"^(hashicorp/setup-terraform|hashicorp/terraform-github-actions|dflook/terraform-|"
                        r"dflook/tofu-|opentofu/setup-opentofu|gruntwork-io/terragrunt-action)")
BACKEND_SECRET = re.compile(r"-backend-config[= ]?[^\n]*client_secret", re.I)
SOURCES = ("hashicorp/terraform-provider-azurerm website/docs/guides/service_principal_oidc.html.markdown "
           "(OIDC since provider 3.7.0; `use_oidc` also read from ARM_USE_OIDC); hashicorp/terraform-provider-azuread "
           "guide (OIDC since 2.23.0); hashicorp/terraform website/docs/language/backend/azurerm.mdx "
           "(backend `use_oidc` \"can also be set via `ARM_USE_OIDC`\", `use_azuread_auth` via `ARM_USE_AZUREAD`)")


@dataclass(frozen=True)
class Site:
    """An `env:` mapping that sets ARM_CLIENT_SECRET, and the steps that receive it."""

    path: Path  # the env mapping
    env: dict[str, Any]
    steps: tuple[Step, ...]
    level: str  # workflow | job | step


def sharers(wf: Workflow) -> list[Job]:
    """The jobs that see the workflow `env:`: not those calling a reusable workflow (it is not passed on)."""
    return [j for j in wf.jobs if j.uses is None]


def sites(wf: Workflow, job: Job) -> list[Site]:
    out = []
    if SECRET_VAR in wf.env and job.uses is None:
        out.append(Site(("env",), wf.env, tuple(job.steps), "workflow"))
    if SECRET_VAR in job.env:
        out.append(Site((*job.path, "env"), job.env, tuple(job.steps), "job"))
    out += [Site((*s.path, "env"), s.env, (s,), "step") for s in job.steps if SECRET_VAR in s.env]
    return out


def is_terraform(step: Step) -> bool:
    return bool(TF_RUN.search(step.run or "") or TF_ACTIONS.match(slug(step)))


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() == "true"


def _in_reach(wf: Workflow, job: Job, step: Step, key: str) -> Any:
    """The value of an env variable as `step` sees it (step over job over workflow); None if unset."""
    for env in (step.env, job.env, wf.env):
        if key in env:
            return env[key]
    return None


def _other_reads(wf: Workflow, job: Job, site_paths: set[Path]) -> str | None:
    """A place other than the sites that names the variable (a script reading `$ARM_CLIENT_SECRET`)."""
    scopes = [*oidc.walk(wf.env, ("env",)), *oidc.walk(dict(job.data), job.path)]
    for path, value in scopes:
        if isinstance(value, str) and SECRET_VAR in value and path not in {(*p, SECRET_VAR) for p in site_paths}:
            return ".".join(map(str, path))
    return None


def _refusal(wf: Workflow, job: Job, found: list[Site]) -> str | None:
    for site in found:
        if one_secret(site.env[SECRET_VAR]) is None:
            return f"{SECRET_VAR} at {'.'.join(map(str, site.path))} is not one `${{{{ secrets.NAME }}}}`"
        tf_steps = [s for s in site.steps if is_terraform(s)]
        if not tf_steps:
            return f"{SECRET_VAR} at {'.'.join(map(str, site.path))} reaches no terraform step"
        for step in tf_steps:
            if _in_reach(wf, job, step, USE_OIDC) is not None and not _truthy(_in_reach(wf, job, step, USE_OIDC)):
                return f'step "{label(step)}" sets {USE_OIDC} to false'
            if _in_reach(wf, job, step, "ARM_CLIENT_ID") is None:
                return f'step "{label(step)}" has no ARM_CLIENT_ID in its env; the federated login needs the client id'
    where = _other_reads(wf, job, {s.path for s in found})
    if where:
        return f"{where} reads {SECRET_VAR} too; rewrite that use, or migrate the job by hand"
    if any(BACKEND_SECRET.search(s.run or "") for s in job.steps):
        return "a `-backend-config` passes a client secret to the azurerm backend; migrate the backend by hand"
    return None


def _site_ops(wf: Workflow, jobs: list[Job], site: Site) -> list[Op]:
    """Delete the secret; `ARM_USE_OIDC: "true"` takes its place unless the steps already see it true.

    `jobs` are the jobs the site reaches (several for a shared workflow `env:`): their terraform steps
    decide, so every job's plan computes the same edit.
    """
    reach = [(j, s) for j in jobs for s in (site.steps if site.level != "workflow" else j.steps)]
    given = [_in_reach(wf, j, s, USE_OIDC) for j, s in reach if is_terraform(s)]
    if all(_truthy(v) for v in given) and USE_OIDC not in site.env:
        keep = {k for k in site.env if k != SECRET_VAR}
        return [DeleteKey(site.path, SECRET_VAR)] if keep else [DeleteKey(site.path[:-1], "env")]
    if USE_OIDC in site.env:
        return [DeleteKey(site.path, SECRET_VAR)]
    if len(site.env) == 1:
        return [ReplaceValue(site.path, {USE_OIDC: "true"})]
    return [InsertKey(site.path, USE_OIDC, "true", after=SECRET_VAR), DeleteKey(site.path, SECRET_VAR)]


def add(plan: Plan, removed: set[Any], wf: Workflow, job: Job, found: list[Site]) -> None:
    """Extend the job's plan with the Terraform rewrite, or refuse the whole job with the reason."""
    why = _refusal(wf, job, found)
    plan.data["terraform"] = True
    for site in found:
        plan.secrets.add(one_secret(site.env[SECRET_VAR]) or SECRET_VAR)
    if why:
        plan.refused = f"Terraform: {why}"
        return
    shared = sharers(wf) if any(s.level == "workflow" for s in found) else [job]
    for site in found:
        if site.level == "workflow" and len(shared) > 1:
            plan.shared += _site_ops(wf, shared, site)
            plan.data["shares_with"] = [j.id for j in shared if j.id != job.id]
        else:
            plan.ops += _site_ops(wf, [job], site)
        removed.add((*site.path, SECRET_VAR))
        plan.steps.append(label(site.steps[0]) if site.level == "step" else f"terraform ({site.level} `env:`)")


def settle(plans: list[Plan]) -> None:
    """A shared workflow `env:` entry goes only if every job sharing it is rewritten: else all keep it."""
    # Judged on the plans as they came: every job sharing the entry sees the same blockers.
    reasons = {p.job.id: p.refused for p in plans}
    for plan in plans:
        others = plan.data.get("shares_with", [])
        blocker = next((j for j in others if reasons.get(j, "-")), None)
        if plan.refused or blocker is None:
            continue
        why = (reasons.get(blocker) or "nothing there to rewrite").removeprefix("Terraform: ")
        plan.refused = (f"Terraform: {SECRET_VAR} is set in the workflow `env:` that {len(others) + 1} jobs share, "
                        f"and job `{blocker}` keeps it ({why}); fix that job or move the variable to the jobs")


def setup_lines(findings: list[Finding]) -> list[str]:
    """What Terraform needs besides the federated credential."""
    if not any(f.fixable and f.data.get("terraform") for f in findings):
        return []
    return [
        f"**Terraform**: `{SECRET_VAR}` gave way to `{USE_OIDC}: \"true\"`; `ARM_CLIENT_ID`, `ARM_TENANT_ID` and "
        "`ARM_SUBSCRIPTION_ID` stay (identifiers). The federated credential above goes on the app registration "
        "whose client id is `ARM_CLIENT_ID`.",
        "",
        "- Pin the providers to versions with OIDC: `hashicorp/azurerm` >= 3.7.0, `hashicorp/azuread` >= 2.23.0.",
        f"- The `azurerm` backend reads `{USE_OIDC}` too (its `use_oidc` \"can also be set via `ARM_USE_OIDC`\"). "
        "With an access key (`ARM_ACCESS_KEY`) it keeps using the key; to drop the key as well set "
        "`ARM_USE_AZUREAD: \"true\"` (`use_azuread_auth`) and grant the identity *Storage Blob Data Contributor* on "
        "the state container. Without either, the backend lists the account keys with the federated identity, "
        "which needs `subscription_id` and `resource_group_name` in the backend block.",
        f"- Sources: {SOURCES}.",
        "",
    ]
