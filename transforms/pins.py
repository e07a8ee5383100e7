"""Commit pins for the actions ztbot inserts (`uses: owner/repo@<sha>  # vX.Y.Z`).

The table (`data/action-pins.tsv`) was seeded from release tags read in each action's own
repository. We insert the newest full-semver tag that was verified there (`source=snapshot`);
tags only observed in other repositories' pins are kept for reference but not chosen, with one
exception: when a rewrite needs a feature newer than the snapshot (`pin(action, at_least=...)`), a
`source=corroborated` row may serve: a tag absent from the snapshot whose commit many independent
repositories pin under that tag, with no other commit ever seen for it. Its note says so, and the PR
that inserts it repeats the note so a reviewer can check the commit.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TABLE = "action-pins.tsv"
NEWEST = "newest full-semver tag"


@dataclass(frozen=True)
class Pin:
    action: str
    tag: str
    sha: str
    corroborated: str = ""  # the table's note when the tag was not read in the action's own repository

    @property
    def uses(self) -> str:
        return f"{self.action}@{self.sha}"


def rows() -> tuple[dict[str, str], ...]:
    """Every row of the table (action, tag, sha, commit_date, source, note)."""
    return _rows()


@cache
def _rows() -> tuple[dict[str, str], ...]:
    # A plain path: package data sits next to the module (importlib.resources costs ~10 ms to import).
    text = (Path(__file__).resolve().parent / "data" / TABLE).read_text(encoding="utf-8")
    return tuple(csv.DictReader(text.splitlines(), delimiter="\t"))


def pin(action: str, at_least: str = "") -> Pin:
    """The pin for an action we insert; KeyError names the action when the table lacks it.

    `at_least` ("v4.5.0"): the rewrite needs that release or newer; a corroborated row may then serve.
    """
    mine = [r for r in _rows() if r["action"].lower() == action.lower() and version(r["tag"]) >= version(at_least)]
    for row in mine:
        if row["source"] == "snapshot" and row["note"].startswith(NEWEST):
            return Pin(row["action"], row["tag"], row["sha"])
    found = [r for r in mine if r["source"] == "corroborated"]
    if at_least and found:
        row = max(found, key=lambda r: version(r["tag"]))
        return Pin(row["action"], row["tag"], row["sha"], row["note"])
    raise KeyError(f"no verified pin for {action}{' ' + at_least + '+' if at_least else ''} in transforms/data/{TABLE}")


def version(tag: str) -> tuple[int, ...]:
    """(4, 5, 0) for "v4.5.0"; () for "" or a tag that is not a version (sorts lowest)."""
    parts = tag.removeprefix("v").split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else ()


def known(action: str, ref: str) -> Pin | None:
    """Any row (tag or branch) for action@ref: used to recognize existing pins."""
    for row in _rows():
        if row["action"].lower() == action.lower() and ref in (row["tag"], row["sha"]):
            return Pin(row["action"], row["tag"], row["sha"])
    return None
