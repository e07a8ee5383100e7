"""Every fixture: exact output, idempotent, and data-equivalent outside the keys the transform owns."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from bot.runner import Status, run_file
from tests.fixture import FIXTURES, Case, cases, load
from transforms.base import Context, Transform
from transforms.registry import TRANSFORMS
from transforms.yamldoc import parse


def strip(data: Any, patterns: tuple[str, ...]) -> Any:
    """Drop the data a transform may change: dotted paths, `*` matching any key or index."""
    data = copy.deepcopy(data)
    for pattern in patterns:
        _drop(data, pattern.split("."))
    return data


def _drop(node: Any, parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        keys = list(node) if head == "*" else [head] if head in node else []
    elif isinstance(node, list):
        keys = list(range(len(node))) if head == "*" else []
    else:
        return
    for key in reversed(keys):
        if rest:
            _drop(node[key], rest)
        else:
            del node[key]


PIPELINE = "all"  # fixtures run through every transform in registry order


def _transforms(folder: str) -> dict[str, Transform]:
    return dict(TRANSFORMS) if folder == PIPELINE else {folder: TRANSFORMS[folder]}


def _run(case: Case, text: str, folder: str) -> Any:
    ctx = Context(case.path, case.read, {tid: case.options for tid in _transforms(folder)})
    return run_file(text, ctx, _transforms(folder))


def _all() -> list[tuple[str, Path]]:
    folders = [*TRANSFORMS, PIPELINE]
    return [(folder, file) for folder in folders for file in cases(folder)]


@pytest.mark.parametrize(("folder", "file"), _all(), ids=lambda v: v.stem if isinstance(v, Path) else v)
def test_fixture(folder: str, file: Path) -> None:
    case = load(file)
    first = _run(case, case.input, folder)
    assert not first.errors, first.errors
    assert first.after == case.expected
    assert {p: after for p, (_, after) in first.files.items()} == case.expected_files
    second = _run(case, first.after, folder)
    assert second.status is Status.UNCHANGED, "not idempotent:\n" + second.after
    patterns = tuple(p for t in _transforms(folder).values() for p in t.intended)
    assert strip(parse(first.after).data, patterns) == strip(parse(case.input).data, patterns)


def test_every_transform_has_fixtures() -> None:
    for tid in TRANSFORMS:
        assert cases(tid), f"no fixtures for {tid} in {FIXTURES / tid}"
