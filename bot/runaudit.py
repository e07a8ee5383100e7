"""Audit records for one run: every decision the bot takes, with who, where and on what.

A thin layer over `bot.audit` that stamps each record with the run id, the bot identity and the
shard, and turns a plan into per-file, per-transform finding summaries.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Callable, Iterable

from bot.audit import AuditLog, Record
from bot.plan import RepoPlan


class Recorder:
    def __init__(self, log: AuditLog | None, run_id: str, actor: str, shard: str = "",
                 now: Callable[[], datetime.datetime] | None = None) -> None:
        self.log, self.run_id, self.actor, self.shard = log, run_id, actor, shard
        self.now = now or (lambda: datetime.datetime.now(datetime.UTC))  # the run's clock, fake in tests

    def write(self, repo: str, action: str, reason: str = "", **fields: str) -> None:
        """One record; `log` None (a dry run) writes nothing."""
        if self.log is None:
            return
        self.log.write(Record(self.run_id, self.actor, repo, action, reason=reason, shard=self.shard,
                              time=self.now().isoformat(timespec="seconds"), **fields))

    def findings(self, plan: RepoPlan) -> None:
        """One record per (file, transform): how many findings, which rules, how many fixable."""
        for (path, tid), rules in _grouped(plan).items():
            summary = ", ".join(f"{rule} x{n}" if n > 1 else rule for rule, n in sorted(rules.items()))
            fixable = sum(e.finding.fixable for e in plan.evidence if (e.path, e.transform) == (path, tid))
            self.write(plan.repo, "finding", f"{sum(rules.values())} finding(s), {fixable} fixable", file=path,
                       transform=tid, finding=summary, base_sha=plan.base_sha)
        for path in plan.ignored_paths:
            self.write(plan.repo, "ignored-path", "left untouched by ignore_paths in .github/ztbot.toml", file=path,
                       base_sha=plan.base_sha)
        for e in plan.ignored:
            self.write(plan.repo, "ignored-finding", "inline `# ztbot: ignore`", file=e.path, transform=e.transform,
                       finding=f"{e.finding.rule} (line {e.finding.line})", base_sha=plan.base_sha)


def _grouped(plan: RepoPlan) -> dict[tuple[str, str], Counter[str]]:
    groups: dict[tuple[str, str], Counter[str]] = {}
    for e in plan.evidence:
        groups.setdefault((e.path, e.transform), Counter())[e.finding.rule] += 1
    return groups


def names(items: Iterable[str]) -> str:
    return ", ".join(sorted(items)) or "none"
