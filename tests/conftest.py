"""Fixtures several test packages share: a started, empty stand-in GitHub and a token for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.standin import StandIn


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[StandIn]:
    """A started, empty stand-in; repos live under tmp_path/standin."""
    with StandIn(tmp_path / "standin") as gh:
        yield gh


@pytest.fixture
def token(standin: StandIn) -> str:
    """A classic-PAT-like token with `repo` and `workflow` scopes, acting as `ztbot-user`."""
    return standin.add_token("ztbot-user")
