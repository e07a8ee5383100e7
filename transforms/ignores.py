"""Inline opt-outs: `# ztbot: ignore` or `# ztbot: ignore[permissions, oidc-aws]` on a job or step line.

A comment on a job's line covers every finding inside that job; on a step's line, that step.
"""

from __future__ import annotations

import re

from transforms.base import Finding
from transforms.model import load_workflow
from transforms.yamldoc import Doc

IGNORE_RE = re.compile(r"#\s*ztbot:\s*ignore(?:\[([^\]]*)\])?", re.I)
ALL = "*"


def ignored_lines(doc: Doc) -> dict[int, set[str]]:
    """1-based line -> transform ids ignored there (`*` = all)."""
    return doc.derived("ignores", _ignored_lines)  # type: ignore[no-any-return]


def _ignored_lines(doc: Doc) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for number, line in enumerate(doc.text.split("\n"), start=1):
        if "ztbot" not in line:
            continue
        for match in IGNORE_RE.finditer(line):
            ids = {i.strip() for i in (match.group(1) or ALL).split(",") if i.strip()}
            out.setdefault(number, set()).update(ids or {ALL})
    return out


def job_lines(doc: Doc) -> dict[str, int]:
    wf = load_workflow(doc)
    return {job.id: job.line for job in wf.jobs} if wf else {}


def suppressed(finding: Finding, transform_id: str, ignores: dict[int, set[str]], jobs: dict[str, int]) -> bool:
    lines = {finding.line}
    parts = finding.yaml_path.split(".")
    if len(parts) >= 2 and parts[0] == "jobs":
        lines.add(jobs.get(parts[1], -1))
    return any(ALL in ignores.get(n, ()) or transform_id in ignores.get(n, ()) for n in lines)


def apply_ignores(doc: Doc, transform_id: str, findings: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(kept, suppressed) findings."""
    ignores = ignored_lines(doc)
    if not ignores:
        return findings, []
    jobs = job_lines(doc)
    kept = [f for f in findings if not suppressed(f, transform_id, ignores, jobs)]
    return kept, [f for f in findings if f not in kept]
