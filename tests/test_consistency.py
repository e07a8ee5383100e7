"""Registry ids, modules, fixture folders and docs agree (adding a transform touches all of them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from tests.fixture import FIXTURES
from transforms.docs import doc
from transforms.registry import TRANSFORMS

ROOT = Path(__file__).resolve().parents[1]
HEADINGS = ("What it does", "Why", "Before → after", "What the owner must set up", "References")


@pytest.mark.parametrize("tid", list(TRANSFORMS))
def test_transform_is_complete(tid: str) -> None:
    transform = TRANSFORMS[tid]
    assert transform.id == tid and re.fullmatch(r"[a-z]+(-[a-z]+)*", tid)
    assert (ROOT / "transforms" / f"{tid.replace('-', '_')}.py").is_file(), "one module per transform"
    assert transform.summary and "\n" not in transform.summary
    assert list((FIXTURES / tid).glob("*.yml")), "fixtures"
    text = doc(tid)
    assert text, f"transforms/docs/{tid}.md"
    for heading in HEADINGS:
        assert re.search(rf"^#+ {re.escape(heading)}\s*$", text, re.M), f"{tid}.md lacks '{heading}'"


def test_no_stray_docs_or_fixture_folders() -> None:
    docs = {p.stem for p in (ROOT / "transforms" / "docs").glob("*.md")}
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir()} - {"all"}
    assert docs <= set(TRANSFORMS), docs - set(TRANSFORMS)
    assert folders <= set(TRANSFORMS), folders - set(TRANSFORMS)


def test_explain_prints_the_docs(capsys: pytest.CaptureFixture[str]) -> None:
    for tid in TRANSFORMS:
        assert main(["explain", tid]) == 0
        assert "What the owner must set up" in capsys.readouterr().out
    assert main(["explain", "no-such-transform"]) == 2
