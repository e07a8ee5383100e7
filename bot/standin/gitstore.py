"""Bare repositories on disk, read and written with git plumbing.

The bare repos are the single source of truth for contents, branches and commits, so
anything pushed over smart HTTP shows up in the REST and GraphQL views at once.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

ZERO_SHA = "0" * 40

# git must never read the developer's config or prompt; the stand-in is hermetic.
_GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
}


class GitError(RuntimeError):
    """A git plumbing command failed."""


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    type: str  # blob | tree | commit (submodule)
    sha: str
    size: int | None
    path: str

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    author_date: str  # ISO 8601, UTC
    committer_name: str
    committer_email: str
    committer_date: str
    message: str


@dataclass(frozen=True)
class Author:
    name: str = "Stand-In Human"
    email: str = "human@example.com"
    date: str | None = None  # raw git date, "<unix seconds> +0000"; None means now


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(_GIT_ENV)
    env.update(extra or {})
    return env


class BareRepo:
    """One bare repository; every method is a thin wrapper over plumbing."""

    # Commits build a temporary index and then move a ref; serialise them per repo so two
    # seeding threads cannot race on the same branch.
    _locks: ClassVar[dict[str, threading.Lock]] = {}
    _locks_guard = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._locks_guard:
            self._lock = self._locks.setdefault(str(path), threading.Lock())

    # -- low level -------------------------------------------------------------------------------
    def run(
        self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None, check: bool = True
    ) -> bytes:
        proc = subprocess.run(
            ["git", "--git-dir", str(self.path), *args],
            input=stdin,
            capture_output=True,
            env=git_env(env),
            check=False,
        )
        if check and proc.returncode != 0:
            raise GitError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace').strip()}")
        return proc.stdout

    def text(self, *args: str, **kw: object) -> str:
        return self.run(*args, **kw).decode().strip()  # type: ignore[arg-type]

    # -- creation ----------------------------------------------------------------------------------
    @classmethod
    def init(cls, path: Path, default_branch: str) -> BareRepo:
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "-q", "--bare", "-b", default_branch, str(path)],
            check=True,
            env=git_env(),
            capture_output=True,
        )
        repo = cls(path)
        # Partial and shallow clones need these; receivepack lets authenticated pushes in.
        # Appended directly: six `git config` processes per seeded repo add up in test setup.
        with (path / "config").open("a") as config:
            config.write(
                "[uploadpack]\n\tallowFilter = true\n\tallowAnySHA1InWant = true\n"
                "[http]\n\treceivepack = true\n\tuploadpack = true\n"
                "[receive]\n\tdenyDeleteCurrent = false\n"
            )
        return repo

    # -- refs ----------------------------------------------------------------------------------
    def resolve(self, rev: str) -> str | None:
        out = self.run("rev-parse", "--verify", "-q", f"{rev}^{{commit}}", check=False)
        return out.decode().strip() or None

    def object_type(self, sha: str) -> str | None:
        out = self.run("cat-file", "-t", sha, check=False)
        return out.decode().strip() or None

    def refs(self, prefix: str = "refs/") -> dict[str, str]:
        out = self.text("for-each-ref", "--format=%(refname) %(objectname)", prefix)
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def branches(self) -> dict[str, str]:
        return {ref.removeprefix("refs/heads/"): sha for ref, sha in self.refs("refs/heads/").items()}

    def head_branch(self) -> str:
        return self.text("symbolic-ref", "--short", "HEAD")

    def set_head(self, branch: str) -> None:
        self.run("symbolic-ref", "HEAD", f"refs/heads/{branch}")

    def update_ref(self, ref: str, new: str, old: str | None = None) -> None:
        self.run("update-ref", ref, new, *([old] if old else []))

    def delete_ref(self, ref: str) -> None:
        self.run("update-ref", "-d", ref)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        args = ("merge-base", "--is-ancestor", ancestor, descendant)
        proc = subprocess.run(["git", "--git-dir", str(self.path), *args], env=git_env(), capture_output=True)
        return proc.returncode == 0

    # -- objects -------------------------------------------------------------------------------
    def blob(self, sha: str) -> bytes:
        return self.run("cat-file", "blob", sha)

    def write_blob(self, data: bytes) -> str:
        return self.text("hash-object", "-w", "--stdin", stdin=data)

    def ls_tree(self, treeish: str, path: str = "", recursive: bool = False) -> list[TreeEntry]:
        """Entries of the tree at `path` inside `treeish` ('' = root)."""
        target = f"{treeish}:{path}" if path else f"{treeish}^{{tree}}"
        args = ["ls-tree", "-l", "-z", *(["-r", "-t"] if recursive else []), target]
        out = self.run(*args, check=False)
        entries = []
        for record in out.decode(errors="surrogateescape").split("\0"):
            if not record:
                continue
            meta, name = record.split("\t", 1)
            mode, kind, sha, size = meta.split()
            entries.append(TreeEntry(mode, kind, sha, None if size == "-" else int(size), name))
        return entries

    def entry_at(self, treeish: str, path: str) -> TreeEntry | None:
        """The tree entry for `path` (a file or a directory), or None."""
        path = path.strip("/")
        if not path:
            sha = self.text("rev-parse", f"{treeish}^{{tree}}")
            return TreeEntry("040000", "tree", sha, None, "")
        parent, _, _ = path.rpartition("/")
        for entry in self.ls_tree(treeish, parent):
            if entry.name == path.rsplit("/", 1)[-1]:
                return TreeEntry(entry.mode, entry.type, entry.sha, entry.size, path)
        return None

    def commit_info(self, sha: str) -> CommitInfo:
        fmt = "%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B"
        out = self.run("show", "-s", f"--format={fmt}", "--date=iso-strict", sha, "--")
        fields = out.decode(errors="replace").split("\0", 9)
        return CommitInfo(
            fields[0],
            fields[1],
            tuple(fields[2].split()),
            fields[3],
            fields[4],
            fields[5],
            fields[6],
            fields[7],
            fields[8],
            fields[9].rstrip("\n"),
        )

    def changed_paths(self, old: str | None, new: str) -> list[str]:
        out = self.run(
            "diff-tree", "-r", "--name-only", "--no-commit-id", "-z", old or self.empty_tree(), new
        )
        return [p for p in out.decode(errors="surrogateescape").split("\0") if p]

    def empty_tree(self) -> str:
        return self.text("hash-object", "-t", "tree", "-w", "--stdin", stdin=b"")

    def disk_kb(self) -> int:
        total = sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())
        return max(total // 1024, 0)

    # -- writing -------------------------------------------------------------------------------
    def write_tree(self, base_tree: str | None, changes: dict[str, tuple[str, str] | None]) -> str:
        """A new tree: `base_tree` plus `changes` (path -> (mode, blob sha), or None to delete)."""
        with tempfile.TemporaryDirectory() as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if base_tree:
                self.run("read-tree", base_tree, env=env)
            else:
                self.run("read-tree", "--empty", env=env)
            lines = []
            for path, change in changes.items():
                if change is None:
                    lines.append(f"0 {ZERO_SHA}\t{path}")
                else:
                    lines.append(f"{change[0]} {change[1]}\t{path}")
            if lines:
                self.run("update-index", "--index-info", stdin=("\n".join(lines) + "\n").encode(), env=env)
            return self.text("write-tree", env=env)

    def commit_tree(
        self, tree: str, parents: list[str], message: str, author: Author, committer: Author | None = None
    ) -> str:
        committer = committer or author
        env = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
        }
        if author.date:
            env["GIT_AUTHOR_DATE"] = author.date
        if committer.date:
            env["GIT_COMMITTER_DATE"] = committer.date
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        return self.text(*args, stdin=message.encode(), env=env)

    def commit_files(
        self,
        branch: str,
        files: dict[str, str | bytes | None],
        message: str,
        author: Author,
        base: str | None = None,
    ) -> str:
        """Commit `files` on top of `branch` (or `base` for a new branch); None deletes a path.

        One `git fast-import` process writes blobs, tree, commit and ref together.
        """
        with self._lock:
            existing = self.resolve(f"refs/heads/{branch}")
            parent = existing or (self.resolve(base) if base else None)
            ref = f"refs/heads/{branch}"
            stream = [
                f"commit {ref}\n".encode(),
                _ident("author", author),
                _ident("committer", author),
                _data(message.encode()),
            ]
            if parent:
                stream.append(f"from {parent}\n".encode())
            for path, content in files.items():
                if content is None:
                    stream.append(f"D {path}\n".encode())
                    continue
                data = content.encode() if isinstance(content, str) else content
                stream += [f"M 100644 inline {path}\n".encode(), _data(data)]
            self.run("fast-import", "--quiet", "--force", stdin=b"".join(stream) + b"\n")
            sha = self.resolve(ref)
            assert sha is not None
            return sha


def _ident(role: str, who: Author) -> bytes:
    when = who.date or f"{int(time.time())} +0000"
    return f"{role} {who.name} <{who.email}> {when}\n".encode()


def _data(payload: bytes) -> bytes:
    return f"data {len(payload)}\n".encode() + payload + b"\n"
