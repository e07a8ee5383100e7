"""oidc-aws: replace static AWS access keys with a short-lived role session obtained through OIDC.

Three forms are rewritten (see `oidc_aws_scan` for how they are found):
- `aws-actions/configure-aws-credentials` with key inputs: the keys go, `role-to-assume` comes in,
  and releases before v6 are upgraded (node16/node20 runtimes, missing OIDC options);
- `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` from secrets in `env:`: the entries go and a pinned
  login step is inserted right before the first step that can use them;
- `docker/login-action` to ECR with the keys as username/password: the pair goes and the same login
  step precedes it (docker/login-action then logs in to ECR with the exported role session).
Every job also gets `id-token: write`. A job is left alone, with the reason, whenever a consumer of
the keys might not cope with temporary credentials.
"""

from __future__ import annotations

import re
from typing import Any

from transforms.base import Context, Finding, Severity, WriteFile
from transforms.model import Workflow, load_workflow
from transforms.oidc import Values, id_token_ops, secret_names, subject, walk
from transforms.oidc_aws_explain import explain, subjects
from transforms.oidc_aws_scan import CONFIGURE, Plan, StepSite, plan_workflow
from transforms.pins import known, pin
from transforms.yamldoc import Doc
from transforms.yamledit import DeleteKey, EditText, InsertItem, InsertKey, Op, ReplaceValue

ID = "oidc-aws"
ROLE_VAR, REGION_VAR = "AWS_ROLE_ARN", "AWS_REGION"
ROLE_MEANING = "ARN of the IAM role the workflow assumes through GitHub OIDC"
REGION_MEANING = "AWS region for the OIDC login step"
LOGIN_NAME = "Configure AWS credentials"
# Fork pull requests get no OIDC token: without this guard the new step would fail jobs that ran
# fine there before (they simply had empty secrets).
FORK_GUARD = "github.event_name != 'pull_request' || github.event.pull_request.head.repo.full_name == github.repository"
CURRENT_MAJOR = 6
SHA = re.compile(r"^[0-9a-f]{40}$")


