"""`ztbot demo`: the README's first command; offline, quick, and it shows what it did."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.cli import main
from bot.demo import demo


def test_demo_opens_the_prs_and_says_where_the_data_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    out, err = io.StringIO(), io.StringIO()
    assert demo(str(tmp_path / "kept"), out, err) == 0
    text = out.getvalue()
    assert text.count("(draft): ztbot: Zero Trust fixes") == 6 and "demo-org/release-bot #1: ztbot" in text
    assert "pull requests: 7 opened" in text and "skipped: 1 archived, 1 opted out" in text
    assert "Second run with nothing changed: 9 requests, 0 writes" in text
    kept = tmp_path / "kept"
    assert f"Audit:   {kept / 'audit.jsonl'} (every decision; `ztbot audit --config {kept / 'ztbot.toml'}`" in text
    assert (kept / "state.json").is_file() and (kept / "audit.jsonl").is_file()
    assert (kept / "dry-run" / "demo-org__payments-api" / "changes.diff").is_file()


def test_demo_refuses_a_folder_in_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x").write_text("mine")
    assert main(["demo", "--keep", str(tmp_path)]) == 1
    assert "is not empty" in capsys.readouterr().err
