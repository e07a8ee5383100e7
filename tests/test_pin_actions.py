"""pin-actions with an injected resolver (fixtures cannot carry a callable) and the pin-table helpers."""

from __future__ import annotations

import pytest

from bot.runner import run_file
from transforms import pins
from transforms.base import Context
from transforms.pin_actions import PinActions, comment_for, table_pin, version_in

SHA = "0123456789abcdef0123456789abcdef01234567"
WORKFLOW = """on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: some-org/tool@main
      - uses: actions/checkout@v4
"""


def _run(text: str, resolver: object) -> tuple[str, list[str]]:
    ctx = Context(".github/workflows/ci.yml", options={"pin-actions": {"resolver": resolver}})
    result = run_file(text, ctx, {"pin-actions": PinActions()})
    assert not result.errors, result.errors
    return result.after, [f.rule for _, f in result.findings]


def test_resolver_first_and_branch_pinned_with_its_name() -> None:
    calls: list[tuple[str, str]] = []

    def resolver(owner_repo: str, ref: str) -> tuple[str, str] | None:
        calls.append((owner_repo, ref))
        return (SHA, "main") if ref == "main" else (SHA.upper(), "v4.9.9")

    after, rules = _run(WORKFLOW, resolver)
    assert f"some-org/tool@{SHA}  # main" in after
    assert f"actions/checkout@{SHA}  # v4.9.9" in after  # the resolver wins over the table
    assert calls[:2] == [("some-org/tool", "main"), ("actions/checkout", "v4")]
    assert rules == ["unpinned-uses", "unpinned-uses"]


def test_failing_or_malformed_resolver_falls_back_to_the_table() -> None:
    def broken(owner_repo: str, ref: str) -> tuple[str, str]:
        raise OSError("network down")

    for resolver in (broken, lambda o, r: ("not-a-sha", "v4"), lambda o, r: None):
        after, rules = _run(WORKFLOW, resolver)
        assert "actions/checkout@11d5960a326750d5838078e36cf38b85af677262  # v4.4.0" in after
        assert "some-org/tool@main" in after
        assert rules == ["unpinned-uses-unresolved", "unpinned-uses"]


def test_resolver_checks_comments_the_table_cannot() -> None:
    text = f"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: some-org/tool@{SHA} # v1.2.3\n"
    _, agree = _run(text, lambda o, r: (SHA, r))
    _, differ = _run(text, lambda o, r: ("f" * 40, r))
    assert agree == [] and differ == ["pin-comment-mismatch"]


def test_table_pins_majors_to_the_precise_release() -> None:
    assert table_pin("actions/checkout", "v4") == ("11d5960a326750d5838078e36cf38b85af677262", "v4.4.0")
    assert table_pin("pypa/gh-action-pypi-publish", "release/v1") is None  # a branch head
    assert table_pin("docker/login-action", "v4.6.0") is None  # observed in other repos, not verified


def test_comment_parsing() -> None:
    assert version_in("v4.1.0") == "v4.1.0"
    assert version_in("tag=v4.1.0") == "v4.1.0"
    assert version_in("pin@v3") == "v3"
    assert version_in("keep the default fetch depth") is None
    assert comment_for("v4.4.0", "v4") == "v4.4.0"
    assert comment_for("v4.4.0", "ztbot: ignore[permissions]") == "v4.4.0  # ztbot: ignore[permissions]"


def test_a_feature_newer_than_the_snapshot_takes_a_corroborated_pin_and_says_so() -> None:
    plain = pins.pin("docker/login-action")
    assert (plain.tag, plain.corroborated) == ("v4.1.0", "")
    newer = pins.pin("docker/login-action", at_least="v4.5.0")
    assert newer.tag == "v4.6.0" and "independent public repositories" in newer.corroborated
    with pytest.raises(KeyError, match=r"v9\.0\.0"):
        pins.pin("docker/login-action", at_least="v9.0.0")
    assert pins.pin("actions/checkout", at_least="v4").corroborated == ""
