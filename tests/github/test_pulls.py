"""Pull request and branch operations: results, and one request each."""

from __future__ import annotations

import pytest

from bot.github import FakeClock, GitHubClient, GitHubError
from bot.standin import StandIn
from tests.github.conftest import WORKFLOW, MakeClient

BRANCH = "ztbot/zero-trust"


@pytest.fixture
def branch(seeded: StandIn) -> str:
    """The bot's branch on acme/app, one commit ahead of main; returns main's sha."""
    base = seeded.bare("acme", "app").resolve("main")
    assert base is not None
    seeded.commit("acme", "app", {".github/workflows/ci.yml": WORKFLOW + "# fixed\n"}, branch=BRANCH,
                  author=("ztbot", "ztbot@users.noreply.github.com"))
    return base


def test_create_find_update_close(seeded: StandIn, client: GitHubClient, branch: str) -> None:
    assert client.find_pull("acme/app", BRANCH) is None
    pull = client.create_pull("acme/app", "Harden workflows", "Why", head=BRANCH, base="main", draft=True)
    assert (pull.number, pull.state, pull.draft, pull.merged, pull.head_ref, pull.base_ref) == \
        (1, "open", True, False, BRANCH, "main")
    assert pull.head_sha == seeded.bare("acme", "app").resolve(BRANCH) and pull.html_url.endswith("/acme/app/pull/1")
    assert client.find_pull("acme/app", BRANCH) == pull
    updated = client.update_pull("acme/app", 1, title="Harden workflows (2)", body="More")
    assert (updated.title, updated.body) == ("Harden workflows (2)", "More")
    closed = client.close_pull("acme/app", 1)
    assert closed.state == "closed" and client.find_pull("acme/app", BRANCH) == closed
    assert seeded.count() == 6 and client.counts.total == 6  # one request per operation


def test_find_pull_returns_the_newest(seeded: StandIn, client: GitHubClient, branch: str) -> None:
    client.create_pull("acme/app", "first", "", head=BRANCH, base="main")
    client.close_pull("acme/app", 1)
    client.create_pull("acme/app", "second", "", head=BRANCH, base="main")
    found = client.find_pull("acme/app", BRANCH)
    assert found is not None and (found.number, found.title, found.state) == (2, "second", "open")


def test_merged_pull_is_reported_merged(seeded: StandIn, client: GitHubClient, branch: str) -> None:
    client.create_pull("acme/app", "fix", "", head=BRANCH, base="main")
    seeded.merge("acme", "app", 1)
    found = client.find_pull("acme/app", BRANCH)
    assert found is not None and found.merged and found.state == "closed"


def test_existing_pull_is_returned_on_422(seeded: StandIn, client: GitHubClient, branch: str,
                                          clock: FakeClock) -> None:
    first = client.create_pull("acme/app", "fix", "body", head=BRANCH, base="main")
    again = client.create_pull("acme/app", "fix", "body", head=BRANCH, base="main")
    assert again == first
    assert seeded.count("POST", "/pulls$", status=422) == 1  # not retried
    assert clock.sleeps == []


def test_other_422_is_raised(seeded: StandIn, client: GitHubClient) -> None:
    with pytest.raises(GitHubError) as err:
        client.create_pull("acme/app", "fix", "", head="no-such-branch", base="main")
    assert err.value.status == 422 and seeded.count("POST", "/pulls$") == 1


def test_labels_reviewers_and_comments(seeded: StandIn, client: GitHubClient, branch: str) -> None:
    client.create_pull("acme/app", "fix", "", head=BRANCH, base="main")
    start = seeded.count()
    client.add_labels("acme/app", 1, ["security", "ztbot"])
    client.request_reviewers("acme/app", 1, ["octocat"], ["security-team"])
    made = client.comment("acme/app", 1, "Rebased on main")
    assert seeded.count() - start == 3
    assert [c.body for c in client.list_comments("acme/app", 1)] == ["Rebased on main"]
    assert made.author == "ztbot-user" and made.id > 0
    found = client.find_pull("acme/app", BRANCH)
    assert found is not None and found.labels == ("security", "ztbot")
    issue = seeded.pulls("acme", "app")[0]
    assert issue.pull is not None and issue.pull.requested_reviewers == ["octocat"]
    assert issue.pull.requested_teams == ["security-team"]
    client.add_labels("acme/app", 1, [])
    client.request_reviewers("acme/app", 1)
    assert seeded.count() - start == 5  # empty label / reviewer lists send nothing


def test_comments_page_through(seeded: StandIn, client: GitHubClient, branch: str) -> None:
    client.create_pull("acme/app", "fix", "", head=BRANCH, base="main")
    for i in range(105):
        seeded.state.add_comment(seeded.pulls("acme", "app")[0], "human", f"c{i}")
    before = client.counts.rest_read
    comments = client.list_comments("acme/app", 1)
    assert [c.body for c in comments] == [f"c{i}" for i in range(105)]
    assert client.counts.rest_read - before == 2


def test_branch_head_and_delete(seeded: StandIn, client: GitHubClient, branch: str) -> None:
    head = seeded.bare("acme", "app").resolve(BRANCH)
    assert client.branch_head("acme/app", BRANCH) == head
    assert client.branch_head("acme/app", "nope") is None
    assert client.delete_branch("acme/app", BRANCH) is True
    assert client.branch_head("acme/app", BRANCH) is None
    assert client.delete_branch("acme/app", BRANCH) is False


def test_human_commits_on_the_bot_branch(seeded: StandIn, client: GitHubClient, branch: str) -> None:
    [bot] = client.branch_commit_authors("acme/app", BRANCH, since_sha=branch)
    assert (bot.name, bot.email) == ("ztbot", "ztbot@users.noreply.github.com")
    seeded.commit("acme", "app", {"notes.txt": "mine\n"}, branch=BRANCH, author=("Ada", "ada@example.com"),
                  message="Tweak")
    human, bot_again = client.branch_commit_authors("acme/app", BRANCH, since_sha=branch)
    assert (human.name, human.email, human.message.strip()) == ("Ada", "ada@example.com", "Tweak")
    assert bot_again == bot
    assert client.branch_commit_authors("acme/app", "nope", since_sha=branch) == []


def test_get_file(seeded: StandIn, client: GitHubClient, branch: str) -> None:
    assert client.get_file("acme/app", ".github/workflows/ci.yml") == WORKFLOW
    assert client.get_file("acme/app", ".github/workflows/ci.yml", ref=BRANCH) == WORKFLOW + "# fixed\n"
    assert client.get_file("acme/app", "missing.yml") is None
    assert client.get_file("acme/app", ".github/workflows") is None  # a directory


def test_writes_are_paced(seeded: StandIn, make_client: MakeClient, clock: FakeClock, branch: str) -> None:
    client = make_client(write_interval_s=1.0)
    client.create_pull("acme/app", "fix", "", head=BRANCH, base="main")
    client.add_labels("acme/app", 1, ["security"])  # immediately after: waits the full second
    clock.advance(0.25)
    client.comment("acme/app", 1, "hi")  # a quarter second later: waits the rest
    clock.advance(5)
    client.comment("acme/app", 1, "later")  # long after: no wait
    client.find_pull("acme/app", BRANCH)  # reads are never paced
    assert clock.sleeps == [1.0, 0.75]
