"""Repositories, contents, branches and commits — all read live from the bare repos."""

from __future__ import annotations

import base64
from typing import Any

from bot.standin import shapes
from bot.standin.gitstore import Author, BareRepo, TreeEntry
from bot.standin.rest import body_field, can_see, repo_meta, require_branch
from bot.standin.state import RepoMeta
from bot.standin.web import ApiError, Ctx, Response, Router, not_found, paged

router = Router()

DOC_CONTENTS = "https://docs.github.com/rest/repos/contents#get-repository-content"


def _visible(ctx: Ctx, owner: str | None = None) -> list[RepoMeta]:
    return [m for m in ctx.gh.repos(owner) if can_see(ctx.gh, ctx.token, m)]


def _filter_type(ctx: Ctx, metas: list[RepoMeta]) -> list[RepoMeta]:
    kind = ctx.q("type", "all")
    if kind == "public":
        return [m for m in metas if not m.private]
    if kind == "private":
        return [m for m in metas if m.private]
    if kind == "forks":
        return [m for m in metas if m.fork]
    if kind == "sources":
        return [m for m in metas if not m.fork]
    return metas


@router.route("GET", "/orgs/{org}/repos")
def list_org_repos(ctx: Ctx, org: str) -> Response:
    if ctx.gh.state.account(org)[1] != "Organization":
        raise not_found("https://docs.github.com/rest/repos/repos#list-organization-repositories")
    metas = _filter_type(ctx, _visible(ctx, org))
    return paged(ctx, [shapes.repository(ctx.gh, m, full=False) for m in metas])


@router.route("GET", "/users/{username}/repos")
def list_user_repos(ctx: Ctx, username: str) -> Response:
    metas = _filter_type(ctx, _visible(ctx, username))
    return paged(ctx, [shapes.repository(ctx.gh, m, full=False) for m in metas])


@router.route("GET", "/installation/repositories")
def list_installation_repos(ctx: Ctx) -> Response:
    if ctx.token is None or ctx.token.kind != "installation":
        raise ApiError(403, "This endpoint requires you to be authenticated as a GitHub App installation.")
    metas = _visible(ctx)
    response = paged(ctx, [shapes.repository(ctx.gh, m, full=False) for m in metas])
    inst = ctx.gh.state.installations[ctx.token.installation_id or 0]
    response.body = {
        "total_count": len(metas),
        "repositories": response.body,
        "repository_selection": "all" if inst.repositories is None else "selected",
    }
    return response


@router.route("GET", "/repos/{owner}/{repo}")
def get_repo(ctx: Ctx, owner: str, repo: str) -> dict[str, Any]:
    return shapes.repository(ctx.gh, repo_meta(ctx, owner, repo))


# -- contents ----------------------------------------------------------------------------------
def _ref_or_default(ctx: Ctx, bare: BareRepo) -> str:
    ref = ctx.q("ref") or bare.head_branch()
    sha = bare.resolve(ref) or bare.resolve(f"refs/heads/{ref}")
    if sha is None:
        raise ApiError(404, f"No commit found for the ref {ref}", doc=DOC_CONTENTS)
    return sha


def content_entry(ctx: Ctx, meta: RepoMeta, entry: TreeEntry, ref: str, with_content: bool) -> dict[str, Any]:
    api = f"{ctx.gh.api_url}/repos/{meta.full_name}"
    kind = {"blob": "file", "tree": "dir", "commit": "submodule"}[entry.type]
    if entry.mode == "120000":
        kind = "symlink"
    git_kind = "trees" if entry.type == "tree" else "blobs"
    self_url = f"{api}/contents/{entry.path}?ref={ref}"
    html = f"{ctx.gh.url}/{meta.full_name}/{'tree' if kind == 'dir' else 'blob'}/{ref}/{entry.path}"
    body: dict[str, Any] = {
        "type": kind,
        "size": entry.size or 0,
        "name": entry.name,
        "path": entry.path,
        "sha": entry.sha,
        "url": self_url,
        "git_url": f"{api}/git/{git_kind}/{entry.sha}",
        "html_url": html,
        "download_url": f"{ctx.gh.url}/raw/{meta.full_name}/{ref}/{entry.path}" if kind == "file" else None,
        "_links": {"self": self_url, "git": f"{api}/git/{git_kind}/{entry.sha}", "html": html},
    }
    if with_content and kind == "file":
        data = ctx.gh.bare(meta.owner, meta.name).blob(entry.sha)
        body["content"] = base64.encodebytes(data).decode()  # GitHub wraps at 60 columns with newlines
        body["encoding"] = "base64"
    return body


@router.route("GET", "/repos/{owner}/{repo}/contents")
@router.route("GET", "/repos/{owner}/{repo}/contents/{path+}")
def get_contents(ctx: Ctx, owner: str, repo: str, path: str = "") -> Any:
    meta = repo_meta(ctx, owner, repo)
    bare = ctx.gh.bare(owner, repo)
    if bare.resolve("HEAD") is None and not bare.refs():
        raise ApiError(404, "This repository is empty.", doc=DOC_CONTENTS)
    sha = _ref_or_default(ctx, bare)
    ref = ctx.q("ref") or bare.head_branch()
    entry = bare.entry_at(sha, path)
    if entry is None:
        raise not_found(DOC_CONTENTS)
    if entry.type == "tree":
        return [
            content_entry(ctx, meta, e if not path else _under(e, path), ref, False)
            for e in bare.ls_tree(sha, path.strip("/"))
        ]
    return content_entry(ctx, meta, entry, ref, True)


