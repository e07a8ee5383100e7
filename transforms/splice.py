"""Where an operation's text goes: node marks to character offsets, in the document's own style.

Each operation becomes one `Splice` (start, end, replacement) computed against the normalized text;
`apply_splices` applies them back to front. Nothing here decides *what* to change, only where and in
which shape (indent unit, flush or indented sequences, flow or block, blank-line spacing).
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

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
from transforms.render import Style, render_block, render_flow, render_scalar
from transforms.yamldoc import Doc, is_flow, own_pair, path_str, resolve


def _merge_deletions(splices: list[Splice]) -> list[Splice]:
    """Overlapping pure deletions (neighbouring flow entries) become one; adjacent ones stay apart so an
    insertion between them keeps its place."""
    kept = [s for s in splices if s.text or s.start == s.end]
    merged: list[Splice] = []
    for sp in sorted((s for s in splices if not s.text and s.start != s.end), key=lambda s: s.start):
        if merged and sp.start < merged[-1].end:
            merged[-1] = Splice(merged[-1].start, max(merged[-1].end, sp.end), "")
        else:
            merged.append(sp)
    return kept + merged


def _tidy(text: str, sp: Splice) -> Splice:
    """A deletion reaching the closing bracket of a flow collection takes the separator before it too."""
    if sp.text or sp.start == sp.end:
        return sp
    before = text[: sp.start].rstrip(" ")
    if text[sp.end :].lstrip(" ")[:1] in ("}", "]") and before.endswith(","):
        return Splice(len(before) - 1, sp.end, "")
    return sp


def apply_splices(text: str, splices: list[Splice]) -> str:
    splices = [_tidy(text, sp) for sp in _merge_deletions(splices)]
    ordered = sorted(enumerate(splices), key=lambda p: (p[1].start, p[1].end, p[0]), reverse=True)
    limit = len(text) + 1
    for _, sp in ordered:
        if sp.end > limit:
            raise EditError("two edits overlap")
        text = text[: sp.start] + sp.text + text[sp.end :]
        limit = sp.start
    return text


def splice_for(doc: Doc, op: Op, node: Node, style: Style) -> Splice:
    if isinstance(op, InsertKey):
        return _insert_key(doc, op, node, style)
    if isinstance(op, DeleteKey):
        return _delete_key(doc, op, node)
    if isinstance(op, InsertItem):
        return _insert_item(doc, op, node, style)
    if isinstance(op, EditText):
        return _edit_text(doc, op, node)
    return _replace_value(doc, op, node, style)


def _edit_text(doc: Doc, op: EditText, parent: Node) -> Splice:
    value = resolve(doc.root, op.path) if op.path else None
    if not isinstance(value, ScalarNode) or value.style not in (None, "", "|", ">", "'", '"'):
        raise EditError(f"{path_str(op.path)} is not a string scalar")
    start, end = _mark_offset(value.start_mark), _mark_offset(value.end_mark)
    source = doc.text[start:end]
    if source.count(op.old) != 1 or "\n" in op.old or "\n" in op.new:
        raise EditError(f"{path_str(op.path)}: expected exactly one single-line occurrence of {op.old!r}")
    at = start + source.index(op.old)
    return Splice(at, at + len(op.old), op.new)


def content_end_line(doc: Doc, node: Node) -> int:
    """0-based last line holding the node's own content (not trailing blanks or comments)."""
    if isinstance(node, (MappingNode, SequenceNode)) and not is_flow(node) and node.value:
        last = node.value[-1]
        return content_end_line(doc, last[1] if isinstance(last, tuple) else last)
    end = node.end_mark
    line = end.line if end.column > 0 else end.line - 1
    line = min(line, doc.line_count - 1)
    while line > node.start_mark.line and not doc.line_text(line).strip():
        line -= 1
    return max(line, node.start_mark.line)


def _line_start_above_comments(doc: Doc, line: int, column: int) -> int:
    """Move an insertion point above comment lines that introduce the block at `line`."""
    while line > 0:
        prev = doc.line_text(line - 1)
        if not prev.lstrip().startswith("#") or len(prev) - len(prev.lstrip()) != column:
            break
        line -= 1
    return line


def _next_line_offset(doc: Doc, line: int) -> int:
    return doc.line_starts[line + 1] if line + 1 < doc.line_count else len(doc.text)


