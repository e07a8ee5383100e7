"""The dashboard issue: one issue in `dashboard.repo` holding the latest posture report.

Found again by a hidden marker in its body, or by its title and label when the marker was edited
away; created only when neither finds it, so two runs never make two issues.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.config import Config
from bot.github.admin import IssueInfo
from bot.posture import RepoReport
from bot.state import RepoState, State

MARKER = "<!-- ztbot: dashboard -->"
LABEL = "ztbot"
MAX_BODY = 65_000  # GitHub refuses bodies over 65536 characters


class DashboardHub(Protocol):
    def list_issues(self, repo: str, labels: Sequence[str] = (), state: str = "all") -> list[IssueInfo]: ...

    def create_issue(self, repo: str, title: str, body: str, labels: Sequence[str] = ()) -> IssueInfo: ...

    def update_issue(self, repo: str, number: int, body: str, state: str = "open") -> IssueInfo: ...


@dataclass(frozen=True)
class Published:
    action: str  # created / updated / unchanged
    url: str


def marker(shard: str = "") -> str:
    # Each shard of a sharded run sees only its repositories, so each keeps its own issue.
    return MARKER if not shard else MARKER.replace(" -->", f" shard {shard} -->")


def body(report: str, shard: str = "") -> str:
    text = f"{marker(shard)}\n{report}"
    if len(text) > MAX_BODY:
        text = text[:MAX_BODY - 80] + "\n\n… (truncated; `ztbot scan --org` prints the whole report)\n"
    return text


def title(config: Config, shard: str = "") -> str:
    return config.dashboard.title + (f" (shard {shard})" if shard else "")


def find(hub: DashboardHub, config: Config, shard: str = "") -> IssueInfo | None:
    issues = hub.list_issues(config.dashboard.repo, labels=[LABEL])
    marked = [i for i in issues if marker(shard) in i.body.split("\n", 1)[0]]
    titled = [i for i in issues if i.title == title(config, shard)]
    found = sorted(marked or titled, key=lambda i: i.number)
    return found[0] if found else None  # the oldest: a stray duplicate made by hand is not adopted


def publish(hub: DashboardHub, config: Config, report: str, shard: str = "") -> Published:
    text = body(report, shard)
    issue = find(hub, config, shard)
    if issue is None:
        made = hub.create_issue(config.dashboard.repo, title(config, shard), text, [LABEL])
        return Published("created", made.html_url)
    if issue.body == text and issue.state == "open":
        return Published("unchanged", issue.html_url)
    return Published("updated", hub.update_issue(config.dashboard.repo, issue.number, text).html_url)


def repo_report(full_name: str, st: RepoState) -> RepoReport:
    """A repository's posture as the state remembers it (the run does not read unmoved repositories again)."""
    pr_state = "draft" if st.pr_state == "open" and st.pr_draft else st.pr_state
    return RepoReport(full_name, skipped="" if st.opted_out else st.skipped, opted_out=st.opted_out,
                      pr_state=pr_state, pr_url=st.pr_url, reviews_required=st.reviews_required,
                      secrets_before=tuple(st.migrated_secrets), ready_to_delete=tuple(st.ready_to_delete),
                      credential_counts=dict(st.credentials), missing_permissions=st.jobs_without_permissions)


def reports(state: State) -> list[RepoReport]:
    return [repo_report(name, st) for name, st in sorted(state.repos.items())]
