"""Surgical YAML edits: semantic operations become text splices at node marks.

The document is never re-emitted. Each operation names a place by its data path; we locate
the node, splice text in the surrounding style (indent unit, sequence style, flow vs block), then
re-parse the result and require it to equal the original data with exactly the intended changes.
The operations live in `ops.py`, the text placement in `splice.py`; this module is the entry point.
"""

from __future__ import annotations

import copy
from typing import Any

from ruamel.yaml.nodes import Node

from transforms.base import Path
from transforms.ops import (
    Comments,
    DeleteKey,
    EditError,
    EditText,
    InsertItem,
    InsertKey,
    Op,
    ReplaceValue,
    Splice,
)
from transforms.render import Style
from transforms.splice import apply_splices, splice_for
from transforms.yamldoc import Doc, load_nodes, path_str, resolve, usage_counts

__all__ = [
    "Comments", "DeleteKey", "EditError", "EditText", "InsertItem", "InsertKey", "Op", "ReplaceValue", "Splice",
    "apply_ops", "expected_data", "morph", "verify",
]


# ---------------------------------------------------------------- public entry point


def apply_ops(doc: Doc, ops: list[Op]) -> str:
    """Apply `ops` to the normalized text; raises EditError unless the result means exactly that."""
    if not ops:
        return doc.text
    style = Style.detect(doc)
    counts = usage_counts(doc.root)
    splices: dict[tuple[int, int, str], Splice] = {}
    targets: dict[int, int] = {}
    for op in ops:
        node = _target(doc, op)
        targets[id(node)] = targets.get(id(node), 0) + 1
        splice = splice_for(doc, op, node, style)
        # Several users of one anchor asking for the same change produce one splice.
        splices.setdefault((splice.start, splice.end, splice.text), splice)
    _check_sharing(doc, ops, counts, targets)
    text = apply_splices(doc.text, list(splices.values()))
    verify(doc, text, ops)
    return text


def expected_data(data: Any, ops: list[Op]) -> Any:
    """The data the edited document must hold.

    Every op's path refers to the original document, so ops that shift sequence indices
    (inserted items) are replayed last, highest index first.
    """
    out = copy.deepcopy(data)
    plain = [op for op in ops if not isinstance(op, InsertItem)]
    # Same-index inserts land in op order in the text, so they replay in reverse op order here.
    numbered = [(op.path, op.index, n, op) for n, op in enumerate(ops) if isinstance(op, InsertItem)]
    items = [entry[3] for entry in sorted(numbered, key=lambda e: (e[0], e[1], e[2]), reverse=True)]
    for op in plain + items:
        out = _apply_data(out, op)
    return out


def verify(doc: Doc, text: str, ops: list[Op]) -> None:
    try:
        _, data = load_nodes(text)
    except Exception as exc:  # any parse failure of our own output is our bug
        raise EditError(f"edited text does not parse: {exc}") from None
    if data != expected_data(doc.data, ops):
        raise EditError("edited text does not mean what was intended (re-parsed data differs)")


def morph(path: Path, old: Any, new: dict[str, Any]) -> list[Op]:
    """The fewest ops turning the mapping `old` at `path` into `new`; lines of kept keys stay as they are."""
    if not isinstance(old, dict) or not new or not set(old) & set(new):
        return [ReplaceValue(path, new)]
    ops: list[Op] = [DeleteKey(path, k) for k in old if k not in new]
    ops += [ReplaceValue((*path, k), v, comments={(): f"was: {old[k]}"}) for k, v in new.items()
            if k in old and old[k] != v]
    return ops + [InsertKey(path, k, v) for k, v in new.items() if k not in old]


# ---------------------------------------------------------------- data side


def _container(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


def _apply_data(data: Any, op: Op) -> Any:
    if isinstance(op, ReplaceValue) and not op.path:
        return copy.deepcopy(op.value)
    if isinstance(op, EditText):
        parent = _container(data, op.path[:-1])
        parent[op.path[-1]] = parent[op.path[-1]].replace(op.old, op.new, 1)
    elif isinstance(op, ReplaceValue):
        _container(data, op.path[:-1])[op.path[-1]] = copy.deepcopy(op.value)
    elif isinstance(op, InsertKey):
        _container(data, op.path)[op.key] = copy.deepcopy(op.value)
    elif isinstance(op, DeleteKey):
        del _container(data, op.path)[op.key]
    else:
        _container(data, op.path).insert(op.index, copy.deepcopy(op.value))
    return data


# ---------------------------------------------------------------- locating nodes


def _target(doc: Doc, op: Op) -> Node:
    path = op.path[:-1] if isinstance(op, (ReplaceValue, EditText)) and op.path else op.path
    node = resolve(doc.root, path)
    if node is None:
        raise EditError(f"no node at {path_str(path) or '<root>'}")
    return node


def _check_sharing(doc: Doc, ops: list[Op], counts: dict[int, int], targets: dict[int, int]) -> None:
    """An aliased node changes for every user: allowed only when every user asked for it."""
    for op in ops:
        node = _target(doc, op)
        users = counts.get(id(node), 1)
        if users > targets[id(node)]:
            line = node.start_mark.line + 1
            raise EditError(
                f"{path_str(op.path)} is inside a YAML anchor (line {line}) shared by {users} places; "
                "changing it would change the others too"
            )
