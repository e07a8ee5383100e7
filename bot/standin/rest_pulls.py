"""Pull requests: list (head/base/state filters), create, get, update, request reviewers."""

from __future__ import annotations

from typing import Any

from bot.standin import shapes
from bot.standin.rest import body_field, repo_meta
from bot.standin.state import Issue, PullData, RepoMeta, now_iso
from bot.standin.web import ApiError, Ctx, Response, Router, not_found, paged, validation_failed

router = Router()
DOC_PULLS = "https://docs.github.com/rest/pulls/pulls"


def _side(ctx: Ctx, meta: RepoMeta, ref: str, sha: str, owner: str) -> dict[str, Any]:
    return {
        "label": f"{owner}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": shapes.user(ctx.gh, owner),
        "repo": shapes.repository(ctx.gh, meta, full=False),
    }


def live_shas(ctx: Ctx, meta: RepoMeta, pull: PullData, open_: bool) -> tuple[str, str]:
    """Head/base shas: follow the branches while the PR is open, as GitHub does after a push."""
    if not open_:
        return pull.head_sha, pull.base_sha
    bare = ctx.gh.bare(meta.owner, meta.name)
    head = bare.resolve(f"refs/heads/{pull.head_ref}") or pull.head_sha
    base = bare.resolve(f"refs/heads/{pull.base_ref}") or pull.base_sha
    pull.head_sha, pull.base_sha = head, base
    return head, base


def pull_body(ctx: Ctx, meta: RepoMeta, issue: Issue, full: bool = True) -> dict[str, Any]:
    assert issue.pull is not None
    pull, api = issue.pull, f"{ctx.gh.api_url}/repos/{meta.full_name}"
    html = f"{ctx.gh.url}/{meta.full_name}/pull/{issue.number}"
    head_sha, base_sha = live_shas(ctx, meta, pull, issue.state == "open")
    body = {
        "url": f"{api}/pulls/{issue.number}",
        "id": issue.id,
        "node_id": shapes.node_id("PullRequest", issue.id),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": f"{api}/issues/{issue.number}",
        "commits_url": f"{api}/pulls/{issue.number}/commits",
        "review_comments_url": f"{api}/pulls/{issue.number}/comments",
        "review_comment_url": f"{api}/pulls/comments{{/number}}",
        "comments_url": f"{api}/issues/{issue.number}/comments",
        "statuses_url": f"{api}/statuses/{head_sha}",
        "number": issue.number,
        "state": issue.state,
        "locked": False,
        "title": issue.title,
        "user": shapes.user(ctx.gh, issue.user),
        "body": issue.body,
        "labels": [shapes.label(ctx.gh, issue.repo, n) for n in issue.labels],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": issue.created_at,
        "updated_at": issue.updated_at,
        "closed_at": issue.closed_at,
        "merged_at": pull.merged_at,
        "merge_commit_sha": None,
        "assignee": shapes.user(ctx.gh, issue.assignees[0]) if issue.assignees else None,
        "assignees": [shapes.user(ctx.gh, a) for a in issue.assignees],
        "requested_reviewers": [shapes.user(ctx.gh, r) for r in pull.requested_reviewers],
        "requested_teams": [_team(ctx, meta, t) for t in pull.requested_teams],
        "head": _side(ctx, meta, pull.head_ref, head_sha, pull.head_owner),
        "base": _side(ctx, meta, pull.base_ref, base_sha, meta.owner),
        "_links": {
            key: {"href": href}
            for key, href in (
                ("self", f"{api}/pulls/{issue.number}"),
                ("html", html),
                ("issue", f"{api}/issues/{issue.number}"),
                ("comments", f"{api}/issues/{issue.number}/comments"),
                ("review_comments", f"{api}/pulls/{issue.number}/comments"),
                ("review_comment", f"{api}/pulls/comments{{/number}}"),
                ("commits", f"{api}/pulls/{issue.number}/commits"),
                ("statuses", f"{api}/statuses/{head_sha}"),
            )
        },
        "author_association": "NONE",
        "auto_merge": None,
        "draft": pull.draft,
    }
    if full:
        body.update(_full_fields(ctx, meta, issue, head_sha, base_sha))
    return body


