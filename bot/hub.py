"""The GitHub side of a run: what the orchestrator needs from GitHub, and the adapter that provides it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from bot.config import Config
from bot.dashboard import DashboardHub
from bot.errors import ZtbotError
from bot.github import GitHubClient, connect
from bot.github.models import RepoInfo
from bot.github.scan import ScanResult
from bot.protection import ProtectionHub
from bot.prsync import Hub


class Scanner(Hub, ProtectionHub, DashboardHub, Protocol):
    def scan(self, known: Mapping[str, str] | None = None, want: Callable[[RepoInfo], bool] | None = None,
             with_topics: bool = False) -> ScanResult: ...

    def identity(self) -> str: ...

    def secret_names(self, repo: str) -> list[str]: ...

    def commit_for(self, repo: str, ref: str) -> str | None: ...

    def secrets(self) -> list[str]:
        """Values the audit log must never hold (the token)."""
        ...



class BotHub:
    """`GitHubClient` plus what `bot/github` does not offer yet: the git remote and its credentials.

    Everything else is delegated unchanged; drop this adapter once the client grows `git_remote`.
    """

    def __init__(self, client: GitHubClient, base_url: str) -> None:
        self.client, self.base_url = client, base_url

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def secrets(self) -> list[str]:
        auth = self.client.transport.github.requester.auth
        try:
            return [auth.token] if auth is not None else []
        except Exception:  # an App whose installation token cannot be minted now: nothing to scrub yet
            return []

    def git_remote(self, repo: str) -> tuple[str, str]:
        # The client's own auth object: for a GitHub App it renews the installation token when due.
        auth = self.client.transport.github.requester.auth
        if auth is None:
            raise ZtbotError("no GitHub credentials to push with", "set the token or configure [github] auth = \"app\"")
        return clone_url(self.base_url, repo), auth.token


def clone_url(base_url: str, repo: str) -> str:
    """github.com: https://github.com/o/r.git; GitHub Enterprise Server: https://HOST/o/r.git."""
    parts = urlsplit(base_url.rstrip("/"))
    if parts.netloc == "api.github.com":
        return f"https://github.com/{repo}.git"
    path = parts.path.removesuffix("/api/v3")
    return f"{parts.scheme}://{parts.netloc}{path}/{repo}.git"


def open_hub(config: Config, env: Mapping[str, str] | None = None) -> BotHub:
    """The GitHub client for `config` (credentials from `env`, default: the process environment)."""
    client = connect(config.github, config.limits, env=env)
    return BotHub(client, config.github.base_url)

