"""Fault injection through the Python API and the /_standin/faults admin endpoint."""

from __future__ import annotations

import time

import pytest
import requests

from bot.standin import StandIn


def get(
    gh: StandIn, auth: dict[str, str], path: str = "/repos/acme/app", timeout: float = 10
) -> requests.Response:
    return requests.get(gh.api_url + path, headers=auth, timeout=timeout)


def test_status_fault_fires_n_times_then_heals(seeded: StandIn, auth: dict[str, str]) -> None:
    fault = seeded.inject(status=502, path=r"/repos/acme/app$", times=2)
    assert [get(seeded, auth).status_code for _ in range(3)] == [502, 502, 200]
    assert fault.hits == 2
    assert get(seeded, auth, "/repos/acme/lib").status_code == 200


def test_skip_lets_the_first_requests_through(seeded: StandIn, auth: dict[str, str]) -> None:
    seeded.inject(status=500, method="GET", skip=1, times=1)
    assert [get(seeded, auth).status_code for _ in range(3)] == [200, 500, 200]


def test_secondary_limit_and_429_carry_retry_after(seeded: StandIn, auth: dict[str, str]) -> None:
    seeded.inject(kind="secondary", retry_after=7, times=1)
    seeded.inject(kind="too_many", retry_after=3, times=1)
    secondary = get(seeded, auth)
    assert secondary.status_code == 403 and secondary.headers["Retry-After"] == "7"
    assert "secondary rate limit" in secondary.json()["message"]
    too_many = get(seeded, auth)
    assert (too_many.status_code, too_many.headers["Retry-After"]) == (429, "3")


def test_primary_exhaustion(seeded: StandIn, auth: dict[str, str]) -> None:
    seeded.inject(kind="exhausted", reset_in=30, times=1)
    response = get(seeded, auth)
    assert response.status_code == 403 and response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) >= int(time.time()) + 25


def test_latency_is_added_to_every_matching_request(seeded: StandIn, auth: dict[str, str]) -> None:
    seeded.inject(kind="latency", delay=0.1)
    start = time.monotonic()
    assert get(seeded, auth).status_code == 200
    assert time.monotonic() - start >= 0.1


def test_dropped_connection(seeded: StandIn, auth: dict[str, str]) -> None:
    seeded.inject(kind="drop", times=1)
    with pytest.raises(requests.ConnectionError):
        get(seeded, auth)
    assert get(seeded, auth).status_code == 200


def test_timeout(seeded: StandIn, auth: dict[str, str]) -> None:
    seeded.inject(kind="timeout", delay=0.5, times=1)
    with pytest.raises(requests.Timeout):
        get(seeded, auth, timeout=0.2)


def test_faults_apply_to_graphql_too(seeded: StandIn, auth: dict[str, str]) -> None:
    seeded.inject(status=502, path="^/api/graphql$", times=1)
    response = requests.post(
        seeded.graphql_url, headers=auth, json={"query": "{ viewer { login } }"}, timeout=10
    )
    assert response.status_code == 502


def test_admin_endpoint_adds_lists_and_clears(seeded: StandIn, auth: dict[str, str]) -> None:
    added = requests.post(
        f"{seeded.url}/_standin/faults", json={"status": 503, "path": "/pulls", "times": 1}, timeout=10
    )
    assert added.status_code == 201 and added.json()[0]["status"] == 503
    assert get(seeded, auth, "/repos/acme/app/pulls").status_code == 503
    assert requests.get(f"{seeded.url}/_standin/faults", timeout=10).json()[0]["hits"] == 1
    seeded.inject(status=500)
    assert requests.delete(f"{seeded.url}/_standin/faults", timeout=10).status_code == 204
    assert get(seeded, auth).status_code == 200
    log = requests.get(f"{seeded.url}/_standin/requests", timeout=10).json()
    assert {"method": "GET", "path": "/api/v3/repos/acme/app/pulls", "status": 503} in log


def test_graphql_rate_limited_is_200_with_a_typed_error(seeded: StandIn, auth: dict[str, str]) -> None:
    fault = seeded.inject(kind="graphql_rate_limited", reset_in=120, times=1)
    before = int(time.time())
    assert get(seeded, auth).status_code == 200  # REST is not GraphQL: the rule does not apply
    response = requests.post(seeded.graphql_url, headers=auth, json={"query": "{ viewer { login } }"}, timeout=10)
    assert response.status_code == 200
    assert response.json() == {
        "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]
    }
    headers = response.headers
    assert (headers["X-RateLimit-Remaining"], headers["X-RateLimit-Resource"]) == ("0", "graphql")
    assert before + 119 <= int(headers["X-RateLimit-Reset"]) <= int(time.time()) + 121
    assert fault.hits == 1
    again = requests.post(seeded.graphql_url, headers=auth, json={"query": "{ viewer { login } }"}, timeout=10)
    assert again.json()["data"]["viewer"]["login"] == "ztbot-user"


def test_graphql_rate_limited_via_admin_api_with_message(seeded: StandIn, auth: dict[str, str]) -> None:
    body = {"kind": "graphql_rate_limited", "message": "API rate limit exceeded for installation ID 7.", "times": 1}
    assert requests.post(f"{seeded.url}/_standin/faults", json=body, timeout=10).status_code in (200, 201)
    answer = requests.post(seeded.graphql_url, headers=auth, json={"query": "{ viewer { login } }"}, timeout=10)
    assert answer.json()["errors"][0]["message"] == "API rate limit exceeded for installation ID 7."


def test_bot_client_waits_for_the_graphql_reset(seeded: StandIn, token: str) -> None:
    from bot.config import GitHubConfig, LimitsConfig
    from bot.github import FakeClock, connect

    seeded.inject(kind="graphql_rate_limited", reset_in=300, times=1)
    clock = FakeClock()
    cfg = GitHubConfig(target="org", name="acme", base_url=seeded.api_url)
    with connect(cfg, LimitsConfig(), clock, env={"ZTBOT_TOKEN": token}) as client:
        names = [repo.name for repo in client.list_repos()]
    assert "app" in names
    assert any(290 <= wait <= 310 for wait in clock.sleeps), clock.sleeps  # slept until the advertised reset
