"""YAML text -> composed nodes (with marks) and plain data, the way every transform reads it.

libyaml's C composer builds ruamel's nodes; YAML 1.2 core-schema tags come from our resolver; the
plain data is built from the nodes by `_Builder` (merge keys applied, aliases shared).
"""

from __future__ import annotations

import re
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

MERGE_TAG = "tag:yaml.org,2002:merge"


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
# key: `node.ctag is not STR_TAG` rules out a merge key (or any other tag) without decoding the Tag,
# which `node.tag` does on each access. Explicitly tagged nodes get their own Tag: compare `.tag`.
STR_TAG = _TAGS["tag:yaml.org,2002:str"]


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
            return node.value if node.ctag is STR_TAG else _scalar(node)
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
            if key.ctag is not STR_TAG and key.tag == MERGE_TAG:
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
