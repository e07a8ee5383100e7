"""Bring one repository's bot PR in line with its plan: open, update, or leave it alone.

The rules, in the order they are checked:
- never a duplicate: the PR is found by its head branch, whatever the state file says;
- a PR closed without merging is not reopened, and its change (content hash) is never proposed again;
  one comment on it says how to get it back; a different change may come after `limits.cooldown_days`;
- an open PR is updated only when the content hash changed;
- the branch is overwritten only while it is ours (its head is the commit we pushed last); after a
  human push the bot comments once and leaves the branch alone.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from git import Actor

from bot import prbody
from bot.config import Config
from bot.github.models import CommentInfo, CommitAuthor, PullInfo, RepoInfo
from bot.gitops import Push, publish
from bot.plan import RepoPlan
from bot.state import RepoState

HUMAN_EDITS_MARK = "<!-- ztbot: human-edits -->"
CLOSED_MARK = "<!-- ztbot: closed -->"
OPT_OUT_MARK = "<!-- ztbot: opted-out -->"


class Hub(Protocol):
    """The slice of `bot/github`'s client the PR sync uses."""

    def find_pull(self, repo: str, head_branch: str) -> PullInfo | None: ...

    def create_pull(self, repo: str, title: str, body: str, head: str, base: str, draft: bool) -> PullInfo: ...

    def update_pull(self, repo: str, number: int, title: str | None = None, body: str | None = None) -> PullInfo: ...

    def add_labels(self, repo: str, number: int, labels: Sequence[str]) -> None: ...

    def request_reviewers(self, repo: str, number: int, reviewers: Sequence[str],
                          team_reviewers: Sequence[str] = ()) -> None: ...

    def comment(self, repo: str, number: int, body: str) -> object: ...

    def list_comments(self, repo: str, number: int) -> list[CommentInfo]: ...

    def branch_head(self, repo: str, branch: str) -> str | None: ...

    def branch_commit_authors(self, repo: str, branch: str, since_sha: str) -> list[CommitAuthor]: ...

    def close_pull(self, repo: str, number: int) -> PullInfo: ...

    def delete_branch(self, repo: str, branch: str) -> bool: ...

    def git_remote(self, repo: str) -> tuple[str, str]:
        """(clone URL without credentials, token to send as an HTTP header)."""
        ...


@dataclass(frozen=True)
class Outcome:
    action: str  # opened / updated / unchanged / closed / human-edits / would-open / would-update
    detail: str = ""
    url: str = ""


def sync(hub: Hub, config: Config, info: RepoInfo, plan: RepoPlan, st: RepoState, may_open: bool = True,
         now: datetime.datetime | None = None, deferred: str = "") -> Outcome:
    """`may_open` False: a cap on new PRs is reached (`deferred` says which); updates still happen."""
    now = now or datetime.datetime.now(datetime.UTC)
    pull = current_pull(hub, config, info, st)
    if pull is not None:
        _remember(st, pull)
    if pull is not None and pull.state == "closed" and not pull.merged:
        note_closed(hub, config, info, st, pull, now)
        refused = refusal(config, st, plan, now)
        if refused:
            return Outcome("closed", f"PR #{pull.number} was closed unmerged; {refused}", pull.html_url)
    if pull is not None and pull.state == "open":
        return _update(hub, config, info, plan, st, pull)
    if not may_open:
        return Outcome("deferred", deferred or f"limits.new_prs_per_run ({config.limits.new_prs_per_run}) reached")
    return _open(hub, config, info, plan, st)


def current_pull(hub: Hub, config: Config, info: RepoInfo, st: RepoState) -> PullInfo | None:
    """The bot's newest PR, unless `--reset-repo` told the bot to forget it."""
    pull = hub.find_pull(info.full_name, config.pr.branch)
    return None if pull is not None and pull.number <= st.ignore_pulls_upto else pull


