"""Find the workflow and composite-action files of a local checkout, and read its files."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from bot.errors import ZtbotError

WORKFLOW_DIR = Path(".github") / "workflows"
ACTION_NAMES = ("action.yml", "action.yaml")
SKIP_DIRS = {".git", "node_modules", "vendor", ".venv", "venv", "__pycache__", "dist", "build"}


@dataclass
class Checkout:
    """A repository working tree; `read` gives transforms access to sibling files."""

    root: Path
    files: list[Path] = field(default_factory=list)
    _cache: dict[str, str | None] = field(default_factory=dict)
    _repo: str | None = None

    @property
    def repo(self) -> str:
        """owner/name from the `origin` remote when it points at a GitHub-like host; else ""."""
        if self._repo is None:
            self._repo = origin_slug(self.root)
        return self._repo

    @cached_property
    def _real_root(self) -> Path:
        # Resolved once: `rel` and `read` run per file and per sibling read, and resolving walks the disk.
        return self.root.resolve()

    def rel(self, path: Path) -> str:
        return path.resolve().relative_to(self._real_root).as_posix()

    def read(self, rel: str) -> str | None:
        if rel not in self._cache:
            self._cache[rel] = self._load(rel)
        return self._cache[rel]

    def _load(self, rel: str) -> str | None:
        target = (self.root / rel).resolve()
        if not target.is_relative_to(self._real_root) or not target.is_file():
            return None
        try:
            return target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None


REMOTE_RE = re.compile(r"(?:[:/])([^/:]+)/([^/]+?)(?:\.git)?/?$")


def origin_slug(root: Path) -> str:
    config = root / ".git" / "config"
    try:
        if '[remote "origin"]' not in config.read_text(encoding="utf-8"):
            return ""  # the common case (no remote) needs no git machinery at all
    except (OSError, UnicodeDecodeError):
        return ""
    from git.config import GitConfigParser

    url = GitConfigParser(str(config), read_only=True).get_value('remote "origin"', "url", "")
    match = REMOTE_RE.search(str(url))
    return f"{match[1]}/{match[2]}" if match else ""


def find_root(start: Path) -> Path:
    """The nearest ancestor holding `.git` or `.github`, else the file's own folder."""
    here = start if start.is_dir() else start.parent
    for candidate in (here, *here.parents):
        if (candidate / ".git").exists() or (candidate / ".github").is_dir():
            return candidate
    return here


def workflow_files(root: Path) -> list[Path]:
    found: list[Path] = []
    wf_dir = root / WORKFLOW_DIR
    if wf_dir.is_dir():
        found += sorted(p for p in wf_dir.iterdir() if p.is_file() and p.suffix in (".yml", ".yaml"))
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and (d == ".github" or not d.startswith(".")))
        found += [Path(dirpath) / n for n in sorted(filenames) if n in ACTION_NAMES]
    return found


def repo_roots(folder: Path) -> list[Path]:
    """A folder is a checkout when it holds `.github` or `.git`; else the checkouts below it."""
    if (folder / ".github").is_dir() or (folder / ".git").exists():
        return [folder]
    found = []
    for dirpath, dirnames, _ in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        here = Path(dirpath)
        if (here / ".github").is_dir() or (here / ".git").exists():
            found.append(here)
            dirnames[:] = []
    return found or [folder]


def open_targets(paths: list[str]) -> list[Checkout]:
    """One Checkout per repository among the given paths (directories or single files)."""
    checkouts: dict[Path, Checkout] = {}
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise ZtbotError(f"{raw}: no such file or directory", "pass a repository checkout or a workflow file")
        for root in repo_roots(path.resolve()) if path.is_dir() else [find_root(path.resolve())]:
            checkout = checkouts.setdefault(root, Checkout(root))
            checkout.files += [path.resolve()] if path.is_file() else workflow_files(root)
    for checkout in checkouts.values():
        checkout.files = list(dict.fromkeys(checkout.files))
    return list(checkouts.values())
