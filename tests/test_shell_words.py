"""The fast word splitters of `transforms.publishing` and `transforms.shellwords` give exactly what shlex gives,
on every text they take."""

from __future__ import annotations

import random
import shlex

import pytest

from tests.corpus import corpus_files
from transforms import publishing as pub
from transforms import shellwords as sh
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


def _shellcmd_shlex(text: str) -> list[str]:
    """The lexer `transforms.shellwords.words` falls back to, without its substitution restore."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars="".join(sorted(sh.PUNCTUATION)))
    lexer.whitespace_split = True
    lexer.whitespace = " \t\r"
    lexer.commenters = ""
    return list(lexer)


def _random_scripts(count: int) -> list[str]:
    pieces = [*"ab c\t\r\n'\"();<>|&$`#{}=-./*?~!1", "git ", "push ", "''", '""', "__ztbotexpr0__", "echo "]
    rng = random.Random(7)
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 30))) for _ in range(count)]


@pytest.mark.parametrize("texts", [SAMPLES, _corpus_lines(), _random_scripts(20000)],
                         ids=["samples", "corpus", "random"])
def test_shellcmd_fast_words_equal_shlex(texts: list[str]) -> None:
    taken = 0
    for text in texts:
        fast = sh.fast_words(text)
        if fast is not None:
            taken += 1
            assert fast == _shellcmd_shlex(text), text
    assert taken or not texts  # the fast path is exercised, not skipped wholesale
