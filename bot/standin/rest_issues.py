"""Issues (which include pull requests), comments, labels, and issue search."""

from __future__ import annotations

import shlex
from typing import Any

from bot.standin import shapes
from bot.standin.rest import body_field, can_see, repo_meta
from bot.standin.rest_pulls import set_state
from bot.standin.state import Issue, RepoMeta, now_iso
from bot.standin.web import ApiError, Ctx, Response, Router, not_found, paged, paginate

router = Router()
DOC_ISSUES = "https://docs.github.com/rest/issues/issues"


def find_issue(ctx: Ctx, meta: RepoMeta, number: str) -> Issue:
    issue = ctx.gh.state.get_issue(meta.full_name, int(number)) if number.isdigit() else None
    if issue is None:
        raise not_found(f"{DOC_ISSUES}#get-an-issue")
    return issue


@router.route("GET", "/repos/{owner}/{repo}/issues")
def list_issues(ctx: Ctx, owner: str, repo: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    state = ctx.q("state", "open")
    wanted = [name for name in (ctx.q("labels") or "").split(",") if name]
    creator = ctx.q("creator")
    found = [
        i
        for i in ctx.gh.state.repo_issues(meta.full_name)
        if state in ("all", i.state)
        and all(w in i.labels for w in wanted)
        and (creator is None or i.user == creator)
    ]
    found.sort(key=lambda i: i.number, reverse=ctx.q("direction", "desc") == "desc")
    return paged(ctx, [shapes.issue(ctx.gh, i) for i in found])


@router.route("POST", "/repos/{owner}/{repo}/issues")
def create_issue(ctx: Ctx, owner: str, repo: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    body = ctx.json()
    title = body_field(body, "title", (str, int))
    labels = [lbl if isinstance(lbl, str) else lbl.get("name") for lbl in body.get("labels") or []]
    ctx.gh.state.ensure_labels(meta.full_name, labels)
    issue = ctx.gh.state.new_issue(
        meta.full_name,
        str(title),
        ctx.login,
        body=body.get("body"),
        labels=labels,
        assignees=list(body.get("assignees") or []),
    )
    data = shapes.issue(ctx.gh, issue)
    return Response(201, data, {"Location": data["url"]})


@router.route("GET", "/repos/{owner}/{repo}/issues/{number}")
def get_issue(ctx: Ctx, owner: str, repo: str, number: str) -> dict[str, Any]:
    meta = repo_meta(ctx, owner, repo)
    return shapes.issue(ctx.gh, find_issue(ctx, meta, number))


@router.route("PATCH", "/repos/{owner}/{repo}/issues/{number}")
def update_issue(ctx: Ctx, owner: str, repo: str, number: str) -> dict[str, Any]:
    meta = repo_meta(ctx, owner, repo)
    issue = find_issue(ctx, meta, number)
    body = ctx.json()
    with ctx.gh.state.lock:
        for key in ("title", "body"):
            if key in body:
                setattr(issue, key, body[key])
        if "labels" in body:
            issue.labels = [lbl if isinstance(lbl, str) else lbl.get("name") for lbl in body["labels"] or []]
            ctx.gh.state.ensure_labels(meta.full_name, issue.labels)
        if "assignees" in body:
            issue.assignees = list(body["assignees"] or [])
        if "state" in body:
            set_state(ctx, meta, issue, body["state"], body.get("state_reason"))
        issue.touch()
    return shapes.issue(ctx.gh, issue)


# -- comments ------------------------------------------------------------------------------------
@router.route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def get_comment(ctx: Ctx, owner: str, repo: str, comment_id: str) -> dict[str, Any]:
    meta = repo_meta(ctx, owner, repo)
    return shapes.comment(ctx.gh, _find_comment(ctx, meta, comment_id))


@router.route("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def update_comment(ctx: Ctx, owner: str, repo: str, comment_id: str) -> dict[str, Any]:
    meta = repo_meta(ctx, owner, repo)
    comment = _find_comment(ctx, meta, comment_id)
    with ctx.gh.state.lock:
        comment.body = body_field(ctx.json(), "body")
        comment.updated_at = now_iso()
    return shapes.comment(ctx.gh, comment)


def _find_comment(ctx: Ctx, meta: RepoMeta, comment_id: str) -> Any:
    comment = ctx.gh.state.comments.get(int(comment_id)) if comment_id.isdigit() else None
    if comment is None or comment.repo != meta.full_name:
        raise not_found("https://docs.github.com/rest/issues/comments#get-an-issue-comment")
    return comment


@router.route("GET", "/repos/{owner}/{repo}/issues/{number}/comments")
def list_comments(ctx: Ctx, owner: str, repo: str, number: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    issue = find_issue(ctx, meta, number)
    comments = [ctx.gh.state.comments[c] for c in issue.comment_ids]
    return paged(ctx, [shapes.comment(ctx.gh, c) for c in comments])


@router.route("POST", "/repos/{owner}/{repo}/issues/{number}/comments")
def create_comment(ctx: Ctx, owner: str, repo: str, number: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    issue = find_issue(ctx, meta, number)
    comment = ctx.gh.state.add_comment(issue, ctx.login, body_field(ctx.json(), "body"))
    data = shapes.comment(ctx.gh, comment)
    return Response(201, data, {"Location": data["url"]})


# -- labels --------------------------------------------------------------------------------------
def _label_names(body: Any) -> list[str]:
    # Upstream accepts {"labels": [...]} and a bare array (which PyGithub sends), of names or {"name": ...}.
    raw = body.get("labels", []) if isinstance(body, dict) else body
    if not isinstance(raw, list):
        raise ApiError(422, "Invalid request.\n\nFor 'links/0/schema', nil is not an array.")
    return [item if isinstance(item, str) else item.get("name") for item in raw]


@router.route("GET", "/repos/{owner}/{repo}/issues/{number}/labels")
def list_labels(ctx: Ctx, owner: str, repo: str, number: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    issue = find_issue(ctx, meta, number)
    return paged(ctx, [shapes.label(ctx.gh, meta.full_name, n) for n in issue.labels])


@router.route("POST", "/repos/{owner}/{repo}/issues/{number}/labels")
@router.route("PUT", "/repos/{owner}/{repo}/issues/{number}/labels")
def add_labels(ctx: Ctx, owner: str, repo: str, number: str) -> list[dict[str, Any]]:
    meta = repo_meta(ctx, owner, repo)
    issue = find_issue(ctx, meta, number)
    names = _label_names(ctx.body)
    with ctx.gh.state.lock:
        ctx.gh.state.ensure_labels(meta.full_name, names)
        if ctx.method == "PUT":
            issue.labels = []
        issue.labels += [n for n in names if n not in issue.labels]
        issue.touch()
    return [shapes.label(ctx.gh, meta.full_name, n) for n in issue.labels]


@router.route("DELETE", "/repos/{owner}/{repo}/issues/{number}/labels/{name}")
def remove_label(ctx: Ctx, owner: str, repo: str, number: str, name: str) -> list[dict[str, Any]]:
    meta = repo_meta(ctx, owner, repo)
    issue = find_issue(ctx, meta, number)
    with ctx.gh.state.lock:
        if name not in issue.labels:
            raise ApiError(404, "Label does not exist", doc="https://docs.github.com/rest/issues/labels")
        issue.labels.remove(name)
    return [shapes.label(ctx.gh, meta.full_name, n) for n in issue.labels]


# -- search ------------------------------------------------------------------------------------------
@router.route("GET", "/search/issues", resource="search")
def search_issues(ctx: Ctx) -> Response:
    query = ctx.q("q")
    if not query:
        raise ApiError(
            422, "Validation Failed", errors=[{"resource": "Search", "field": "q", "code": "missing"}]
        )
    try:
        terms = shlex.split(query)
    except ValueError:
        terms = query.split()
    found = [
        i
        for meta in ctx.gh.repos()
        if can_see(ctx.gh, ctx.token, meta)
        for i in ctx.gh.state.repo_issues(meta.full_name)
        if all(_term_matches(i, meta, t) for t in terms)
    ]
    found.sort(key=lambda i: i.created_at, reverse=True)
    chunk, headers = paginate(ctx, found)
    items = [{**shapes.issue(ctx.gh, i), "score": 1.0} for i in chunk]
    return Response(
        200,
        {"total_count": len(found), "incomplete_results": False, "items": items, "search_type": "lexical"},
        headers,
    )


def _term_matches(issue: Issue, meta: RepoMeta, term: str) -> bool:
    """GitHub search qualifiers the bot may use; bare words search title and body."""
    key, sep, value = term.partition(":")
    if not sep:
        return term.lower() in f"{issue.title} {issue.body or ''}".lower()
    value = value.lower()
    checks = {
        "is": lambda: (
            value in (("pr", "pull-request") if issue.pull else ("issue",))
            or value == issue.state
            or (value == "merged" and bool(issue.pull and issue.pull.merged_at))
        ),
        "type": lambda: value == ("pr" if issue.pull else "issue"),
        "state": lambda: value == issue.state,
        "repo": lambda: value == meta.full_name.lower(),
        "org": lambda: value == meta.owner.lower(),
        "user": lambda: value == meta.owner.lower(),
        "author": lambda: value in (issue.user.lower(), "app/" + issue.user.lower().removesuffix("[bot]")),
        "label": lambda: value in (n.lower() for n in issue.labels),
        "head": lambda: bool(issue.pull and issue.pull.head_ref.lower() == value),
        "base": lambda: bool(issue.pull and issue.pull.base_ref.lower() == value),
        "in": lambda: True,
        "archived": lambda: value == str(meta.archived).lower(),
    }
    check = checks.get(key.lower())
    return check() if check else True
