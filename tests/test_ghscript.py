"""actions/github-script `script:` bodies -> token scopes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.analysis import check
from transforms.ghscript import analyze_script

STEP = "Label it"
ISSUE_OR_PR_WRITE = {("issues", "write"), ("pull-requests", "write")}


@dataclass(frozen=True)
class Case:
    id: str
    script: str
    needs: set[tuple[str, str]]
    calls: tuple[str, ...] = ()  # each must start some need reason
    unknown: str = ""  # a fragment every unknown reason must contain; "" = no unknowns


def lines(*parts: str) -> str:
    return "\n".join(parts) + "\n"


CASES = [
    Case(
        "rest createComment",
        lines(
            "await github.rest.issues.createComment({",
            "  ...context.repo,",
            "  issue_number: context.issue.number,",
            "  body: 'Thanks!',",
            "})",
        ),
        ISSUE_OR_PR_WRITE,
        ("github.rest.issues.createComment",),
    ),
    Case(
        "rest pulls.list",
        "const { data } = await github.rest.pulls.list({ ...context.repo, state: 'open' })",
        {("pull-requests", "read")},
        ("github.rest.pulls.list",),
    ),
    Case(
        "legacy client methods",
        "await github.repos.createRelease({ tag_name: 'v1' })",
        {("contents", "write")},
        ("github.repos.createRelease",),
    ),
    Case(
        "line and block comments are ignored",
        lines(
            "// await github.rest.issues.createComment({})",
            "/* github.rest.repos.createRelease({",
            "})*/ const x = 1 // github.rest.issues.lock()",
        ),
        set(),
    ),
    Case(
        "calls inside strings are ignored",
        lines(
            "const a = 'github.rest.issues.createComment(';",
            'const b = "github.rest.pulls.merge()";',
            "const c = `github.rest.repos.delete()`;",
            "const d = /github.rest.issues.lock\\(/g;",
        ),
        set(),
    ),
    Case(
        "code inside a template expression still runs",
        "core.info(`latest: ${(await github.rest.repos.getLatestRelease(context.repo)).data.tag_name}`)",
        {("contents", "read")},
        ("github.rest.repos.getLatestRelease",),
    ),
    Case(
        "division is not a regular expression",
        "const half = total / 2; await github.rest.checks.create({}); const r = half / 3;",
        {("checks", "write")},
        ("github.rest.checks.create",),
    ),
    Case(
        "request with a literal route",
        "await github.request('POST /repos/{owner}/{repo}/dispatches', { event_type: 'go' })",
        {("contents", "write")},
        ("github.request POST /repos/{owner}/{repo}/dispatches",),
    ),
    Case(
        "request without a method is a GET",
        'await github.request("/repos/{owner}/{repo}/releases")',
        {("contents", "read")},
        ("github.request GET",),
    ),
    Case(
        "paginate a method reference",
        "const all = await github.paginate(github.rest.issues.listForRepo, { ...context.repo })",
        {("issues", "read")},
        ("github.rest.issues.listForRepo",),
    ),
    Case(
        "paginate a literal route",
        "await github.paginate('GET /repos/{owner}/{repo}/actions/runs')",
        {("actions", "read")},
        ("github.paginate GET",),
    ),
    Case(
        "graphql",
        "const r = await github.graphql(`query { viewer { login } }`)",
        set(),
        unknown="GraphQL permissions are not mapped",
    ),
    Case("dynamic namespace", "await github.rest[ns][method](params)", set(), unknown="indexed dynamically"),
    Case(
        "request with a computed route",
        "await github.request(`GET /repos/${owner}/${repo}/releases`)",
        set(),
        unknown="not a literal string",
    ),
    Case(
        "local module holds the body",
        "const run = require('./.github/scripts/label.js')\nawait run({ github, context })",
        set(),
        unknown="step",
    ),
    Case(
        "dynamic import",
        "const m = await import(`${process.env.GITHUB_WORKSPACE}/x.mjs`)",
        set(),
        unknown="runs code that is not in the workflow",
    ),
    Case(
        "octokit alias of the client",
        "await octokit.rest.repos.createDispatchEvent({ event_type: 'x' })",
        {("contents", "write")},
        ("octokit.rest.repos.createDispatchEvent",),
    ),
    Case(
        "GitHub expressions are not client calls",
        "const inputs = ${{ toJSON(github.event.inputs) }}; core.info('${{ github.event.action }}')",
        set(),
    ),
    Case("node modules are fine", "const fs = require('fs'); fs.writeFileSync('a', 'b')", set()),
    Case(
        "endpoint GITHUB_TOKEN cannot be granted",
        "await github.rest.actions.createOrUpdateRepoSecret({})",
        set(),
        unknown="cannot be granted",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_analyze_script(case: Case) -> None:
    check(analyze_script(case.script, STEP), STEP, case.needs, case.calls, case.unknown)


def test_local_module_reports_both_the_load_and_the_hand_off() -> None:
    found = analyze_script("const run = require('./x.js')\nawait run({ github, context })", STEP)
    reasons = " | ".join(u.reason for u in found.unknowns)
    assert "require(./x.js)" in reasons
    assert "passed on" in reasons


def test_repeated_calls_are_reported_once() -> None:
    once = analyze_script("await github.rest.pulls.get({})", STEP)
    assert analyze_script("await github.rest.pulls.get({})\nawait github.rest.pulls.get({})", STEP) == once
