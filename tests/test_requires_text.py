"""`requires_text` only saves time: every transform finds exactly the same with and without the gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus import corpus_files
from tests.fixture import FIXTURES, load
from transforms.base import Context
from transforms.registry import TRANSFORMS
from transforms.yamldoc import YamlError, parse

GATED = {tid: t for tid, t in TRANSFORMS.items() if getattr(t, "requires_text", ())}


def _inputs() -> list[tuple[str, str]]:
    out = []
    for file in sorted(FIXTURES.glob("*/*.yml")):
        case = load(file)
        out += [(f"{file.parent.name}/{file.name}", case.input), *case.files.items()]
    out += [(f.name, f.read_text(encoding="utf-8")) for f in corpus_files()]
    return out


def _messages(findings: list) -> list[tuple[str, int, str]]:
    return [(f.rule, f.line, f.message) for f in findings]


@pytest.mark.parametrize("tid", sorted(GATED))
def test_gate_never_hides_a_finding(tid: str) -> None:
    transform = GATED[tid]
    for name, text in _inputs():
        try:
            doc = parse(text)
        except YamlError:
            continue
        if any(n in doc.text.lower() for n in transform.requires_text):
            continue
        found = transform.detect(doc, Context(".github/workflows/x.yml", lambda _p: None, {}, "o/r"))
        assert not found, f"{tid} found {_messages(found)} in {name} though requires_text is absent"


def test_gates_are_lowercase() -> None:
    for tid, transform in GATED.items():
        assert all(n == n.lower() for n in transform.requires_text), tid
    assert Path(__file__).exists()
