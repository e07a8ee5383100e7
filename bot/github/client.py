"""`GitHubClient`: the one object the rest of ztbot uses to talk to GitHub, and `connect()` to build it."""

from __future__ import annotations

from collections.abc import Mapping

from github import Auth, Github

from bot.config import GitHubConfig, LimitsConfig
from bot.github.admin import RepoAdmin
from bot.github.auth import graphql_url, make_auth
from bot.github.clock import Clock, SystemClock
from bot.github.models import RequestCounts
from bot.github.pulls import PullRequests
from bot.github.redact import install_redaction
from bot.github.retry import RetryPolicy
from bot.github.scan import RepoScanner, Target
from bot.github.transport import Transport

DEFAULT_BATCH = 25  # repositories per GraphQL file query: well under GitHub's node and time limits


class GitHubClient(RepoScanner, PullRequests, RepoAdmin):
    def __init__(self, transport: Transport, target: Target = "org", login: str = "",
                 batch_size: int = DEFAULT_BATCH) -> None:
        self.transport = transport
        self.target = target
        self.login = login
        self.batch_size = max(1, batch_size)

    @property
    def counts(self) -> RequestCounts:
        """Requests sent so far, by kind (every retry counts)."""
        return self.transport.counts

    def close(self) -> None:
        self.transport.github.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GitHubClient(target={self.target!r}, login={self.login!r})"


def connect(cfg: GitHubConfig, limits: LimitsConfig | None = None, clock: Clock | None = None,
            env: Mapping[str, str] | None = None, timeout: int = 30, batch_size: int = DEFAULT_BATCH,
            policy: RetryPolicy | None = None) -> GitHubClient:
    """A client for `cfg` (token or GitHub App), with retries and pacing on `clock`."""
    install_redaction()
    limits = limits or LimitsConfig()
    clock = clock or SystemClock()
    policy = policy or RetryPolicy(secondary_cap_s=limits.secondary_backoff_cap_s)
    auth = make_auth(cfg, env, clock, policy)
    return GitHubClient(Transport(github(cfg.base_url, auth, limits, timeout), graphql_url(cfg.base_url),
                                  limits, clock, policy), cfg.target, cfg.name, batch_size)


def github(base_url: str, auth: Auth.Auth, limits: LimitsConfig, timeout: int) -> Github:
    # retry=None and no PyGithub sleeps: tenacity and the Transport's clock own retrying and pacing.
    return Github(base_url=base_url.rstrip("/"), auth=auth, per_page=100, timeout=max(1, int(timeout)), retry=None,
                  pool_size=max(10, limits.max_concurrency), seconds_between_requests=None,
                  seconds_between_writes=None, lazy=True)