def _full_fields(ctx: Ctx, meta: RepoMeta, issue: Issue, head: str, base: str) -> dict[str, Any]:
    bare = ctx.gh.bare(meta.owner, meta.name)
    commits = len(bare.text("rev-list", f"{base}..{head}").split()) if head != base else 0
    changed = len(bare.changed_paths(bare.text("merge-base", base, head), head)) if commits else 0
    merged = issue.pull is not None and issue.pull.merged_at is not None
    return {
        "merged": merged,
        "mergeable": True if issue.state == "open" else None,
        "rebaseable": True,
        "mergeable_state": "clean",
        "merged_by": None,
        "comments": len(issue.comment_ids),
        "review_comments": 0,
        "maintainer_can_modify": issue.pull.maintainer_can_modify if issue.pull else False,
        "commits": commits,
        "additions": 0,
        "deletions": 0,
        "changed_files": changed,
    }


def _team(ctx: Ctx, meta: RepoMeta, slug: str) -> dict[str, Any]:
    ident = abs(hash((meta.owner, slug))) % 10**6
    url = f"{ctx.gh.api_url}/orgs/{meta.owner}/teams/{slug}"
    return {
        "id": ident,
        "node_id": shapes.node_id("Team", ident),
        "url": url,
        "html_url": f"{ctx.gh.url}/orgs/{meta.owner}/teams/{slug}",
        "name": slug,
        "slug": slug,
        "description": None,
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "members_url": f"{url}/members{{/member}}",
        "repositories_url": f"{url}/repos",
        "parent": None,
        "type": "team",
    }


def find_pull(ctx: Ctx, meta: RepoMeta, number: str) -> Issue:
    issue = ctx.gh.state.get_issue(meta.full_name, int(number)) if number.isdigit() else None
    if issue is None or issue.pull is None:
        raise not_found(f"{DOC_PULLS}#get-a-pull-request")
    return issue


