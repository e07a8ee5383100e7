"""tighten-permissions: cut existing `permissions:` blocks down to what the job's steps need.

Opt-in (`default_enabled = False`): an existing block is a decision its owner made, and taking a
grant away breaks the job if the inference missed a use, so the owner asks for this transform by id.

Only grants shrink: a scope is lowered (write -> read) or removed, never added or raised. A job is
touched only when `infer_job` understood every step. `id-token: write` stays when the job has
`run:`, docker or local-action steps (the runner exposes the OIDC request variables to every step,
so their programs may use them unseen), scopes a local reusable workflow declares are needs like any
other, and a job that pulls its container or service images with the GITHUB_TOKEN keeps
`packages: read`. The workflow-level block is cut to the union of what the jobs inheriting it need,
or to the configured default (`contents: read`) when every job has its own block.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from transforms.base import SCOPES, Analysis, Context, Finding, Need, Severity
from transforms.inference import JobNeeds, infer_job, merge, short
from transforms.model import Job, Workflow, load_workflow
from transforms.permissions import DEFAULT_TOP, flat, opaque_steps, top_is_broad
from transforms.yamldoc import Doc, is_flow, own_pair, resolve, usage_counts
from transforms.yamledit import Op, ReplaceValue, morph

ID = "tighten-permissions"
FIXABLE = "permissions-excessive"
KEPT = "permissions-excessive-kept"
RANK = {"none": 0, "read": 1, "write": 2}
# Scopes whose highest value is not `write` (facts §10); `write-all` grants them at this level.
CEILING = {"models": "read", "vulnerability-alerts": "read"}
REMOVED = "(removed)"
OTHERS = "(every other scope)"


def granted(value: Any) -> dict[str, str] | None:
    """Scope -> level a `permissions:` value grants (no `none` entries); None when we cannot read it."""
    if value == "write-all":
        return {s: CEILING.get(s, "write") for s in SCOPES}
    if value == "read-all":
        return {s: "read" for s in SCOPES if s != "id-token"}  # id-token has no read level
    if not isinstance(value, dict):
        return None
    if any(k not in SCOPES or not isinstance(v, str) or v not in RANK for k, v in value.items()):
        return None  # an unknown scope, an expression or a malformed level: not ours to judge
    return {str(k): str(v) for k, v in value.items() if v != "none"}


def lower(a: str | None, b: str | None) -> str | None:
    ranked = [x for x in (a, b) if x in ("read", "write")]
    return min(ranked, key=RANK.__getitem__) if len(ranked) == 2 else None


def tightened(current: Any, need: Mapping[str, str]) -> dict[str, str]:
    """The block granting min(current, need) per scope; explicit `none` entries stay as written."""
    have = granted(current) or {}
    if isinstance(current, dict):
        out = {}
        for scope, level in current.items():
            kept = level if level == "none" else lower(level, need.get(scope))
            if kept:
                out[str(scope)] = kept
        return out
    levels = {s: lvl for s in need if (lvl := lower(have.get(s), need[s]))}
    return dict(sorted(levels.items(), key=lambda kv: (kv[0] != "contents", kv[0])))


@dataclass(frozen=True)
class Change:
    scope: str
    old: str
    new: str
    evidence: str


def changes(current: Any, new: dict[str, str], needs: JobNeeds) -> list[Change]:
    """Old -> new per scope; a shorthand's dropped scopes are one `(every other scope)` row, not fifteen."""
    have, after = granted(current) or {}, {k: v for k, v in new.items() if v != "none"}
    reasons = needs.evidence()
    out = []
    for scope in sorted(have, key=lambda s: (s != "contents", s)):
        if isinstance(current, str) and scope not in after:
            continue
        if have[scope] != after.get(scope) or isinstance(current, str):
            out.append(Change(scope, have[scope], after.get(scope, REMOVED), reasons.get(scope, "no step uses it")))
    if isinstance(current, str):
        out.append(Change(OTHERS, current, REMOVED, "no step uses them"))
    return out


