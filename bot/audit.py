"""The audit trail: an append-only JSONL log of every decision, and `ztbot audit` to read it.

Every record answers "who changed what, when, from which source": run id, time, bot identity,
repo, file, transform, finding, action taken or reason skipped, PR URL, base sha, content hash.
Records are built from an allow-list of fields and scrubbed of anything token-shaped.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

# Token formats GitHub documents (classic, fine-grained, app/installation, OAuth) and bearer-ish blobs.
TOKEN_RE = re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|v1\.[0-9a-f]{40})\b")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, "***")
    return TOKEN_RE.sub("***", text)


@dataclass
class Record:
    run_id: str
    actor: str  # the bot identity (app slug or token login)
    repo: str
    action: str  # opened-pr, updated-pr, unchanged, skipped, failed, closed-pr, commented, finding, ...
    reason: str = ""
    file: str = ""
    transform: str = ""
    finding: str = ""
    pr_url: str = ""
    base_sha: str = ""
    content_hash: str = ""
    shard: str = ""  # "K/N" when the run was one shard of many
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


class AuditLog:
    def __init__(self, path: str | Path, secrets: Iterable[str] = ()) -> None:
        self.path = Path(path)
        self._secrets = tuple(secrets)

    def write(self, record: Record) -> None:
        line = scrub(json.dumps(asdict(record), sort_keys=True), self._secrets)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: concurrent writers (shards) never interleave inside a line.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
        finally:
            os.close(fd)


def read(path: str | Path) -> Iterator[dict[str, str]]:
    target = Path(path)
    if not target.exists():
        return
    with target.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    yield {"action": "corrupt-line", "reason": f"{path}:{number} is not JSON"}


def select(records: Iterable[dict[str, str]], repo: str = "", run: str = "",
           transform: str = "") -> list[dict[str, str]]:
    return [r for r in records
            if (not repo or r.get("repo") == repo or r.get("repo", "").endswith("/" + repo))
            and (not run or r.get("run_id") == run) and (not transform or r.get("transform") == transform)]


COLUMNS = ("time", "run_id", "repo", "transform", "action", "file", "reason", "pr_url")


def table(records: list[dict[str, str]]) -> str:
    rows = [COLUMNS, *[tuple(str(r.get(c, "")) for c in COLUMNS) for r in records]]
    widths = [min(max(len(row[i]) for row in rows), 60) for i in range(len(COLUMNS))]
    lines = ("  ".join(cell[:60].ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)
    return "\n".join(lines)
