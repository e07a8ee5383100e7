"""Fixture files, black-style: extra files, the input, a `# output` line, the expected text.

    # options: {"comments": false}          (optional, JSON, the transform's options)
    # file: .github/actions/setup/action.yml (optional, repeatable: a sibling file of the checkout)
    ...its text...
    # path: .github/workflows/ci.yml         (optional: where the input lives; default by case name)
    ...input...
    # output
    ...expected...
    # output file: scripts/deploy.py           (optional, repeatable: a sibling file the fix also changes)
    ...its expected text...

No `# output` line means the input must come out unchanged; sibling files not named by an
`# output file:` section must come out unchanged too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Case:
    name: str
    path: str
    input: str
    expected: str
    files: dict[str, str] = field(default_factory=dict)
    options: dict[str, object] = field(default_factory=dict)
    expected_files: dict[str, str] = field(default_factory=dict)

    def read(self, rel: str) -> str | None:
        return self.files.get(rel, self.input if rel == self.path else None)


def load(file: Path) -> Case:
    text = file.read_bytes().decode("utf-8")
    lines = text.splitlines(keepends=True)
    options: dict[str, object] = {}
    files: dict[str, list[str]] = {}
    path = f".github/workflows/{file.stem}.yml"
    current: list[str] = []
    body: list[str] | None = None
    output: list[str] | None = None
    outputs: dict[str, list[str]] = {}
    for line in lines:
        bare = line.rstrip("\r\n")
        if output is not None and bare.startswith("# output file: "):
            output = outputs.setdefault(bare[len("# output file: "):].strip(), [])
            continue
        if bare.startswith("# options: ") and body is None and not files:
            options = json.loads(bare[len("# options: "):])
        elif bare.startswith("# file: ") and body is None:
            current = files.setdefault(bare[len("# file: "):].strip(), [])
        elif bare.startswith("# path: ") and body is None:
            path, body = bare[len("# path: "):].strip(), []
        elif bare == "# output" and output is None:
            output = []
        elif output is not None:
            output.append(line)
        elif body is not None:
            body.append(line)
        elif files:
            current.append(line)
        else:
            body = [line]
    source = "".join(body or [])
    expected = "".join(_main_output(lines)) if output is not None else source
    return Case(file.stem, path, source, expected, {k: "".join(v) for k, v in files.items()}, options,
                {k: "".join(v) for k, v in outputs.items()})


def _main_output(lines: list[str]) -> list[str]:
    """The expected workflow: after `# output`, up to the first `# output file:` section."""
    start = next(i for i, ln in enumerate(lines) if ln.rstrip("\r\n") == "# output") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("# output file: ")), len(lines))
    return lines[start:end]


def cases(transform_id: str) -> list[Path]:
    return sorted((FIXTURES / transform_id).glob("*.yml"))