def note_closed(hub: Hub, config: Config, info: RepoInfo, st: RepoState, pull: PullInfo,
                now: datetime.datetime) -> None:
    """Remember what the owner said no to (from the PR's own metadata when the state lost it); comment once."""
    said_no = (prbody.parse_metadata(pull.body) or {}).get("content_hash") or st.content_hash
    if said_no and said_no not in st.closed_hashes:
        st.closed_hashes.append(said_no)
    if st.closed_pr != pull.number:
        st.closed_pr, st.closed_at, st.commented_closed = pull.number, now.isoformat(timespec="seconds"), False
    if st.commented_closed or _marked(hub, info, pull, CLOSED_MARK):
        st.commented_closed = True
        return
    hub.comment(info.full_name, pull.number, closed_comment(config, info.full_name))
    st.commented_closed = True


def refusal(config: Config, st: RepoState, plan: RepoPlan, now: datetime.datetime) -> str:
    """Why no new PR may be opened after a closed one (empty = one may)."""
    if plan.content_hash in st.closed_hashes:
        return "the same change is not proposed again"
    if not st.closed_at:
        return ""
    until = datetime.datetime.fromisoformat(st.closed_at) + datetime.timedelta(days=config.limits.cooldown_days)
    if now < until:
        return f"a different change may be proposed from {until.date().isoformat()} (limits.cooldown_days)"
    return ""


def closed_comment(config: Config, repo: str) -> str:
    source = config.source if config.source != "<defaults>" else "ztbot.toml"
    return (f"{CLOSED_MARK}\nztbot will not propose this change again, since this PR was closed without merging. "
            f"A materially different change may be proposed after {config.limits.cooldown_days} days "
            "(`limits.cooldown_days` in the bot's config).\n\nTo get this change back sooner, whoever runs the "
            f"bot can reset its memory of this repository:\n\n    ztbot run --config {source} --reset-repo {repo}\n\n"
            "To stop ztbot here altogether, add `.github/ztbot.toml` with `enabled = false`.")


def close_for_opt_out(hub: Hub, config: Config, info: RepoInfo, st: RepoState) -> Outcome:
    """The repository opted out: its open bot PR is closed with one comment, and the bot's branch deleted."""
    pull = current_pull(hub, config, info, st)
    if pull is None or pull.state != "open":
        return Outcome("opted-out", "no open PR")
    if not _marked(hub, info, pull, OPT_OUT_MARK):
        hub.comment(info.full_name, pull.number, f"{OPT_OUT_MARK}\nThis repository opted out of ztbot "
                    "(`.github/ztbot.toml`: `enabled = false`), so ztbot closes its PR. Remove the setting to "
                    "opt back in.")
    closed = hub.close_pull(info.full_name, pull.number)
    _remember(st, closed)
    head = hub.branch_head(info.full_name, config.pr.branch)
    if head is not None and not _ours(hub, config, info, st, head):
        return Outcome("opted-out", f"PR #{pull.number} closed; branch kept (others pushed to it)", pull.html_url)
    if head is not None:
        hub.delete_branch(info.full_name, config.pr.branch)
    st.pushed_sha = ""
    return Outcome("opted-out", f"PR #{pull.number} closed, branch {config.pr.branch} deleted", pull.html_url)


def _marked(hub: Hub, info: RepoInfo, pull: PullInfo, mark: str) -> bool:
    # The state file may be new; the mark in our earlier comment still tells.
    return any(mark in c.body for c in hub.list_comments(info.full_name, pull.number))


def _remember(st: RepoState, pull: PullInfo) -> None:
    st.pr_number, st.pr_url, st.pr_draft = pull.number, pull.html_url, pull.draft
    st.pr_state = "merged" if pull.merged else ("open" if pull.state == "open" else "closed")


