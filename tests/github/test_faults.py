"""The fault matrix: which failures are retried, and how long the (fake) clock is told to wait."""

from __future__ import annotations

import logging

import pytest

from bot.github import FakeClock, GitHubClient, GitHubError, NotFound
from bot.standin import StandIn
from tests.github.conftest import WORKFLOW, MakeClient

REPO_PATH = r"^/api/v3/repos/acme/app/contents/"


def read(client: GitHubClient) -> str | None:
    return client.get_file("acme/app", ".github/workflows/ci.yml")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_back_off_exponentially(seeded: StandIn, client: GitHubClient, clock: FakeClock,
                                              status: int) -> None:
    fault = seeded.inject(status=status, path=REPO_PATH, times=3)
    assert read(client) == WORKFLOW
    assert fault.hits == 3 and clock.sleeps == [1.0, 2.0, 4.0]
    assert client.counts.rest_read == 4  # every attempt is a request


def test_server_error_backoff_is_capped_and_attempts_run_out(seeded: StandIn, client: GitHubClient,
                                                             clock: FakeClock) -> None:
    seeded.inject(status=502, path=REPO_PATH)
    with pytest.raises(GitHubError) as err:
        read(client)
    assert err.value.status == 502 and "retries used up" in str(err.value)
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0] and seeded.count("GET", REPO_PATH) == 6


def test_secondary_limit_with_retry_after_waits_at_least_a_minute(seeded: StandIn, client: GitHubClient,
                                                                  clock: FakeClock) -> None:
    seeded.inject(kind="secondary", retry_after=7, path=REPO_PATH, times=2)
    assert read(client) == WORKFLOW
    assert clock.sleeps == [60.0, 120.0]


def test_secondary_retry_after_longer_than_the_backoff_is_honoured(seeded: StandIn, client: GitHubClient,
                                                                   clock: FakeClock) -> None:
    seeded.inject(kind="secondary", retry_after=300, path=REPO_PATH, times=1)
    assert read(client) == WORKFLOW
    assert clock.sleeps == [300.0]


def test_secondary_without_retry_after_doubles_up_to_the_cap(seeded: StandIn, make_client: MakeClient,
                                                             clock: FakeClock) -> None:
    client = make_client(secondary_backoff_cap_s=200)
    seeded.inject(status=403, message="You have exceeded a secondary rate limit. Please wait a few minutes.",
                  path=REPO_PATH, times=3)
    assert read(client) == WORKFLOW
    assert clock.sleeps == [60.0, 120.0, 200.0]


def test_429_with_retry_after(seeded: StandIn, client: GitHubClient, clock: FakeClock) -> None:
    seeded.inject(kind="too_many", retry_after=3, path=REPO_PATH, times=1)
    assert read(client) == WORKFLOW
    assert clock.sleeps == [60.0]  # a 429 is a secondary limit: never sooner than a minute


def test_primary_exhaustion_waits_for_the_reset(seeded: StandIn, client: GitHubClient, clock: FakeClock) -> None:
    seeded.inject(kind="exhausted", reset_in=30, path=REPO_PATH, times=1)
    assert read(client) == WORKFLOW
    [wait] = clock.sleeps
    assert 29.0 <= wait <= 32.0  # until X-RateLimit-Reset (whole seconds), plus one second of slack


def test_graphql_primary_exhaustion_waits_for_the_reset(seeded: StandIn, client: GitHubClient,
                                                        clock: FakeClock) -> None:
    seeded.inject(kind="exhausted", reset_in=600, path="^/api/graphql$", times=1)
    assert len(client.list_repos()) == 4
    [wait] = clock.sleeps
    assert 599.0 <= wait <= 602.0


def test_rate_limit_holds_back_the_next_call(seeded: StandIn, client: GitHubClient, clock: FakeClock) -> None:
    # A wait decided in one call is a gate for every call: here the clock shows it was already served.
    seeded.inject(kind="secondary", retry_after=1, path=REPO_PATH, times=1)
    read(client)
    client.find_pull("acme/app", "x")
    assert clock.sleeps == [60.0]


