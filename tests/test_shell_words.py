"""The fast word splitter of `transforms.publishing` gives exactly what shlex gives, on every line it takes."""

from __future__ import annotations

import pytest

from tests.corpus import corpus_files
from transforms import publishing as pub
from transforms.model import load_workflow
from transforms.yamldoc import YamlError, parse

SAMPLES = [
    "a&&b", "x | y || z;w", "(cd dir && make)", "echo $A${B}", "echo a>b 2>&1", "x;;y", "a|&b", "",
    "echo \"a b\"c'd e'", "x='a\"b' y", 'a "x;y" && b', "echo ''", 'echo ""x', "a'b'\"c\"d",
    'x="$(cmd "arg")"', 'echo "a" | tr "a" "b"', "a \"b'c\" d", "twine upload dist/* --verbose",
]


def _corpus_lines() -> list[str]:
    lines = []
    for file in corpus_files():
        try:
            wf = load_workflow(parse(file.read_text(encoding="utf-8")))
        except (YamlError, UnicodeDecodeError):
            continue
        for job in wf.jobs if wf else []:
            lines += [ln for step in job.steps if step.run for ln in step.run.replace("\\\n", " ").split("\n")]
    return lines


@pytest.mark.parametrize("lines", [SAMPLES, _corpus_lines()], ids=["samples", "corpus"])
def test_fast_path_equals_shlex(lines: list[str]) -> None:
    for line in lines:
        if "\\" in line or "#" in line or not pub._balanced(line):
            continue
        assert pub._split_line(line) == pub._group(list(pub._shlex_tokens(line))), line
