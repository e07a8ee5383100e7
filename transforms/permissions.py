"""permissions: give every job the minimal `permissions:` block its steps need.

Jobs that already declare permissions are left alone. A job whose needs cannot be fully inferred
is left unchanged and the finding says which step and why. When every job ends up explicit, the
workflow gets a top-level default (`contents: read`, configurable) that replaces broad grants.
"""

from __future__ import annotations

from typing import Any

from transforms.base import Analysis, Context, Finding, Need, Severity
from transforms.inference import JobNeeds, infer_job
from transforms.model import Job, Workflow, load_workflow
from transforms.yamldoc import Doc, is_flow, own_pair, resolve
from transforms.yamledit import InsertKey, Op, morph

ID = "permissions"
FIXABLE = "permissions-missing"
UNRESOLVED = "permissions-unresolved"
TOP = "permissions-top-level"
DEFAULT_TOP: dict[str, str] = {"contents": "read"}
# Where a job's block goes: right after the first of these keys, else before `steps`/`uses`.
AFTER_KEYS = ("runs-on", "needs", "if", "environment", "name")


def flat(block: Any) -> str:
    if isinstance(block, dict):
        return ", ".join(f"{k}: {v}" for k, v in block.items()) or "{}"
    return str(block)


def top_is_broad(value: Any) -> bool:
    if value == "write-all":
        return True
    return isinstance(value, dict) and any(v == "write" for v in value.values())


def inherited_id_token(wf: Workflow) -> bool:
    top = wf.data.get("permissions")
    return top == "write-all" or (isinstance(top, dict) and top.get("id-token") == "write")


def opaque_steps(job: Job) -> list[str]:
    """Steps whose programs we cannot see into: they may request an OIDC token on their own."""
    return [s.name for s in job.steps
            if s.run is not None or (s.uses is not None and (s.uses.local or s.uses.docker))]


def with_kept(job: Job, needs: JobNeeds, keep_id_token: bool) -> JobNeeds:
    """The runner exposes the OIDC request variables to every step when id-token is granted, so a
    `run:` program may use them unseen: a job that had the grant keeps it unless it has no such step."""
    opaque = opaque_steps(job)
    if not keep_id_token or not opaque or "id-token" in needs.scopes:
        return needs
    reason = f'kept from the workflow grant: may request an OIDC token in step "{opaque[0]}"'
    return JobNeeds(needs.analysis + Analysis((Need("id-token", "write", reason),)))


def needs_review(wf: Workflow) -> bool:
    """Jobs only need blocks when the workflow grants nothing explicit or grants write access."""
    return not wf.has_permissions or top_is_broad(wf.data.get("permissions"))


def block_op(doc: Doc, job_id: str, block: dict[str, str], notes: dict[str, str]) -> Op:
    """Insert a job-level `permissions:` block where a reader expects it, with evidence comments."""
    path = ("jobs", job_id)
    node = resolve(doc.root, path)
    comments = {(scope,): why for scope, why in notes.items()}
    after = next((k for k in AFTER_KEYS if own_pair(node, k) is not None), None) if node else None
    if after is None or (node is not None and is_flow(node)):
        before = next((k for k in ("steps", "uses") if node is not None and own_pair(node, k)), None)
        return InsertKey(path, "permissions", block, before=before, comments=comments)
    return InsertKey(path, "permissions", block, after=after, comments=comments)


