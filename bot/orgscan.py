"""`ztbot scan --org`: the read-only posture of a whole org. Lists, fetches and plans; opens no PR and
writes no state. Per repository: findings, static credentials, jobs without permissions, PR state
(from a state file when given), opt-outs, branch protection and the static-secret inventory.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from bot import inventory, state
from bot.config import Config, check
from bot.github.models import RepoFiles, RepoInfo
from bot.github.scan import ScanResult
from bot.orchestrate import Progress, skip_reason
from bot.plan import RepoPlan, plan_repo
from bot.posture import RepoReport, markdown, sarif
from bot.protection import ProtectionHub, reviews_required
from bot.report import finding_dict
from bot.rollout import in_shard
from bot.state import RepoState, State
from transforms.docs import doc as transform_doc
from transforms.registry import TRANSFORMS

FORMATS = ("text", "json", "sarif", "markdown")


class OrgHub(ProtectionHub, Protocol):
    def scan(self, known: Mapping[str, str] | None = None, want: Callable[[RepoInfo], bool] | None = None,
             with_topics: bool = False) -> ScanResult: ...

    def secret_names(self, repo: str) -> list[str]: ...


@dataclass
class OrgScan:
    reports: list[RepoReport] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # repo -> why it could not be read

    def totals(self) -> dict[str, int]:
        scanned = [r for r in self.reports if not r.skipped and not r.opted_out]
        return {"repositories": len(self.reports), "scanned": len(scanned),
                "findings": sum(len(f.findings) for r in scanned for f in r.results),
                "with_static_credentials": sum(1 for r in scanned if r.credentials()),
                "jobs_without_permissions": sum(r.jobs_without_permissions() for r in scanned),
                "failed": len(self.failures)}


def scan_org(config: Config, hub: OrgHub, shard: tuple[int, int] | None = None, state_file: str | None = None,
             stream: TextIO | None = None) -> OrgScan:
    check(config, list(TRANSFORMS))
    stream = stream or sys.stderr  # looked up now: tests and callers may have replaced it
    saved = state.load(state_file) if state_file and Path(state_file).exists() else State()
    out = OrgScan()

    def want(info: RepoInfo) -> bool:
        if not in_shard(info.full_name, shard):
            return False
        reason = skip_reason(info, config)
        if reason:
            out.reports.append(RepoReport(info.full_name, skipped=reason))
        return not reason

    result = hub.scan(None, want, with_topics=bool(config.select.topics))
    fetched = {f.info.full_name: f for f in result.fetched}
    progress = Progress(len(result.repos), stream, "ztbot scan")
    try:
        for info in result.repos:
            report = _one(config, hub, info, fetched.get(info.full_name), saved.repos.get(info.full_name), out)
            out.reports.append(report)
            found = sum(len(r.findings) for r in report.results)
            progress.step(info.full_name, f"{_status(report)}, {found} findings")
    finally:
        progress.close()
    out.reports.sort(key=lambda r: r.full_name)
    return out


def _one(config: Config, hub: OrgHub, info: RepoInfo, fetched: RepoFiles | None, st: RepoState | None,
         out: OrgScan) -> RepoReport:
    if fetched is None or "*" in fetched.errors:
        why = fetched.errors["*"] if fetched is not None else "files not fetched"
        out.failures[info.full_name] = why
        return RepoReport(info.full_name, skipped=f"failed: {why}")
    plan = plan_repo(info.full_name, fetched.info.default_branch or "main", fetched.info.head_oid or "",
                     fetched.files, config)
    report = RepoReport(info.full_name, plan.results, opted_out=bool(plan.opted_out))
    if st is not None:
        report.pr_state = "draft" if st.pr_state == "open" and st.pr_draft else st.pr_state
        report.pr_url = st.pr_url
    if config.branch_protection.report:
        report.reviews_required = reviews_required(hub, info.full_name, plan.default_branch)
    _inventory(hub, report, plan, fetched, st)
    return report


def _inventory(hub: OrgHub, report: RepoReport, plan: RepoPlan, fetched: RepoFiles, st: RepoState | None) -> None:
    inv = inventory.of_plan(plan, fetched.files)
    report.secrets_before, report.secrets_after = inv.before, inv.after
    # Which secrets a merged PR migrated away from is only known from the bot's state.
    if st is not None and st.pr_state == "merged" and st.migrated_secrets:
        ready = inventory.ready_to_delete(st.migrated_secrets, hub.secret_names(report.full_name),
                                          inventory.referenced(fetched.files))
        report.ready_to_delete = tuple(ready)


def render(scan: OrgScan, fmt: str) -> str:
    if fmt == "markdown":
        return markdown(scan.reports)
    if fmt == "sarif":
        return sarif(scan.reports, TRANSFORMS, {t: transform_doc(t) or "" for t in TRANSFORMS}) + "\n"
    if fmt == "json":
        return json.dumps({"summary": scan.totals(), "repositories": [_json(r) for r in scan.reports]}, indent=2) + "\n"
    return text_table(scan)


def _json(r: RepoReport) -> dict[str, Any]:
    return {"repo": r.full_name, "status": _status(r), "pr_state": r.pr_state, "pr_url": r.pr_url,
            "reviews_required": r.reviews_required, "static_credentials": dict(r.credentials()),
            "jobs_without_permissions": r.jobs_without_permissions(), "secrets_before": list(r.secrets_before),
            "secrets_after": list(r.secrets_after), "ready_to_delete": list(r.ready_to_delete),
            "findings": [finding_dict(f.path, tid, x) for f in r.results for tid, x in f.findings]}


def _status(r: RepoReport) -> str:
    return f"skipped: {r.skipped}" if r.skipped else ("opted out" if r.opted_out else "scanned")


def text_table(scan: OrgScan) -> str:
    header = ("repository", "status", "findings", "fixable", "static credentials", "no permissions", "reviews")
    rows = [header]
    for r in scan.reports:
        findings = [x for f in r.results for _, x in f.findings]
        creds = ", ".join(f"{p} {n}" for p, n in sorted(r.credentials().items())) or "-"
        reviews = {True: "yes", False: "no", None: "?"}[r.reviews_required]
        rows.append((r.full_name, _status(r), str(len(findings)), str(sum(x.fixable for x in findings)), creds,
                     str(r.jobs_without_permissions()), reviews))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows) + "\n"
