"""REST endpoint / Octokit / gh subcommand -> token scope tables, and the vendored copies of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import refresh_api_tables
from transforms.apimap import endpoint_needs, gh_needs, http_call, octokit_needs
from transforms.base import Analysis

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "github-api"
DATA = Path(__file__).resolve().parents[1] / "transforms" / "data"

ISSUE_OR_PR_WRITE = {("issues", "write"), ("pull-requests", "write")}


def scopes(analysis: Analysis) -> set[tuple[str, str]]:
    return {(need.scope, need.level) for need in analysis.needs}


@pytest.mark.parametrize(
    ("method", "path", "expected", "route"),
    [
        (
            "POST",
            "repos/{owner}/{repo}/issues/1/comments",
            ISSUE_OR_PR_WRITE,
            "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
        ),
        ("GET", "/repos/o/r/releases", {("contents", "read")}, "GET /repos/{owner}/{repo}/releases"),
        (
            "get",
            "https://api.github.com/repos/o/r/pulls?state=open",
            {("pull-requests", "read")},
            "GET /repos/{owner}/{repo}/pulls",
        ),
        (
            "GET",
            "repos/o/r/contents/docs/a b/readme.md",
            {("contents", "read")},
            "GET /repos/{owner}/{repo}/contents/{path}",
        ),
        (
            "POST",
            "repos/:owner/:repo/dispatches",
            {("contents", "write")},
            "POST /repos/{owner}/{repo}/dispatches",
        ),
        (
            "GET",
            "repos/o/r/issues/comments",
            {("issues", "read"), ("pull-requests", "read")},
            "GET /repos/{owner}/{repo}/issues/comments",
        ),
        (
            "GET",
            "repos/$GITHUB_REPOSITORY/releases/latest",
            {("contents", "read")},
            "GET /repos/{owner}/{repo}/releases/latest",
        ),
        (
            "PATCH",
            "${{ github.api_url }}/repos/${{ github.repository }}/releases/$ID",
            {("contents", "write")},
            "PATCH /repos/{owner}/{repo}/releases/{release_id}",
        ),
        (
            "HEAD",
            "repos/o/r/git/ref/heads/main",
            {("contents", "read")},
            "GET /repos/{owner}/{repo}/git/ref/{ref}",
        ),
        (
            "POST",
            "/repos/o/r/statuses/abc123",
            {("statuses", "write")},
            "POST /repos/{owner}/{repo}/statuses/{sha}",
        ),
    ],
)
def test_endpoint_needs(method: str, path: str, expected: set[tuple[str, str]], route: str) -> None:
    found = endpoint_needs(method, path)
    assert found.unknowns == ()
    assert scopes(found) == expected
    assert all(need.reason.startswith(route) for need in found.needs)


def test_alternative_permissions_are_all_requested_and_said_so() -> None:
    found = endpoint_needs("POST", "repos/o/r/issues/7/comments")
    assert all("all are requested" in need.reason for need in found.needs)


def test_metadata_only_endpoint_needs_nothing() -> None:
    assert endpoint_needs("GET", "repos/o/r") == Analysis()


@pytest.mark.parametrize(
    ("method", "path", "reason_part"),
    [
        ("GET", "graphql", "GraphQL permissions are not mapped"),
        ("PUT", "repos/o/r/actions/secrets/TOKEN", "secrets:write, which GITHUB_TOKEN cannot be granted"),
        ("GET", "/rate_limit", "not a repository endpoint"),
        ("GET", "repos/o/r/no-such-thing", "not a repository endpoint"),
        ("GET", "$URL", "not a literal GitHub API URL"),
        ("GET", "https://example.com/repos/o/r/releases", "not a literal GitHub API URL"),
    ],
)
def test_endpoint_unknowns(method: str, path: str, reason_part: str) -> None:
    found = endpoint_needs(method, path)
    assert found.needs == ()
    assert len(found.unknowns) == 1
    assert reason_part in found.unknowns[0].reason


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("issues.createComment", ISSUE_OR_PR_WRITE),
        ("rest.pulls.list", {("pull-requests", "read")}),
        ("repos.createRelease", {("contents", "write")}),
        ("repos.downloadArchive", {("contents", "read")}),  # deprecated alias still maps
        ("actions.createWorkflowDispatch", {("actions", "write")}),
        ("checks.create", {("checks", "write")}),
    ],
)
def test_octokit_needs(name: str, expected: set[tuple[str, str]]) -> None:
    found = octokit_needs(name)
    assert found.unknowns == ()
    assert scopes(found) == expected
    assert all(need.reason.startswith(name.removeprefix("rest.")) for need in found.needs)


@pytest.mark.parametrize("name", ["orgs.get", "issues.noSuchMethod", "actions.createOrUpdateRepoSecret"])
def test_octokit_unknowns(name: str) -> None:
    found = octokit_needs(name)
    assert found.needs == ()
    assert name in found.unknowns[0].reason


@pytest.mark.parametrize(
    ("argv", "expected", "reason"),
    [
        ("gh pr comment 1 --body x", {("pull-requests", "write")}, "gh pr comment"),
        ("gh issue ls", {("issues", "read")}, "gh issue list"),
        ("gh -R o/r release create v1 --notes x", {("contents", "write")}, "gh release create"),
        ("gh pr merge 3 --auto --squash", {("contents", "write"), ("pull-requests", "write")}, "gh pr merge"),
        ("gh pr close 3 --delete-branch", {("pull-requests", "write"), ("contents", "write")}, "gh pr close"),
        (
            "gh pr checks 3",
            {("pull-requests", "read"), ("checks", "read"), ("statuses", "read")},
            "gh pr checks",
        ),
        ("gh workflow enable ci.yml", {("actions", "write")}, "gh workflow enable"),
        ("gh search repos ztbot", set(), ""),
        ("gh api -X POST repos/{owner}/{repo}/issues/1/comments", ISSUE_OR_PR_WRITE, "gh api POST /repos/"),
        (
            "gh api repos/{owner}/{repo}/releases",
            {("contents", "read")},
            "gh api GET /repos/{owner}/{repo}/releases",
        ),
        ("gh api repos/{owner}/{repo}/labels -f name=bug", ISSUE_OR_PR_WRITE, "gh api POST /repos/"),
        (
            "gh api --method=DELETE /repos/{owner}/{repo}/git/refs/heads/x",
            {("contents", "write")},
            "gh api DELETE",
        ),
        ("gh api -XGET repos/o/r/issues -f state=open", {("issues", "read")}, "gh api GET"),
        ("gh --version", set(), ""),
    ],
)
def test_gh_needs(argv: str, expected: set[tuple[str, str]], reason: str) -> None:
    found = gh_needs(argv.split())
    assert found.unknowns == ()
    assert scopes(found) == expected
    assert all(need.reason.startswith(reason) for need in found.needs)


@pytest.mark.parametrize(
    ("argv", "reason_part"),
    [
        ("gh api graphql -f query=x", "GraphQL permissions are not mapped"),
        ("gh api $ENDPOINT", "not literal"),
        ("gh secret set NAME", "not grantable"),
        ("gh auth token", "not in the gh permission table"),
        ("gh pr edit 1 --add-project Roadmap", "projects, which GITHUB_TOKEN cannot be granted"),
    ],
)
def test_gh_unknowns(argv: str, reason_part: str) -> None:
    found = gh_needs(argv.split())
    assert len(found.unknowns) == 1
    assert reason_part in found.unknowns[0].reason


@pytest.mark.parametrize(
    ("argv", "method", "urls", "credentials"),
    [
        ("curl -sSfL https://x/y", "GET", ("https://x/y",), ()),
        ("curl -sX POST -H A:b u", "POST", ("u",), ("A:b",)),
        ("curl --data-raw {} --url u1 u2", "POST", ("u2", "u1"), ()),
        ("curl -XPUT -u me:pw u", "PUT", ("u",), ("me:pw",)),
        ("curl -T file u", "PUT", ("u",), ()),
        ("curl -G -d q=1 u", "GET", ("u",), ()),
        ("wget --header=X:y --post-data=a u", "POST", ("u",), ("X:y",)),
        ("wget -qO- --method PATCH u", "PATCH", ("u",), ()),
    ],
)
def test_http_call(argv: str, method: str, urls: tuple[str, ...], credentials: tuple[str, ...]) -> None:
    call = http_call(argv.split())
    assert (call.method, call.urls, call.credentials) == (method, urls, credentials)


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/github-api is not present")
def test_vendored_tables_match_a_fresh_generation() -> None:
    for name, text in refresh_api_tables.generate(SHARED).items():
        assert (DATA / name).read_text(encoding="utf-8") == text, f"run tools/refresh_api_tables.py ({name})"
