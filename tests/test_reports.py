"""SARIF validated against the OASIS 2.1.0 schema; the Markdown posture report as a snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.posture import RepoReport, markdown, sarif
from bot.report import to_sarif
from bot.runner import run_file
from tests.corpus import SHARED
from transforms.base import Context
from transforms.docs import doc
from transforms.registry import TRANSFORMS

SCHEMA = SHARED / "schemas" / "sarif-schema-2.1.0.json"
SNAPSHOT = Path(__file__).parent / "snapshots" / "posture.md"

DEPLOY = """on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
          aws-region: eu-west-1
      - run: aws s3 ls
"""
BROKEN = "on: push\njobs:\n  a:\n\truns-on: x\n"


def _results() -> list[RepoReport]:
    ctx = Context(".github/workflows/deploy.yml", lambda _p: None, {}, "acme/api")
    api = RepoReport("acme/api", [run_file(DEPLOY, ctx, TRANSFORMS, fix=False)], pr_state="draft",
                     pr_url="https://github.com/acme/api/pull/7", reviews_required=True)
    bad = RepoReport("acme/web", [run_file(BROKEN, Context(".github/workflows/ci.yml"), TRANSFORMS, fix=False)],
                     reviews_required=False)
    return [api, bad, RepoReport("acme/old", skipped="archived"),
            RepoReport("acme/legacy", opted_out=True, pr_state="closed", ready_to_delete=("NPM_TOKEN",))]


@pytest.mark.skipif(not SCHEMA.exists(), reason="../shared/schemas is absent")
def test_sarif_is_valid_against_the_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    docs = {t: doc(t) or "" for t in TRANSFORMS}
    org = json.loads(sarif(_results(), TRANSFORMS, docs))
    jsonschema.validate(org, schema)
    single = json.loads(to_sarif(_results()[0].results, TRANSFORMS, docs))
    jsonschema.validate(single, schema)
    run = org["runs"][0]
    assert len(org["runs"]) == 1 and run["results"]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    for result in run["results"]:
        assert rules[result["ruleId"]]["help"]["text"]
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].startswith("acme/") and location["region"]["startLine"] >= 1


def test_markdown_posture_report_snapshot() -> None:
    text = markdown(_results())
    assert text == SNAPSHOT.read_text(), "posture report changed; review and update tests/snapshots/posture.md"
