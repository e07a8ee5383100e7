"""REST behaviour of the stand-in: shapes, auth, paging, ETags, rate limits, pulls, issues, refs."""

from __future__ import annotations

import base64

import requests

from bot.standin import StandIn


def get(gh: StandIn, auth: dict[str, str], path: str, **kw: object) -> requests.Response:
    return requests.get(gh.api_url + path, headers=auth, timeout=10, **kw)  # type: ignore[arg-type]


def post(
    gh: StandIn, auth: dict[str, str], path: str, body: object, method: str = "POST"
) -> requests.Response:
    return requests.request(method, gh.api_url + path, headers=auth, json=body, timeout=10)


def test_missing_and_bad_tokens_get_401(seeded: StandIn) -> None:
    assert get(seeded, {}, "/repos/acme/app").status_code == 401
    bad = get(seeded, {"Authorization": "token nope"}, "/repos/acme/app")
    assert bad.status_code == 401
    assert bad.json()["message"] == "Bad credentials"


def test_repo_fields_point_back_at_the_stand_in(seeded: StandIn, auth: dict[str, str]) -> None:
    repo = get(seeded, auth, "/repos/acme/app").json()
    assert repo["full_name"] == "acme/app"
    assert repo["url"] == f"{seeded.api_url}/repos/acme/app"
    assert repo["html_url"] == f"{seeded.url}/acme/app"
    assert repo["clone_url"] == f"{seeded.url}/acme/app.git"
    assert (repo["default_branch"], repo["archived"], repo["fork"]) == ("main", False, False)
    assert repo["owner"]["login"] == "acme" and repo["owner"]["type"] == "Organization"
    assert get(seeded, auth, "/repos/acme/lib").json()["default_branch"] == "trunk"


def test_not_found_body_is_githubs(seeded: StandIn, auth: dict[str, str]) -> None:
    response = get(seeded, auth, "/repos/acme/missing")
    assert response.status_code == 404
    assert set(response.json()) >= {"message", "documentation_url"}


def test_org_repos_paginate_with_link_headers(seeded: StandIn, auth: dict[str, str]) -> None:
    first = get(seeded, auth, "/orgs/acme/repos", params={"per_page": 2})
    assert [r["name"] for r in first.json()] == ["app", "copy"]
    assert 'rel="next"' in first.headers["Link"] and 'rel="last"' in first.headers["Link"]
    names = [r["name"] for r in first.json()]
    response = first
    while "next" in response.links:
        response = requests.get(response.links["next"]["url"], headers=auth, timeout=10)
        names += [r["name"] for r in response.json()]
    assert names == ["app", "copy", "lib", "old", "void"]
    assert 'rel="prev"' in response.headers["Link"]


def test_contents_file_and_directory(seeded: StandIn, auth: dict[str, str]) -> None:
    listing = get(seeded, auth, "/repos/acme/app/contents/.github/workflows").json()
    assert [e["path"] for e in listing] == [".github/workflows/ci.yml", ".github/workflows/release.yml"]
    file = get(seeded, auth, "/repos/acme/app/contents/.github/workflows/ci.yml").json()
    assert file["encoding"] == "base64" and base64.b64decode(file["content"]).startswith(b"on: push")
    assert file["sha"] == listing[0]["sha"]
    assert (
        get(seeded, auth, "/repos/acme/void/contents/README.md").json()["message"]
        == "This repository is empty."
    )


def test_etag_gives_304_and_spares_the_budget(seeded: StandIn, auth: dict[str, str]) -> None:
    first = get(seeded, auth, "/repos/acme/app")
    second = get(seeded, {**auth, "If-None-Match": first.headers["ETag"]}, "/repos/acme/app")
    assert second.status_code == 304 and second.content == b""
    assert second.headers["X-RateLimit-Remaining"] == first.headers["X-RateLimit-Remaining"]


def test_rate_limit_headers_count_down_then_403(standin: StandIn) -> None:
    standin.create_repo("acme", "app", {"a": "b"})
    auth = {"Authorization": f"Bearer {standin.add_token('x', rate_limit=2)}"}
    remaining = [get(standin, auth, "/repos/acme/app").headers["X-RateLimit-Remaining"] for _ in range(2)]
    assert remaining == ["1", "0"]
    blocked = get(standin, auth, "/repos/acme/app")
    assert blocked.status_code == 403 and blocked.headers["X-RateLimit-Remaining"] == "0"
    assert "rate limit exceeded" in blocked.json()["message"]
    assert get(standin, auth, "/rate_limit").json()["resources"]["core"]["remaining"] == 0