class OidcAws:
    id = ID
    summary = "Replace static AWS access keys with a short-lived role session obtained through GitHub OIDC."
    # Only files mentioning one of these can match: configure-aws-credentials, AWS_* keys, ECR hosts.
    requires_text = ("aws",)
    safe = False
    intended = ("env", "jobs.*.env", "jobs.*.steps", "jobs.*.permissions")

    def detect(self, doc: Doc, ctx: Context) -> list[Finding]:
        wf = load_workflow(doc)
        if wf is None or wf.composite:
            return []
        plans = plan_workflow(doc, wf, ctx)
        if not plans:
            return []
        elsewhere = _used_elsewhere(wf, plans)
        return [self._finding(doc, wf, plan, ctx, elsewhere) for plan in plans]

    def apply(self, doc: Doc, ctx: Context, findings: list[Finding]) -> list[Op | WriteFile]:
        wf = load_workflow(doc)
        fixable = {f.data["job"] for f in findings if f.fixable and f.rule == ID}
        if wf is None or not fixable:
            return []
        ops: list[Op | WriteFile] = []
        for plan in plan_workflow(doc, wf, ctx):
            if plan.job.id in fixable:
                ops += [op for op in self._ops(doc, wf, plan, ctx) if op not in ops]  # workflow env: once
                ops += [WriteFile(p, old, new) for p, (old, new) in sorted(plan.scripts.items())
                        if WriteFile(p, old, new) not in ops]  # scripts: back to the default credential chain
        return ops

    def explain(self, findings: list[Finding]) -> str:
        return explain([f for f in findings if f.rule == ID])

    # ------------------------------------------------------------ findings

    def _finding(self, doc: Doc, wf: Workflow, plan: Plan, ctx: Context, elsewhere: dict[str, str]) -> Finding:
        job = plan.job
        values = Values(ctx)
        role, region = self._role(plan, values), self._region(plan, values)
        token = _id_token(doc, wf, plan, ctx)
        problems = plan.problems + ([token] if isinstance(token, str) else [])
        names = ", ".join(f"secrets.{s}" for s in sorted(plan.secrets))
        line = min(_site_line(plan, s) for s in [*plan.env_sites, *plan.step_sites])
        data: dict[str, Any] = {
            "job": job.id, "secrets": sorted(plan.secrets), "sites": plan.labels, "role": role, "region": region,
            "subject": subject(ctx.repo, job, str(ctx.options.get("default_branch", "main"))),
            "subjects": subjects(wf, job, ctx), "variables": dict(values.variables),
            "environment": job.environment, "login": _login_text(plan), "problems": problems,
            "reusable": "workflow_call" in wf.triggers,
            "elsewhere": {s: elsewhere[s] for s in sorted(plan.secrets) if s in elsewhere},
            "scripts": sorted(plan.scripts),
            "replaced": [job.steps[i].name for i in sorted(plan.replaced)],
        }
        if not problems and role is None:
            return Finding(ID, f"job `{job.id}` receives static AWS keys ({names}) from {', '.join(plan.labels)} "
                           "but none of its steps can use them; they are removed", line, yaml_path=f"jobs.{job.id}",
                           fixable=True, data=data)
        if problems:
            return Finding(ID, f"job `{job.id}` keeps static AWS keys ({names}): {'; '.join(problems)}", line,
                           yaml_path=f"jobs.{job.id}", severity=Severity.WARNING, data=data)
        swaps = "".join(f"; step `{s}` (jakejarvis/s3-sync-action) becomes the same `aws s3 sync` as a run step"
                        for s in data["replaced"])
        return Finding(ID, f"job `{job.id}` uses static AWS keys ({names}) in {', '.join(plan.labels)}; "
                       f"assume {role} through OIDC instead{swaps}", line, yaml_path=f"jobs.{job.id}", fixable=True,
                       data=data)

    def _role(self, plan: Plan, values: Values) -> str | None:
        configure = plan.configure
        existing = configure.step.with_.get("role-to-assume") if configure else None
        if existing is not None:
            return str(existing)  # AssumeRole with keys: the same role now trusts OIDC directly
        if configure is None and plan.insert_at is None:
            return None  # the job never needs credentials (only setup steps see the shared keys)
        return values.get("role_arn", ROLE_VAR, ROLE_MEANING)

    def _region(self, plan: Plan, values: Values) -> str | None:
        configure = plan.configure
        if configure is not None:
            given = configure.step.with_.get("aws-region")
            return str(given) if given is not None else values.get("region", REGION_VAR, REGION_MEANING)
        if plan.insert_at is None:
            return None
        return plan.region or values.get("region", REGION_VAR, REGION_MEANING)

    # ------------------------------------------------------------ edits

    def _ops(self, doc: Doc, wf: Workflow, plan: Plan, ctx: Context) -> list[Op]:
        values = Values(ctx)
        role, region = self._role(plan, values), self._region(plan, values)
        ops: list[Op] = []
        for env in plan.env_sites:
            ops += [DeleteKey(env.path[:-1], "env")] if env.empties else [DeleteKey(env.path, n) for n in env.names]
        for site in plan.step_sites:
            ops += self._step_ops(site, role, region, ctx) if site.kind == "configure" else \
                [DeleteKey((*site.step.path, "with"), k) for k in site.inputs]
        ops += [EditText((*plan.job.steps[i].path, "run"), old, new)
                for i, edits in plan.run_fixes.items() for old, new in edits]
        ops += [op for edits in plan.replaced.values() for op in edits]
        token = _id_token(doc, wf, plan, ctx)
        ops += token if isinstance(token, list) else []
        if plan.insert_at is not None:
            # Last: ops are replayed on the data in order, and this one shifts the step indexes.
            ops.append(self._login_op(wf, plan, role, region, ctx))
        return ops

    def _step_ops(self, site: StepSite, role: str | None, region: str | None, ctx: Context) -> list[Op]:
        path = (*site.step.path, "with")
        given = site.step.with_
        ops: list[Op] = [DeleteKey(path, k) for k in site.inputs]
        anchor = site.inputs[0]
        if "role-to-assume" not in given:
            ops.append(InsertKey(path, "role-to-assume", role, before=anchor))
        session = ctx.options.get("role_session_name")
        if isinstance(session, str) and session and "role-session-name" not in given:
            ops.append(InsertKey(path, "role-session-name", session, before=anchor))
        if "aws-region" not in given:
            ops.append(InsertKey(path, "aws-region", region, before=anchor))
        upgrade = _upgrade(site)
        return ops + ([upgrade] if upgrade else [])

    def _login_op(self, wf: Workflow, plan: Plan, role: str | None, region: str | None, ctx: Context) -> Op:
        current = pin(CONFIGURE)
        step: dict[str, Any] = {"name": LOGIN_NAME}
        comments = {("uses",): current.tag}
        if "pull_request" in wf.triggers:
            step["if"] = FORK_GUARD
            comments[("if",)] = "fork pull requests get no OIDC token"
        with_: dict[str, Any] = {"role-to-assume": role, "aws-region": region}
        session = ctx.options.get("role_session_name")
        if isinstance(session, str) and session:
            with_["role-session-name"] = session
        step.update({"uses": current.uses, "with": with_})
        return InsertItem((*plan.job.path, "steps"), plan.insert_at or 0, step, comments=comments)


def _upgrade(site: StepSite) -> ReplaceValue | None:
    """Move releases before v6 to the current immutable release (OIDC options, supported runtime)."""
    ref = site.step.uses
    tag = ref.ref if ref else ""
    if SHA.match(tag):
        found = known(CONFIGURE, tag)
        if found is None:
            return None  # an unknown commit: the owner chose it on purpose
        tag = found.tag
    major = re.match(r"v(\d+)", tag)
    if major and int(major[1]) >= CURRENT_MAJOR:
        return None
    current = pin(CONFIGURE)
    return ReplaceValue((*site.step.path, "uses"), current.uses, comments={(): current.tag})


def _id_token(doc: Doc, wf: Workflow, plan: Plan, ctx: Context) -> list[Op] | str:
    """`id-token: write` for a job that logs in; nothing when the workflow already grants it to the job."""
    if plan.configure is None and plan.insert_at is None:
        return []
    return id_token_ops(doc, wf, plan.job, ctx)


def _used_elsewhere(wf: Workflow, plans: list[Plan]) -> dict[str, str]:
    """Secret -> a place outside every planned removal that still reads it (it must outlive the PR)."""
    removed = {p for plan in plans for p in plan.removed}
    names = {s for plan in plans for s in plan.secrets}
    found: dict[str, str] = {}
    for path, value in walk(dict(wf.data)):
        if isinstance(value, str) and not any(path[: len(r)] == r for r in removed):
            for name in sorted(secret_names(value) & names):
                found.setdefault(name, ".".join(map(str, path)))
    return found


def _site_line(plan: Plan, site: Any) -> int:
    step = getattr(site, "step", None)
    return step.line if step is not None else plan.job.line


def _login_text(plan: Plan) -> str:
    if plan.configure is not None:
        return f"step `{plan.configure.step.name}` now assumes the role through OIDC"
    if plan.insert_at is None:
        return "no step of this job needs AWS credentials"
    return f"a `{LOGIN_NAME}` step before step `{plan.job.steps[plan.insert_at].name}`"
