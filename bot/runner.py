"""Run the enabled transforms over one file. Never raises: every file gets a typed result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from transforms.base import Context, Finding, Severity, Transform, WriteFile
from transforms.ignores import apply_ignores
from transforms.model import malformed_step
from transforms.yamldoc import Doc, YamlError, parse
from transforms.yamledit import EditError, apply_ops


class Status(StrEnum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass
class FileResult:
    path: str
    status: Status
    before: str = ""
    after: str = ""
    findings: list[tuple[str, Finding]] = field(default_factory=list)  # (transform id, finding)
    errors: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)  # transform ids that changed the file
    ignored: list[tuple[str, Finding]] = field(default_factory=list)  # silenced by `# ztbot: ignore`
    # Other files of the checkout a transform's fix changes (path -> (before, after)), e.g. scripts.
    files: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.after != self.before


# Files reported and left alone: no transform runs on them.
INVALID = ("invalid-yaml", "invalid-workflow")


def parse_error_finding(exc: YamlError) -> Finding:
    return Finding("invalid-yaml", f"not valid YAML: {exc.message}; fix the file so it parses",
                   max(exc.line, 1), max(exc.column, 1), severity=Severity.ERROR)


def _invalid(result: FileResult, finding: Finding, error: str) -> FileResult:
    result.findings.append((finding.rule, finding))
    result.errors.append(error)
    result.status = Status.FAILED
    return result


def run_file(text: str, ctx: Context, transforms: Mapping[str, Transform], fix: bool = True,
             honour_ignores: bool = True) -> FileResult:
    """Detect (and fix) with every transform in order; `honour_ignores=False` when the org forbids overrides."""
    result = FileResult(ctx.path, Status.UNCHANGED, before=text, after=text)
    try:
        original = parse(text)
    except YamlError as exc:
        where = f"{ctx.path}:{exc.line}:{exc.column}" if exc.line else ctx.path
        return _invalid(result, parse_error_finding(exc), f"{where}: {exc.message}")
    except Exception as exc:
        return _crashed(result, "parse", exc)
    problem = malformed_step(original)
    if problem is not None:
        message, line = problem
        finding = Finding("invalid-workflow", f"not a valid workflow: {message}; fix the file (a step needs "
                          "`uses:` or `run:`)", line, yaml_path=message.split(" ", 1)[0], severity=Severity.ERROR)
        return _invalid(result, finding, f"{ctx.path}:{line}: {message}")
    doc = original
    for tid, transform in transforms.items():
        doc = _one(tid, transform, doc, ctx, result, fix, honour_ignores)
    result.after = original.restore(doc.text) if result.applied else text
    result.status = _status(result)
    return result


def _one(tid: str, transform: Transform, doc: Doc, ctx: Context, result: FileResult, fix: bool,
         honour_ignores: bool) -> Doc:
    """Detect and (when fixing) apply one transform atomically: its edits all land or none do."""
    options = ctx.options.get(tid, {}) if isinstance(ctx.options.get(tid), dict) else {}
    tctx = Context(ctx.path, ctx.read, options, ctx.repo)
    try:
        if not _may_apply(transform, doc):
            return doc
        findings = transform.detect(doc, tctx)
        if honour_ignores:
            findings, quiet = apply_ignores(doc, tid, findings)
            result.ignored += [(tid, f) for f in quiet]
        result.findings += [(tid, f) for f in findings]
        if not fix or not any(f.fixable for f in findings):
            return doc
        ops = transform.apply(doc, tctx, findings)
        writes = [op for op in ops if isinstance(op, WriteFile)]
        checked = _checked_writes(writes, ctx, result)  # raises EditError: then nothing of this transform lands
        text = apply_ops(doc, [op for op in ops if not isinstance(op, WriteFile)])
        if text == doc.text and not checked:
            return doc
        result.files.update(checked)
        result.applied.append(tid)
        return parse(text) if text != doc.text else doc
    except EditError as exc:
        result.errors.append(f"{ctx.path}: {tid}: not changed: {exc}")
    except Exception as exc:
        _crashed(result, tid, exc)
    return doc


def _checked_writes(writes: list[WriteFile], ctx: Context, result: FileResult) -> dict[str, tuple[str, str]]:
    """Sibling-file edits, each still based on the file's current text (or on an earlier edit of this run)."""
    out: dict[str, tuple[str, str]] = {}
    for w in writes:
        current = result.files[w.path][1] if w.path in result.files else ctx.read(w.path)
        if current != w.old:
            raise EditError(f"{w.path} changed since it was read; not edited")
        if w.path in out and out[w.path][1] != w.new:
            raise EditError(f"two different edits of {w.path}")
        out[w.path] = (result.files.get(w.path, (w.old, w.old))[0], w.new)
    return out


def _may_apply(transform: Transform, doc: Doc) -> bool:
    """A transform that declares `requires_text` cannot find anything in a file holding none of it."""
    needles = getattr(transform, "requires_text", ())
    if not needles:
        return True
    text = doc.derived("lowered", lambda d: d.text.lower())
    return any(n in text for n in needles)


def _crashed(result: FileResult, where: str, exc: Exception) -> FileResult:
    result.errors.append(f"{result.path}: {where}: internal error {type(exc).__name__}: {exc}")
    result.status = Status.FAILED
    return result


def _status(result: FileResult) -> Status:
    if result.errors:
        return Status.FAILED
    return Status.CHANGED if result.after != result.before or result.files else Status.UNCHANGED


def summary(results: list[FileResult]) -> dict[str, Any]:
    counts = {s.value: 0 for s in Status}
    for r in results:
        counts[r.status.value] += 1
    findings = [f for r in results for _, f in r.findings]
    return {"files": len(results), **counts, "findings": len(findings),
            "fixable": sum(f.fixable for f in findings)}
