"""REST compare (`base...head`): status and counts, commits oldest first, files, accounts, GitHub's shapes."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from bot.standin import Author, StandIn
from bot.standin.openapi_check import SHARED_SPEC, default_openapi


def compare(gh: StandIn, auth: dict[str, str], basehead: str) -> requests.Response:
    return requests.get(f"{gh.api_url}/repos/acme/app/compare/{basehead}", headers=auth, timeout=10)


@pytest.fixture
def diverged(seeded: StandIn) -> StandIn:
    """`topic` is two commits ahead of main (one by ztbot-user's noreply address), main one ahead of it."""
    seeded.add_user("ztbot-user")
    seeded.commit("acme", "app", {"new.txt": "a\nb\n"}, branch="topic/x", message="first", author=("Ann", "ann@x.org"))
    bot = Author("ztbot", "42+ztbot-user@users.noreply.github.com")
    seeded.commit("acme", "app", {"README.md": "# app\nmore\n", "new.txt": None}, branch="topic/x", message="second",
                  author=bot)
    seeded.commit("acme", "app", {"main.txt": "m\n"}, message="on main")
    return seeded


def test_diverged_comparison_counts_and_lists_commits(diverged: StandIn, auth: dict[str, str]) -> None:
    response = compare(diverged, auth, "main...topic/x")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["ahead_by"], body["behind_by"], body["total_commits"]) == ("diverged", 2, 1, 2)
    assert [c["commit"]["message"] for c in body["commits"]] == ["first", "second"]  # oldest first
    first, second = body["commits"]
    assert first["author"] is None and first["commit"]["author"]["name"] == "Ann"
    assert second["author"]["login"] == "ztbot-user" and second["committer"]["login"] == "ztbot-user"
    assert second["parents"][0]["sha"] == first["sha"]
    repo = diverged.bare("acme", "app")
    assert body["base_commit"]["sha"] == repo.resolve("main")
    assert body["merge_base_commit"]["sha"] == repo.resolve("main~1")
    # new.txt was added and removed again on the branch: only README.md differs from the merge base.
    assert [(f["filename"], f["status"], f["additions"], f["deletions"]) for f in body["files"]] == [
        ("README.md", "modified", 1, 0)
    ]
    assert body["url"] == f"{diverged.api_url}/repos/acme/app/compare/main...topic/x"
    assert body["html_url"] == f"{diverged.url}/acme/app/compare/main...topic/x"


@pytest.mark.parametrize(
    ("basehead", "expected"),
    [("main...main", ("identical", 0, 0)), ("main~1...main", ("ahead", 1, 0)), ("main...main~1", ("behind", 0, 1))],
)
def test_status_values(diverged: StandIn, auth: dict[str, str], basehead: str, expected: tuple[Any, ...]) -> None:
    body = compare(diverged, auth, basehead).json()
    assert (body["status"], body["ahead_by"], body["behind_by"]) == expected
    assert len(body["commits"]) == body["total_commits"] == expected[1]


def test_shas_and_owner_qualified_names(diverged: StandIn, auth: dict[str, str]) -> None:
    repo = diverged.bare("acme", "app")
    base, head = repo.resolve("main"), repo.resolve("topic/x")
    by_sha = compare(diverged, auth, f"{base}...{head}").json()
    by_owner = compare(diverged, auth, "acme:main...acme:topic/x").json()
    assert by_sha["ahead_by"] == by_owner["ahead_by"] == 2


@pytest.mark.parametrize("basehead", ["main...nope", "nope...main", "main..topic/x", "other:main...topic/x"])
def test_unknown_refs_are_404(diverged: StandIn, auth: dict[str, str], basehead: str) -> None:
    response = compare(diverged, auth, basehead)
    assert response.status_code == 404 and response.json()["message"] == "Not Found"


def test_commits_page_with_link_header(diverged: StandIn, auth: dict[str, str]) -> None:
    response = requests.get(f"{diverged.api_url}/repos/acme/app/compare/main...topic/x", headers=auth,
                            params={"per_page": 1, "page": 2}, timeout=10)
    body = response.json()
    assert [c["commit"]["message"] for c in body["commits"]] == ["second"] and body["total_commits"] == 2
    assert 'rel="prev"' in response.headers["Link"]


def test_parts_match_githubs_schemas(diverged: StandIn, auth: dict[str, str]) -> None:
    if not SHARED_SPEC.exists():
        pytest.skip("the OpenAPI subset is not present")
    body = compare(diverged, auth, "main...topic/x").json()
    api = default_openapi()
    for commit in [body["base_commit"], body["merge_base_commit"], *body["commits"]]:
        api._validate({"$ref": "#/components/schemas/commit"}, commit)
    for entry in body["files"]:
        api._validate({"$ref": "#/components/schemas/diff-entry"}, entry)
    assert body["status"] in ("diverged", "ahead", "behind", "identical")
    required = ["url", "html_url", "permalink_url", "diff_url", "patch_url", "base_commit", "merge_base_commit",
                "status", "ahead_by", "behind_by", "total_commits", "commits"]
    assert all(key in body for key in required)
