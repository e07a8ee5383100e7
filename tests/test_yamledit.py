"""The editing core: splices in the document's own style, verified by re-parsing, or refused."""

from __future__ import annotations

import pytest

from transforms.yamldoc import YamlError, parse
from transforms.yamledit import (
    DeleteKey,
    EditError,
    EditText,
    InsertItem,
    InsertKey,
    Op,
    ReplaceValue,
    apply_ops,
    morph,
)


def edit(raw: str, *ops: Op) -> str:
    doc = parse(raw)
    return doc.restore(apply_ops(doc, list(ops)))


def test_insert_after_a_key_keeps_comments_and_takes_the_indent() -> None:
    raw = "jobs:\n    a:\n        runs-on: x  # why\n        # steps\n        steps: []\n"
    out = edit(raw, InsertKey(("jobs", "a"), "permissions", {"contents": "read"}, after="runs-on"))
    assert out == ("jobs:\n    a:\n        runs-on: x  # why\n        permissions:\n            contents: read\n"
                   "        # steps\n        steps: []\n")


def test_insert_before_moves_above_the_introducing_comment() -> None:
    out = edit("on: push\n# the jobs\njobs: {}\n", InsertKey((), "permissions", {}, before="jobs"))
    assert out == "on: push\npermissions: {}\n# the jobs\njobs: {}\n"


def test_flow_mapping_gets_a_flow_entry() -> None:
    out = edit("j: {a: 1, b: [2]}\n", InsertKey(("j",), "c", {"d": "e"}))
    assert out == "j: {a: 1, b: [2], c: {d: e}}\n"


def test_crlf_bom_and_missing_final_newline_survive() -> None:
    out = edit("\ufeffa:\r\n  b: 1", InsertKey(("a",), "c", 2))
    assert out == "\ufeffa:\r\n  b: 1\r\n  c: 2"


def test_mixed_line_endings_are_kept_line_by_line() -> None:
    out = edit("a:\r\n  b: 1\n  c: 2\r\n", InsertKey(("a",), "x", 9, after="b"))
    assert out == "a:\r\n  b: 1\n  x: 9\n  c: 2\r\n"


def test_bare_cr_is_refused_with_a_clear_error() -> None:
    with pytest.raises(YamlError, match="bare CR"):
        parse("a: 1\rb: 2\r")


def test_shared_anchor_is_refused_unless_every_user_asks() -> None:
    raw = "d: &d\n  x: 1\nj:\n  a: *d\n  b: *d\n"
    with pytest.raises(EditError, match=r"anchor .* shared by 3 places"):
        edit(raw, InsertKey(("j", "a"), "y", 2))
    every = [InsertKey(path, "y", 2) for path in (("d",), ("j", "a"), ("j", "b"))]
    assert edit(raw, *every) == "d: &d\n  x: 1\n  y: 2\nj:\n  a: *d\n  b: *d\n"


def test_merge_key_job_gets_its_own_key() -> None:
    raw = "d: &d\n  runs-on: x\nj:\n  <<: *d\n  steps: []\n"
    assert edit(raw, InsertKey(("j",), "p", 1)) == "d: &d\n  runs-on: x\nj:\n  <<: *d\n  steps: []\n  p: 1\n"


def test_replace_scalar_with_block_keeps_the_comment_on_the_key_line() -> None:
    out = edit("permissions: write-all  # broad\njobs: {}\n", ReplaceValue(("permissions",), {"contents": "read"}))
    assert out == "permissions:  # broad\n  contents: read\njobs: {}\n"


def test_morph_touches_only_changed_keys_and_notes_the_old_value() -> None:
    raw = "p:\n  contents: write  # push\n  issues: write\n  actions: read  # keep\n"
    out = edit(raw, *morph(("p",), {"contents": "write", "issues": "write", "actions": "read"},
                           {"contents": "read", "actions": "read"}))
    assert out == "p:\n  contents: read  # was: write\n  actions: read  # keep\n"


def test_delete_key_takes_its_block_and_refuses_to_empty_a_mapping() -> None:
    raw = "env:\n  A: 1\n  B:\n    - x\n  C: 3\n"
    assert edit(raw, DeleteKey(("env",), "B")) == "env:\n  A: 1\n  C: 3\n"
    with pytest.raises(EditError, match="would leave env empty"):
        edit("env:\n  A: 1\n", DeleteKey(("env",), "A"))


def test_insert_items_flush_and_spaced_in_op_order() -> None:
    raw = "s:\n- a: 1\n\n- b: 2\n"
    out = edit(raw, InsertItem(("s",), 1, {"x": 1}), InsertItem(("s",), 1, {"y": 2}), InsertItem(("s",), 2, {"z": 3}))
    assert out == "s:\n- a: 1\n\n- x: 1\n\n- y: 2\n\n- b: 2\n\n- z: 3\n"


def test_ops_address_the_original_document_in_any_order() -> None:
    raw = "s:\n  - a: 1\n  - b: 2\n"
    out = edit(raw, InsertItem(("s",), 0, {"new": 0}), InsertKey(("s", 1), "c", 3))
    assert out == "s:\n  - new: 0\n  - a: 1\n  - b: 2\n    c: 3\n"


def test_edit_text_inside_a_block_scalar() -> None:
    raw = "r: |\n  docker run -e A img\n  echo\n"
    assert edit(raw, EditText(("r",), "-e A", "-e A -e B")) == "r: |\n  docker run -e A -e B img\n  echo\n"
    with pytest.raises(EditError, match="exactly one"):
        edit("r: x x\n", EditText(("r",), "x", "y"))


def test_a_splice_that_changes_meaning_is_refused_by_verification() -> None:
    # `|+` keeps trailing blank lines: inserting after its last text line would move one out of the value.
    with pytest.raises(EditError, match="does not mean what was intended"):
        edit("a: |+\n  keep\n\nb: 1\n", InsertKey((), "c", 2, after="a"))


def test_quotes_are_kept_when_replacing_a_scalar() -> None:
    assert edit("u: 'a@v1'  # v1\n", ReplaceValue(("u",), "a@sha", comments={(): "v2"})) == "u: 'a@sha'  # v2\n"


@pytest.mark.parametrize(("keys", "expected"), [
    (["b", "c"], "p: {a: 1, d: 4}\n"), (["c", "d"], "p: {a: 1, b: 2}\n"),
    (["a", "b"], "p: {c: 3, d: 4}\n"), (["a", "b", "c"], "p: {d: 4}\n"),
])
def test_neighbouring_flow_entries_can_be_deleted_together(keys: list[str], expected: str) -> None:
    assert edit("p: {a: 1, b: 2, c: 3, d: 4}\n", *[DeleteKey(("p",), k) for k in keys]) == expected


def test_flow_step_gets_its_comment_after_the_brace_only_when_the_line_ends_there() -> None:
    note = {(): "v1.2.3"}
    assert edit("s:\n  - {uses: a/b@v1, with: {x: 1}}  # old\n", ReplaceValue(("s", 0, "uses"), "a/b@sha", note)) == \
        "s:\n  - {uses: a/b@sha, with: {x: 1}}  # v1.2.3\n"
    assert edit("s: [{uses: a/b@v1}, {run: x}]\n", ReplaceValue(("s", 0, "uses"), "a/b@sha", note)) == \
        "s: [{uses: a/b@sha}, {run: x}]\n"
