"""Rollout tests reuse the e2e demo org on the stand-in; time comes from `Clock`, never from sleeping."""

from __future__ import annotations

import datetime

import pytest

from bot import audit, state
from bot.state import RepoState
from tests.e2e import conftest as e2e
from tests.e2e.conftest import Bot

bot = e2e.bot  # the e2e fixture: the demo org on a fresh stand-in, a config pointing at it

START = datetime.datetime(2026, 11, 26, 9, 0, tzinfo=datetime.UTC)


class Clock:
    """The run's notion of now; tests move it forward."""

    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime.datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += datetime.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def saved(bot: Bot, repo: str) -> RepoState:
    return state.load(bot.config.paths.state).repos[f"demo-org/{repo}"]


def records(bot: Bot, **where: str) -> list[dict[str, str]]:
    rows = list(audit.read(bot.config.paths.audit))
    return [r for r in rows if all(r.get(k) == v for k, v in where.items())]
