"""Where a workflow hands static AWS keys to a job, and the plan that replaces them with OIDC.

A *site* is one place the keys enter: the `with:` of a configure-aws-credentials or ECR
docker/login-action step, or an `env:` mapping (workflow, job or step). A *plan* per job lists its
sites, where the new login step goes, which `run:` texts change, and every reason not to touch the
job. Plans are computed the same way in `detect` and `apply`, so findings stay plain data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.nodes import MappingNode

from transforms.base import Context, Path
from transforms.model import Job, Step, Workflow
from transforms.oidc import refusal, remaining_uses, secret_names
from transforms.oidc_aws_consumers import (
    KEY_ID,
    SECRET,
    SESSION,
    action_problem,
    docker_session_fix,
    is_inert,
    python_problems,
    value_problems,
)
from transforms.oidc_aws_s3sync import SLUG as S3SYNC
from transforms.oidc_aws_s3sync import login_region as s3sync_login_region
from transforms.oidc_aws_s3sync import replacement as s3sync_replacement
from transforms.yamldoc import Doc, resolve
from transforms.yamledit import Op

CONFIGURE = "aws-actions/configure-aws-credentials"
DOCKER_LOGIN = "docker/login-action"
WITH_KEYS = ("aws-access-key-id", "aws-secret-access-key", "aws-session-token")
ENV_KEYS = (KEY_ID, SECRET, SESSION)
REGION_VARS = ("AWS_REGION", "AWS_DEFAULT_REGION")
ECR_HOST = re.compile(r"\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
ECR_PUBLIC = "public.ecr.aws"
ECR_PUBLIC_REGION = "us-east-1"  # ECR Public authenticates only in us-east-1
EXPR = re.compile(r"\$\{\{.*?\}\}", re.S)


@dataclass
class EnvSite:
    level: str  # workflow | job | step
    path: Path  # the env mapping
    names: list[str]  # entries to delete
    secrets: set[str]
    empties: bool  # deleting the entries would leave `env:` empty
    step: Step | None = None

    @property
    def label(self) -> str:
        return f"`env:` of step `{self.step.name}`" if self.step else f"{self.level}-level `env:`"


@dataclass
class StepSite:
    step: Step
    kind: str  # configure | ecr-login
    inputs: list[str]  # `with:` inputs to delete
    secrets: set[str]

    @property
    def label(self) -> str:
        return f"`with:` of step `{self.step.name}`"


@dataclass
class Plan:
    job: Job
    env_sites: list[EnvSite] = field(default_factory=list)
    step_sites: list[StepSite] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    insert_at: int | None = None
    region: str | None = None  # for the inserted login step
    run_fixes: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # step -> (old line, new line)
    scripts: dict[str, tuple[str, str]] = field(default_factory=dict)  # python script -> (old, new) text
    replaced: dict[int, list[Op]] = field(default_factory=dict)  # s3-sync-action step -> its `run:` rewrite

    @property
    def sites(self) -> list[EnvSite | StepSite]:
        return [*self.env_sites, *self.step_sites]

    @property
    def secrets(self) -> set[str]:
        return {s for site in self.sites for s in site.secrets}

    @property
    def removed(self) -> set[Path]:
        paths = {(*e.path, n) for e in self.env_sites for n in e.names}
        return paths | {(*s.step.path, "with", i) for s in self.step_sites for i in s.inputs}

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self.sites]

    @property
    def configure(self) -> StepSite | None:
        return next((s for s in self.step_sites if s.kind == "configure"), None)


# ---------------------------------------------------------------- sites


def env_site(level: str, path: Path, env: Any, step: Step | None = None) -> tuple[EnvSite | None, list[str]]:
    """The static-key entries of one `env:` mapping, or why they cannot be replaced."""
    if not isinstance(env, dict):
        return None, []
    names = [n for n in ENV_KEYS if n in env]
    secrets = {s for n in names for s in secret_names(env[n])}
    if not secrets:
        return None, []
    where = ".".join(map(str, path))
    problems = [f"{where}.{n} is `{env[n]}`, not a secret" for n in names
                if isinstance(env[n], str) and EXPR.search(env[n]) and not secret_names(env[n])]
    problems += [f"{where}.{n} points the keys at another endpoint (`{env[n]}`): an S3-compatible service, not AWS"
                 for n in env if n.startswith("AWS_ENDPOINT_URL")]
    problems += [f"{where}.{n} is `auto`: the keys belong to an S3-compatible service, not AWS"
                 for n in REGION_VARS if env.get(n) == "auto"]
    return EnvSite(level, path, names, secrets, len(env) == len(names), step), problems


def step_site(step: Step) -> tuple[StepSite | None, list[str]]:
    ref, given = step.uses, step.with_
    if ref is None:
        return None, []
    if ref.slug == CONFIGURE:
        inputs = [k for k in WITH_KEYS if k in given]
        secrets = {s for k in inputs for s in secret_names(given[k])}
        if not inputs:
            return None, []
        problems = [f"step `{step.name}` sets `{k}: {given[k]}`, not a secret" for k in inputs
                    if not secret_names(given[k])]
        if "role-external-id" in given:
            problems.append(f"step `{step.name}` assumes `{given.get('role-to-assume')}` with static keys and "
                            "`role-external-id` (a cross-account trust); OIDC cannot present an external id")
        return StepSite(step, "configure", inputs, secrets), problems
    if ref.slug == DOCKER_LOGIN and ecr_region(given.get("registry")) is not None:
        inputs = [k for k in ("username", "password") if secret_names(given.get(k))]
        if len(inputs) == 2:
            return StepSite(step, "ecr-login", inputs, {s for k in inputs for s in secret_names(given[k])}), []
    return None, []


def ecr_region(registry: Any) -> str | None:
    """The region of an ECR registry host ("" when it is an expression); None when not ECR."""
    if not isinstance(registry, str):
        return None
    host = registry.strip().split("/")[0]
    if host == ECR_PUBLIC:
        return ECR_PUBLIC_REGION
    found = ECR_HOST.search(host)
    if found is None:
        return None
    return "" if "${{" in found["region"] else found["region"]


def _sites(wf: Workflow, job: Job, plan: Plan) -> None:
    found = [env_site("workflow", ("env",), wf.data.get("env")),
             env_site("job", (*job.path, "env"), job.data.get("env"))]
    found += [env_site("step", (*s.path, "env"), s.data.get("env"), s) for s in job.steps]
    for env, problems in found:
        if env:
            plan.env_sites.append(env)
            plan.problems += problems
    for step in job.steps:
        site, problems = step_site(step)
        if site:
            plan.step_sites.append(site)
            plan.problems += problems


# ---------------------------------------------------------------- placement


def _needed_at(job: Job, plan: Plan) -> list[int]:
    """Step indexes that first need credentials, for each site the login step must cover."""
    needed = [s.step.index for s in plan.step_sites if s.kind == "ecr-login"]
    needed += [e.step.index for e in plan.env_sites if e.step is not None and not is_inert(e.step)]
    if any(e.step is None for e in plan.env_sites):
        first = next((s.index for s in job.steps if not is_inert(s)), None)
        needed += [first] if first is not None else []
    return needed


def _place(job: Job, plan: Plan) -> int | None:
    """Where credentials start; sets `insert_at` when a new login step is needed."""
    needed = _needed_at(job, plan)
    configure = plan.configure
    if configure is None:
        plan.insert_at = min(needed) if needed else None
        return plan.insert_at
    early = [job.steps[i].name for i in needed if i < configure.step.index]
    if early:
        plan.problems.append(f"step `{early[0]}` receives the keys before the login step `{configure.step.name}`; "
                             "move the login up first")
    return configure.step.index


def _env_region(scope: dict[str, Any]) -> str | None:
    name = next((n for n in REGION_VARS if n in scope), None)
    return "${{ env." + name + " }}" if name else None


def _region(wf: Workflow, job: Job, plan: Plan) -> str | None:
    """aws-region for the inserted login step, from what the consumers used; None = ask the config."""
    at = plan.insert_at
    for site in plan.step_sites:
        if site.kind == "ecr-login" and site.step.index == at and (region := ecr_region(site.step.with_["registry"])):
            return region
    step_env = job.steps[at].env if at is not None and at < len(job.steps) else {}
    own = next((step_env[n] for n in REGION_VARS if n in step_env), None)
    if own is not None:
        return str(own)
    return _env_region(job.env) or _env_region(wf.env)


# ---------------------------------------------------------------- consumers


def line_edits(before: str, after: str) -> list[tuple[str, str]] | None:
    """The changed lines as (old, new) pairs, each old line unique in the script; None otherwise."""
    old, new = before.split("\n"), after.split("\n")
    if len(old) != len(new):
        return None
    pairs = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    return pairs if pairs and all(before.count(a) == 1 for a, _ in pairs) else None


def _is_s3sync(step: Step) -> bool:
    return step.uses is not None and not step.uses.docker and step.uses.slug == S3SYNC


def _s3sync(wf: Workflow, job: Job, step: Step, plan: Plan) -> str | None:
    """Replace the action by its own `aws s3 sync` command, or say why that would not be the same sync."""
    ops, why = s3sync_replacement(wf, job, step)
    if why:
        return f"{action_problem(step, True)}, and it cannot become a plain `aws s3 sync`: {why}"
    plan.replaced[step.index] = ops
    return None


def _consumers(doc: Doc, wf: Workflow, job: Job, plan: Plan, start: int, ctx: Context) -> None:
    site_steps = {s.step.index for s in plan.step_sites}
    env_steps = {e.step.index for e in plan.env_sites if e.step is not None}
    for step in job.steps[start:]:
        if step.index in site_steps:
            continue
        problem = _s3sync(wf, job, step, plan) if _is_s3sync(step) else action_problem(step, step.index in env_steps)
        plan.problems += [problem] if problem else []
        plan.problems += value_problems(step)
        if step.run is None:
            continue
        fixed, problems = docker_session_fix(step.run, f"step `{step.name}`")
        plan.problems += problems
        edits = line_edits(step.run, fixed) if fixed is not None else None
        if edits:
            plan.run_fixes[step.index] = edits
        elif fixed is not None:
            plan.problems.append(f"step `{step.name}` forwards the key pair into `docker run` without "
                                 "`-e AWS_SESSION_TOKEN` on a line that repeats in the script; add the flag by hand")
        script_problems, rewrites = python_problems(wf, job, step, ctx.read)
        plan.problems += script_problems
        plan.scripts.update(rewrites)


# ---------------------------------------------------------------- the plan


def _first_key_is(doc: Doc, path: Path, key: str) -> bool:
    node = resolve(doc.root, path)
    return isinstance(node, MappingNode) and bool(node.value) and str(node.value[0][0].value) == key


def _deletable(doc: Doc, plan: Plan) -> None:
    """The editor cannot delete the first key of a `- key:` item; say so instead of failing later."""
    for site in plan.env_sites:
        if site.step is not None and site.empties and _first_key_is(doc, site.step.path, "env"):
            plan.problems.append(f"`env:` opens step `{site.step.name}`; remove it by hand")


def _remaining(wf: Workflow, job: Job, plan: Plan) -> None:
    plan.problems += remaining_uses(job, plan.secrets, plan.removed)
    wf_env = wf.env
    for name, value in wf_env.items():
        used = secret_names(value) & plan.secrets
        if used and ("env", name) not in plan.removed:
            plan.problems.append(f"env.{name} still uses secrets.{sorted(used)[0]}")


def plan_job(doc: Doc, wf: Workflow, job: Job, ctx: Context) -> Plan | None:
    """The migration plan for one job; None when no static AWS key reaches it."""
    if job.uses is not None or not job.steps:
        return None
    plan = Plan(job)
    _sites(wf, job, plan)
    if not plan.env_sites and not plan.step_sites:
        return None
    why = refusal(wf, job)
    plan.problems += [why] if why else []
    start = _place(job, plan)
    plan.region = _region(wf, job, plan) if plan.insert_at is not None else None
    _deletable(doc, plan)
    _remaining(wf, job, plan)
    if start is not None:
        _consumers(doc, wf, job, plan, start, ctx)
    if plan.insert_at in plan.replaced:
        # An empty AWS_REGION meant us-east-1 to the action; the login must not fail where the sync worked.
        plan.region = s3sync_login_region(job.steps[plan.insert_at])
    plan.problems = list(dict.fromkeys(plan.problems))
    return plan


def plan_workflow(doc: Doc, wf: Workflow, ctx: Context) -> list[Plan]:
    """Plans for every job; workflow-level keys are only removed when every job that sees them can move."""
    plans = [p for job in wf.jobs if (p := plan_job(doc, wf, job, ctx)) is not None]
    shared = [p for p in plans if any(e.level == "workflow" for e in p.env_sites)]
    blocked = [p.job.id for p in shared if p.problems]
    for p in shared:
        others = [j for j in blocked if j != p.job.id]
        if others:
            p.problems.append(f"the workflow-level keys are shared with job `{others[0]}`, which cannot be migrated")
    return plans

