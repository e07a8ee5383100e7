"""What the OIDC login transforms (GCP, Azure, Vault, registry logins) share: a per-job plan,
step edits, refusals, findings and the common parts of their explanations."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from transforms import oidc
from transforms.base import Context, Finding, Severity
from transforms.model import Job, Step, Workflow
from transforms.pins import pin
from transforms.yamldoc import Doc
from transforms.yamledit import DeleteKey, InsertItem, InsertKey, Op, ReplaceValue

ONE_SECRET = re.compile(r"^\s*\$\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*$")


@dataclass
class Plan:
    """The rewrite of one job, or why it is refused."""

    job: Job
    ops: list[Op] = field(default_factory=list)
    refused: str = ""
    secrets: set[str] = field(default_factory=set)
    steps: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    # Edits outside the job that other jobs' plans carry too (`data["shares_with"]` names them): made
    # once, and only when all those jobs are rewritten.
    shared: list[Op] = field(default_factory=list)


def one_secret(value: Any) -> str | None:
    """`X` when the value is exactly `${{ secrets.X }}`: the only form we can trace and remove."""
    m = ONE_SECRET.match(value) if isinstance(value, str) else None
    return m[1] if m else None


def label(step: Step) -> str:
    """How a reader finds the step in messages: its name or id, else its position and action."""
    if step.data.get("name") or step.data.get("id"):
        return step.name
    return f"#{step.index + 1} ({step.data.get('uses') or 'run'})"


def slug(step: Step) -> str:
    ref = step.uses
    return ref.slug if ref is not None and ref.owner else ""


def pin_ops(step: Step, action: str) -> list[Op]:
    """Point `uses:` at the verified commit of the current release (tag in the comment)."""
    p = pin(action)
    if step.data.get("uses") == p.uses:
        return []
    return [ReplaceValue((*step.path, "uses"), p.uses, comments={(): p.tag})]


def with_ops(step: Step, remove: Sequence[str], add: Mapping[str, Any]) -> list[Op]:
    """Swap `with:` inputs: new keys take the place of the first removed one; others stay untouched."""
    current = step.with_
    if "with" not in step.data:
        return [InsertKey(step.path, "with", dict(add))] if add else []
    gone = [k for k in remove if k in current]
    kept = {k: v for k, v in current.items() if k not in gone}
    if not kept:  # a mapping cannot lose its last key in place: write the new one whole
        return [ReplaceValue((*step.path, "with"), dict(add))] if add else [DeleteKey(step.path, "with")]
    path = (*step.path, "with")
    ops: list[Op] = []
    anchor = gone[0] if gone else None
    for key, value in add.items():
        if key in kept:
            if kept[key] != value:
                ops.append(ReplaceValue((*path, key), value))
        else:
            ops.append(InsertKey(path, key, value, after=anchor))
    return ops + [DeleteKey(path, k) for k in gone]


def leftovers(wf: Workflow, job: Job, names: set[str], removed: set[Any]) -> list[str]:
    """Uses of the removed secrets that would remain in the job (workflow env included)."""
    hits = oidc.remaining_uses(job, names, removed)
    for key, value in wf.env.items():
        used = oidc.secret_names(value) & names if ("env", str(key)) not in removed else set()
        if used:
            hits.append(f"workflow env.{key} still uses secrets.{sorted(used)[0]}")
    return hits


def mark_kept(wf: Workflow, plans: list[Plan]) -> list[Plan]:
    """Record in each plan which of its secrets something else in the workflow still reads after the change."""
    still = oidc.still_read(wf, {(p.job.id, s) for p in plans if not p.refused for s in p.secrets})
    for plan in plans:
        plan.data["elsewhere"] = {s: still[s] for s in sorted(plan.secrets) if s in still}
    return plans


def step_ids(job: Job) -> set[str]:
    return {str(s.data["id"]) for s in job.steps if "id" in s.data}


def fresh_id(job: Job, wanted: str) -> str:
    taken = step_ids(job)
    return next(c for c in (wanted, *(f"{wanted}-{i}" for i in range(2, 99))) if c not in taken)


def finish(plan: Plan, doc: Doc, wf: Workflow, ctx: Context, removed: set[Any]) -> Plan:
    """Refuse on leftover uses of the secrets, else add `id-token: write` to the job."""
    hits = leftovers(wf, plan.job, plan.secrets, removed)
    if hits:
        plan.refused = f"{hits[0]}; rewrite that use too, or migrate the job by hand"
        return plan
    grant = oidc.id_token_ops(doc, wf, plan.job, ctx)
    if isinstance(grant, str):
        plan.refused = grant
    else:
        plan.ops += grant
    return plan


def to_finding(plan: Plan, rule: str, what: str, ctx: Context, goal: str = "switch to OIDC federation") -> Finding:
    job = plan.job
    base = {"job": job.id, "secrets": sorted(plan.secrets), "steps": plan.steps, "repo": ctx.repo or "OWNER/REPO",
            **plan.data}
    if plan.refused:
        return Finding(f"{rule}-refused", f"job `{job.id}` keeps {what}: {plan.refused}", job.line,
                       yaml_path=f"jobs.{job.id}", severity=Severity.WARNING, data=base)
    secrets = ", ".join(f"secrets.{s}" for s in sorted(plan.secrets))
    return Finding(rule, f"job `{job.id}` logs in with {what} ({secrets}); {goal}", job.line,
                   yaml_path=f"jobs.{job.id}", fixable=True, data=base)


def fixable_ops(plans: list[Plan], findings: list[Finding]) -> list[Op]:
    """The ops of the fixable jobs; inserted steps last, so earlier ops' item indexes stay valid."""
    wanted = {f.data.get("job") for f in findings if f.fixable}
    chosen = [p for p in plans if p.job.id in wanted and not p.refused]
    ids = {p.job.id for p in chosen}
    # A job silenced by `# ztbot: ignore` keeps the shared edit from the jobs sharing it.
    chosen = [p for p in chosen if all(j in ids for j in p.data.get("shares_with", []))]
    shared = {repr(op): op for p in chosen for op in p.shared}
    ops = [op for p in chosen for op in p.ops] + list(shared.values())
    items = sorted((op for op in ops if isinstance(op, InsertItem)), key=lambda op: op.index, reverse=True)
    return [op for op in ops if not isinstance(op, InsertItem)] + items


