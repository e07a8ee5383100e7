"""Fixtures: a fake clock and a client wired to the stand-in (tests/conftest.py starts it), seeded orgs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.config import GitHubConfig, LimitsConfig
from bot.github import FakeClock, GitHubClient, connect
from bot.standin import StandIn

WORKFLOW = "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n"
ACTION = "name: setup\nruns:\n  using: composite\n  steps:\n    - run: echo setup\n      shell: bash\n"

MakeClient = Callable[..., GitHubClient]


@pytest.fixture
def seeded(standin: StandIn) -> StandIn:
    """org `acme`: app (workflows, a local action, opt-out file), lib (none), old (archived), void (empty)."""
    standin.add_org("acme")
    standin.create_repo("acme", "app", {
        ".github/workflows/ci.yml": WORKFLOW, ".github/workflows/release.yaml": WORKFLOW.replace("push", "release"),
        ".github/workflows/notes.md": "not a workflow\n", ".github/actions/setup/action.yml": ACTION,
        ".github/actions/setup/run.sh": "echo\n", ".github/ztbot.toml": "[transforms]\nenabled = []\n",
        "README.md": "# app\n"})
    standin.create_repo("acme", "lib", {"README.md": "# lib\n"}, default_branch="trunk")
    standin.create_repo("acme", "old", {".github/workflows/ci.yml": WORKFLOW}, archived=True)
    standin.create_repo("acme", "void")
    return standin


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(standin: StandIn, token: str, clock: FakeClock) -> Iterator[MakeClient]:
    """`make_client(**limits)`: a token client for org `acme` on the fake clock; writes unpaced by default."""
    made: list[GitHubClient] = []

    def make(name: str = "acme", timeout: int = 5, batch_size: int = 25, **limits: Any) -> GitHubClient:
        cfg = GitHubConfig(target="org", name=name, base_url=standin.api_url)
        limits.setdefault("write_interval_s", 0.0)
        client = connect(cfg, LimitsConfig(**limits), clock, env={"ZTBOT_TOKEN": token}, timeout=timeout,
                         batch_size=batch_size)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: MakeClient) -> GitHubClient:
    return make_client()