def _update(hub: Hub, config: Config, info: RepoInfo, plan: RepoPlan, st: RepoState, pull: PullInfo) -> Outcome:
    meta = prbody.parse_metadata(pull.body) or {}
    if plan.content_hash in (st.content_hash, meta.get("content_hash")):
        st.content_hash = plan.content_hash
        return Outcome("unchanged", f"PR #{pull.number} is up to date", pull.html_url)
    head = hub.branch_head(info.full_name, config.pr.branch)
    if head is not None and not _ours(hub, config, info, st, head):
        return _human_edits(hub, config, info, st, pull)
    st.pushed_sha = _push(hub, config, info, plan, lease=head)
    hub.update_pull(info.full_name, pull.number, title=prbody.title(config), body=prbody.render(plan))
    st.content_hash = plan.content_hash
    return Outcome("updated", f"PR #{pull.number}", pull.html_url)


def _open(hub: Hub, config: Config, info: RepoInfo, plan: RepoPlan, st: RepoState) -> Outcome:
    head = hub.branch_head(info.full_name, config.pr.branch)
    if head is not None and not _ours(hub, config, info, st, head):
        return Outcome("blocked", f"branch {config.pr.branch} exists with commits by others; not overwritten")
    st.pushed_sha = _push(hub, config, info, plan, lease=head)
    pull = hub.create_pull(info.full_name, prbody.title(config), prbody.render(plan), config.pr.branch,
                           plan.default_branch, draft=_draft(config, plan))
    _remember(st, pull)
    st.content_hash, st.commented_human_edits = plan.content_hash, False
    _decorate(hub, config, info, pull, plan)
    return Outcome("opened", f"PR #{pull.number}", pull.html_url)


def _decorate(hub: Hub, config: Config, info: RepoInfo, pull: PullInfo, plan: RepoPlan) -> None:
    # The repository's own `.github/ztbot.toml` adds to the org's labels and reviewers, never replaces them.
    labels = _union(config.pr.labels, plan.settings.labels)
    reviewers = _union(config.pr.reviewers, plan.settings.reviewers)
    if labels:
        hub.add_labels(info.full_name, pull.number, labels)
    if reviewers or config.pr.team_reviewers:
        hub.request_reviewers(info.full_name, pull.number, reviewers, config.pr.team_reviewers)


def _union(first: Sequence[str], second: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def _draft(config: Config, plan: RepoPlan) -> bool:
    return config.pr.draft == "always" or (config.pr.draft == "auto" and bool(plan.needs_setup))


def _ours(hub: Hub, config: Config, info: RepoInfo, st: RepoState, head: str) -> bool:
    """The branch is ours when its head is what we pushed; with no record, when only the bot committed."""
    if st.pushed_sha:
        return head == st.pushed_sha
    base = info.head_oid or ""
    authors = hub.branch_commit_authors(info.full_name, config.pr.branch, base)
    return all(a.email == config.pr.author_email for a in authors)


def _human_edits(hub: Hub, config: Config, info: RepoInfo, st: RepoState, pull: PullInfo) -> Outcome:
    outcome = Outcome("human-edits", f"PR #{pull.number}: others pushed to {config.pr.branch}; not overwritten",
                      pull.html_url)
    if st.commented_human_edits or _marked(hub, info, pull, HUMAN_EDITS_MARK):
        st.commented_human_edits = True
        return outcome
    hub.comment(info.full_name, pull.number, human_edits_comment(config))
    st.commented_human_edits = True
    return outcome


def human_edits_comment(config: Config) -> str:
    return (f"{HUMAN_EDITS_MARK}\nztbot has new changes for this repository, but `{config.pr.branch}` has commits "
            "that ztbot did not make, so it will not overwrite them and leaves this PR as it is. Review it as it "
            "stands; once it is merged, the next run proposes whatever is still left to fix.")


def _push(hub: Hub, config: Config, info: RepoInfo, plan: RepoPlan, lease: str | None) -> str:
    url, token = hub.git_remote(info.full_name)
    files = {c.path: c.after for c in plan.changes}
    author = Actor(config.pr.author_name, config.pr.author_email)
    return publish(Push(info.full_name, url, token, plan.default_branch, plan.base_sha, config.pr.branch, files,
                        prbody.commit_message(plan), author, lease))
