"""GraphQL: the bot's aliased repository query, org paging, viewer/rateLimit, and GitHub-shaped errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import graphql
import pytest
import requests

from bot.standin import StandIn
from bot.standin.graphql_api import MIN_SCHEMA, SHARED_SCHEMA, schema

REPO_QUERY = """
query($owner: String!) {
  rateLimit { cost remaining resetAt }
  viewer { login }
  app: repository(owner: $owner, name: "app") { ...repo }
  void: repository(owner: $owner, name: "void") { ...repo }
  gone: repository(owner: $owner, name: "gone") { ...repo }
}
fragment repo on Repository {
  nameWithOwner isArchived isFork isEmpty
  defaultBranchRef { name target { oid } }
  object(expression: "HEAD:.github/workflows") {
    ... on Tree { entries { name type object { ... on Blob { text isBinary isTruncated byteSize oid } } } }
    ... on Blob { text }
  }
}
"""

ORG_QUERY = """
query($cursor: String) {
  organization(login: "acme") {
    repositories(first: 2, after: $cursor) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { name nameWithOwner isArchived isFork isEmpty defaultBranchRef { name } }
    }
  }
}
"""


def run(gh: StandIn, auth: dict[str, str], query: str, **variables: Any) -> dict[str, Any]:
    response = requests.post(
        gh.graphql_url, headers=auth, json={"query": query, "variables": variables}, timeout=30
    )
    assert response.status_code == 200
    return response.json()


def test_aliased_repositories_with_workflow_tree(seeded: StandIn, auth: dict[str, str]) -> None:
    result = run(seeded, auth, REPO_QUERY, owner="acme")
    app, void = result["data"]["app"], result["data"]["void"]
    assert app["nameWithOwner"] == "acme/app" and not app["isEmpty"]
    assert app["defaultBranchRef"]["target"]["oid"] == seeded.bare("acme", "app").resolve("main")
    entries = {e["name"]: e for e in app["object"]["entries"]}
    assert set(entries) == {"ci.yml", "release.yml"}
    assert entries["ci.yml"]["type"] == "blob" and entries["ci.yml"]["object"]["text"].startswith("on: push")
    assert void == {
        "nameWithOwner": "acme/void",
        "isArchived": False,
        "isFork": False,
        "isEmpty": True,
        "defaultBranchRef": None,
        "object": None,
    }
    assert result["data"]["gone"] is None
    [error] = result["errors"]
    assert error["type"] == "NOT_FOUND" and error["path"] == ["gone"]
    assert error["message"] == "Could not resolve to a Repository with the name 'acme/gone'."
    assert result["data"]["viewer"]["login"] == "ztbot-user"
    assert result["data"]["rateLimit"]["cost"] == 1


def test_organization_repositories_page_with_cursors(seeded: StandIn, auth: dict[str, str]) -> None:
    names, cursor, pages = [], None, 0
    while True:
        repos = run(seeded, auth, ORG_QUERY, cursor=cursor)["data"]["organization"]["repositories"]
        assert repos["totalCount"] == 5
        names += [n["name"] for n in repos["nodes"]]
        pages += 1
        if not repos["pageInfo"]["hasNextPage"]:
            break
        cursor = repos["pageInfo"]["endCursor"]
    assert (names, pages) == (["app", "copy", "lib", "old", "void"], 3)


def test_pushes_show_up_in_graphql(seeded: StandIn, auth: dict[str, str]) -> None:
    seeded.commit("acme", "app", {".github/workflows/new.yml": "on: pull_request\n"})
    result = run(seeded, auth, REPO_QUERY, owner="acme")
    assert "new.yml" in {e["name"] for e in result["data"]["app"]["object"]["entries"]}


def test_invalid_query_returns_github_style_errors(seeded: StandIn, auth: dict[str, str]) -> None:
    result = run(seeded, auth, '{ repository(owner: "acme", name: "app") { nope } }')
    assert "data" not in result
    assert "nope" in result["errors"][0]["message"] and result["errors"][0]["locations"]


def test_graphql_needs_a_token(seeded: StandIn) -> None:
    response = requests.post(seeded.graphql_url, json={"query": "{ viewer { login } }"}, timeout=10)
    assert response.status_code == 401


def test_graphql_rate_limit_headers(seeded: StandIn, auth: dict[str, str]) -> None:
    response = requests.post(
        seeded.graphql_url, headers=auth, json={"query": "{ viewer { login } }"}, timeout=10
    )
    assert response.headers["X-RateLimit-Resource"] == "graphql"
    assert response.headers["X-RateLimit-Used"] == "1"


@pytest.mark.parametrize("query", [REPO_QUERY, ORG_QUERY])
def test_queries_valid_against_both_schemas(query: str) -> None:
    # The project's small SDL must accept what GitHub's full schema accepts, for the bot's queries.
    paths = [MIN_SCHEMA] + ([SHARED_SCHEMA] if SHARED_SCHEMA.exists() else [])
    for path in paths:
        assert graphql.validate(schema(Path(path)), graphql.parse(query)) == [], path


def test_min_schema_serves_the_same_answers(tmp_path: Path) -> None:
    with StandIn(tmp_path / "r", graphql_schema=MIN_SCHEMA) as gh:
        gh.create_repo("acme", "app", {".github/workflows/ci.yml": "on: push\n"})
        auth = {"Authorization": f"bearer {gh.add_token()}"}
        result = run(gh, auth, REPO_QUERY, owner="acme")
        assert result["data"]["app"]["object"]["entries"][0]["object"]["text"] == "on: push\n"


TOPICS_QUERY = """
query($cursor: String) {
  repository(owner: "acme", name: "app") {
    repositoryTopics(first: 2, after: $cursor) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { url resourcePath topic { name id } }
      edges { cursor node { topic { name } } }
    }
  }
}
"""


@pytest.mark.parametrize("schema_path", ["shared", "min"])
def test_repository_topics_page_like_github(tmp_path: Path, schema_path: str) -> None:
    if schema_path == "shared" and not SHARED_SCHEMA.exists():
        pytest.skip("GitHub's schema is not present")
    with StandIn(tmp_path / "r", graphql_schema=MIN_SCHEMA if schema_path == "min" else None) as gh:
        gh.create_repo("acme", "app", {"README.md": "x"}, topics=["python", "ci", "demo"])
        auth = {"Authorization": f"bearer {gh.add_token()}"}
        first = run(gh, auth, TOPICS_QUERY)["data"]["repository"]["repositoryTopics"]
        assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"]
        assert [n["topic"]["name"] for n in first["nodes"]] == ["python", "ci"]
        assert first["nodes"][0]["url"] == f"{gh.url}/topics/python"
        assert first["nodes"][0]["resourcePath"] == "/topics/python"
        assert [e["node"]["topic"]["name"] for e in first["edges"]] == ["python", "ci"]
        rest = run(gh, auth, TOPICS_QUERY, cursor=first["pageInfo"]["endCursor"])
        second = rest["data"]["repository"]["repositoryTopics"]
        assert [n["topic"]["name"] for n in second["nodes"]] == ["demo"] and not second["pageInfo"]["hasNextPage"]


def test_bot_listing_with_topics_filters_over_graphql(seeded: StandIn, auth: dict[str, str]) -> None:
    from bot.github.queries import list_query

    seeded.update_repo("acme", "lib", topics=["library", "python"])
    page = run(seeded, auth, list_query(with_topics=True), login="acme", cursor=None)
    nodes = page["data"]["repositoryOwner"]["repositories"]["nodes"]
    topics = {n["name"]: [t["topic"]["name"] for t in n["repositoryTopics"]["nodes"]] for n in nodes}
    assert topics["app"] == ["demo"] and topics["lib"] == ["library", "python"] and topics["void"] == []
    assert [name for name, names in topics.items() if "python" in names] == ["lib"]


RECENT_QUERY = """
query($field: RepositoryOrderField!) {
  organization(login: "acme") {
    repositories(first: 3, orderBy: {field: $field, direction: DESC}) {
      nodes {
        name pushedAt
        defaultBranchRef { target { oid ... on Commit {
          wf: file(path: ".github/workflows") { name path type object { ... on Tree { entries { name } } } }
          ci: file(path: ".github/workflows/ci.yml") { name path type object { ... on Blob { text } } }
          gone: file(path: ".github/nothing.yml") { name }
        } } }
      }
    }
  }
}
"""


@pytest.mark.parametrize("schema_path", ["shared", "min"])
def test_repositories_ordered_by_push_time_with_commit_files(tmp_path: Path, schema_path: str) -> None:
    if schema_path == "shared" and not SHARED_SCHEMA.exists():
        pytest.skip("GitHub's schema is not present")
    with StandIn(tmp_path / "r", graphql_schema=MIN_SCHEMA if schema_path == "min" else None) as gh:
        for name in ("a", "b", "c", "d"):
            gh.create_repo("acme", name, {".github/workflows/ci.yml": f"# {name}\n"})
        gh.commit("acme", "b", {".github/workflows/ci.yml": "# b, later\n"})  # the newest push
        auth = {"Authorization": f"bearer {gh.add_token()}"}
        nodes = run(gh, auth, RECENT_QUERY, field="PUSHED_AT")["data"]["organization"]["repositories"]["nodes"]
        assert [n["name"] for n in nodes] == ["b", "d", "c"]
        assert nodes[0]["pushedAt"] >= nodes[1]["pushedAt"] >= nodes[2]["pushedAt"]
        head = nodes[0]["defaultBranchRef"]["target"]
        assert head["oid"] == gh.bare("acme", "b").resolve("main")
        wf = head["wf"]
        assert (wf["name"], wf["path"], wf["type"]) == ("workflows", ".github/workflows", "tree")
        assert head["wf"]["object"]["entries"] == [{"name": "ci.yml"}]
        assert head["ci"]["object"]["text"] == "# b, later\n" and head["gone"] is None
        by_name = run(gh, auth, RECENT_QUERY, field="NAME")["data"]["organization"]["repositories"]["nodes"]
        assert [n["name"] for n in by_name] == ["d", "c", "b"]