def _under(entry: TreeEntry, parent: str) -> TreeEntry:
    return TreeEntry(entry.mode, entry.type, entry.sha, entry.size, f"{parent.strip('/')}/{entry.name}")


@router.route("PUT", "/repos/{owner}/{repo}/contents/{path+}")
def put_contents(ctx: Ctx, owner: str, repo: str, path: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    body = ctx.json()
    body_field(body, "message")
    content = base64.b64decode(body_field(body, "content"))
    commit = _write_file(ctx, meta, path, content, body)
    entry = ctx.gh.bare(owner, repo).entry_at(commit, path)
    assert entry is not None
    branch = body.get("branch") or ctx.gh.bare(owner, repo).head_branch()
    info = ctx.gh.bare(owner, repo).commit_info(commit)
    status = 200 if body.get("sha") else 201
    return Response(
        status,
        {
            "content": content_entry(ctx, meta, entry, branch, False),
            "commit": shapes.git_commit(ctx.gh, meta, info),
        },
    )


@router.route("DELETE", "/repos/{owner}/{repo}/contents/{path+}")
def delete_contents(ctx: Ctx, owner: str, repo: str, path: str) -> dict[str, Any]:
    meta = repo_meta(ctx, owner, repo)
    commit = _write_file(ctx, meta, path, None, ctx.json())
    info = ctx.gh.bare(owner, repo).commit_info(commit)
    return {"content": None, "commit": shapes.git_commit(ctx.gh, meta, info)}


def _write_file(ctx: Ctx, meta: RepoMeta, path: str, content: bytes | None, body: dict[str, Any]) -> str:
    """Commit one file change the way the contents API does, with its sha precondition."""
    bare = ctx.gh.bare(meta.owner, meta.name)
    branch = body.get("branch") or bare.head_branch()
    head = require_branch(ctx, meta, branch) if bare.refs() else None
    current = bare.entry_at(head, path) if head else None
    given = body.get("sha")
    if current is not None and not given:
        raise ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
    if current is None and content is None:
        raise not_found(DOC_CONTENTS)
    if current is not None and given != current.sha:
        raise ApiError(409, f"{path} does not match {given}")
    who = body.get("committer") or body.get("author") or {}
    author = Author(who.get("name", ctx.login), who.get("email", f"{ctx.login}@users.noreply.github.com"))
    return bare.commit_files(branch, {path: content}, body_field(body, "message"), author)


# -- branches and commits ----------------------------------------------------------------------------
def branch_body(ctx: Ctx, meta: RepoMeta, name: str, sha: str) -> dict[str, Any]:
    api = f"{ctx.gh.api_url}/repos/{meta.full_name}"
    info = ctx.gh.bare(meta.owner, meta.name).commit_info(sha)
    protection = ctx.gh.state.protection.get((meta.full_name.lower(), name))
    return {
        "name": name,
        "commit": shapes.commit(ctx.gh, meta, info),
        "_links": {"self": f"{api}/branches/{name}", "html": f"{ctx.gh.url}/{meta.full_name}/tree/{name}"},
        "protected": protection is not None,
        "protection": {
            "enabled": protection is not None,
            "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []},
        },
        "protection_url": f"{api}/branches/{name}/protection",
    }


@router.route("GET", "/repos/{owner}/{repo}/branches")
def list_branches(ctx: Ctx, owner: str, repo: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    api = f"{ctx.gh.api_url}/repos/{meta.full_name}"
    items = [
        {
            "name": name,
            "commit": {"sha": sha, "url": f"{api}/commits/{sha}"},
            "protected": (meta.full_name.lower(), name) in ctx.gh.state.protection,
        }
        for name, sha in sorted(ctx.gh.bare(owner, repo).branches().items())
    ]
    return paged(ctx, items)


@router.route("GET", "/repos/{owner}/{repo}/branches/{branch+}")
def get_branch(ctx: Ctx, owner: str, repo: str, branch: str) -> dict[str, Any]:
    meta = repo_meta(ctx, owner, repo)
    return branch_body(ctx, meta, branch, require_branch(ctx, meta, branch))


@router.route("GET", "/repos/{owner}/{repo}/commits/{ref+}")
def get_commit(ctx: Ctx, owner: str, repo: str, ref: str) -> dict[str, Any]:
    meta = repo_meta(ctx, owner, repo)
    bare = ctx.gh.bare(owner, repo)
    sha = bare.resolve(ref)
    if sha is None:
        raise ApiError(
            422,
            f"No commit found for SHA: {ref}",
            doc="https://docs.github.com/rest/commits/commits#get-a-commit",
        )
    info = bare.commit_info(sha)
    body = shapes.commit(ctx.gh, meta, info)
    parent = info.parents[0] if info.parents else None
    paths = bare.changed_paths(parent, sha)
    body["files"] = [
        {
            "sha": sha,
            "filename": p,
            "status": "modified",
            "additions": 0,
            "deletions": 0,
            "changes": 0,
            "blob_url": f"{ctx.gh.url}/{meta.full_name}/blob/{sha}/{p}",
            "raw_url": f"{ctx.gh.url}/{meta.full_name}/raw/{sha}/{p}",
            "contents_url": f"{ctx.gh.api_url}/repos/{meta.full_name}/contents/{p}?ref={sha}",
        }
        for p in paths
    ]
    body["stats"] = {"additions": 0, "deletions": 0, "total": 0}
    return body
