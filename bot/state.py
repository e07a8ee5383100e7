"""What the bot remembers between scheduled runs (`paths.state`, one JSON file, written atomically).

A re-run uses it to skip repositories whose default branch did not move, to recognise its own PR
and branch, and to avoid repeating itself (a closed PR is not reopened, a comment is left once).
The file holds no secrets: only names, shas, hashes and PR numbers.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bot.errors import ZtbotError

STATE_VERSION = 1
PullState = Literal["", "open", "closed", "merged"]


@dataclass
class RepoState:
    head_oid: str = ""  # default-branch head at the last scan
    findings_digest: str = ""  # sha256 over the findings; tells a re-scan whether anything moved
    config_digest: str = ""  # bot version + transform settings the plan was made with
    content_hash: str = ""  # sha256 over the planned (path, text) pairs the PR carries
    pr_number: int = 0
    pr_state: PullState = ""
    pr_url: str = ""
    pr_draft: bool = False
    pushed_sha: str = ""  # head of the bot branch as we last pushed it; anything else is not ours
    commented_human_edits: bool = False
    skipped: str = ""  # why the last run left the repo alone (empty = it was handled)
    error: str = ""  # the last failure, shown until a run succeeds
    last_run: str = ""
    # PR lifecycle: what the owner said no to, and when (a closed PR's change is never proposed again).
    closed_hashes: list[str] = field(default_factory=list)
    closed_pr: int = 0  # the closed PR the two fields below are about
    closed_at: str = ""  # when the bot first saw its PR closed unmerged; starts limits.cooldown_days
    commented_closed: bool = False  # the "how to get it back" comment was left on the closed PR
    merged_at: str = ""
    ignore_pulls_upto: int = 0  # `--reset-repo`: PRs numbered up to this are history the owner asked to forget
    waiting_since: str = ""  # queued by a cap or a wave's schedule; the queue serves the longest waiting first
    opted_out: bool = False
    # Posture, kept so the dashboard covers repositories this run did not read again.
    credentials: dict[str, int] = field(default_factory=dict)  # static-credential findings by provider
    jobs_without_permissions: int = 0
    reviews_required: bool | None = None  # default branch requires PR reviews; None = unknown
    migrated_secrets: list[str] = field(default_factory=list)  # referenced before the PR, no longer after
    ready_to_delete: list[str] = field(default_factory=list)  # migrated, merged, still held, read by nothing

    @property
    def pr_open(self) -> bool:
        return self.pr_number > 0 and self.pr_state == "open"


@dataclass
class State:
    repos: dict[str, RepoState] = field(default_factory=dict)  # by full_name
    opened_at: list[str] = field(default_factory=list)  # ISO times of PRs opened (limits.new_prs_per_hour)
    pins: dict[str, list[str]] = field(default_factory=dict)  # "owner/repo@ref" -> [sha or "", resolved at]
    version: int = STATE_VERSION

    def repo(self, full_name: str) -> RepoState:
        return self.repos.setdefault(full_name, RepoState())

    def known_heads(self) -> dict[str, str]:
        """Default-branch heads from the last run, for the scan to skip unchanged repositories."""
        return {name: r.head_oid for name, r in self.repos.items() if r.head_oid}

    def reset(self, full_name: str) -> bool:
        """Forget a repository's history (`ztbot run --reset-repo`): a closed PR's change may be proposed again.

        The entry is replaced, not dropped, so that the closed PR still found on GitHub is not read back
        as "the owner said no" (which is what happens when the whole state file is lost).
        """
        old = self.repos.get(full_name)
        if old is None:
            return False
        self.repos[full_name] = RepoState(ignore_pulls_upto=max(old.pr_number, old.ignore_pulls_upto))
        return True


def shard_path(path: str | Path, shard: tuple[int, int] | None) -> Path:
    """`state.json` -> `state.shard-K-of-N.json`: each shard keeps its own file, so shards never race."""
    target = Path(path)
    if shard is None:
        return target
    k, n = shard
    return target.with_name(f"{target.stem}.shard-{k}-of-{n}{target.suffix}")


class StateError(ZtbotError):
    pass


def load(path: str | Path) -> State:
    """The saved state, or an empty one on the first run."""
    target = Path(path)
    if not target.exists():
        return State()
    try:
        raw = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StateError(f"{target}: cannot read the state file: {exc}",
                         "fix or delete it; the next run then rescans every repository") from None
    return _from_dict(raw, target)


def _from_dict(raw: Any, source: Path) -> State:
    if not isinstance(raw, dict) or raw.get("version") != STATE_VERSION or not isinstance(raw.get("repos"), dict):
        raise StateError(f"{source}: not a ztbot state file (version {STATE_VERSION})",
                         "delete it; the next run then rescans every repository")
    known = {f.name for f in dataclasses.fields(RepoState)}
    # Unknown keys are dropped rather than fatal, so an older bot can read a newer file.
    repos = {name: RepoState(**{k: v for k, v in entry.items() if k in known}) for name, entry in raw["repos"].items()}
    opened = [str(t) for t in raw.get("opened_at", []) if isinstance(t, str)]
    pins = {str(k): [str(x) for x in v] for k, v in (raw.get("pins") or {}).items()
            if isinstance(v, list) and len(v) == 2}
    return State(repos, opened, pins)


def save(state: State, path: str | Path) -> None:
    """Write to a temporary file beside the target, then rename: a crash never leaves half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = {"version": state.version, "opened_at": state.opened_at, "pins": dict(sorted(state.pins.items())),
            "repos": {name: dataclasses.asdict(r) for name, r in sorted(state.repos.items())}}
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1, sort_keys=True)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
