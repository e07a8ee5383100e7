"""Credentials (a token from the environment, or a GitHub App) and the endpoints of a GitHub instance."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

from github import Auth, GithubIntegration

from bot.config import GitHubConfig
from bot.github.clock import Clock, SystemClock
from bot.github.errors import AuthError
from bot.github.redact import Secret, register
from bot.github.retry import RetryPolicy, retrying

DOTCOM_API = "https://api.github.com"


def graphql_url(base_url: str) -> str:
    """github.com: https://api.github.com/graphql; GHES: https://HOST/api/v3 -> https://HOST/api/graphql."""
    parts = urllib.parse.urlsplit(base_url.rstrip("/"))
    path = parts.path
    if path.endswith("/v3"):
        path = path[: -len("/v3")]
    return urllib.parse.urlunsplit(parts._replace(path=f"{path}/graphql"))


def token_from_env(cfg: GitHubConfig, env: Mapping[str, str] | None = None) -> Secret:
    env = os.environ if env is None else env
    for name in cfg.token_env:
        value = env.get(name, "").strip()
        if value:
            return Secret(value)
    raise AuthError("authentication", f"none of {', '.join(cfg.token_env)} is set",
                    hint="export a token with repo and workflow scopes, or configure [github] auth = \"app\"")


def app_private_key(cfg: GitHubConfig) -> Secret:
    if not cfg.app_id or not cfg.private_key_file:
        raise AuthError("authentication", "auth = \"app\" needs github.app_id and github.private_key_file",
                        hint="set both in the [github] table of ztbot.toml")
    try:
        key = Path(cfg.private_key_file).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise AuthError("authentication", f"cannot read the app's private key {cfg.private_key_file}: "
                        f"{exc.strerror or exc}", hint="download a private key from the app's settings page") from None
    for line in key.splitlines():
        if line and not line.startswith("-----"):
            register(line)  # PEM body lines: never let a slice of the key into a log
    return Secret(key)


def make_auth(cfg: GitHubConfig, env: Mapping[str, str] | None = None, clock: Clock | None = None,
              policy: RetryPolicy | None = None) -> Auth.Auth:
    """A PyGithub `Auth`: a token, or an App installation whose short-lived token PyGithub renews when it expires."""
    if cfg.auth == "token":
        return Auth.Token(token_from_env(cfg, env).reveal())
    app = Auth.AppAuth(cfg.app_id, app_private_key(cfg).reveal())
    installation = cfg.installation_id or find_installation(cfg, app, clock or SystemClock(), policy or RetryPolicy())
    return app.get_installation_auth(installation)


def find_installation(cfg: GitHubConfig, app: Auth.AppAuth, clock: Clock, policy: RetryPolicy) -> int:
    """The installation on `github.name` when the config leaves `installation_id` out (one request)."""
    if not cfg.name:
        raise AuthError("authentication", "auth = \"app\" needs github.installation_id or github.name",
                        hint="find the installation id in the org's settings under GitHub Apps")
    integration = GithubIntegration(base_url=cfg.base_url, auth=app, retry=None, seconds_between_requests=None,
                                    seconds_between_writes=None)
    lookup = integration.get_user_installation if cfg.target == "user" else integration.get_org_installation
    try:
        for attempt in retrying(policy, clock, f"GET installation of {cfg.name}"):
            with attempt:
                return lookup(cfg.name).id
    except Exception as exc:  # PyGithub raises GithubException; the text is redacted by AuthError
        raise AuthError("authentication", f"no installation of app {cfg.app_id} on {cfg.name}: {exc}",
                        hint="install the app on the org, or set github.installation_id") from None
    finally:
        integration.close()
    raise AssertionError("unreachable: tenacity either returns or raises")
