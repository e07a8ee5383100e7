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
    pushed_sha: str = ""  # head of the bot branch as we last pushed it; anything else is not ours
    commented_human_edits: bool = False
    skipped: str = ""  # why the last run left the repo alone (empty = it was handled)
    error: str = ""  # the last failure, shown until a run succeeds
    last_run: str = ""

    @property
    def pr_open(self) -> bool:
        return self.pr_number > 0 and self.pr_state == "open"


@dataclass
class State:
    repos: dict[str, RepoState] = field(default_factory=dict)  # by full_name
    version: int = STATE_VERSION

    def repo(self, full_name: str) -> RepoState:
        return self.repos.setdefault(full_name, RepoState())

    def known_heads(self) -> dict[str, str]:
        """Default-branch heads from the last run, for the scan to skip unchanged repositories."""
        return {name: r.head_oid for name, r in self.repos.items() if r.head_oid}


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
    return State(repos)


def save(state: State, path: str | Path) -> None:
    """Write to a temporary file beside the target, then rename: a crash never leaves half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = {"version": state.version,
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
