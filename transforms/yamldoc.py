"""A parsed YAML document: normalized text, composed nodes (with marks) and plain data.

Edits are computed against `Doc.text` (BOM stripped, LF line endings, final newline ensured) and
`Doc.restore` puts the original conventions back, so every transform works on one canonical form.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from transforms.base import Path
from transforms.yamlload import MERGE_TAG, STR_TAG
from transforms.yamlload import YamlError as YamlError  # re-exported: callers import it from here
from transforms.yamlload import load_nodes as load_nodes

BOM = "\ufeff"


@dataclass
class Doc:
    text: str
    newline: str = "\n"
    bom: bool = False
    final_newline: bool = True
    root: Node | None = None
    data: Any = None
    line_starts: list[int] = field(default_factory=list)
    endings: list[str] = field(default_factory=list)  # per original line, kept only for MIXED files
    # Derived views (workflow model, ignore comments) computed once per document, not per transform.
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def derived(self, name: str, build: Callable[[Doc], Any]) -> Any:
        if name not in self.memo:
            self.memo[name] = build(self)
        return self.memo[name]

    def restore(self, text: str) -> str:
        """Turn normalized text back into the file's own conventions."""
        if self.newline == MIXED:
            text = self._restore_mixed(text)
        elif self.newline != "\n":
            text = text.replace("\n", self.newline)
        if not self.final_newline and text.endswith(("\r\n", "\n")):
            text = text[: -2 if text.endswith("\r\n") else -1]
        return (BOM if self.bom else "") + text

    def _restore_mixed(self, text: str) -> str:
        """Unchanged lines get their own ending back; a new line takes the ending of the line before it."""
        old = self.text.split("\n")[:-1]
        new = text.split("\n")[:-1]
        out: list[str] = []
        ending = self.endings[0] if self.endings else "\n"
        matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
        for tag, i1, _i2, j1, j2 in matcher.get_opcodes():
            for k in range(j2 - j1):
                if tag == "equal":
                    ending = self.endings[i1 + k]
                out.append(new[j1 + k] + ending)
        return "".join(out)

    def offset(self, line: int, column: int) -> int:
        """Character offset of a 0-based (line, column) mark."""
        return self.line_starts[line] + column

    def line_text(self, line: int) -> str:
        end = self.line_starts[line + 1] - 1 if line + 1 < len(self.line_starts) else len(self.text)
        return self.text[self.line_starts[line] : end]

    @property
    def line_count(self) -> int:
        return len(self.line_starts)


MIXED = "mixed"


def detect_newline(raw: str) -> str:
    """"\n", "\r\n", or MIXED (each line keeps its own ending through `Doc.restore`)."""
    crlf = raw.count("\r\n")
    if raw.count("\r") != crlf:
        raise YamlError("bare CR line endings are not supported; convert the file to LF or CRLF")
    if crlf and crlf == raw.count("\n"):
        return "\r\n"
    return MIXED if crlf else "\n"


def _line_starts(text: str) -> list[int]:
    starts = [0]
    at = text.find("\n")
    while at != -1:
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    if starts[-1] == len(text):
        starts.pop()
    return starts


def parse(raw: str) -> Doc:
    """Parse file text; raises YamlError with a 1-based position on bad input."""
    bom = raw.startswith(BOM)
    body = raw[1:] if bom else raw
    newline = detect_newline(body)
    text = body.replace("\r\n", "\n") if newline != "\n" else body
    final_newline = text.endswith("\n") or not text
    if not final_newline:
        text += "\n"
    doc = Doc(text=text, newline=newline, bom=bom, final_newline=final_newline)
    if newline == MIXED:
        doc.endings = ["\r\n" if line.endswith("\r") else "\n" for line in (body + "\n").split("\n")[:-1]]
    doc.line_starts = _line_starts(text)
    doc.root, doc.data = load_nodes(text)
    return doc


def plain(value: Any) -> Any:
    """Constructed data -> JSON-like data (dates as their YAML text) for comparisons."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, (bool, int, float)) else k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value


# ---------------------------------------------------------------- node navigation


def pairs(node: Node) -> Iterator[tuple[ScalarNode, Node]]:
    """Effective (key, value) pairs of a mapping: explicit keys win over merged ones."""
    if not isinstance(node, MappingNode):
        return
    seen: set[str] = set()
    merged: list[tuple[ScalarNode, Node]] = []
    for key, value in node.value:
        if key.ctag is not STR_TAG and key.tag == MERGE_TAG:
            for source in value.value if isinstance(value, SequenceNode) else [value]:
                merged.extend(pairs(source))
            continue
        seen.add(str(key.value))
        yield key, value
    for key, value in merged:
        if str(key.value) not in seen:
            seen.add(str(key.value))
            yield key, value


def own_pair(node: Node, key: str) -> tuple[ScalarNode, Node] | None:
    """The pair written in this very mapping (not reached through a merge key)."""
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if (k.ctag is STR_TAG or k.tag != MERGE_TAG) and str(k.value) == key:
                return k, v
    return None


def get_pair(node: Node | None, key: str) -> tuple[ScalarNode, Node] | None:
    if not isinstance(node, MappingNode):
        return None
    # The hot path of every lookup: scan the mapping's own keys; only a merge key met before the
    # match needs the full `pairs` order (explicit keys win, wherever they are written).
    for k, v in node.value:
        if k.ctag is not STR_TAG and k.tag == MERGE_TAG:
            return next(((k, v) for k, v in pairs(node) if str(k.value) == key), None)
        if str(k.value) == key:
            return k, v
    return None


def child(node: Node | None, part: str | int) -> Node | None:
    if isinstance(part, int):
        if isinstance(node, SequenceNode) and 0 <= part < len(node.value):
            return node.value[part]
        return None
    found = get_pair(node, part)
    return found[1] if found else None


def resolve(root: Node | None, path: Path) -> Node | None:
    node = root
    for part in path:
        node = child(node, part)
        if node is None:
            return None
    return node


def has_merge(node: Node) -> bool:
    return isinstance(node, MappingNode) and any(k.ctag is not STR_TAG and k.tag == MERGE_TAG for k, _ in node.value)


def is_flow(node: Node) -> bool:
    return bool(getattr(node, "flow_style", False))


def node_line(root: Node | None, path: Path) -> int:
    """1-based line of the node at `path` (the key's line for mapping entries); 1 when unknown."""
    if not path:
        return 1
    parent = resolve(root, path[:-1])
    last = path[-1]
    if isinstance(last, str):
        found = get_pair(parent, last)
        return found[0].start_mark.line + 1 if found else 1
    node = child(parent, last)
    return node.start_mark.line + 1 if node is not None else 1


def usage_counts(root: Node | None) -> dict[int, int]:
    """How many places reference each node (aliases share node objects)."""
    counts: dict[int, int] = {}
    # A stack, not recursion: one Python call per node was most of the cost. The order of visits
    # does not change the counts: each collection's children are counted once, when it is first met.
    todo = [root] if root is not None else []
    while todo:
        node = todo.pop()
        seen = counts[id(node)] = counts.get(id(node), 0) + 1
        if seen > 1:
            continue
        if isinstance(node, MappingNode):
            for k, v in node.value:
                todo += (k, v)
        elif isinstance(node, SequenceNode):
            todo += node.value
    return counts


def path_str(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
