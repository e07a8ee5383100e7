"""Fast reads of bare repositories: refs straight from the files, objects through `git cat-file`.

A GitHub-shaped answer touches many refs and objects; one git process per field made an org
listing spawn thousands of processes. Here refs are parsed in Python (the `files` backend: loose
ref files override `packed-refs`), so reading them is a few syscalls and never stale. Objects come
from one long-lived `git cat-file --batch-command` per repository, kept in a small LRU pool.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_HEX40 = re.compile(r"[0-9a-f]{40}")
# git's "dwim" order for a short name (refs.c, ref_rev_parse_rules), after the name itself.
_DWIM = ("refs/{}", "refs/tags/{}", "refs/heads/{}", "refs/remotes/{}", "refs/remotes/{}/HEAD")
POOL_SIZE = 32  # live cat-file processes; a cold org scan visits each repo once, tests revisit a few


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
    author_date: str  # ISO 8601 with the author's offset, as `git show --format=%aI`
    committer_name: str
    committer_email: str
    committer_date: str
    message: str


# -- refs ------------------------------------------------------------------------------------------
_packed_cache: dict[Path, tuple[tuple[int, int, int], dict[str, str]]] = {}
_packed_lock = threading.Lock()


def packed_refs(git_dir: Path) -> dict[str, str]:
    """`packed-refs` as name -> sha (peeled `^` lines skipped), re-parsed only when the file changes."""
    path = git_dir / "packed-refs"
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    key = (st.st_mtime_ns, st.st_size, st.st_ino)
    with _packed_lock:
        cached = _packed_cache.get(path)
        if cached and cached[0] == key:
            return cached[1]
    refs = {}
    for line in path.read_text(errors="surrogateescape").splitlines():
        if line and line[0] not in "#^":
            sha, _, name = line.partition(" ")
            refs[name] = sha
    with _packed_lock:
        _packed_cache[path] = (key, refs)
    return refs


def _read_loose(git_dir: Path, name: str) -> str | None:
    """The raw content of a loose ref (a sha or `ref: target`), or None."""
    try:
        return (git_dir / name).read_text(errors="surrogateescape").strip() or None
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def ref_value(git_dir: Path, name: str, depth: int = 0) -> str | None:
    """The sha `name` (HEAD or a full ref name) points to, following symbolic refs."""
    raw = _read_loose(git_dir, name)
    if raw is None:
        raw = packed_refs(git_dir).get(name) if name.startswith("refs/") else None
    if raw is None:
        return None
    if raw.startswith("ref: "):
        return ref_value(git_dir, raw[5:].strip(), depth + 1) if depth < 5 else None
    return raw if _HEX40.fullmatch(raw) else None


def symbolic_target(git_dir: Path, name: str = "HEAD") -> str | None:
    """What symbolic ref `name` names (`refs/heads/main`), or None when it is detached or absent."""
    raw = _read_loose(git_dir, name)
    return raw[5:].strip() if raw and raw.startswith("ref: ") else None


def all_refs(git_dir: Path) -> dict[str, str]:
    """Every ref under refs/ -> sha, like `for-each-ref` (symbolic refs resolved, sorted by name)."""
    refs = dict(packed_refs(git_dir))
    top = git_dir / "refs"
    for dirpath, _, files in os.walk(top):
        rel = Path(dirpath).relative_to(git_dir).as_posix()
        for file in files:
            if not file.endswith(".lock"):
                name = f"{rel}/{file}"
                sha = ref_value(git_dir, name)
                if sha is None:
                    refs.pop(name, None)
                else:
                    refs[name] = sha
    return dict(sorted(refs.items()))


def matches_prefix(name: str, pattern: str) -> bool:
    """`for-each-ref` literal pattern matching: the whole name, or a prefix ending at a slash."""
    if not name.startswith(pattern):
        return False
    return len(name) == len(pattern) or pattern.endswith("/") or name[len(pattern)] == "/"


def dwim_ref(git_dir: Path, rev: str) -> tuple[str, str] | None:
    """(full ref name, sha) for `HEAD`, a full ref or a short name, in git's lookup order; or None."""
    if rev == "HEAD" or rev.startswith("refs/"):
        sha = ref_value(git_dir, rev)
        if sha is not None:
            return rev, sha
    if rev == "HEAD" or not _plain_name(rev) or _HEX40.fullmatch(rev):  # a full sha wins over refs
        return None
    for rule in _DWIM:
        name = rule.format(rev)
        sha = ref_value(git_dir, name)
        if sha is not None:
            return name, sha
    return None


def _plain_name(rev: str) -> bool:
    # Anything with revision syntax (`~ ^ : @{`), or a top-level name like ORIG_HEAD, goes to git.
    return bool(rev) and not any(c in rev for c in "~^:@{}\\ \n") and not rev.isupper()