def test_pull_lifecycle_and_duplicate_422(seeded: StandIn, auth: dict[str, str]) -> None:
    seeded.commit("acme", "app", {"README.md": "# changed\n"}, branch="ztbot/fix", message="fix")
    created = post(
        seeded, auth, "/repos/acme/app/pulls", {"title": "Fix", "head": "ztbot/fix", "base": "main"}
    )
    assert created.status_code == 201
    pull = created.json()
    assert (pull["number"], pull["state"], pull["head"]["ref"], pull["user"]["login"]) == (
        1,
        "open",
        "ztbot/fix",
        "ztbot-user",
    )
    again = post(
        seeded, auth, "/repos/acme/app/pulls", {"title": "Fix", "head": "acme:ztbot/fix", "base": "main"}
    )
    assert again.status_code == 422
    assert again.json()["errors"][0]["message"] == "A pull request already exists for acme:ztbot/fix."
    listed = get(
        seeded, auth, "/repos/acme/app/pulls", params={"head": "acme:ztbot/fix", "state": "open"}
    ).json()
    assert [p["number"] for p in listed] == [1]
    closed = post(seeded, auth, "/repos/acme/app/pulls/1", {"state": "closed"}, method="PATCH").json()
    assert closed["state"] == "closed" and closed["merged_at"] is None
    assert get(seeded, auth, "/repos/acme/app/pulls").json() == []
    assert [p.number for p in seeded.pulls("acme", "app", state="closed")] == [1]


def test_pull_head_sha_follows_new_commits(seeded: StandIn, auth: dict[str, str]) -> None:
    seeded.commit("acme", "app", {"a.txt": "1"}, branch="topic")
    post(seeded, auth, "/repos/acme/app/pulls", {"title": "T", "head": "topic", "base": "main"})
    new_sha = seeded.commit("acme", "app", {"a.txt": "2"}, branch="topic")
    assert get(seeded, auth, "/repos/acme/app/pulls/1").json()["head"]["sha"] == new_sha


def test_no_commits_between_is_422(seeded: StandIn, auth: dict[str, str]) -> None:
    post(
        seeded,
        auth,
        "/repos/acme/app/git/refs",
        {"ref": "refs/heads/same", "sha": seeded.bare("acme", "app").resolve("main")},
    )
    response = post(seeded, auth, "/repos/acme/app/pulls", {"title": "T", "head": "same", "base": "main"})
    assert response.status_code == 422


def test_reviewers_labels_and_comments(seeded: StandIn, auth: dict[str, str]) -> None:
    seeded.commit("acme", "app", {"a.txt": "1"}, branch="topic")
    post(seeded, auth, "/repos/acme/app/pulls", {"title": "T", "head": "topic", "base": "main"})
    reviewers = post(seeded, auth, "/repos/acme/app/pulls/1/requested_reviewers", {"reviewers": ["octocat"]})
    assert reviewers.status_code == 201 and reviewers.json()["requested_reviewers"][0]["login"] == "octocat"
    labels = post(seeded, auth, "/repos/acme/app/issues/1/labels", ["security", "ztbot"])
    assert [lbl["name"] for lbl in labels.json()] == ["security", "ztbot"]
    comment = post(seeded, auth, "/repos/acme/app/issues/1/comments", {"body": "hello"}).json()
    post(seeded, auth, f"/repos/acme/app/issues/comments/{comment['id']}", {"body": "edited"}, method="PATCH")
    assert [c["body"] for c in get(seeded, auth, "/repos/acme/app/issues/1/comments").json()] == ["edited"]
    assert seeded.comments("acme", "app", 1) == ["edited"]


def test_issues_create_list_update(seeded: StandIn, auth: dict[str, str]) -> None:
    issue = post(seeded, auth, "/repos/acme/lib/issues", {"title": "Rollout", "labels": ["ztbot"]}).json()
    assert issue["number"] == 1 and "pull_request" not in issue
    assert [
        i["title"] for i in get(seeded, auth, "/repos/acme/lib/issues", params={"labels": "ztbot"}).json()
    ] == ["Rollout"]
    updated = post(
        seeded, auth, "/repos/acme/lib/issues/1", {"state": "closed", "body": "done"}, method="PATCH"
    )
    assert updated.json()["state"] == "closed" and updated.json()["state_reason"] == "completed"
    found = get(
        seeded, auth, "/search/issues", params={"q": "repo:acme/lib is:issue is:closed Rollout"}
    ).json()
    assert found["total_count"] == 1


def test_git_refs_create_update_delete(seeded: StandIn, auth: dict[str, str]) -> None:
    main = get(seeded, auth, "/repos/acme/app/git/ref/heads/main").json()["object"]["sha"]
    assert (
        post(seeded, auth, "/repos/acme/app/git/refs", {"ref": "refs/heads/b", "sha": main}).status_code
        == 201
    )
    assert (
        post(seeded, auth, "/repos/acme/app/git/refs", {"ref": "refs/heads/b", "sha": main}).status_code
        == 422
    )
    newer = seeded.commit("acme", "app", {"x": "y"}, branch="c")
    moved = post(seeded, auth, "/repos/acme/app/git/refs/heads/b", {"sha": newer}, method="PATCH")
    assert moved.json()["object"]["sha"] == newer
    assert (
        requests.delete(
            f"{seeded.api_url}/repos/acme/app/git/refs/heads/b", headers=auth, timeout=10
        ).status_code
        == 204
    )
    assert get(seeded, auth, "/repos/acme/app/git/ref/heads/b").status_code == 404


