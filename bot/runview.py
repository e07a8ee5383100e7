"""What a run shows: the summary it returns, the progress it prints, and why a repository is skipped."""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TextIO

from bot.config import Config
from bot.github.models import RepoInfo
from bot.prsync import Outcome


@dataclass
class RunReport:
    repos: int = 0  # repositories the listing returned
    scanned: int = 0  # fetched and planned this run
    not_moved: int = 0  # default branch unchanged since the last run: not fetched again
    skipped: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # reason -> repos
    actions: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # opened/updated/... -> repos
    failures: dict[str, str] = field(default_factory=dict)  # repo -> reason
    warnings: dict[str, str] = field(default_factory=dict)  # repo -> e.g. a broken .github/ztbot.toml
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    dashboard: str = ""  # URL of the dashboard issue, when one was published

    def lines(self) -> list[str]:
        acts = ", ".join(f"{len(v)} {k}" for k, v in sorted(self.actions.items())) or "none"
        skips = ", ".join(f"{len(v)} {k}" for k, v in sorted(self.skipped.items())) or "none"
        out = [f"repositories: {self.repos} listed, {self.scanned} scanned, {self.not_moved} unchanged since "
               "the last run", f"pull requests: {acts}", f"skipped: {skips}"]
        out += [f"warning: {repo}: {text.removeprefix(repo + ': ')}" for repo, text in sorted(self.warnings.items())]
        out += [f"failed: {repo}: {reason.splitlines()[0].removeprefix(repo + ': ')}"
                for repo, reason in sorted(self.failures.items())]
        out += [f"dashboard: {self.dashboard}"] if self.dashboard else []
        return out


class Progress:
    """A bar on a terminal; plain lines otherwise (CI logs keep every repository's outcome)."""

    def __init__(self, total: int, stream: TextIO, prefix: str = "ztbot run") -> None:
        self.total, self.done, self.stream, self.prefix = total, 0, stream, prefix
        self.tty = stream.isatty()

    def step(self, repo: str, what: str) -> None:
        self.done += 1
        if not self.tty:
            print(f"{self.prefix}: [{self.done}/{self.total}] {repo}: {what}", file=self.stream)
            return
        filled = int(30 * self.done / max(self.total, 1))
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} {repo[:40]:<40}")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.total:
            self.stream.write("\n")


def skip_reason(info: RepoInfo, config: Config) -> str:
    """Why the bot leaves a repository alone before reading it (empty = it does not)."""
    sel = config.select
    checks: list[tuple[bool, str]] = [
        (not _included(info, config), "excluded"),
        (info.archived, "archived"),  # read-only on GitHub: a PR is impossible
        (info.fork and not sel.forks, "fork"),
        (info.empty or not info.default_branch, "empty"),
        (bool(sel.topics) and not set(sel.topics) & set(info.topics), "excluded"),
        (sel.visibility != "all" and info.visibility != sel.visibility, "excluded"),
    ]
    return next((reason for hit, reason in checks if hit), "")


def _included(info: RepoInfo, config: Config) -> bool:
    def match(globs: list[str]) -> bool:
        return any(fnmatch.fnmatchcase(n, g) for g in globs for n in (info.name, info.full_name))
    return match(config.select.include) and not match(config.select.exclude)