@router.route("GET", "/repos/{owner}/{repo}/pulls")
def list_pulls(ctx: Ctx, owner: str, repo: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    state, head, base = ctx.q("state", "open"), ctx.q("head"), ctx.q("base")
    found = []
    for issue in ctx.gh.state.repo_issues(meta.full_name):
        pull = issue.pull
        if pull is None or state not in ("all", issue.state):
            continue
        if head and head.lower() not in (f"{pull.head_owner}:{pull.head_ref}".lower(), pull.head_ref.lower()):
            continue
        if base and base != pull.base_ref:
            continue
        found.append(issue)
    reverse = ctx.q("direction", "desc") == "desc"
    key = "updated_at" if ctx.q("sort") == "updated" else "number"
    found.sort(key=lambda i: getattr(i, key), reverse=reverse)
    return paged(ctx, [pull_body(ctx, meta, i, full=False) for i in found])


@router.route("POST", "/repos/{owner}/{repo}/pulls")
def create_pull(ctx: Ctx, owner: str, repo: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    body = ctx.json()
    head_spec, base = body_field(body, "head"), body_field(body, "base")
    title = body.get("title")
    if not title and body.get("issue") is None:
        raise validation_failed(resource="PullRequest", field="title", code="missing_field")
    head_owner, _, head_ref = head_spec.rpartition(":")
    head_owner = head_owner or meta.owner
    bare = ctx.gh.bare(owner, repo)
    head_sha, base_sha = bare.resolve(f"refs/heads/{head_ref}"), bare.resolve(f"refs/heads/{base}")
    if head_sha is None:
        raise validation_failed(resource="PullRequest", field="head", code="invalid")
    if base_sha is None:
        raise validation_failed(resource="PullRequest", field="base", code="invalid")
    with ctx.gh.state.lock:
        for other in ctx.gh.state.repo_issues(meta.full_name):
            if (
                other.pull
                and other.state == "open"
                and other.pull.head_ref == head_ref
                and other.pull.head_owner.lower() == head_owner.lower()
                and other.pull.base_ref == base
            ):
                raise validation_failed(
                    f"A pull request already exists for {head_owner}:{head_ref}.", resource="PullRequest"
                )
        if bare.is_ancestor(head_sha, base_sha):
            raise validation_failed(f"No commits between {base} and {head_ref}", resource="PullRequest")
        pull = PullData(
            head_ref,
            head_owner,
            head_sha,
            base,
            base_sha,
            draft=bool(body.get("draft")),
            maintainer_can_modify=body.get("maintainer_can_modify", True),
        )
        issue = ctx.gh.state.new_issue(
            meta.full_name, str(title), ctx.login, body=body.get("body"), pull=pull
        )
    html = pull_body(ctx, meta, issue)
    return Response(201, html, {"Location": html["url"]})


@router.route("GET", "/repos/{owner}/{repo}/pulls/{number}")
def get_pull(ctx: Ctx, owner: str, repo: str, number: str) -> dict[str, Any]:
    meta = repo_meta(ctx, owner, repo)
    return pull_body(ctx, meta, find_pull(ctx, meta, number))


@router.route("PATCH", "/repos/{owner}/{repo}/pulls/{number}")
def update_pull(ctx: Ctx, owner: str, repo: str, number: str) -> dict[str, Any]:
    meta = repo_meta(ctx, owner, repo)
    issue = find_pull(ctx, meta, number)
    body = ctx.json()
    assert issue.pull is not None
    with ctx.gh.state.lock:
        for key in ("title", "body"):
            if key in body:
                setattr(issue, key, body[key])
        if "base" in body:
            if ctx.gh.bare(owner, repo).resolve(f"refs/heads/{body['base']}") is None:
                raise validation_failed(resource="PullRequest", field="base", code="invalid")
            issue.pull.base_ref = body["base"]
        if "maintainer_can_modify" in body:
            issue.pull.maintainer_can_modify = bool(body["maintainer_can_modify"])
        if "state" in body:
            set_state(ctx, meta, issue, body["state"])
        issue.touch()
    return pull_body(ctx, meta, issue)


def set_state(ctx: Ctx, meta: RepoMeta, issue: Issue, state: str, reason: str | None = None) -> None:
    if state not in ("open", "closed"):
        raise validation_failed(resource="Issue", field="state", code="invalid")
    if state == "open" and issue.state == "closed" and issue.pull:
        if issue.pull.merged_at:
            raise validation_failed("Cannot reopen a merged pull request", resource="PullRequest")
        if ctx.gh.bare(meta.owner, meta.name).resolve(f"refs/heads/{issue.pull.head_ref}") is None:
            raise validation_failed(
                "state cannot be changed. The head branch has been deleted.", resource="PullRequest"
            )
    if state != issue.state:
        issue.state = state
        issue.closed_at = now_iso() if state == "closed" else None
        issue.state_reason = reason or ("completed" if state == "closed" and not issue.pull else None)
        if state == "open":
            issue.state_reason = "reopened" if not issue.pull else None


@router.route("POST", "/repos/{owner}/{repo}/pulls/{number}/requested_reviewers")
def request_reviewers(ctx: Ctx, owner: str, repo: str, number: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    issue = find_pull(ctx, meta, number)
    body = ctx.json()
    reviewers, teams = list(body.get("reviewers") or []), list(body.get("team_reviewers") or [])
    if not reviewers and not teams:
        raise validation_failed(resource="PullRequest", field="reviewers", code="missing_field")
    if issue.user in reviewers:
        raise validation_failed(
            "Review cannot be requested from pull request author.", resource="PullRequest"
        )
    assert issue.pull is not None
    with ctx.gh.state.lock:
        for login in reviewers:
            if login not in issue.pull.requested_reviewers:
                issue.pull.requested_reviewers.append(login)
        for slug in teams:
            if slug not in issue.pull.requested_teams:
                issue.pull.requested_teams.append(slug)
        issue.touch()
    return Response(201, pull_body(ctx, meta, issue, full=False))


@router.route("PUT", "/repos/{owner}/{repo}/pulls/{number}/merge")
def merge_pull(ctx: Ctx, owner: str, repo: str, number: str) -> dict[str, Any]:
    """A fast-forward or merge-commit merge, enough for demos where a human merges the PR."""
    meta = repo_meta(ctx, owner, repo)
    issue = find_pull(ctx, meta, number)
    assert issue.pull is not None
    if issue.state != "open":
        raise ApiError(405, "Pull Request is not mergeable", doc=f"{DOC_PULLS}#merge-a-pull-request")
    sha = ctx.gh.merge(meta.owner, meta.name, issue.number)
    return {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}
