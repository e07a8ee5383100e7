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

from bot.standin import gitread
from bot.standin.gitread import CommitInfo, GitError, TreeEntry

__all__ = ["ZERO_SHA", "Author", "BareRepo", "CommitInfo", "GitError", "TreeEntry", "git_env"]

ZERO_SHA = "0" * 40

# git must never read the developer's config or prompt; the stand-in is hermetic.
_GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
}


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

    # -- refs: parsed from the files, no process ------------------------------------------------
    def resolve(self, rev: str) -> str | None:
        """The commit `rev` names (`rev-parse --verify rev^{commit}`), or None."""
        found = gitread.dwim_ref(self.path, rev)
        if found and found[0].startswith("refs/heads/"):
            return found[1]  # branches point at commits; tags and raw shas are peeled below
        if found is None and (rev == "HEAD" or rev.startswith("refs/")):
            return None  # unborn HEAD or no such ref: nothing else could match
        info = self._info(f"{found[1] if found else rev}^{{commit}}")
        return info[0] if info else None

    def object_type(self, sha: str) -> str | None:
        info = self._info(sha)
        return info[1] if info else None

    def refs(self, prefix: str = "refs/") -> dict[str, str]:
        """Refs matching `prefix` as `for-each-ref` does (whole name, or a prefix up to a slash)."""
        if not prefix.endswith("/"):
            sha = gitread.ref_value(self.path, prefix)  # an exact name: one file, no directory walk
            if sha is not None:
                return {prefix: sha}  # a ref cannot also be a directory of refs
        return {n: s for n, s in gitread.all_refs(self.path).items() if gitread.matches_prefix(n, prefix)}

    def branches(self) -> dict[str, str]:
        return {ref.removeprefix("refs/heads/"): sha for ref, sha in self.refs("refs/heads/").items()}

    def head_branch(self) -> str:
        target = gitread.symbolic_target(self.path)
        short = target.removeprefix("refs/heads/") if target else None
        earlier = gitread.dwim_ref(self.path, short) if short else None  # e.g. a tag of the same name
        if short is None or short == target or (earlier is not None and earlier[0] != target):
            return self.text("symbolic-ref", "--short", "HEAD")  # detached, or `--short` would disambiguate
        return short

    def set_head(self, branch: str) -> None:
        self.run("symbolic-ref", "HEAD", f"refs/heads/{branch}")

    def update_ref(self, ref: str, new: str, old: str | None = None) -> None:
        self.run("update-ref", ref, new, *([old] if old else []))

    def delete_ref(self, ref: str) -> None:
        self.run("update-ref", "-d", ref)

    def pushed_ns(self) -> int:
        """When a branch last moved, in ns: the newest mtime under refs/heads (files and directories,
        so deletions count) and of packed-refs. Every writer (plumbing, receive-pack, REST) moves
        refs through these files, so no write path has to remember to record the time itself."""
        heads = self.path / "refs" / "heads"
        paths = [self.path / "packed-refs", heads]
        for dirpath, dirs, files in os.walk(heads):
            paths += [Path(dirpath, name) for name in dirs + files]
        return max(_mtime_ns(p) for p in paths)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        args = ("merge-base", "--is-ancestor", ancestor, descendant)
        proc = subprocess.run(["git", "--git-dir", str(self.path), *args], env=git_env(), capture_output=True)
        return proc.returncode == 0

    # -- objects: one long-lived `cat-file --batch-command` per repository --------------------------
    def _info(self, name: str) -> tuple[str, str, int] | None:
        with gitread.borrow(self.path, git_env) as reader:
            return reader.info(name)

    def _contents(self, name: str) -> tuple[str, str, bytes] | None:
        with gitread.borrow(self.path, git_env) as reader:
            return reader.contents(name)

    def object_info(self, expression: str) -> tuple[str, str] | None:
        """(sha, type) of any object expression (`sha`, `HEAD:path`, `main~1`), or None."""
        info = self._info(self._pin(expression))
        return (info[0], info[1]) if info else None

    def _pin(self, expression: str) -> str:
        """`expression` with a leading ref name replaced by its sha, read from the ref files."""
        rev, colon, rest = expression.partition(":")
        found = gitread.dwim_ref(self.path, rev) if rev else None
        return f"{found[1]}{colon}{rest}" if found else expression

    def blob(self, sha: str) -> bytes:
        found = self._contents(sha)
        if found is None or found[1] != "blob":
            raise GitError(f"git cat-file blob {sha}: bad file")
        return found[2]

    def write_blob(self, data: bytes) -> str:
        return self.text("hash-object", "-w", "--stdin", stdin=data)

    def ls_tree(self, treeish: str, path: str = "", recursive: bool = False) -> list[TreeEntry]:
        """Entries of the tree at `path` inside `treeish` ('' = root), as `ls-tree -l [-r -t]`."""
        target = f"{treeish}:{path}" if path else f"{treeish}^{{tree}}"
        with gitread.borrow(self.path, git_env) as reader:
            found = reader.contents(target)
            if found is None or found[1] != "tree":
                return []
            return list(_walk_tree(reader, found[2], "", recursive))

    def entry_at(self, treeish: str, path: str) -> TreeEntry | None:
        """The tree entry for `path` (a file or a directory), or None."""
        path = path.strip("/")
        if not path:
            found = self._info(f"{treeish}^{{tree}}")
            if found is None:
                raise GitError(f"git rev-parse {treeish}^{{tree}}: not a tree")
            return TreeEntry("040000", "tree", found[0], None, "")
        parent, _, _ = path.rpartition("/")
        for entry in self.ls_tree(treeish, parent):
            if entry.name == path.rsplit("/", 1)[-1]:
                return TreeEntry(entry.mode, entry.type, entry.sha, entry.size, path)
        return None

    def commit_info(self, sha: str) -> CommitInfo:
        found = self._contents(f"{self._pin(sha)}^{{commit}}")
        if found is None:
            raise GitError(f"git show {sha}: unknown revision")
        return gitread.parse_commit(found[0], found[2])

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


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:  # absent, or a ref deleted while we looked (its directory's mtime says when)
        return 0


def _walk_tree(reader: gitread.ObjectReader, data: bytes, prefix: str, recursive: bool) -> list[TreeEntry]:
    """`ls-tree -l` entries of a raw tree; with `recursive`, each subtree right after its own entry."""
    entries = []
    for mode, name, sha in gitread.parse_tree(data):
        kind = gitread.entry_type(mode)
        size = None
        if kind == "blob":
            info = reader.info(sha)
            size = info[2] if info else None
        entries.append(TreeEntry(mode, kind, sha, size, prefix + name))
        if recursive and kind == "tree":
            sub = reader.contents(sha)
            entries += _walk_tree(reader, sub[2], f"{prefix}{name}/", True) if sub else []
    return entries


def _ident(role: str, who: Author) -> bytes:
    when = who.date or f"{int(time.time())} +0000"
    return f"{role} {who.name} <{who.email}> {when}\n".encode()


def _data(payload: bytes) -> bytes:
    return f"data {len(payload)}\n".encode() + payload + b"\n"
