"""Access to ../shared/corpus for tests and benchmarks (absent on machines without ../shared)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

from transforms.base import Finding

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpus" / "workflows"


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.is_file()) if CORPUS.is_dir() else []


def repo_path(name: str) -> str:
    """Where corpus-check lays a corpus file out inside its throwaway repository."""
    last = name.split("__")[-1]
    return "action.yml" if last in ("action.yml", "action.yaml") else f".github/workflows/{last}"


def zizmor_counts(files: list[Path]) -> dict[str, Counter[str]]:
    """Findings per file by audit id, offline and without ignores (as corpus-check counts them)."""
    exe = shutil.which("zizmor")
    assert exe, "zizmor is a test dependency: pip install -e '.[test]'"
    out: dict[str, Counter[str]] = {str(f.resolve()): Counter() for f in files}
    proc = subprocess.run([exe, "--offline", "--no-config", "--no-ignores", "--no-exit-codes", "--no-progress",
                           "--color", "never", "--format", "json", *map(str, files)],
                          capture_output=True, text=True, check=False)
    for finding in json.loads(proc.stdout or "[]"):
        for loc in finding.get("locations") or []:
            local = ((loc.get("symbolic") or {}).get("key") or {}).get("Local") or {}
            given = local.get("given_path") or local.get("verbatim_path")
            if given and str(Path(given).resolve()) in out:
                out[str(Path(given).resolve())][finding.get("ident", "?")] += 1
                break
    return out


def schema_invalid(files: list[Path], schema: str) -> set[str]:
    """Files that fail the SchemaStore schema, checked in one process."""
    exe = shutil.which("check-jsonschema")
    assert exe, "check-jsonschema is a test dependency: pip install -e '.[test]'"
    if not files:
        return set()
    proc = subprocess.run([exe, "--builtin-schema", schema, "-o", "json", *map(str, files)],
                          capture_output=True, text=True, check=False)
    report = json.loads(proc.stdout or "{}")
    bad = {e.get("filename") for e in report.get("errors", []) + report.get("parse_errors", [])}
    return {str(Path(b).resolve()) for b in bad if b}


MANIFEST = SHARED / "corpus" / "manifest.tsv"
CREDENTIAL_CATEGORIES = frozenset({"aws-static-inputs", "aws-static-env", "gcp-key", "azure-creds", "pypi-token",
                                   "npm-token", "docker-static", "other-static"})
# The transforms that replace a stored credential (static-secrets only reports).
CREDENTIAL_TRANSFORMS = frozenset({"oidc-aws", "oidc-gcp", "oidc-azure", "oidc-vault", "registry-login",
                                   "publish-pypi", "publish-npm", "publish-rubygems", "publish-crates",
                                   "publish-nuget"})


def categories() -> dict[str, set[str]]:
    """Corpus file name -> its manifest categories."""
    if not MANIFEST.is_file():
        return {}
    rows = [line.split("\t") for line in MANIFEST.read_text(encoding="utf-8").splitlines()[1:] if line.strip()]
    return {r[0]: set(r[4].split(",")) for r in rows if len(r) > 4}


def credential_reasons(findings: list[tuple[str, Finding]]) -> list[str]:
    """What the run said about the credentials it left: refusals, unresolved steps, no-federation notes."""
    def counts(tid: str, f: Finding) -> bool:
        return (tid in CREDENTIAL_TRANSFORMS and not f.fixable) or tid in ("static-secrets", "invalid-yaml")

    return [f"[{f.rule}] {f.message}" for tid, f in findings if counts(tid, f)]
