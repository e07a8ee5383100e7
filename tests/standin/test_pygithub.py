"""PyGithub against the stand-in: what the bot's client library actually sends and parses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from github import Auth, Github, GithubException, GithubIntegration

from bot.standin import StandIn

NO_THROTTLE = {"seconds_between_requests": None, "seconds_between_writes": None}


@pytest.fixture
def client(seeded: StandIn, token: str) -> Iterator[Github]:
    # PyGithub throttles itself (0.25 s between requests, 1 s between writes); not needed locally.
    g = Github(base_url=seeded.api_url, auth=Auth.Token(token), per_page=2, retry=None, **NO_THROTTLE)
    yield g
    g.close()


def test_list_org_repos_follows_link_pagination(seeded: StandIn, client: Github) -> None:
    repos = list(client.get_organization("acme").get_repos())
    assert [r.name for r in repos] == ["app", "copy", "lib", "old", "void"]
    assert seeded.count("GET", "^/api/v3/orgs/acme/repos$") == 3  # 2 + 2 + 1 per page
    by_name = {r.name: r for r in repos}
    assert by_name["old"].archived and by_name["copy"].fork and by_name["lib"].default_branch == "trunk"
    assert by_name["app"].owner.login == "acme" and by_name["app"].full_name == "acme/app"


def test_get_contents_file_and_directory(client: Github) -> None:
    repo = client.get_repo("acme/app")
    listing = repo.get_contents(".github/workflows")
    assert isinstance(listing, list) and [c.path for c in listing] == [
        ".github/workflows/ci.yml",
        ".github/workflows/release.yml",
    ]
    file = repo.get_contents(".github/workflows/ci.yml", ref="main")
    assert not isinstance(file, list) and file.decoded_content.startswith(b"on: push")
    with pytest.raises(GithubException) as missing:
        repo.get_contents("nope.yml")
    assert missing.value.status == 404


def test_create_pull_request_and_duplicate(seeded: StandIn, client: Github) -> None:
    seeded.commit("acme", "app", {".github/workflows/ci.yml": "on: pull_request\n"}, branch="ztbot/fix")
    repo = client.get_repo("acme/app")
    pull = repo.create_pull(title="Harden workflows", body="Why", head="ztbot/fix", base="main")
    assert (pull.number, pull.state, pull.head.ref, pull.base.ref) == (1, "open", "ztbot/fix", "main")
    assert pull.html_url == f"{seeded.url}/acme/app/pull/1" and pull.user.login == "ztbot-user"
    pull.add_to_labels("security")
    pull.create_review_request(reviewers=["octocat"])
    pull.create_issue_comment("details")
    with pytest.raises(GithubException) as dup:
        repo.create_pull(title="again", body="", head="ztbot/fix", base="main")
    assert dup.value.status == 422
    assert [p.number for p in repo.get_pulls(state="open", head="acme:ztbot/fix")] == [1]
    pull.edit(state="closed")
    assert repo.get_pull(1).state == "closed"


def test_conditional_request_gets_304(seeded: StandIn, client: Github) -> None:
    repo = client.get_repo("acme/app")
    assert repo.update() is False  # If-None-Match matched: 304, nothing changed
    assert seeded.count("GET", "^/api/v3/repos/acme/app$", status=304) == 1
    seeded.update_repo("acme", "app", archived=True)
    assert repo.update() is True and repo.archived


def test_rate_limit_and_graphql_through_pygithub(client: Github) -> None:
    assert client.get_rate_limit().resources.core.limit == 5000
    _, data = client.requester.graphql_query("query { viewer { login } }", {})
    assert data["data"]["viewer"]["login"] == "ztbot-user"


def test_github_app_installation_flow(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with StandIn(tmp_path / "r", app_id=4242, app_public_key=public) as gh:
        gh.create_repo("acme", "app", {"a": "b"})
        gh.create_repo("other", "x", {"a": "b"})
        inst_id = gh.add_installation("acme")
        app_auth = Auth.AppAuth(4242, private)
        integration = GithubIntegration(base_url=gh.api_url, auth=app_auth, **NO_THROTTLE)
        assert integration.get_org_installation("acme").id == inst_id
        assert integration.get_access_token(inst_id).token.startswith("ghs_")
        g = Github(base_url=gh.api_url, auth=app_auth.get_installation_auth(inst_id), **NO_THROTTLE)
        assert g.get_repo("acme/app").full_name == "acme/app"
        with pytest.raises(GithubException) as hidden:
            g.get_repo("other/x")  # outside the installation: GitHub answers 404
        assert hidden.value.status == 404
        forged = GithubIntegration(base_url=gh.api_url, auth=Auth.AppAuth(4242, _other_key()), **NO_THROTTLE)
        with pytest.raises(GithubException) as bad:
            forged.get_org_installation("acme")
        assert bad.value.status == 401


def _other_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
