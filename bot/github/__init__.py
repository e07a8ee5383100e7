"""The only package that talks to GitHub (and the only one importing PyGithub).

    client = connect(config.github, config.limits)
    result = client.scan(known={"acme/app": "<head oid from last run>"})
    pull = client.create_pull("acme/app", title, body, head="ztbot/zero-trust", base="main")
"""

from bot.github.admin import IssueInfo, RepoAdmin
from bot.github.auth import graphql_url, make_auth, token_from_env
from bot.github.client import DEFAULT_BATCH, GitHubClient, connect
from bot.github.clock import Clock, FakeClock, SystemClock
from bot.github.errors import AuthError, GitHubError, NotFound
from bot.github.models import (
    CommentInfo,
    CommitAuthor,
    PullInfo,
    RepoFiles,
    RepoInfo,
    RequestCounts,
)
from bot.github.redact import RedactingFilter, Secret, install_redaction, redact
from bot.github.retry import RetryPolicy
from bot.github.scan import ScanResult
from bot.github.transport import Transport

__all__ = [
    "DEFAULT_BATCH", "AuthError", "Clock", "CommentInfo", "CommitAuthor", "FakeClock", "GitHubClient", "GitHubError",
    "IssueInfo", "NotFound", "PullInfo", "RedactingFilter", "RepoAdmin", "RepoFiles", "RepoInfo", "RequestCounts",
    "RetryPolicy", "ScanResult", "Secret", "SystemClock", "Transport", "connect", "graphql_url", "install_redaction",
    "make_auth", "redact", "token_from_env",
]