def _indent(lines: list[str], column: int) -> str:
    pad = " " * column
    return "".join((pad + ln if ln else ln) + "\n" for ln in lines)


def _insert_key(doc: Doc, op: InsertKey, node: Node, style: Style) -> Splice:
    if not isinstance(node, MappingNode):
        raise EditError(f"{path_str(op.path) or '<root>'} is not a mapping")
    if own_pair(node, op.key) is not None:
        raise EditError(f"{path_str((*op.path, op.key))} already exists")
    if is_flow(node):
        return _insert_flow_key(op, node)
    if not node.value:
        raise EditError(f"{path_str(op.path)} is an empty mapping")
    column = node.value[0][0].start_mark.column
    lines = render_block({op.key: op.value}, style, _prefixed(op.key, op.comments))
    if op.before is not None and (anchor := own_pair(node, op.before)) is not None:
        line = _line_start_above_comments(doc, anchor[0].start_mark.line, column)
        if anchor[0].start_mark.line == node.value[0][0].start_mark.line and _starts_item(doc, anchor[0]):
            raise EditError(f"cannot insert before the first key of a sequence item at {path_str(op.path)}")
        return Splice(doc.line_starts[line], doc.line_starts[line], _indent(lines, column))
    after = own_pair(node, op.after) if op.after is not None else None
    last = after[1] if after else node.value[-1][1]
    at = _next_line_offset(doc, content_end_line(doc, last))
    return Splice(at, at, _indent(lines, column))


def _starts_item(doc: Doc, key: ScalarNode) -> bool:
    prefix = doc.line_text(key.start_mark.line)[: key.start_mark.column]
    return "-" in prefix


def _prefixed(key: str, comments: Comments) -> dict[tuple[str | int, ...], str]:
    return {(key, *path): text for path, text in comments.items()}


def _insert_flow_key(op: InsertKey, node: MappingNode) -> Splice:
    entry = f"{render_scalar(op.key)}: {render_flow(op.value)}"
    if not node.value:
        start = node.start_mark.index + 1
        return Splice(start, start, entry)
    at = node.value[-1][1].end_mark
    return Splice(_mark_offset(at), _mark_offset(at), ", " + entry)


def _mark_offset(mark: Any) -> int:
    # Marks carry a character index into the normalized text we parsed.
    return int(mark.index)


def _delete_key(doc: Doc, op: DeleteKey, node: Node) -> Splice:
    found = own_pair(node, op.key) if isinstance(node, MappingNode) else None
    if found is None:
        raise EditError(f"{path_str((*op.path, op.key))} does not exist")
    if len(node.value) == 1:
        raise EditError(f"removing {op.key} would leave {path_str(op.path)} empty")
    key, value = found
    if is_flow(node):
        assert isinstance(node, MappingNode)
        return _delete_flow_key(node, key)
    if _starts_item(doc, key) and key is node.value[0][0]:
        raise EditError(f"cannot remove the first key of a sequence item at {path_str(op.path)}")
    start = doc.line_starts[key.start_mark.line]
    return Splice(start, _next_line_offset(doc, content_end_line(doc, value)), "")


def _delete_flow_key(node: MappingNode, key: ScalarNode) -> Splice:
    index = next(i for i, (k, _) in enumerate(node.value) if k is key)
    if index + 1 < len(node.value):
        return Splice(_mark_offset(key.start_mark), _mark_offset(node.value[index + 1][0].start_mark), "")
    prev_end = node.value[index - 1][1].end_mark
    return Splice(_mark_offset(prev_end), _mark_offset(node.value[index][1].end_mark), "")


def _dash_column(doc: Doc, item: Node) -> int:
    line = doc.line_text(item.start_mark.line)
    dash = line.rfind("-", 0, item.start_mark.column)
    if dash < 0:
        raise EditError(f"cannot locate the '-' of the item at line {item.start_mark.line + 1}")
    return dash