def test_deleting_head_branch_closes_its_pull(seeded: StandIn, auth: dict[str, str]) -> None:
    seeded.commit("acme", "app", {"a": "1"}, branch="topic")
    post(seeded, auth, "/repos/acme/app/pulls", {"title": "T", "head": "topic", "base": "main"})
    requests.delete(f"{seeded.api_url}/repos/acme/app/git/refs/heads/topic", headers=auth, timeout=10)
    assert seeded.pulls("acme", "app")[0].state == "closed"


def test_git_data_api_builds_a_commit(seeded: StandIn, auth: dict[str, str]) -> None:
    main = get(seeded, auth, "/repos/acme/app/branches/main").json()["commit"]
    blob = post(seeded, auth, "/repos/acme/app/git/blobs", {"content": "new\n", "encoding": "utf-8"}).json()
    tree = post(
        seeded,
        auth,
        "/repos/acme/app/git/trees",
        {
            "base_tree": main["commit"]["tree"]["sha"],
            "tree": [
                {"path": ".github/workflows/ci.yml", "mode": "100644", "type": "blob", "sha": blob["sha"]}
            ],
        },
    ).json()
    commit = post(
        seeded,
        auth,
        "/repos/acme/app/git/commits",
        {"message": "m", "tree": tree["sha"], "parents": [main["sha"]]},
    ).json()
    post(seeded, auth, "/repos/acme/app/git/refs", {"ref": "refs/heads/api", "sha": commit["sha"]})
    text = get(
        seeded, auth, "/repos/acme/app/contents/.github/workflows/ci.yml", params={"ref": "api"}
    ).json()
    assert base64.b64decode(text["content"]) == b"new\n"


def test_contents_put_needs_matching_sha(seeded: StandIn, auth: dict[str, str]) -> None:
    body = {"message": "m", "content": base64.b64encode(b"v2").decode(), "branch": "main"}
    assert post(seeded, auth, "/repos/acme/app/contents/README.md", body, method="PUT").status_code == 422
    sha = get(seeded, auth, "/repos/acme/app/contents/README.md").json()["sha"]
    done = post(seeded, auth, "/repos/acme/app/contents/README.md", {**body, "sha": sha}, method="PUT")
    assert done.status_code == 200 and done.json()["commit"]["message"] == "m"


def test_rules_rulesets_protection_secrets(seeded: StandIn, auth: dict[str, str]) -> None:
    created = post(
        seeded,
        auth,
        "/repos/acme/app/rulesets",
        {
            "name": "main",
            "enforcement": "active",
            "target": "branch",
            "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
            "rules": [{"type": "pull_request", "parameters": {"required_approving_review_count": 1}}],
        },
    )
    assert created.status_code == 201
    rules = get(seeded, auth, "/repos/acme/app/rules/branches/main").json()
    assert [r["type"] for r in rules] == ["pull_request"] and rules[0]["ruleset_id"] == created.json()["id"]
    assert get(seeded, auth, "/repos/acme/app/rules/branches/other").json() == []
    assert [r["name"] for r in get(seeded, auth, "/repos/acme/app/rulesets").json()] == ["main"]
    assert get(seeded, auth, "/repos/acme/app/branches/main/protection").status_code == 404
    seeded.set_branch_protection("acme", "app", "main", {"enforce_admins": {"enabled": True, "url": "x"}})
    assert get(seeded, auth, "/repos/acme/app/branches/main/protection").json()["enforce_admins"]["enabled"]
    assert get(seeded, auth, "/repos/acme/app/branches/main").json()["protected"] is True
    secrets = get(seeded, auth, "/repos/acme/app/actions/secrets").json()
    assert secrets == {"total_count": 1, "secrets": [secrets["secrets"][0]]}
    assert secrets["secrets"][0]["name"] == "AWS_SECRET_ACCESS_KEY" and "value" not in secrets["secrets"][0]


def test_request_log_counts_by_type(seeded: StandIn, auth: dict[str, str]) -> None:
    for _ in range(3):
        get(seeded, auth, "/repos/acme/app")
    get(seeded, auth, "/repos/acme/app/contents/README.md")
    assert seeded.count("GET", r"^/api/v3/repos/[^/]+/[^/]+$") == 3
    assert seeded.count(path="/contents/", status=200) == 1
    assert ("GET", "/api/v3/repos/acme/app", 200) in seeded.requests


def test_concurrent_writes_get_distinct_numbers(seeded: StandIn, auth: dict[str, str]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def create(i: int) -> int:
        return post(seeded, auth, "/repos/acme/lib/issues", {"title": f"t{i}"}).json()["number"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = sorted(pool.map(create, range(24)))
    assert numbers == list(range(1, 25))
