"""Resolve `owner/repo@ref` to a commit for the pin-actions transform, through the GitHub API.

Results (including "no such ref") are kept in the state file for `MAX_AGE` so a scheduled run asks
GitHub about each action reference about once a week, not once per repository. Tags can move, which
is why entries expire; the pin written into a workflow never changes on its own.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Protocol

from bot.errors import ZtbotError

MAX_AGE = datetime.timedelta(days=7)


class CommitLookup(Protocol):
    def commit_for(self, repo: str, ref: str) -> str | None: ...


class PinResolver:
    """The `(owner_repo, ref) -> (sha, comment) | None` callable pin-actions accepts as its `resolver`."""

    def __init__(self, client: CommitLookup, cache: dict[str, list[str]],
                 now: Callable[[], datetime.datetime] | None = None) -> None:
        self.client = client
        self.cache = cache
        self.now = now or (lambda: datetime.datetime.now(datetime.UTC))
        self.asked = 0  # API lookups this run (cache misses)

    def __call__(self, owner_repo: str, ref: str) -> tuple[str, str] | None:
        key = f"{owner_repo.lower()}@{ref}"
        sha = self._cached(key)
        if sha is None:
            sha = self._ask(owner_repo, ref)
            if sha is None:
                return None  # GitHub did not answer: not cached, the next run asks again
            self.cache[key] = [sha, self.now().isoformat(timespec="seconds")]
        return (sha, ref) if sha else None

    def _cached(self, key: str) -> str | None:
        entry = self.cache.get(key)
        if not entry:
            return None
        try:
            when = datetime.datetime.fromisoformat(entry[1])
        except ValueError:
            return None
        return entry[0] if self.now() - when < MAX_AGE else None

    def _ask(self, owner_repo: str, ref: str) -> str | None:
        """The sha, "" when GitHub says there is no such ref, None when it could not be asked."""
        self.asked += 1
        try:
            return self.client.commit_for(owner_repo, ref) or ""
        except ZtbotError:  # retries exhausted, no access: the bundled table still applies
            return None
