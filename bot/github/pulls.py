"""Pull request and branch operations the orchestrator needs: thin, typed, one request each where possible.

`repo` is always "owner/name". PyGithub objects are built lazily (no request) and each wrapped call
makes exactly the one request it names, which the request counter and the tests check.
"""

from __future__ import annotations

import functools
import urllib.parse
from typing import Any

from github.GithubObject import NotSet
from github.GitRef import GitRef
from github.PullRequest import PullRequest
from github.Repository import Repository

from bot.github.errors import GitHubError, NotFound
from bot.github.models import CommentInfo, CommitAuthor, PullInfo
from bot.github.transport import Transport

ALREADY_EXISTS = "a pull request already exists"


class PullRequests:
    """Mixed into `GitHubClient`, which provides `transport`."""

    transport: Transport

    def _repo(self, repo: str) -> Repository:
        return self.transport.github.get_repo(repo)  # lazy: no request

    # -- pull requests ---------------------------------------------------------------------------
    def find_pull(self, repo: str, head_branch: str) -> PullInfo | None:
        """The newest pull request (open or closed) from `head_branch` of the repo itself; one request."""
        owner = repo.split("/", 1)[0]

        def call() -> list[PullRequest]:
            pulls = self._repo(repo).get_pulls(state="all", head=f"{owner}:{head_branch}", sort="created",
                                               direction="desc")
            return list(pulls.get_page(0))

        found = self.transport.read(f"GET {repo}/pulls?head={head_branch}", call)
        return _pull_info(found[0]) if found else None

    def create_pull(self, repo: str, title: str, body: str, head: str, base: str, draft: bool = False) -> PullInfo:
        """Open a pull request; when one is already open for `head`, return that one instead."""
        try:
            pull = self.transport.write(f"POST {repo}/pulls", lambda: self._repo(repo).create_pull(
                title=title, body=body, head=head, base=base, draft=draft))
        except GitHubError as err:
            if err.status != 422 or ALREADY_EXISTS not in err.message.lower():
                raise
            existing = self.find_pull(repo, head)
            if existing is None:
                raise
            return existing
        return _pull_info(pull)

    def update_pull(self, repo: str, number: int, title: str | None = None, body: str | None = None) -> PullInfo:
        return self._edit_pull(repo, number, title=title, body=body)

    def close_pull(self, repo: str, number: int) -> PullInfo:
        return self._edit_pull(repo, number, state="closed")

    def _edit_pull(self, repo: str, number: int, **fields: str | None) -> PullInfo:
        changes: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}

        def call() -> PullRequest:
            pull = self._repo(repo).get_pull(number)  # lazy
            pull.edit(**{k: changes.get(k, NotSet) for k in ("title", "body", "state")})
            return pull

        return _pull_info(self.transport.write(f"PATCH {repo}/pulls/{number}", call))

    def add_labels(self, repo: str, number: int, labels: list[str]) -> None:
        if labels:
            self.transport.write(f"POST {repo}/issues/{number}/labels",
                                 lambda: self._repo(repo).get_issue(number).add_to_labels(*labels))

    def request_reviewers(self, repo: str, number: int, reviewers: list[str] | None = None,
                          team_reviewers: list[str] | None = None) -> None:
        if not reviewers and not team_reviewers:
            return
        self.transport.write(f"POST {repo}/pulls/{number}/requested_reviewers",
                             lambda: self._repo(repo).get_pull(number).create_review_request(
                                 reviewers=reviewers or NotSet, team_reviewers=team_reviewers or NotSet))

    def comment(self, repo: str, number: int, body: str) -> CommentInfo:
        made = self.transport.write(f"POST {repo}/issues/{number}/comments",
                                    lambda: self._repo(repo).get_issue(number).create_comment(body))
        return _comment_info(made)

    def list_comments(self, repo: str, number: int) -> list[CommentInfo]:
        """Every comment on the issue / pull request, oldest first; one request per 100."""
        pages = self._repo(repo).get_issue(number).get_comments()
        found: list[CommentInfo] = []
        for page in range(10_000):
            batch = self.transport.read(f"GET {repo}/issues/{number}/comments page {page + 1}",
                                        functools.partial(_comment_page, pages, page))
            found += batch
            if len(batch) < self.transport.github.per_page:
                return found
        return found

    # -- branches --------------------------------------------------------------------------------
    def branch_head(self, repo: str, branch: str) -> str | None:
        """The commit `branch` points at, or None when there is no such branch; one request."""
        try:
            return self.transport.read(f"GET {repo}/git/ref/heads/{branch}",
                                       lambda: self._repo(repo).get_git_ref(
                                           f"heads/{urllib.parse.quote(branch)}").object.sha)
        except NotFound:
            return None

    def delete_branch(self, repo: str, branch: str) -> bool:
        """Delete `branch`; False when it was already gone."""
        def call() -> None:
            # PyGithub's get_git_ref() addresses `git/ref/` (read-only); deleting needs `git/refs/`.
            url = f"{self._repo(repo).url}/git/refs/heads/{urllib.parse.quote(branch)}"
            GitRef(self.transport.github.requester, url=url).delete()

        try:
            self.transport.write(f"DELETE {repo}/git/refs/heads/{branch}", call)
        except GitHubError as err:
            if err.status in (404, 422):  # 422 "Reference does not exist"
                return False
            raise
        return True

    def branch_commit_authors(self, repo: str, branch: str, since_sha: str, limit: int = 50) -> list[CommitAuthor]:
        """Commits on `branch` after `since_sha` (first-parent walk, newest first): who pushed to the bot's branch.

        One request per commit; the bot's branch normally holds one or two.
        """
        sha = self.branch_head(repo, branch)
        found: list[CommitAuthor] = []
        while sha and sha != since_sha and len(found) < limit:
            commit = self.transport.read(f"GET {repo}/git/commits/{sha[:12]}",
                                         functools.partial(_git_commit, self._repo(repo), sha))
            found.append(commit[0])
            sha = commit[1]
        return found


def _git_commit(repo: Repository, sha: str) -> tuple[CommitAuthor, str | None]:
    commit = repo.get_git_commit(sha)  # lazy until the first attribute: then one request
    author = commit.author
    parent = commit.parents[0].sha if commit.parents else None
    return CommitAuthor(sha, author.name, author.email, commit.message), parent


def _pull_info(pull: PullRequest) -> PullInfo:
    # Only fields that list, create and edit responses all carry: reading any other would make
    # PyGithub fetch the whole pull request again.
    return PullInfo(number=pull.number, state=pull.state, merged=pull.merged_at is not None,
                    html_url=pull.html_url, head_sha=pull.head.sha, head_ref=pull.head.ref, base_ref=pull.base.ref,
                    title=pull.title, body=pull.body or "", draft=bool(pull.draft),
                    labels=tuple(label.name for label in pull.labels))


def _comment_info(comment: Any) -> CommentInfo:
    return CommentInfo(id=comment.id, author=comment.user.login if comment.user else "", body=comment.body or "",
                       created_at=comment.created_at.isoformat() if comment.created_at else "")


def _comment_page(pages: Any, page: int) -> list[CommentInfo]:
    return [_comment_info(c) for c in pages.get_page(page)]
