"""Findings as text, JSON or SARIF 2.1.0 (accepted by GitHub code scanning)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot import __version__
from bot.runner import INVALID, FileResult
from transforms.base import Finding, Severity, Transform

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/ztbot/ztbot"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}


def finding_dict(path: str, tid: str, f: Finding) -> dict[str, Any]:
    return {"path": path, "line": f.line, "column": f.column, "transform": tid, "rule": f.rule,
            "severity": f.severity.value, "message": f.message, "fixable": f.fixable,
            "yaml_path": f.yaml_path}


def text_lines(results: list[FileResult]) -> list[str]:
    out = []
    for r in results:
        for _tid, f in r.findings:
            fix = " (fixable)" if f.fixable else ""
            out.append(f"{r.path}:{f.line}:{f.column}: {f.severity.value} [{f.rule}] {f.message}{fix}")
        out += [f"{e}" for e in r.errors if not any(t in INVALID for t, _ in r.findings)]
    return out


def to_json(results: list[FileResult], summary: Mapping[str, Any]) -> str:
    findings = [finding_dict(r.path, tid, f) for r in results for tid, f in r.findings]
    files = [{"path": r.path, "status": r.status.value, "errors": r.errors} for r in results]
    return json.dumps({"version": __version__, "summary": dict(summary), "files": files, "findings": findings},
                      indent=2)


def _rule(rule: str, transforms: Mapping[str, Transform], docs: Mapping[str, str]) -> dict[str, Any]:
    owner = next((t for tid, t in transforms.items() if rule.startswith(tid)), None)
    summary = owner.summary if owner else "The file must parse as YAML."
    help_text = docs.get(owner.id if owner else "", summary)
    return {"id": rule, "name": rule, "shortDescription": {"text": summary},
            "fullDescription": {"text": summary}, "help": {"text": help_text, "markdown": help_text},
            "helpUri": f"{INFO_URI}#{owner.id if owner else rule}",
            "defaultConfiguration": {"level": "warning"}}


def to_sarif(results: list[FileResult], transforms: Mapping[str, Transform], docs: Mapping[str, str]) -> str:
    rules = sorted({f.rule for r in results for _, f in r.findings})
    index = {rule: i for i, rule in enumerate(rules)}
    sarif_results = [
        {"ruleId": f.rule, "ruleIndex": index[f.rule], "level": LEVELS[f.severity],
         "message": {"text": f.message},
         "locations": [{"physicalLocation": {"artifactLocation": {"uri": r.path},
                                             "region": {"startLine": f.line, "startColumn": f.column}}}]}
        for r in results for _, f in r.findings
    ]
    run = {"tool": {"driver": {"name": "ztbot", "version": __version__, "informationUri": INFO_URI,
                               "rules": [_rule(r, transforms, docs) for r in rules]}},
           "results": sarif_results}
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2)
