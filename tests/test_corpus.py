"""The whole pipeline over ../shared/corpus: no crash, parse, idempotent, schema-valid, zizmor never grows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.checkout import Checkout
from bot.runner import FileResult, Status, run_file
from tests.corpus import (
    CREDENTIAL_CATEGORIES,
    CREDENTIAL_TRANSFORMS,
    categories,
    corpus_files,
    credential_reasons,
    repo_path,
    schema_invalid,
    zizmor_counts,
)
from transforms.base import Context
from transforms.registry import TRANSFORMS
from transforms.yamldoc import parse

pytestmark = pytest.mark.skipif(not corpus_files(), reason="../shared/corpus is absent")


@dataclass
class Outcome:
    source: Path
    before: Path
    after: Path
    first: FileResult
    second: FileResult


def _fix(root: Path, rel: str) -> FileResult:
    checkout = Checkout(root)
    text = (root / rel).read_bytes().decode("utf-8")
    return run_file(text, Context(rel, checkout.read, {}), TRANSFORMS)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> list[Outcome]:
    work = tmp_path_factory.mktemp("corpus")
    out = []
    for src in corpus_files():
        rel = repo_path(src.name)
        before = work / "before" / src.stem / Path(rel).name
        before.parent.mkdir(parents=True)
        before.write_bytes(src.read_bytes())
        root = work / "after" / src.stem
        (root / rel).parent.mkdir(parents=True)
        (root / rel).write_bytes(src.read_bytes())
        first = _fix(root, rel)
        (root / rel).write_bytes(first.after.encode("utf-8"))
        out.append(Outcome(src, before, root / rel, first, _fix(root, rel)))
    return out


def test_no_crash_and_clear_errors(outcomes: list[Outcome]) -> None:
    crashes = [e for o in outcomes for e in o.first.errors if "internal error" in e]
    assert not crashes
    for o in outcomes:
        if o.first.status is Status.FAILED and any(t == "invalid-yaml" for t, _ in o.first.findings):
            finding = next(f for t, f in o.first.findings if t == "invalid-yaml")
            assert finding.line >= 1 and "YAML" in finding.message


def test_outputs_parse_and_are_idempotent(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        if o.first.changed:
            parse(o.first.after)
        assert not o.second.changed, f"{o.source.name}: second fix changed it again"


def test_line_endings_final_newline_and_bom_kept(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        a, b = o.first.before, o.first.after
        assert ("\r\n" in a) == ("\r\n" in b), o.source.name
        assert a.endswith("\n") == b.endswith("\n"), o.source.name
        assert a.startswith("\ufeff") == b.startswith("\ufeff"), o.source.name


def test_schema_valid_outputs(outcomes: list[Outcome]) -> None:
    for schema, actions in (("vendor.github-workflows", False), ("vendor.github-actions", True)):
        chosen = [o for o in outcomes if o.first.changed and (o.after.name == "action.yml") == actions]
        bad_before = schema_invalid([o.before for o in chosen], schema)
        bad_after = schema_invalid([o.after for o in chosen], schema)
        regressions = [o.source.name for o in chosen
                       if str(o.after.resolve()) in bad_after and str(o.before.resolve()) not in bad_before]
        assert not regressions


def test_no_zizmor_audit_grows(outcomes: list[Outcome]) -> None:
    changed = [o for o in outcomes if o.first.changed]
    before = zizmor_counts([o.before for o in changed])
    after = zizmor_counts([o.after for o in changed])
    grown = {}
    for o in changed:
        b, a = before[str(o.before.resolve())], after[str(o.after.resolve())]
        grown.update({f"{o.source.name}:{k}": (b[k], v) for k, v in a.items() if v > b[k]})
    assert not grown


def test_permissions_coverage(outcomes: list[Outcome]) -> None:
    """At least 90% of jobs without effective permissions get a block (issue #2)."""
    def unscoped(text: str) -> int:
        try:
            data = parse(text).data
        except Exception:
            return 0
        if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict) or "permissions" in data:
            return 0
        return sum(1 for j in data["jobs"].values() if isinstance(j, dict) and "permissions" not in j)

    before = sum(unscoped(o.first.before) for o in outcomes)
    after = sum(unscoped(o.first.after) for o in outcomes)
    assert before and 1 - after / before >= 0.90, (before, after)


def test_every_job_left_alone_has_a_reason(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        try:
            data = parse(o.first.after).data
        except Exception:
            continue
        if not isinstance(data, dict) or "permissions" in data or not isinstance(data.get("jobs"), dict):
            continue
        said = " ".join(f.message for _, f in o.first.findings) + " ".join(o.first.errors)
        for job_id, job in data["jobs"].items():
            if isinstance(job, dict) and "permissions" not in job:
                assert f"`{job_id}`" in said or job_id in said, f"{o.source.name}: job {job_id} left without a reason"


def test_every_credential_file_is_rewritten_or_says_why(outcomes: list[Outcome]) -> None:
    """Issue #3: a file of the credential categories is rewritten, or the run names what stays and why."""
    cats = categories()
    for o in outcomes:
        if cats.get(o.source.name, set()) & CREDENTIAL_CATEGORIES and not set(o.first.applied) & CREDENTIAL_TRANSFORMS:
            assert credential_reasons(o.first.findings), f"{o.source.name}: credentials left without a reason"


def test_already_oidc_files_get_no_credential_rewrite(outcomes: list[Outcome]) -> None:
    cats = categories()
    for o in outcomes:
        if "already-oidc" in cats.get(o.source.name, set()):
            assert not set(o.first.applied) & CREDENTIAL_TRANSFORMS, o.source.name


def test_crlf_and_bom_copies_get_exactly_the_same_edits() -> None:
    """Every LF corpus file, re-encoded with CRLF or a BOM, comes out as the LF result re-encoded."""
    for src in corpus_files():
        raw = src.read_bytes().decode("utf-8", "replace")
        if "\r" in raw:
            continue
        ctx = Context(repo_path(src.name))
        lf = run_file(raw, ctx, TRANSFORMS).after
        assert run_file(raw.replace("\n", "\r\n"), ctx, TRANSFORMS).after == lf.replace("\n", "\r\n"), src.name
        assert run_file("\ufeff" + raw, ctx, TRANSFORMS).after == "\ufeff" + lf, src.name