def _insert_item(doc: Doc, op: InsertItem, node: Node, style: Style) -> Splice:
    if not isinstance(node, SequenceNode):
        raise EditError(f"{path_str(op.path)} is not a sequence")
    if is_flow(node) or not node.value:
        raise EditError(f"{path_str(op.path)} is a flow-style or empty sequence; not edited")
    first = node.value[0]
    dash = _dash_column(doc, first)
    gap = first.start_mark.column - dash if first.start_mark.line == node.value[0].start_mark.line else 2
    lines = render_block(op.value, style, op.comments)
    lines = [("-" + " " * (gap - 1) + lines[0])] + [" " * gap + ln if ln else ln for ln in lines[1:]]
    spaced = _items_spaced(doc, node)
    if op.index < len(node.value):
        item = node.value[op.index]
        line = _line_start_above_comments(doc, item.start_mark.line, _dash_column(doc, item))
        at = doc.line_starts[line]
        return Splice(at, at, _indent(lines, dash) + ("\n" if spaced else ""))
    at = _next_line_offset(doc, content_end_line(doc, node.value[-1]))
    return Splice(at, at, ("\n" if spaced else "") + _indent(lines, dash))


def _items_spaced(doc: Doc, node: SequenceNode) -> bool:
    """True when the existing items are separated by blank lines: an inserted one follows suit."""
    if len(node.value) < 2:
        return False
    gaps = [doc.line_text(node.value[i + 1].start_mark.line - 1).strip() == ""
            for i in range(len(node.value) - 1)]
    return all(gaps)


def _replace_value(doc: Doc, op: ReplaceValue, parent: Node, style: Style) -> Splice:
    if not op.path:
        raise EditError("cannot replace the whole document")
    last = op.path[-1]
    if isinstance(last, int):
        raise EditError("replacing sequence items is not supported")
    found = own_pair(parent, last)
    if found is None:
        raise EditError(f"{path_str(op.path)} is not written in this mapping")
    key, value = found
    if is_flow(parent) or is_flow(value) or (isinstance(value, ScalarNode) and _is_scalar(op.value)):
        splice = _replace_inline(value, op.value)
        note = op.comments.get(())
        if note is None or value.end_mark.line != value.start_mark.line:
            return splice
        # The old trailing comment described the old value: replace it with one about the change.
        end = _next_line_offset(doc, value.end_mark.line) - 1
        if not is_flow(parent):
            return Splice(splice.start, end, f"{splice.text}  # {note}")
        return _flow_note(doc, parent, value, splice, end, note)
    column = key.start_mark.column
    lines = render_block(op.value, style, op.comments)
    if isinstance(value, ScalarNode):
        return _scalar_to_block(doc, value, _indent(lines, column + style.unit), op)
    start = doc.line_starts[content_start_line(doc, key, value)]
    nested = _indent(lines, column + style.unit)
    return Splice(start, _next_line_offset(doc, content_end_line(doc, value)), nested)


def _scalar_to_block(doc: Doc, value: ScalarNode, block: str, op: ReplaceValue) -> Splice:
    """`key: scalar  # note` -> `key:  # note` followed by the new block lines."""
    if value.style in ("|", ">"):
        raise EditError(f"{path_str(op.path)} is a block scalar; not replaced")
    start = _mark_offset(value.start_mark)
    while start > 0 and doc.text[start - 1] == " ":
        start -= 1
    end_of_line = _next_line_offset(doc, value.end_mark.line)
    rest = doc.text[_mark_offset(value.end_mark) : end_of_line].strip()
    return Splice(start, end_of_line, (f"  {rest}" if rest else "") + "\n" + block)


def _flow_note(doc: Doc, parent: Node, value: Node, splice: Splice, end: int, note: str) -> Splice:
    """In `- {uses: a@v1}` the comment can only follow the closing brace, when nothing else does."""
    close = _mark_offset(parent.end_mark)
    rest = doc.text[close:end].strip()
    if parent.end_mark.line != value.start_mark.line or (rest and not rest.startswith("#")):
        return splice
    middle = doc.text[_mark_offset(value.end_mark) : close]
    return Splice(splice.start, end, f"{splice.text}{middle}  # {note}")


def content_start_line(doc: Doc, key: ScalarNode, value: Node) -> int:
    return value.start_mark.line if value.start_mark.line > key.start_mark.line else key.start_mark.line + 1


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _replace_inline(node: Node, value: Any) -> Splice:
    quote = node.style if isinstance(node, ScalarNode) and node.style in ("'", '"') else None
    text = render_scalar(value, quote) if _is_scalar(value) else render_flow(value)
    return Splice(_mark_offset(node.start_mark), _mark_offset(node.end_mark), text)
