"""git `proc-receive` hook: refuse ref updates that touch workflows, with GitHub's exact message.

Run by `git receive-pack` (never imported). Speaking the proc-receive protocol, rather than
failing a pre-receive hook, yields GitHub's per-ref status line:
` ! [remote rejected] branch -> branch (refusing to allow a GitHub App to create or update workflow ...)`.
"""

from __future__ import annotations

import os
import subprocess
import sys

ZERO = "0" * 40
MESSAGES = {
    "app": "refusing to allow a GitHub App to create or update workflow `{path}` "
    "without `workflows` permission",
    "oauth": "refusing to allow an OAuth App to create or update workflow `{path}` without `workflow` scope",
}


def read_pkt(stream) -> bytes | None:  # type: ignore[no-untyped-def]
    """One pkt-line payload; None for a flush packet."""
    size = int(stream.read(4), 16)
    return None if size == 0 else stream.read(size - 4)


def write_pkt(stream, text: str) -> None:  # type: ignore[no-untyped-def]
    data = text.encode()
    stream.write(f"{len(data) + 4:04x}".encode() + data)


def read_until_flush(stream) -> list[bytes]:  # type: ignore[no-untyped-def]
    lines = []
    while (line := read_pkt(stream)) is not None:
        lines.append(line.rstrip(b"\n"))
    return lines


def touched_workflow(old: str, new: str) -> str | None:
    """The first `.github/workflows/` path changed by commits that are new to the repository."""
    if new == ZERO:
        return None
    out = subprocess.run(
        [
            "git",
            "log",
            "--format=",
            "--name-only",
            "-m",
            "--root",
            new,
            "--not",
            "--all",
            "--",
            ".github/workflows/",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    paths = [p for p in out.splitlines() if p.strip()]
    return paths[0] if paths else None


def main() -> int:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    read_until_flush(stdin)  # version and features
    write_pkt(stdout, "version=1\0")
    stdout.write(b"0000")
    stdout.flush()
    actor = os.environ.get("STANDIN_WORKFLOW_ACTOR", "app")
    for command in read_until_flush(stdin):
        old, new, ref = command.decode().split(" ", 2)
        path = touched_workflow(old, new)
        if path:
            write_pkt(stdout, f"ng {ref} {MESSAGES[actor].format(path=path)}")
        else:
            write_pkt(stdout, f"ok {ref}")
            write_pkt(stdout, "option fall-through")
    stdout.write(b"0000")
    stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
