"""End-to-end fixtures: the demo org on a stand-in GitHub, a config pointing at it, and a bot runner."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot import config as config_mod
from bot.demo import ORG, TOKEN_ENV, seed, write_config
from bot.orchestrate import RunReport, open_hub, run
from bot.standin import StandIn

WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
# The transforms the demo org exercises, fixed so that a newly registered transform does not churn
# the snapshots of the bot's pipeline (its own fixtures cover it).
E2E_TRANSFORMS = ("oidc-gcp", "oidc-azure", "oidc-aws", "publish-pypi", "publish-npm", "permissions")


@dataclass
class Bot:
    gh: StandIn
    token: str
    work: Path
    config: config_mod.Config
    logs: list[str]  # every progress line and log record of every run, for the leak scan

    def run(self, dry_run: bool = False, **options: Any) -> RunReport:
        """`options`: `run()`'s keywords (now, shard, reset)."""
        stream = io.StringIO()
        report = run(self.config, open_hub(self.config, {TOKEN_ENV: self.token}), dry_run=dry_run, stream=stream,
                     **options)
        self.logs.append(stream.getvalue())
        self.logs += report.lines()
        return report

    def writes(self, since: int = 0) -> list[str]:
        """REST writes and git pushes since request number `since` (GraphQL POSTs and fetches are reads)."""
        return [f"{r.method} {r.path}" for r in self.gh.requests[since:]
                if (r.method in WRITE_METHODS and not r.path.endswith(("/graphql", "git-upload-pack")))]

    def pull(self, repo: str) -> object:
        pulls = self.gh.pulls(ORG, repo)
        assert pulls, f"no PR on {repo}"
        return pulls[-1]

    def branch(self, repo: str) -> str | None:
        return self.gh.bare(ORG, repo).resolve(f"refs/heads/{self.config.pr.branch}")


class _Collect(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(self.format(record))


@pytest.fixture
def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bot]:
    home = tmp_path / "home"
    home.mkdir()
    # A hermetic git: no user or system config, never a prompt.
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    for key in [k for k in os.environ if k.startswith("GIT_CONFIG_") and k != "GIT_CONFIG_NOSYSTEM"]:
        monkeypatch.delenv(key)
    logs: list[str] = []
    handler = _Collect(logs)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)  # log everything, so the leak scan sees everything
    work = tmp_path / "work"
    work.mkdir()
    try:
        with StandIn(tmp_path / "github") as gh:
            token = seed(gh)
            path = write_config(gh, work)
            with path.open("a", encoding="utf-8") as out:
                out.write(f"\n[transforms]\nenabled = {json.dumps(list(E2E_TRANSFORMS))}\n")
            yield Bot(gh, token, work, config_mod.load(path), logs)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def normalize(text: str, gh: StandIn) -> str:
    """Make a snapshot independent of the port and of commit and blob ids."""
    text = text.replace(gh.url, "http://GITHUB")
    text = re.sub(r"^index [0-9a-f]+\.\.[0-9a-f]+", "index SHA..SHA", text, flags=re.M)
    return re.sub(r'"(base_sha|content_hash)": "[0-9a-f]{40,64}"', r'"\1": "HASH"', text)
