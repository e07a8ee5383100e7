"""Incremental rollout: which transforms enter which repository, and how many PRs a run may open.

Canary membership uses a stable hash of the repository's full name, so a repository stays in
(or out of) a canary across runs and machines. Queued repositories are served oldest-waiting
first, ties broken by the same stable hash: fair and deterministic.
"""

from __future__ import annotations

import datetime
import fnmatch
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.config import Config, LimitsConfig, Wave


def bucket(full_name: str) -> int:
    """0..99, stable for a repository name."""
    digest = hashlib.sha256(full_name.lower().encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 100


def covers(wave: Wave, full_name: str, today: datetime.date) -> bool:
    name = full_name.split("/")[-1]
    if wave.not_before is not None and today < wave.not_before:
        return False
    if not any(fnmatch.fnmatch(name, g) or fnmatch.fnmatch(full_name, g) for g in wave.repos):
        return False
    return bucket(full_name) < wave.canary_percent


def transforms_for(cfg: Config, full_name: str, enabled: Iterable[str], today: datetime.date) -> list[str]:
    """Enabled transforms a wave lets into this repository (no waves = all of them)."""
    enabled = list(enabled)
    if not cfg.rollout.waves:
        return enabled
    allowed = {t for w in cfg.rollout.waves if covers(w, full_name, today) for t in (w.transforms or enabled)}
    return [t for t in enabled if t in allowed]


@dataclass(frozen=True)
class Budget:
    """How many new PRs this run may still open."""

    remaining: int

    @staticmethod
    def compute(limits: LimitsConfig, opened_at: Iterable[datetime.datetime], open_now: int,
                now: datetime.datetime) -> Budget:
        hour_ago = now - datetime.timedelta(hours=1)
        last_hour = sum(1 for t in opened_at if t > hour_ago)
        return Budget(max(0, min(limits.new_prs_per_run, limits.new_prs_per_hour - last_hour,
                                 limits.open_prs - open_now)))


def queue_order(candidates: Iterable[str], waiting_since: Mapping[str, str]) -> list[str]:
    """Longest-waiting first; never-queued repositories after them; ties by stable hash."""
    far = "9999-12-31T00:00:00"
    return sorted(candidates, key=lambda r: (waiting_since.get(r, far), bucket(r), r))


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` (1 <= K <= N) as given to `--shard`; ValueError otherwise."""
    k_text, sep, n_text = text.partition("/")
    if not sep or not k_text.strip().isdigit() or not n_text.strip().isdigit():
        raise ValueError(f"expected K/N (e.g. 2/4), got {text!r}")
    k, n = int(k_text), int(n_text)
    if not 1 <= k <= n:
        raise ValueError(f"expected 1 <= K <= N, got {text!r}")
    return k, n


def in_shard(full_name: str, shard: tuple[int, int] | None) -> bool:
    """Stable partition by sha256 of the lower-cased name: every repository is in exactly one shard."""
    if shard is None:
        return True
    k, n = shard
    digest = hashlib.sha256(full_name.lower().encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n == k - 1
