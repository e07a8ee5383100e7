"""The repository's own opt-out and overrides: `.github/ztbot.toml`.

    enabled = false                 # opt the whole repository out (an open bot PR is closed)
    disable = ["oidc-aws"]          # transforms not to run here
    ignore_paths = [".github/workflows/legacy-*.yml"]
    reviewers = ["alice"]           # added to the org's reviewers
    labels = ["infra"]              # added to the org's labels
"""

from __future__ import annotations

import difflib
import fnmatch
import tomllib
from dataclasses import dataclass
from typing import Any

PATH = ".github/ztbot.toml"
KEYS = ("enabled", "disable", "ignore_paths", "reviewers", "labels")


@dataclass(frozen=True)
class RepoSettings:
    enabled: bool = True
    disable: tuple[str, ...] = ()
    ignore_paths: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    error: str = ""  # a bad file never opts a repo out silently: it is reported and ignored

    def ignores(self, path: str) -> bool:
        return any(fnmatch.fnmatch(path, pattern) for pattern in self.ignore_paths)


def parse(text: str | None, repo: str, known_ids: list[str]) -> RepoSettings:
    if text is None:
        return RepoSettings()
    try:
        raw = tomllib.loads(text)
        return _settings(raw, known_ids)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        return RepoSettings(error=f"{repo}: {PATH}: {exc}; the file is ignored until it is fixed")


def _settings(raw: dict[str, Any], known_ids: list[str]) -> RepoSettings:
    for key in raw:
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            raise ValueError(f"unknown key `{key}`" + (f"; did you mean `{close[0]}`?" if close else ""))
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError("enabled: expected true or false")
    lists = {k: _strings(raw, k) for k in KEYS[1:]}
    unknown = [t for t in lists["disable"] if t not in known_ids]
    if unknown:
        raise ValueError(f"disable: unknown transform `{unknown[0]}` (see `ztbot transforms`)")
    return RepoSettings(enabled, lists["disable"], lists["ignore_paths"], lists["reviewers"], lists["labels"])


def _strings(raw: dict[str, Any], key: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key}: expected a list of strings, got {value!r}")
    return tuple(value)