def test_dropped_connection_is_retried(seeded: StandIn, client: GitHubClient, clock: FakeClock) -> None:
    seeded.inject(kind="drop", path=REPO_PATH, times=1)
    assert read(client) == WORKFLOW
    assert clock.sleeps == [1.0]


def test_timeout_is_retried(seeded: StandIn, make_client: MakeClient, clock: FakeClock) -> None:
    client = make_client(timeout=1)
    seeded.inject(kind="timeout", delay=2.0, path=REPO_PATH, times=1)
    assert read(client) == WORKFLOW
    assert clock.sleeps == [1.0]


def test_graphql_5xx_then_success(seeded: StandIn, client: GitHubClient, clock: FakeClock) -> None:
    seeded.inject(status=502, path="^/api/graphql$", times=1)
    assert len(client.list_repos()) == 4
    assert clock.sleeps == [1.0] and client.counts.graphql == 2


def test_404_is_not_retried(seeded: StandIn, client: GitHubClient, clock: FakeClock) -> None:
    seeded.inject(status=404, path=r"/pulls$", times=1)
    with pytest.raises(NotFound) as err:
        client.find_pull("acme/app", "x")
    assert err.value.status == 404 and clock.sleeps == [] and seeded.count("GET", "/pulls$") == 1


@pytest.mark.parametrize("status", [400, 401, 403, 409, 422])
def test_other_4xx_are_not_retried(seeded: StandIn, client: GitHubClient, clock: FakeClock, status: int) -> None:
    seeded.inject(status=status, path=REPO_PATH, times=1)
    with pytest.raises(GitHubError) as err:
        read(client)
    assert err.value.status == status and clock.sleeps == [] and seeded.count("GET", REPO_PATH) == 1


def test_422_already_exists_returns_the_open_pull(seeded: StandIn, client: GitHubClient, clock: FakeClock) -> None:
    seeded.commit("acme", "app", {"a.txt": "a\n"}, branch="ztbot/fix")
    first = client.create_pull("acme/app", "fix", "", head="ztbot/fix", base="main")
    assert client.create_pull("acme/app", "fix", "", head="ztbot/fix", base="main") == first
    assert clock.sleeps == []


def test_writes_are_retried_and_paced(seeded: StandIn, make_client: MakeClient, clock: FakeClock) -> None:
    client = make_client(write_interval_s=1.0)
    seeded.commit("acme", "app", {"a.txt": "a\n"}, branch="ztbot/fix")
    seeded.inject(status=502, method="POST", path="/pulls$", times=1)
    pull = client.create_pull("acme/app", "fix", "", head="ztbot/fix", base="main")
    assert pull.number == 1
    assert clock.sleeps == [1.0]  # the retry's 1 s backoff already spaces the second POST: no extra pacing


def test_no_token_in_logs_or_errors(seeded: StandIn, make_client: MakeClient, token: str,
                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # PyGithub and urllib3 log request details at DEBUG
    client = make_client()
    seeded.inject(status=502, path=REPO_PATH, times=1)
    seeded.inject(kind="secondary", path="/pulls$", times=1)
    read(client)
    client.find_pull("acme/app", "x")
    seeded.inject(status=500, path=REPO_PATH)
    with pytest.raises(GitHubError) as err:
        read(client)
    logging.getLogger("test").warning("token was %s", token)  # even a careless log line is masked
    texts = [caplog.text, str(err.value), repr(err.value), repr(client), repr(client.transport.github)]
    assert "retry" in caplog.text and all(token not in text for text in texts)
    seeded.token(token).expires_at = 1.0  # the server now refuses the token: 401
    with pytest.raises(GitHubError) as refused:
        client.list_repos()
    assert refused.value.status == 401 and token not in str(refused.value) and token not in caplog.text
