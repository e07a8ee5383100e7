"""Text for inserted snippets, produced by ruamel's emitter in the document's own style.

Only the new snippet is emitted; the surrounding document is never re-emitted.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

if TYPE_CHECKING:
    from collections.abc import Mapping

    from transforms.yamldoc import Doc

WIDE = 1 << 20  # never fold long lines in what we insert


@dataclass(frozen=True)
class Style:
    unit: int = 2  # mapping indent step
    dash: int = 2  # column of "- " relative to the parent key (0 = flush sequences)

    @staticmethod
    def detect(doc: Doc) -> Style:
        units: Counter[int] = Counter()
        dashes: Counter[int] = Counter()
        _survey(doc, doc.root, units, dashes, set())
        unit = units.most_common(1)[0][0] if units else 2
        dash = dashes.most_common(1)[0][0] if dashes else unit
        return Style(unit=unit, dash=dash)


def _survey(doc: Doc, node: Node | None, units: Counter[int], dashes: Counter[int], seen: set[int]) -> None:
    if node is None or id(node) in seen or getattr(node, "flow_style", False):
        return
    seen.add(id(node))
    if isinstance(node, SequenceNode):
        for item in node.value:
            _survey(doc, item, units, dashes, seen)
        return
    if not isinstance(node, MappingNode):
        return
    for key, value in node.value:
        first = value.value[0] if isinstance(value, (MappingNode, SequenceNode)) and value.value else None
        if first is not None and not getattr(value, "flow_style", False):
            if isinstance(value, MappingNode) and first[0].start_mark.line > key.start_mark.line:
                units[first[0].start_mark.column - key.start_mark.column] += 1
            elif isinstance(value, SequenceNode) and first.start_mark.line > key.start_mark.line:
                dash = doc.line_text(first.start_mark.line).rfind("-", 0, first.start_mark.column)
                if dash >= 0:
                    dashes[dash - key.start_mark.column] += 1
        _survey(doc, value, units, dashes, seen)


@lru_cache(maxsize=16)
def _emitter(unit: int, dash: int, flow: bool) -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=unit, sequence=dash + 2, offset=dash)
    yaml.width = WIDE
    yaml.default_flow_style = flow
    return yaml


def _dump(value: Any, yaml: YAML) -> str:
    out = io.StringIO()
    yaml.dump(value, out)
    return out.getvalue()


def render_block(value: Any, style: Style, comments: Mapping[tuple[str | int, ...], str] | None = None) -> list[str]:
    """Lines (no indentation offset, no newlines) of `value` in block style."""
    if not isinstance(value, (dict, list)):
        raise ValueError("render_block needs a mapping or a sequence")
    lines = _dump(value, _emitter(style.unit, style.dash, False)).rstrip("\n").split("\n")
    for path, text in (comments or {}).items():
        index = _find_line(lines, path)
        if index is not None:
            lines[index] += "  # " + " ".join(text.split())
    return lines


def _find_line(lines: list[str], path: tuple[str | int, ...]) -> int | None:
    """Line that holds the key at `path` (string components only), searching in document order."""
    index = 0
    for part in path:
        pattern = re.compile(rf"^\s*(?:-\s+)?['\"]?{re.escape(str(part))}['\"]?:(?:\s|$)")
        while index < len(lines) and not pattern.match(lines[index]):
            index += 1
        if index == len(lines):
            return None
    return index


def render_flow(value: Any) -> str:
    return _dump({"k": value}, _emitter(2, 2, True)).strip()[len("{k: ") : -1]


def render_scalar(value: Any, quote: str | None = None) -> str:
    if isinstance(value, str) and quote == "'":
        value = SingleQuotedScalarString(value)
    elif isinstance(value, str) and quote == '"':
        value = DoubleQuotedScalarString(value)
    text = _dump({"k": value}, _emitter(2, 2, False))
    return text[len("k: ") :].rstrip("\n").removesuffix("\n...")
