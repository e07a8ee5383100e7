"""The edit operations transforms return, addressed by data path in the original document."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from transforms.base import Path

# Trailing comments keyed by a path relative to the inserted value (`()` = the value's own line).
Comments = Mapping[tuple[Any, ...], str]


class EditError(Exception):
    """An edit that cannot be made safely; the file is left untouched."""


@dataclass(frozen=True)
class InsertKey:
    """Add `key: value` to the mapping at `path` (after/before a sibling, else at its end)."""

    path: Path
    key: str
    value: Any
    after: str | None = None
    before: str | None = None
    comments: Comments = field(default_factory=dict)


@dataclass(frozen=True)
class ReplaceValue:
    """Replace the value at `path` (a mapping entry or sequence item)."""

    path: Path
    value: Any
    comments: Comments = field(default_factory=dict)


@dataclass(frozen=True)
class DeleteKey:
    """Remove `key` and its whole block from the mapping at `path`."""

    path: Path
    key: str


@dataclass(frozen=True)
class InsertItem:
    """Insert `value` into the block sequence at `path` before item `index` (len = append)."""

    path: Path
    index: int
    value: Any
    comments: Comments = field(default_factory=dict)


@dataclass(frozen=True)
class EditText:
    """Replace the one occurrence of `old` inside the string scalar at `path` (block scalars included).

    The replacement happens in the scalar's source text, so its style and indentation stay; the
    re-parse check proves the value became `value.replace(old, new)`.
    """

    path: Path
    old: str
    new: str


Op = InsertKey | ReplaceValue | DeleteKey | InsertItem | EditText


@dataclass(frozen=True)
class Splice:
    start: int
    end: int
    text: str
