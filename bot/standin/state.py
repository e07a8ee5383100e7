"""In-memory state that GitHub keeps outside git: issues, pulls, comments, rulesets, tokens.

Everything here is guarded by one re-entrant lock; handlers run on many server threads.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

TokenKind = Literal["oauth", "installation", "jwt"]
RATE_RESOURCES = ("core", "graphql", "search")


def now_iso(ts: float | None = None) -> str:
    return datetime.fromtimestamp(ts if ts is not None else time.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Budget:
    limit: int
    used: int = 0
    reset: int = 0

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def roll(self) -> None:
        # A fresh hour once the window has passed, as GitHub's primary limit does.
        now = int(time.time())
        if now >= self.reset:
            self.used, self.reset = 0, now + 3600


@dataclass
class Token:
    value: str
    login: str
    kind: TokenKind = "oauth"
    scopes: tuple[str, ...] = ("repo", "workflow")
    permissions: dict[str, str] = field(default_factory=dict)
    installation_id: int | None = None
    expires_at: float | None = None
    budgets: dict[str, Budget] = field(default_factory=dict)

    @property
    def can_push_workflows(self) -> bool:
        if self.kind == "installation":
            return self.permissions.get("workflows") == "write"
        return "workflow" in self.scopes

    def budget(self, resource: str) -> Budget:
        budget = self.budgets.setdefault(resource, Budget(30 if resource == "search" else 5000))
        budget.roll()
        return budget


@dataclass
class Installation:
    id: int
    account: str
    app_id: int
    app_slug: str
    permissions: dict[str, str]
    repositories: list[str] | None = None  # None = all repositories of the account


@dataclass
class RepoMeta:
    id: int
    owner: str
    name: str
    private: bool = False
    archived: bool = False
    fork: bool = False
    topics: list[str] = field(default_factory=list)
    description: str | None = None
    created_at: str = field(default_factory=now_iso)
    secrets: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    workflow_permissions: str = "read"

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class PullData:
    head_ref: str
    head_owner: str
    head_sha: str
    base_ref: str
    base_sha: str
    draft: bool = False
    maintainer_can_modify: bool = True
    merged_at: str | None = None
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)


@dataclass
class Issue:
    repo: str  # owner/name
    number: int
    id: int
    title: str
    user: str
    body: str | None = None
    state: str = "open"
    state_reason: str | None = None
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    closed_at: str | None = None
    comment_ids: list[int] = field(default_factory=list)
    pull: PullData | None = None

    def touch(self) -> None:
        self.updated_at = now_iso()


@dataclass
class Comment:
    id: int
    repo: str
    issue_number: int
    user: str
    body: str
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)


class State:
    """The non-git half of the stand-in's data."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._ids = itertools.count(1000)
        self.accounts: dict[str, tuple[int, str]] = {}  # login -> (id, "User" | "Organization")
        self.tokens: dict[str, Token] = {}
        self.installations: dict[int, Installation] = {}
        self.issues: dict[str, list[Issue]] = {}
        self.comments: dict[int, Comment] = {}
        self.labels: dict[str, dict[str, str]] = {}  # repo -> label name -> color
        self.rulesets: dict[str, list[dict[str, Any]]] = {}
        self.protection: dict[tuple[str, str], dict[str, Any]] = {}

    def next_id(self) -> int:
        with self.lock:
            return next(self._ids)

    # -- accounts and tokens ---------------------------------------------------------------------
    def account(self, login: str, kind: str | None = None) -> tuple[int, str]:
        """The (id, type) of `login`; unknown logins become organisations on first use."""
        with self.lock:
            if login not in self.accounts or kind:
                self.accounts[login] = (
                    self.accounts.get(login, (self.next_id(), ""))[0],
                    kind or "Organization",
                )
            return self.accounts[login]

    def add_token(
        self, login: str, kind: TokenKind = "oauth", value: str | None = None, **fields: Any
    ) -> Token:
        prefix = {"oauth": "ghp_", "installation": "ghs_", "jwt": ""}[kind]
        token = Token(value or prefix + secrets.token_hex(18), login, kind, **fields)
        with self.lock:
            self.tokens[token.value] = token
        return token

    # -- issues and pulls ---------------------------------------------------------------------------
    def repo_issues(self, repo: str) -> list[Issue]:
        with self.lock:
            return self.issues.setdefault(repo, [])

    def new_issue(self, repo: str, title: str, user: str, **fields: Any) -> Issue:
        with self.lock:
            issues = self.repo_issues(repo)
            issue = Issue(repo, len(issues) + 1, self.next_id(), title, user, **fields)
            issues.append(issue)
            return issue

    def get_issue(self, repo: str, number: int) -> Issue | None:
        with self.lock:
            issues = self.repo_issues(repo)
            return issues[number - 1] if 0 < number <= len(issues) else None

    def add_comment(self, issue: Issue, user: str, body: str) -> Comment:
        with self.lock:
            comment = Comment(self.next_id(), issue.repo, issue.number, user, body)
            self.comments[comment.id] = comment
            issue.comment_ids.append(comment.id)
            issue.touch()
            return comment

    def ensure_labels(self, repo: str, names: list[str]) -> None:
        with self.lock:
            known = self.labels.setdefault(repo, {})
            for name in names:
                known.setdefault(name, "ededed")