def subjects(wf: Workflow, job: Job, repo: str, branch: str) -> list[str]:
    """The `sub` claims this job can present, one per trigger shape (environment wins)."""
    base = f"repo:{repo}"
    if job.environment:
        return [f"{base}:environment:{job.environment}"]
    out: list[str] = []
    push = wf.triggers.get("push")
    branches = push.get("branches") if isinstance(push, dict) else None
    for b in branches if isinstance(branches, list) else [branch]:
        out.append(f"{base}:ref:refs/heads/{b}")
    if isinstance(push, dict) and push.get("tags"):
        out.append(f"{base}:ref:refs/tags/<TAG>")
    if "pull_request" in wf.triggers:
        out.append(f"{base}:pull_request")
    return list(dict.fromkeys(out))


IMMUTABLE = ("Repositories created (or renamed) on or after 2026-07-15 get immutable subject claims: `sub` reads "
             "`repo:OWNER@OWNER_ID/REPO@REPO_ID:...` with numeric ids. Check the form in a run with "
             "`github/actions-oidc-debugger` (private repositories) before writing a trust condition on `sub`.")


def old_secrets(fixed: list[Finding]) -> tuple[list[str], dict[str, str]]:
    """(secrets the fixed findings free, sorted; {secret: what still reads it} for the ones to keep)."""
    kept = {s: where for f in fixed for s, where in f.data.get("elsewhere", {}).items()}
    return sorted({s for f in fixed for s in f.data.get("secrets", [])} - set(kept)), kept


def explain_common(findings: list[Finding], title: str, setup: list[str]) -> str:
    """The PR section every federated-login transform writes: changes, refusals, setup, cleanup, roll back."""
    fixed = [f for f in findings if f.fixable]
    lines = [f"### {title}", ""]
    for f in fixed:
        steps = ", ".join(f'"{s}"' for s in f.data.get("steps", []))
        grant = "`id-token: write`" if f.data.get("federated", True) else "`packages: write`"
        verb = "logs" if len(f.data.get("steps", [])) == 1 else "log"
        lines.append(f"- job `{f.data['job']}`: {steps} now {verb} in with short-lived credentials instead of "
                     f"{', '.join('`secrets.' + s + '`' for s in f.data.get('secrets', []))}; the job gets {grant}.")
    lines += [f"- {f.message}" for f in findings if not f.fixable]
    if not fixed:
        return "\n".join(lines) + "\n"
    variables = {k: v for f in fixed for k, v in f.data.get("variables", {}).items()}
    lines += ["", "**Before merging**, on the provider side:", "", *setup, ""]
    if variables:
        lines += ["Create these repository (or organization) **variables** (Settings -> Secrets and variables -> "
                  "Actions -> Variables); they are identifiers, not secrets:", ""]
        lines += [f"- `{k}`: {v}" for k, v in sorted(variables.items())]
        lines.append("")
    olds, kept = old_secrets(fixed)
    lines += [f"_{IMMUTABLE}_", ""]
    if olds:
        lines += ["**After merging** and one green run, delete the old secret(s) "
                  f"{', '.join('`' + s + '`' for s in olds)} (first search the repository and the organization for "
                  "other workflows that still read them) and revoke the key at the provider.", ""]
    lines += [f"**Keep** `{s}` for now: {where} still reads it." for s, where in sorted(kept.items())]
    lines += [""] if kept else []
    lines += ["**Roll back**: revert this commit; the old secret keeps working until you delete it.", "",
              "Fork pull requests never receive an OIDC token (`id-token` is capped at `none`), so these logins "
              "fail there, as secret-based ones already did.", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- the transform


