"""Commit pins for the actions ztbot inserts (`uses: owner/repo@<sha>  # vX.Y.Z`).

The table (`data/action-pins.tsv`) was seeded from release tags read in each action's own
repository. We insert the newest full-semver tag that was verified there (`source=snapshot`);
tags only observed in other repositories' pins are kept for reference but not chosen.
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


def pin(action: str) -> Pin:
    """The pin for an action we insert; KeyError names the action when the table lacks it."""
    for row in _rows():
        if row["action"].lower() == action.lower() and row["source"] == "snapshot" and row["note"].startswith(NEWEST):
            return Pin(row["action"], row["tag"], row["sha"])
    raise KeyError(f"no verified pin for {action} in transforms/data/{TABLE}")


def known(action: str, ref: str) -> Pin | None:
    """Any row (tag or branch) for action@ref: used to recognize existing pins."""
    for row in _rows():
        if row["action"].lower() == action.lower() and ref in (row["tag"], row["sha"]):
            return Pin(row["action"], row["tag"], row["sha"])
    return None
