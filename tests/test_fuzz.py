"""Damaged copies of the corpus files (lines dropped, duplicated, re-indented, values of the wrong type):
no transform raises, and whatever changes still parses. One bad file never stops the run.

Seeded, so a failure reproduces; the damage is small on purpose: most copies stay valid YAML and reach
the transforms, which is where a wrong type or a hole in a step list used to crash one.
"""

from __future__ import annotations

import random
import re

import pytest

from bot.runner import run_file
from tests.corpus import corpus_files
from transforms.base import Context
from transforms.registry import TRANSFORMS
from transforms.yamldoc import parse

pytestmark = pytest.mark.skipif(not corpus_files(), reason="../shared/corpus is absent")

KEY_VALUE = re.compile(r"^(\s*(?:- )?[\w.-]+:)\s*(\S.*)?$")
WRONG_VALUES = ("[]", "{}", "1", "null", "true", "[a, b]", "{a: 1}", "[{run: x}]", "'${{ secrets.X }}'", "[[1]]")


def _damage_lines(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        how = rng.choice(("drop", "repeat", "indent", "dedent", "swap", "cut"))
        if how == "drop" and len(lines) > 1:
            del lines[i]
        elif how == "repeat":
            lines.insert(i, lines[i])
        elif how == "indent":
            lines[i] = "  " + lines[i]
        elif how == "dedent":
            lines[i] = lines[i].removeprefix("  ")
        elif how == "swap" and i + 1 < len(lines):
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
        elif how == "cut":
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
    return "\n".join(lines)


def _wrong_types(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    keyed = [i for i, line in enumerate(lines) if KEY_VALUE.match(line)]
    for i in rng.sample(keyed, min(len(keyed), 2)):
        found = KEY_VALUE.match(lines[i])
        assert found is not None
        lines[i] = f"{found[1]} {rng.choice(WRONG_VALUES)}"
    return "\n".join(lines)


@pytest.mark.parametrize("damage", [_damage_lines, _wrong_types])
def test_damaged_files_never_crash_a_transform(damage: object) -> None:
    rng = random.Random(20261126)
    problems = []
    for src in corpus_files():
        text = damage(src.read_bytes().decode("utf-8"), rng)  # type: ignore[operator]
        result = run_file(text, Context(".github/workflows/x.yml", lambda _: None, {}), TRANSFORMS)
        problems += [f"{src.name}: {e}" for e in result.errors if "internal error" in e]
        if result.changed:
            parse(result.after)
    assert not problems, problems[:3]