class Permissions:
    id = ID
    summary = "Give every job the minimal `permissions:` its steps need (least privilege)."
    safe = True
    intended = ("permissions", "jobs.*.permissions")

    def detect(self, doc: Doc, ctx: Context) -> list[Finding]:
        wf = load_workflow(doc)
        if wf is None or wf.composite or not needs_review(wf):
            return []
        keep = inherited_id_token(wf)
        findings = [self._job_finding(job, with_kept(job, infer_job(wf, job, ctx), keep))
                    for job in wf.jobs if not job.has_permissions]
        top = self._top_finding(wf, findings, ctx)
        return findings + ([top] if top else [])

    def _job_finding(self, job: Job, needs: JobNeeds) -> Finding:
        if not needs.complete:
            reasons = "; ".join(dict.fromkeys(u.reason for u in needs.analysis.unknowns))
            return Finding(UNRESOLVED, f"job `{job.id}` left unchanged: {reasons}", job.line,
                           yaml_path=f"jobs.{job.id}", severity=Severity.NOTE,
                           data={"job": job.id})
        block = needs.block()
        shown = flat(block)
        return Finding(FIXABLE, f"job `{job.id}` has no permissions; minimal: {shown}", job.line,
                       yaml_path=f"jobs.{job.id}", fixable=True,
                       data={"job": job.id, "block": block, "evidence": needs.evidence(),
                             "reasons": needs.reasons()})

    def _top_finding(self, wf: Workflow, findings: list[Finding], ctx: Context) -> Finding | None:
        unresolved = [f.data["job"] for f in findings if f.rule == UNRESOLVED]
        current = wf.data.get("permissions")
        line = 1
        if unresolved:
            if not top_is_broad(current):
                return None
            return Finding(TOP, f"workflow-level `permissions: {flat(current)}` kept: jobs "
                           f"{', '.join(unresolved)} could not be resolved", line,
                           yaml_path="permissions", severity=Severity.WARNING)
        default = ctx.options.get("top_level", DEFAULT_TOP)
        if current == default:
            return None
        verb = "replace broad" if current is not None else "add"
        pending = [f.data["job"] for f in findings if f.rule == FIXABLE]
        return Finding(TOP, f"{verb} workflow-level permissions with {flat(default)} (every job is explicit)",
                       line, yaml_path="permissions", fixable=True, data={"value": default, "jobs": pending})

    def apply(self, doc: Doc, ctx: Context, findings: list[Finding]) -> list[Op]:
        comments = bool(ctx.options.get("comments", True))
        ops: list[Op] = []
        blocked = {f.data["job"] for f in findings if f.rule == FIXABLE}
        for f in findings:
            if not f.fixable:
                continue
            if f.rule == TOP and not set(f.data["jobs"]) <= blocked:
                continue  # a job it relied on was silenced (`# ztbot: ignore`): it keeps the old default
            if f.rule == FIXABLE:
                ops.append(self._job_op(doc, f, comments))
            elif "permissions" in (doc.data or {}):
                ops += morph(("permissions",), doc.data["permissions"], f.data["value"])
            else:
                ops.append(InsertKey((), "permissions", f.data["value"], before="jobs"))
        return ops

    def _job_op(self, doc: Doc, f: Finding, comments: bool) -> Op:
        notes = f.data["evidence"] if comments else {}
        return block_op(doc, f.data["job"], f.data["block"], notes)

    def explain(self, findings: list[Finding]) -> str:
        lines = ["### Least-privilege `permissions:`", ""]
        fixed = [f for f in findings if f.rule == FIXABLE]
        if fixed:
            lines += ["| job | scope | evidence |", "|---|---|---|"]
            for f in fixed:
                block = f.data["block"] or {"(none)": ""}
                for scope, level in block.items():
                    why = f.data["evidence"].get(scope, "no token use found")
                    lines.append(f"| `{f.data['job']}` | `{scope}: {level}` | {why} |".replace(": `", ": `"))
        tops = [f for f in findings if f.rule == TOP and f.fixable]
        if tops:
            lines += ["", f"Workflows whose jobs now all declare their own block get a workflow-level default "
                      f"(`{flat(tops[0].data['value'])}`) for jobs added later ({len(tops)} workflow"
                      f"{'s' * (len(tops) != 1)})."]
        lines += [f"- {m}" for m in dict.fromkeys(f.message for f in findings if f.rule != FIXABLE and f not in tops)]
        return "\n".join(lines) + "\n"
