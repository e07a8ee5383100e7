"""Errors the GitHub layer raises: one type, carrying the HTTP status when there was one."""

from __future__ import annotations

from bot.errors import ZtbotError
from bot.github.redact import redact


class GitHubError(ZtbotError):
    """A GitHub call failed for good (not retryable, or retries used up). Text is always redacted."""

    def __init__(self, what: str, problem: str, status: int | None = None, hint: str = "") -> None:
        super().__init__(redact(f"GitHub {what}: {problem}"), redact(hint))
        self.status = status
        self.what = what


class NotFound(GitHubError):
    """404: the object does not exist or the credentials cannot see it."""


class AuthError(GitHubError):
    """No usable credentials, or GitHub refused them (401)."""