# -- objects ---------------------------------------------------------------------------------------
class ObjectReader:
    """One `git cat-file --batch-command` process; callers hold `lock` around each exchange."""

    def __init__(self, git_dir: Path, make_env: Callable[[], dict[str, str]]) -> None:
        self.git_dir, self.make_env = git_dir, make_env
        self.lock = threading.Lock()
        self.users = 0  # borrowers right now; the pool only closes idle readers
        self._proc: subprocess.Popen[bytes] | None = None

    def _process(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                ["git", "--git-dir", str(self.git_dir), "cat-file", "--batch-command"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,  # warnings (ambiguous names) must not fill an unread pipe
                env=self.make_env(),
            )
        return self._proc

    def _exchange(self, command: str, name: str) -> tuple[str, str, int, bytes] | None:
        if "\n" in name or not name:
            return None
        for attempt in (1, 2):  # a process that died (repo replaced, killed) is restarted once
            try:
                return self._once(command, name)
            except (OSError, ValueError):
                self.close()
                if attempt == 2:
                    raise GitError(f"git cat-file --batch-command failed in {self.git_dir}") from None
        return None

    def _once(self, command: str, name: str) -> tuple[str, str, int, bytes] | None:
        proc = self._process()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(f"{command} {name}\n".encode(errors="surrogateescape"))
        proc.stdin.flush()
        header = proc.stdout.readline().decode(errors="surrogateescape").rstrip("\n")
        if not header:
            raise BrokenPipeError("git cat-file exited")
        parts = header.split(" ")
        if len(parts) != 3 or not parts[2].isdigit() or not _HEX40.fullmatch(parts[0]):
            return None  # "<name> missing" or "<name> ambiguous" (names may contain spaces)
        sha, kind, size = parts[0], parts[1], int(parts[2])
        if command == "info":
            return sha, kind, size, b""
        data = proc.stdout.read(size)
        proc.stdout.read(1)  # the LF after the contents
        return sha, kind, size, data

    def info(self, name: str) -> tuple[str, str, int] | None:
        """(sha, type, size) of an object name (`sha`, `rev:path`, `rev^{commit}`...), or None."""
        found = self._exchange("info", name)
        return found[:3] if found else None

    def contents(self, name: str) -> tuple[str, str, bytes] | None:
        found = self._exchange("contents", name)
        return (found[0], found[1], found[3]) if found else None

    def close(self) -> None:
        """End the process: EOF on its stdin makes cat-file exit; it is reaped later, without waiting."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for pipe in (proc.stdin, proc.stdout):
            try:
                if pipe:
                    pipe.close()
            except OSError:
                pass
        with _exiting_lock:
            _exiting.append(proc)
            _exiting[:] = [p for p in _exiting if p.poll() is None]  # poll() reaps the finished ones


_exiting: list[subprocess.Popen[bytes]] = []
_exiting_lock = threading.Lock()


_pool: OrderedDict[Path, ObjectReader] = OrderedDict()
_pool_lock = threading.Lock()


@contextmanager
def borrow(git_dir: Path, make_env: Callable[[], dict[str, str]]) -> Iterator[ObjectReader]:
    """The repository's reader, locked for the caller; least recently used idle readers are closed."""
    with _pool_lock:
        reader = _pool.pop(git_dir, None) or ObjectReader(git_dir, make_env)
        _pool[git_dir] = reader
        reader.users += 1
    try:
        with reader.lock:
            yield reader
    finally:
        with _pool_lock:
            reader.users -= 1
            idle = _evictable()
        for old in idle:
            with old.lock:
                old.close()


def _evictable() -> list[ObjectReader]:
    """Idle readers beyond POOL_SIZE, removed from the pool (caller holds `_pool_lock`)."""
    extra = len(_pool) - POOL_SIZE
    idle = [key for key, reader in _pool.items() if reader.users == 0][: max(extra, 0)]
    return [_pool.pop(key) for key in idle]


def close_readers(under: Path | None = None) -> None:
    """Stop the cat-file processes of repositories below `under` (all of them for None)."""
    with _pool_lock:
        keys = [k for k in _pool if under is None or k.is_relative_to(under)]
        readers = [_pool.pop(k) for k in keys]
    for reader in readers:
        with reader.lock:
            reader.close()


# -- parsing ---------------------------------------------------------------------------------------
def parse_tree(data: bytes) -> Iterator[tuple[str, str, str]]:
    """(mode as ls-tree prints it, name, sha) of each entry of a raw tree object, in tree order."""
    pos = 0
    while pos < len(data):
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        mode = data[pos:space].decode()
        name = data[space + 1 : nul].decode(errors="surrogateescape")
        sha = data[nul + 1 : nul + 21].hex()
        pos = nul + 21
        yield mode.rjust(6, "0"), name, sha


def entry_type(mode: str) -> str:
    return {"040000": "tree", "160000": "commit"}.get(mode, "blob")


def parse_commit(sha: str, data: bytes) -> CommitInfo:
    """A raw commit object as the fields `git show --format=%H%T%P%an%ae%aI%cn%ce%cI%B` gives."""
    head, _, message = data.partition(b"\n\n")
    headers: dict[str, str] = {}
    parents: list[str] = []
    for line in head.decode(errors="replace").split("\n"):
        if line.startswith(" "):
            continue  # continuation of a multi-line header (gpgsig, mergetag)
        key, _, value = line.partition(" ")
        if key == "parent":
            parents.append(value)
        else:
            headers.setdefault(key, value)
    author, committer = _ident(headers.get("author", "")), _ident(headers.get("committer", ""))
    return CommitInfo(
        sha,
        headers.get("tree", ""),
        tuple(parents),
        *author,
        *committer,
        message.decode(errors="replace").rstrip("\n"),
    )


def _ident(line: str) -> tuple[str, str, str]:
    """(name, email, strict ISO date) of `Name <email> 1700000000 +0200`."""
    lt, gt = line.find("<"), line.rfind(">")
    if lt < 0 or gt < lt:
        return line.strip(), "", ""
    stamp = line[gt + 1 :].split()
    return line[:lt].strip(), line[lt + 1 : gt], _iso(*stamp) if len(stamp) == 2 else ""


def _iso(seconds: str, offset: str) -> str:
    sign = -1 if offset.startswith("-") else 1
    minutes = sign * (int(offset[1:3]) * 60 + int(offset[3:5]))
    local = datetime.fromtimestamp(int(seconds) + minutes * 60, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{local}{offset[0]}{offset[1:3]}:{offset[3:5]}"
