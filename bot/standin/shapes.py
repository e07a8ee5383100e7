"""JSON bodies shaped like GitHub's, with every URL built from the stand-in's own base URL."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from bot.standin.gitstore import BareRepo, CommitInfo
from bot.standin.state import Comment, Issue, RepoMeta, now_iso

if TYPE_CHECKING:
    from bot.standin.server import StandIn

# The `{owner}/{repo}`-relative URL templates GitHub puts on every repository object.
_REPO_URLS = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0:{kind}{number}".encode()).decode()


def user(gh: StandIn, login: str) -> dict[str, Any]:
    ident, kind = gh.state.account(login)
    api = f"{gh.api_url}/users/{login}"
    return {
        "login": login,
        "id": ident,
        "node_id": node_id("User", ident),
        "avatar_url": f"{gh.url}/avatars/{login}",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{gh.url}/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": "Bot" if login.endswith("[bot]") else kind,
        "site_admin": False,
        "user_view_type": "public",
    }


def repository(gh: StandIn, meta: RepoMeta, full: bool = True) -> dict[str, Any]:
    repo = gh.bare(meta.owner, meta.name)
    api = f"{gh.api_url}/repos/{meta.full_name}"
    default = repo.head_branch()
    body: dict[str, Any] = {
        "id": meta.id,
        "node_id": node_id("Repository", meta.id),
        "name": meta.name,
        "full_name": meta.full_name,
        "private": meta.private,
        "owner": user(gh, meta.owner),
        "html_url": f"{gh.url}/{meta.full_name}",
        "description": meta.description,
        "fork": meta.fork,
        "url": api,
        **{key: api + suffix for key, suffix in _REPO_URLS.items()},
    }
    extra = {
        "git_url": f"{gh.url}/{meta.full_name}.git".replace("http://", "git://"),
        "ssh_url": f"git@127.0.0.1:{meta.full_name}.git",
        "clone_url": gh.clone_url(meta.owner, meta.name),
        "svn_url": f"{gh.url}/{meta.full_name}",
        "mirror_url": None,
        "homepage": None,
        "language": None,
        "forks_count": 0,
        "forks": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "watchers": 0,
        "size": repo.disk_kb(),
        "default_branch": default,
        "open_issues_count": gh.open_issue_count(meta),
        "open_issues": gh.open_issue_count(meta),
        "is_template": False,
        "topics": list(meta.topics),
        "has_issues": True,
        "has_projects": True,
        "has_wiki": True,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "archived": meta.archived,
        "disabled": False,
        "visibility": "private" if meta.private else "public",
        "pushed_at": pushed_at(repo),
        "created_at": meta.created_at,
        "updated_at": pushed_at(repo),
        "license": None,
        "allow_forking": True,
        "web_commit_signoff_required": False,
        "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
    }
    body.update(extra)
    if full:
        body.update({"network_count": 0, "subscribers_count": 0, "temp_clone_token": None})
    return body


def pushed_at(repo: BareRepo) -> str:
    head = repo.resolve("HEAD")
    return repo.commit_info(head).committer_date.replace("+00:00", "Z") if head else now_iso()


def git_user(name: str, email: str, date: str) -> dict[str, str]:
    return {"name": name, "email": email, "date": date.replace("+00:00", "Z")}


def unsigned() -> dict[str, Any]:
    """The `verification` object of an unsigned commit (the stand-in never signs)."""
    return {"verified": False, "reason": "unsigned", "signature": None, "payload": None, "verified_at": None}


def commit(gh: StandIn, meta: RepoMeta, info: CommitInfo) -> dict[str, Any]:
    api = f"{gh.api_url}/repos/{meta.full_name}"
    return {
        "sha": info.sha,
        "node_id": node_id("Commit", int(info.sha[:8], 16)),
        "url": f"{api}/commits/{info.sha}",
        "html_url": f"{gh.url}/{meta.full_name}/commit/{info.sha}",
        "comments_url": f"{api}/commits/{info.sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{info.sha}",
            "message": info.message,
            "comment_count": 0,
            "author": git_user(info.author_name, info.author_email, info.author_date),
            "committer": git_user(info.committer_name, info.committer_email, info.committer_date),
            "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
            "verification": unsigned(),
        },
        "author": None,
        "committer": None,
        "parents": [
            {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{gh.url}/{meta.full_name}/commit/{p}"}
            for p in info.parents
        ],
    }


def git_commit(gh: StandIn, meta: RepoMeta, info: CommitInfo) -> dict[str, Any]:
    api = f"{gh.api_url}/repos/{meta.full_name}"
    return {
        "sha": info.sha,
        "node_id": node_id("Commit", int(info.sha[:8], 16)),
        "url": f"{api}/git/commits/{info.sha}",
        "html_url": f"{gh.url}/{meta.full_name}/commit/{info.sha}",
        "message": info.message,
        "author": git_user(info.author_name, info.author_email, info.author_date),
        "committer": git_user(info.committer_name, info.committer_email, info.committer_date),
        "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
        "parents": [
            {"sha": p, "url": f"{api}/git/commits/{p}", "html_url": f"{gh.url}/{meta.full_name}/commit/{p}"}
            for p in info.parents
        ],
        "verification": unsigned(),
    }


def git_ref(gh: StandIn, meta: RepoMeta, ref: str, sha: str) -> dict[str, Any]:
    api = f"{gh.api_url}/repos/{meta.full_name}"
    kind = gh.bare(meta.owner, meta.name).object_type(sha) or "commit"
    return {
        "ref": ref,
        "node_id": node_id("Ref", abs(hash(ref)) % 10**9),
        "url": f"{api}/git/{ref}",
        "object": {"type": kind, "sha": sha, "url": f"{api}/git/{kind}s/{sha}"},
    }


def label(gh: StandIn, repo: str, name: str) -> dict[str, Any]:
    color = gh.state.labels.get(repo, {}).get(name, "ededed")
    ident = abs(hash((repo, name))) % 10**9
    return {
        "id": ident,
        "node_id": node_id("Label", ident),
        "url": f"{gh.api_url}/repos/{repo}/labels/{name}",
        "name": name,
        "description": None,
        "color": color,
        "default": False,
    }


def _issue_common(gh: StandIn, issue: Issue) -> dict[str, Any]:
    api = f"{gh.api_url}/repos/{issue.repo}"
    return {
        "id": issue.id,
        "node_id": node_id("Issue", issue.id),
        "number": issue.number,
        "title": issue.title,
        "user": user(gh, issue.user),
        "body": issue.body,
        "state": issue.state,
        "labels": [label(gh, issue.repo, name) for name in issue.labels],
        "locked": False,
        "assignee": user(gh, issue.assignees[0]) if issue.assignees else None,
        "assignees": [user(gh, a) for a in issue.assignees],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": issue.created_at,
        "updated_at": issue.updated_at,
        "closed_at": issue.closed_at,
        "author_association": "NONE",
        "comments_url": f"{api}/issues/{issue.number}/comments",
    }


def issue(gh: StandIn, item: Issue) -> dict[str, Any]:
    api = f"{gh.api_url}/repos/{item.repo}"
    kind = "pull" if item.pull else "issues"
    body = _issue_common(gh, item)
    body.update(
        {
            "url": f"{api}/issues/{item.number}",
            "repository_url": api,
            "labels_url": f"{api}/issues/{item.number}/labels{{/name}}",
            "events_url": f"{api}/issues/{item.number}/events",
            "html_url": f"{gh.url}/{item.repo}/{kind}/{item.number}",
            "comments": len(item.comment_ids),
            "state_reason": item.state_reason,
            "closed_by": None,
            "draft": bool(item.pull and item.pull.draft),
            "reactions": reactions(f"{api}/issues/{item.number}/reactions"),
        }
    )
    if item.pull:
        body["pull_request"] = {
            "url": f"{api}/pulls/{item.number}",
            "html_url": f"{gh.url}/{item.repo}/pull/{item.number}",
            "diff_url": f"{gh.url}/{item.repo}/pull/{item.number}.diff",
            "patch_url": f"{gh.url}/{item.repo}/pull/{item.number}.patch",
            "merged_at": item.pull.merged_at,
        }
    return body


def reactions(url: str) -> dict[str, Any]:
    return {
        "url": url,
        "total_count": 0,
        "+1": 0,
        "-1": 0,
        "laugh": 0,
        "confused": 0,
        "heart": 0,
        "hooray": 0,
        "eyes": 0,
        "rocket": 0,
    }


def comment(gh: StandIn, item: Comment) -> dict[str, Any]:
    api = f"{gh.api_url}/repos/{item.repo}"
    return {
        "id": item.id,
        "node_id": node_id("IssueComment", item.id),
        "url": f"{api}/issues/comments/{item.id}",
        "html_url": f"{gh.url}/{item.repo}/issues/{item.issue_number}#issuecomment-{item.id}",
        "issue_url": f"{api}/issues/{item.issue_number}",
        "body": item.body,
        "user": user(gh, item.user),
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "author_association": "NONE",
        "reactions": reactions(f"{api}/issues/comments/{item.id}/reactions"),
    }
