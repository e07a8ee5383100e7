"""Fixtures: seeded repos, auth headers and a hermetic git, over the stand-in of tests/conftest.py."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest

from bot.standin import StandIn

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
WORKFLOW = "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n"


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture
def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


@pytest.fixture
def seeded(standin: StandIn) -> StandIn:
    """org `acme`: app (workflows), lib (no workflows), old (archived), copy (fork), void (empty)."""
    standin.add_org("acme")
    standin.create_repo(
        "acme",
        "app",
        {
            "README.md": "# app\n",
            ".github/workflows/ci.yml": WORKFLOW,
            ".github/workflows/release.yml": WORKFLOW.replace("push", "release"),
        },
        topics=["demo"],
        secrets=["AWS_SECRET_ACCESS_KEY"],
        variables={"REGION": "eu-west-1"},
    )
    standin.create_repo(
        "acme", "lib", {"README.md": "# lib\n", "src/lib.py": "x = 1\n"}, default_branch="trunk"
    )
    standin.create_repo("acme", "old", {".github/workflows/ci.yml": WORKFLOW}, archived=True)
    standin.create_repo("acme", "copy", {".github/workflows/ci.yml": WORKFLOW}, fork=True)
    standin.create_repo("acme", "void")
    return standin


@pytest.fixture
def git_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a git client that reads no user config and never prompts."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        {
            "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": "Test",
            "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test",
            "GIT_COMMITTER_EMAIL": "test@example.com",
        }
    )
    return env


@pytest.fixture
def git(git_env: dict[str, str]) -> GitRunner:
    """`git(*args, cwd=, token=)`: run git with the token in `http.extraHeader`, never in the URL."""
    return GitRunner(git_env)


def basic_header(token: str) -> str:
    """What GitHub Actions and the bot pass to git: `Authorization: Basic base64(x-access-token:TOKEN)`."""
    return "Authorization: Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()


class GitRunner:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(
        self, *args: str, cwd: Path | None = None, token: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        extra = ["-c", f"http.extraHeader={basic_header(token)}"] if token else []
        proc = subprocess.run(
            ["git", *extra, *args], cwd=cwd, env=self.env, capture_output=True, text=True, check=False
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed:\n{proc.stderr}")
        return proc