def kept_id_token(job: Job, needs: JobNeeds, had: bool) -> JobNeeds:
    opaque = opaque_steps(job)
    if not had or not opaque or "id-token" in needs.scopes:
        return needs
    reason = f'kept: step "{opaque[0]}" may request an OIDC token (the runner offers one to every step)'
    return JobNeeds(needs.analysis + Analysis((Need("id-token", "write", reason),)))


def floor(needs: JobNeeds, have: dict[str, str]) -> JobNeeds:
    """`contents: read` is never taken away: it is what the restricted default token grants, and a
    read of the job's own repository (a script's `git fetch`, an API read) is the likeliest miss."""
    if "contents" not in have or "contents" in needs.scopes:
        return needs
    reason = "kept: reading the repository is the restricted default"
    return JobNeeds(needs.analysis + Analysis((Need("contents", "read", reason),)))


def job_needs(wf: Workflow, job: Job, ctx: Context, grant: Any) -> JobNeeds:
    have = granted(grant) or {}
    needs = infer_job(wf, job, ctx)
    return floor(kept_id_token(job, needs, have.get("id-token") == "write"), have)


def broad(value: Any) -> bool:
    """Worth a note when we cannot tighten it: a shorthand or any write grant."""
    return value in ("write-all", "read-all") or top_is_broad(value)


class _Scan:
    """One document's findings: per job, then the workflow-level block."""

    def __init__(self, doc: Doc, wf: Workflow, ctx: Context) -> None:
        self.doc, self.wf, self.ctx = doc, wf, ctx
        self.counts = usage_counts(doc.root)

    def editable(self, path: tuple[str, ...]) -> str | None:
        """Why the block at `path` cannot be edited in place, if it cannot."""
        parent = resolve(self.doc.root, path[:-1])
        found = own_pair(parent, path[-1]) if parent is not None else None
        if found is None:
            return "its block comes from a YAML merge key"
        if self.counts.get(id(found[1]), 1) > 1 or self.counts.get(id(parent), 1) > 1:
            return "its block is shared through a YAML anchor"
        return None

    def job(self, job: Job) -> Finding | None:
        current = job.data["permissions"]
        where = f"jobs.{job.id}.permissions"
        if granted(current) is None:
            return None
        needs = job_needs(self.wf, job, self.ctx, current)
        if not needs.complete:
            return self._kept(job.id, current, where, job.line, needs) if broad(current) else None
        return self._finding(job.id, current, where, job.line, needs, ("jobs", job.id, "permissions"))

    def top(self) -> Finding | None:
        current = self.wf.data.get("permissions")
        if current is None or granted(current) is None:
            return None
        heirs = [j for j in self.wf.jobs if not j.has_permissions]
        if heirs and top_is_broad(current):
            return None  # `permissions` splits it into job blocks; tightening first would only churn
        if not heirs:
            default = self.ctx.options.get("top_level", DEFAULT_TOP)
            needs = JobNeeds(Analysis(tuple(Need(s, lvl, "default for jobs added later (every job has its own "
                                                 "block)") for s, lvl in default.items())))
            return self._finding("(workflow)", current, "permissions", 1, needs, ("permissions",),
                                 "reaches no job (each has its own block); keep only the default for jobs added later")
        each = [job_needs(self.wf, j, self.ctx, current) for j in heirs]
        unknowns = tuple(u for n in each for u in n.analysis.unknowns)
        needs = JobNeeds(Analysis(tuple(n for e in each for n in e.analysis.needs), unknowns))
        if not needs.complete:
            return self._kept("(workflow)", current, "permissions", 1, needs) if broad(current) else None
        return self._finding("(workflow)", current, "permissions", 1, needs, ("permissions",))

    def _finding(self, job: str, current: Any, where: str, line: int, needs: JobNeeds,
                 path: tuple[str, ...], why: str = "") -> Finding | None:
        need = {s: info.level for s, info in merge(needs.analysis.needs).items()}
        new = tightened(current, need)
        found = changes(current, new, needs)
        if not found:
            return None
        blocked = self.editable(path)
        if blocked:
            return Finding(KEPT, f"{_who(job)} keeps `permissions: {flat(current)}`: {blocked}; tighten it by hand",
                           line, yaml_path=where, severity=Severity.NOTE, data={"job": job})
        shown = ", ".join(f"{c.scope}: {c.old} -> {c.new}" for c in found if c.scope != OTHERS)
        shown = f"`{current}`" if isinstance(current, str) else shown
        why = why or f"grants more than {_what(job)} need"
        return Finding(FIXABLE, f"{_who(job)} {why} ({shown}); minimal: {flat(new)}",
                       line, yaml_path=where, fixable=True,
                       data={"job": job, "path": list(path), "old": current, "new": new,
                             "changes": [c.__dict__ for c in found], "reasons": needs.reasons()})

    def _kept(self, job: str, current: Any, where: str, line: int, needs: JobNeeds) -> Finding:
        why = short(needs.analysis.unknowns[0].reason, 160)
        return Finding(KEPT, f"{_who(job)} keeps `permissions: {flat(current)}`: its needs cannot be fully inferred "
                       f"({why})", line, yaml_path=where, severity=Severity.NOTE, data={"job": job})


