"""Typed results of the GitHub layer; nothing outside `bot/github/` sees a PyGithub object."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RepoInfo:
    owner: str
    name: str
    full_name: str
    default_branch: str | None  # None for an empty repository
    head_oid: str | None  # the default branch's commit; None when empty or not known (REST listing)
    archived: bool = False
    fork: bool = False
    empty: bool = False
    private: bool = False
    topics: tuple[str, ...] = ()
    visibility: str = "public"  # public / private / internal


@dataclass
class RepoFiles:
    """The files the bot reads from one repository, keyed by repository path."""

    info: RepoInfo
    files: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # path (or "*") -> why it could not be read

    @property
    def workflows(self) -> dict[str, str]:
        return {p: t for p, t in self.files.items() if p.startswith(WORKFLOWS_DIR + "/")}

    @property
    def opt_out(self) -> str | None:
        return self.files.get(OPT_OUT_FILE)


WORKFLOWS_DIR = ".github/workflows"
ACTIONS_DIR = ".github/actions"
OPT_OUT_FILE = ".github/ztbot.toml"
ROOT_ACTIONS = ("action.yml", "action.yaml")


@dataclass(frozen=True)
class PullInfo:
    number: int
    state: str  # open / closed
    merged: bool
    html_url: str
    head_sha: str
    head_ref: str
    base_ref: str
    title: str
    body: str
    draft: bool
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommentInfo:
    id: int
    author: str
    body: str
    created_at: str


@dataclass(frozen=True)
class CommitAuthor:
    sha: str
    name: str
    email: str
    message: str


@dataclass(frozen=True)
class RequestCounts:
    rest_read: int = 0
    rest_write: int = 0
    graphql: int = 0

    @property
    def total(self) -> int:
        return self.rest_read + self.rest_write + self.graphql

    def __sub__(self, other: RequestCounts) -> RequestCounts:
        return RequestCounts(self.rest_read - other.rest_read, self.rest_write - other.rest_write,
                             self.graphql - other.graphql)
