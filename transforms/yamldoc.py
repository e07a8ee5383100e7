"""A parsed YAML document: normalized text, composed nodes (with marks) and plain data.

Edits are computed against `Doc.text` (BOM stripped, LF line endings, final newline ensured) and
`Doc.restore` puts the original conventions back, so every transform works on one canonical form.
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

try:
    from _ruamel_yaml import CParser  # type: ignore[import-not-found]  # C extension without stubs
except ImportError:  # pragma: no cover - clib missing on this platform
    CParser = None

from transforms.base import Path

MERGE_TAG = "tag:yaml.org,2002:merge"
BOM = "\ufeff"


class YamlError(Exception):
    """The text is not YAML we can work with; `line`/`column` are 1-based when known."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}: " if self.line else ""
        return f"{where}{self.message}"


class _CoreResolver(VersionedResolver):
    """YAML 1.2 core-schema tags for plain scalars (what ruamel's versioned resolver gives for a 1.2
    document), without its per-scalar version lookups, which cost more than the C parse itself."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        return _resolve(kind, value, implicit)


def _resolve(kind: Any, value: Any, implicit: Any) -> Tag:
    if kind is ScalarNode and implicit[0]:
        return _plain_tag(value)
    if kind is MappingNode:
        return _TAGS["tag:yaml.org,2002:map"]
    if kind is SequenceNode:
        return _TAGS["tag:yaml.org,2002:seq"]
    return _TAGS["tag:yaml.org,2002:str"]


def _tag(name: str) -> Tag:
    """A shared Tag whose text is decoded once (ruamel decodes a fresh Tag on every `node.tag`)."""
    tag = Tag(suffix=name)
    _ = tag.trval
    return tag


_IMPLICIT = [(tag, re.compile(rx, re.X)) for tag, rx in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$"),
    ("tag:yaml.org,2002:float", r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"""),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$"),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$"),
    ("tag:yaml.org,2002:timestamp", r"""^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}
        |[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$"""),
)]
_FIRST = set("tTfF-+0123456789.<~nN")
_TAGS = {name: _tag(name) for name in [t for t, _ in _IMPLICIT] + [
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"]}
# The resolver hands this very object to every plain or quoted string, i.e. to nearly every mapping
# key: `node.ctag is not _STR` rules out a merge key (or any other tag) without decoding the Tag,
# which `node.tag` does on each access. Explicitly tagged nodes get their own Tag: compare `.tag`.
_STR = _TAGS["tag:yaml.org,2002:str"]


def _implicit_tag(value: str) -> str:
    if value and value[0] not in _FIRST:
        return "tag:yaml.org,2002:str"
    return next((tag for tag, rx in _IMPLICIT if rx.match(value)), "tag:yaml.org,2002:str")


@lru_cache(maxsize=4096)
def _plain_tag(value: str) -> Tag:
    # Workflows repeat the same plain scalars (keys, `ubuntu-latest`, `true`) many times per file.
    return _TAGS[_implicit_tag(value)]


if CParser is not None:

    class _Composer(CParser):
        """libyaml's reader, scanner, parser and composer in one C object: ~8x faster than ruamel's pure
        Python ones, with the same nodes, marks and alias sharing. Used directly rather than through
        `YAML(typ="safe")`, which builds a loader class and scans its plug-in folder on every document;
        the C composer calls back only for tags and (no-op) path resolvers."""

        resolve = staticmethod(_resolve)  # called once per node: no bound-method hop

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            pass

        def ascend_resolver(self) -> None:
            pass


def _compose(text: str) -> Node | None:
    if CParser is None:  # pragma: no cover - clib missing on this platform
        yaml = YAML(typ="safe", pure=True)
        yaml.Resolver = _CoreResolver
        return yaml.compose(text)
    composer = _Composer(text)
    try:
        return composer.get_single_node()
    finally:
        composer.dispose()


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


def load_nodes(text: str) -> tuple[Node | None, Any]:
    try:
        root = _compose(text)
        data = _construct(root) if root is not None else None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        raise YamlError(problem, mark.line + 1 if mark else 0, mark.column + 1 if mark else 0) from None
    except YAMLError as exc:
        raise YamlError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    except RecursionError:
        raise YamlError("document nests too deeply") from None
    return root, data


def _construct(root: Node) -> Any:
    """Composed nodes -> plain data (YAML 1.2 core schema, merge keys applied, aliases shared).

    ruamel's Python constructor is the slowest part of a parse and rewrites merge keys inside
    the composed nodes we keep for positions, so we build the data ourselves.
    """
    return _Builder().build(root)


class _Builder:
    def __init__(self) -> None:
        self.done: dict[int, Any] = {}

    def build(self, node: Node) -> Any:
        if isinstance(node, ScalarNode):  # never shared through `done`: scalars are immutable values
            return node.value if node.ctag is _STR else _scalar(node)
        if id(node) in self.done:
            return self.done[id(node)]
        if isinstance(node, SequenceNode):
            out: list[Any] = []
            self.done[id(node)] = out
            out.extend(self.build(v) for v in node.value)
            return out
        mapping: dict[Any, Any] = {}
        self.done[id(node)] = mapping
        merged: dict[Any, Any] = {}
        for key, value in node.value:
            if key.ctag is not _STR and key.tag == MERGE_TAG:
                for source in value.value if isinstance(value, SequenceNode) else [value]:
                    part = self.build(source)
                    merged.update({k: v for k, v in part.items() if k not in merged} if isinstance(part, dict) else {})
                continue
            k = self.build(key)
            if isinstance(k, (dict, list)) or k in mapping:
                mark = key.start_mark
                raise YamlError(f"duplicate or complex mapping key {key.value!r}", mark.line + 1, mark.column + 1)
            mapping[k] = self.build(value)
        for k, v in merged.items():
            mapping.setdefault(k, v)
        return mapping


def _scalar(node: ScalarNode) -> Any:
    tag, text = node.tag, node.value
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return text.lower() == "true"
    if tag == "tag:yaml.org,2002:int":
        return _int(text)
    if tag == "tag:yaml.org,2002:float":
        return _float(text)
    return text


def _int(text: str) -> Any:
    clean = text.replace("_", "")
    try:
        if clean.lower().startswith(("0o", "-0o", "+0o")):
            return int(clean.lower().replace("0o", ""), 8)
        return int(clean, 0) if clean.lower().startswith(("0x", "-0x", "+0x")) else int(clean, 10)
    except ValueError:
        return text


def _float(text: str) -> Any:
    low = text.lower().replace("_", "")
    if low in (".nan",):
        return "nan"  # NaN != NaN would make equal documents compare unequal
    if low in (".inf", "+.inf", "-.inf"):
        return float(low.replace(".", ""))
    try:
        return float(low)
    except ValueError:
        return text


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
        if key.ctag is not _STR and key.tag == MERGE_TAG:
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
            if (k.ctag is _STR or k.tag != MERGE_TAG) and str(k.value) == key:
                return k, v
    return None


def get_pair(node: Node | None, key: str) -> tuple[ScalarNode, Node] | None:
    if not isinstance(node, MappingNode):
        return None
    # The hot path of every lookup: scan the mapping's own keys; only a merge key met before the
    # match needs the full `pairs` order (explicit keys win, wherever they are written).
    for k, v in node.value:
        if k.ctag is not _STR and k.tag == MERGE_TAG:
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
    return isinstance(node, MappingNode) and any(k.ctag is not _STR and k.tag == MERGE_TAG for k, _ in node.value)


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
