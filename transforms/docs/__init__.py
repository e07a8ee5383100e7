"""Per-transform documentation (`<id>.md`), shown by `ztbot explain ID`."""

from __future__ import annotations

from pathlib import Path


def doc(transform_id: str) -> str | None:
    name = f"{transform_id}.md"
    target = Path(__file__).resolve().parent / name
    return target.read_text(encoding="utf-8") if target.is_file() else None