def _ops(doc: Doc, f: Finding, comments: bool) -> list[Op]:
    path, old, new = tuple(f.data["path"]), f.data["old"], f.data["new"]
    node = resolve(doc.root, path)
    if node is not None and is_flow(node):
        return [ReplaceValue(path, new)]  # one line `{...}`: rewritten whole, in flow style
    if isinstance(old, dict) or not new:
        return morph(path, old, new)  # kept lines keep their own comments; lowered ones say `was:`
    # A shorthand becomes a block: each new line says why the scope stays.
    notes: dict[tuple[str | int, ...], str] = {(s,): _evidence(f, s) for s in new} if comments else {}
    return [ReplaceValue(path, new, comments=notes)]


def _evidence(f: Finding, scope: str) -> str:
    reasons = f.data["reasons"].get(scope) or ["needed"]
    more = len(reasons) - 1
    return short(reasons[0]) + (f" (+{more} more)" if more > 0 else "")


def _what(job: str) -> str:
    return "the jobs inheriting it" if job == "(workflow)" else "its steps"


def _who(job: str) -> str:
    return "the workflow-level block" if job == "(workflow)" else f"job `{job}`"


class TightenPermissions:
    id = ID
    summary = "Cut existing `permissions:` blocks (write-all, read-all, unused write scopes) to what the steps need."
    safe = False  # removing a grant the inference missed breaks the job: review before merging
    default_enabled = False  # opt-in: run only when named (`--only`, `transforms.enabled`)
    intended = ("permissions", "jobs.*.permissions")

    def detect(self, doc: Doc, ctx: Context) -> list[Finding]:
        wf = load_workflow(doc)
        if wf is None or wf.composite:
            return []
        scan = _Scan(doc, wf, ctx)
        found = [scan.job(j) for j in wf.jobs if j.has_permissions] + [scan.top()]
        return [f for f in found if f is not None]

    def apply(self, doc: Doc, ctx: Context, findings: list[Finding]) -> list[Op]:
        comments = bool(ctx.options.get("comments", True))
        ops: list[Op] = []
        for f in findings:
            if f.fixable and f.rule == FIXABLE:
                ops += _ops(doc, f, comments)
        return ops

    def explain(self, findings: list[Finding]) -> str:
        lines = ["### Tighter `permissions:` (existing blocks)", ""]
        fixed = [f for f in findings if f.fixable]
        if fixed:
            lines += ["| job | scope | before | after | evidence |", "|---|---|---|---|---|"]
            for f in fixed:
                for c in f.data["changes"]:
                    lines.append(f"| `{f.data['job']}` | `{c['scope']}` | {c['old']} | {c['new']} | {c['evidence']} |")
            lines += ["", "Only grants shrink; nothing is added or raised. A scope marked _no step uses it_ was found "
                      "in no step, script or local action of the job. If a job fails with `Resource not accessible "
                      "by integration` or `403`, restore that job's scope from the table above and tell us "
                      "which step needed it.", ""]
        lines += [f"- {f.message}" for f in findings if not f.fixable]
        return "\n".join(lines) + "\n"
