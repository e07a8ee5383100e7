"""The Git Data API: refs, trees, blobs and commits, straight onto the bare repos."""

from __future__ import annotations

import base64
from typing import Any

from bot.standin import shapes
from bot.standin.gitstore import ZERO_SHA, Author, GitError
from bot.standin.rest import body_field, repo_meta
from bot.standin.state import RepoMeta, now_iso
from bot.standin.web import ApiError, Ctx, Response, Router, not_found, validation_failed

router = Router()
DOC_REFS = "https://docs.github.com/rest/git/refs"


def _full_ref(ref: str) -> str:
    return ref if ref.startswith("refs/") else f"refs/{ref}"


@router.route("GET", "/repos/{owner}/{repo}/git/ref/{ref+}")
def get_ref(ctx: Ctx, owner: str, repo: str, ref: str) -> dict[str, Any]:
    meta = repo_meta(ctx, owner, repo)
    full = _full_ref(ref)
    sha = ctx.gh.bare(owner, repo).refs(full).get(full)
    if sha is None:
        raise not_found(f"{DOC_REFS}#get-a-reference")
    return shapes.git_ref(ctx.gh, meta, full, sha)


@router.route("GET", "/repos/{owner}/{repo}/git/matching-refs/{ref+}")
def matching_refs(ctx: Ctx, owner: str, repo: str, ref: str) -> list[dict[str, Any]]:
    meta = repo_meta(ctx, owner, repo)
    prefix = _full_ref(ref)
    refs = ctx.gh.bare(owner, repo).refs("refs/")
    return [
        shapes.git_ref(ctx.gh, meta, name, sha)
        for name, sha in sorted(refs.items())
        if name.startswith(prefix)
    ]


@router.route("POST", "/repos/{owner}/{repo}/git/refs")
def create_ref(ctx: Ctx, owner: str, repo: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    body = ctx.json()
    ref, sha = body_field(body, "ref"), body_field(body, "sha")
    if not ref.startswith("refs/") or ref.count("/") < 2:
        raise ApiError(
            422, "Reference name must start with 'refs/' and have at least two slashes.", doc=DOC_REFS
        )
    bare = ctx.gh.bare(owner, repo)
    if bare.object_type(sha) is None:
        raise ApiError(422, "Object does not exist", doc=DOC_REFS)
    if ref in bare.refs(ref):
        raise ApiError(422, "Reference already exists", doc=DOC_REFS)
    bare.update_ref(ref, sha, ZERO_SHA)
    return Response(
        201,
        shapes.git_ref(ctx.gh, meta, ref, sha),
        {"Location": f"{ctx.gh.api_url}/repos/{meta.full_name}/git/{ref}"},
    )


@router.route("PATCH", "/repos/{owner}/{repo}/git/refs/{ref+}")
def update_ref(ctx: Ctx, owner: str, repo: str, ref: str) -> dict[str, Any]:
    meta = repo_meta(ctx, owner, repo)
    body = ctx.json()
    sha, force = body_field(body, "sha"), bool(body.get("force"))
    full, bare = _full_ref(ref), ctx.gh.bare(owner, repo)
    current = bare.refs(full).get(full)
    if current is None:
        raise ApiError(422, "Reference does not exist", doc=DOC_REFS)
    if bare.object_type(sha) is None:
        raise ApiError(422, "Object does not exist", doc=DOC_REFS)
    if not force and not bare.is_ancestor(current, sha):
        raise ApiError(422, "Update is not a fast forward", doc=DOC_REFS)
    bare.update_ref(full, sha, current)
    return shapes.git_ref(ctx.gh, meta, full, sha)


@router.route("DELETE", "/repos/{owner}/{repo}/git/refs/{ref+}")
def delete_ref(ctx: Ctx, owner: str, repo: str, ref: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    full, bare = _full_ref(ref), ctx.gh.bare(owner, repo)
    if full not in bare.refs(full):
        raise ApiError(422, "Reference does not exist", doc=DOC_REFS)
    bare.delete_ref(full)
    close_orphaned_pulls(ctx, meta, full.removeprefix("refs/heads/"))
    return Response(204, None)


def close_orphaned_pulls(ctx: Ctx, meta: RepoMeta, branch: str) -> None:
    # GitHub closes open pull requests whose head branch was deleted.
    with ctx.gh.state.lock:
        for issue in ctx.gh.state.repo_issues(meta.full_name):
            if issue.pull and issue.state == "open" and issue.pull.head_ref == branch:
                issue.state, issue.closed_at = "closed", now_iso()
                issue.touch()


# -- trees, blobs, commits --------------------------------------------------------------------------
@router.route("GET", "/repos/{owner}/{repo}/git/trees/{tree_sha+}")
def get_tree(ctx: Ctx, owner: str, repo: str, tree_sha: str) -> dict[str, Any]:
    meta = repo_meta(ctx, owner, repo)
    bare = ctx.gh.bare(owner, repo)
    sha = bare.text("rev-parse", "--verify", "-q", f"{tree_sha}^{{tree}}", check=False)
    if not sha:
        raise not_found("https://docs.github.com/rest/git/trees#get-a-tree")
    recursive = ctx.q("recursive") not in (None, "", "0", "false")
    api = f"{ctx.gh.api_url}/repos/{meta.full_name}"
    entries = []
    for e in bare.ls_tree(sha, recursive=recursive):
        item: dict[str, Any] = {"path": e.path, "mode": e.mode, "type": e.type, "sha": e.sha}
        if e.type == "blob":
            item["size"] = e.size
        if e.type != "commit":
            item["url"] = f"{api}/git/{e.type}s/{e.sha}"
        entries.append(item)
    return {"sha": sha, "url": f"{api}/git/trees/{sha}", "tree": entries, "truncated": False}


@router.route("GET", "/repos/{owner}/{repo}/git/blobs/{sha}")
def get_blob(ctx: Ctx, owner: str, repo: str, sha: str) -> dict[str, Any]:
    meta = repo_meta(ctx, owner, repo)
    bare = ctx.gh.bare(owner, repo)
    if bare.object_type(sha) != "blob":
        raise not_found("https://docs.github.com/rest/git/blobs#get-a-blob")
    data = bare.blob(sha)
    return {
        "sha": sha,
        "node_id": shapes.node_id("Blob", int(sha[:8], 16)),
        "size": len(data),
        "url": f"{ctx.gh.api_url}/repos/{meta.full_name}/git/blobs/{sha}",
        "content": base64.encodebytes(data).decode(),
        "encoding": "base64",
    }


@router.route("POST", "/repos/{owner}/{repo}/git/blobs")
def create_blob(ctx: Ctx, owner: str, repo: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    body = ctx.json()
    content = body_field(body, "content")
    data = base64.b64decode(content) if body.get("encoding") == "base64" else content.encode()
    sha = ctx.gh.bare(owner, repo).write_blob(data)
    return Response(201, {"sha": sha, "url": f"{ctx.gh.api_url}/repos/{meta.full_name}/git/blobs/{sha}"})


@router.route("POST", "/repos/{owner}/{repo}/git/trees")
def create_tree(ctx: Ctx, owner: str, repo: str) -> Response:
    repo_meta(ctx, owner, repo)
    body = ctx.json()
    bare = ctx.gh.bare(owner, repo)
    changes: dict[str, tuple[str, str] | None] = {}
    for item in body_field(body, "tree", list):
        path = item.get("path")
        if item.get("content") is not None:
            changes[path] = (item.get("mode", "100644"), bare.write_blob(item["content"].encode()))
        elif item.get("sha") is None:
            changes[path] = None
        else:
            changes[path] = (item.get("mode", "100644"), item["sha"])
    try:
        sha = bare.write_tree(body.get("base_tree"), changes)
    except GitError as err:
        raise validation_failed(str(err), resource="Tree", field="tree") from None
    return Response(201, get_tree(ctx, owner, repo, sha))


@router.route("GET", "/repos/{owner}/{repo}/git/commits/{sha}")
def get_git_commit(ctx: Ctx, owner: str, repo: str, sha: str) -> dict[str, Any]:
    meta = repo_meta(ctx, owner, repo)
    bare = ctx.gh.bare(owner, repo)
    if bare.object_type(sha) != "commit":
        raise not_found("https://docs.github.com/rest/git/commits#get-a-commit-object")
    return shapes.git_commit(ctx.gh, meta, bare.commit_info(sha))


@router.route("POST", "/repos/{owner}/{repo}/git/commits")
def create_git_commit(ctx: Ctx, owner: str, repo: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    body = ctx.json()
    bare = ctx.gh.bare(owner, repo)
    tree, parents = body_field(body, "tree"), body.get("parents") or []
    if bare.object_type(tree) != "tree" or any(bare.object_type(p) != "commit" for p in parents):
        raise ApiError(
            422,
            "Tree SHA does not exist" if bare.object_type(tree) != "tree" else "Parent SHA does not exist",
        )
    who = body.get("author") or {}
    author = Author(who.get("name", ctx.login), who.get("email", f"{ctx.login}@users.noreply.github.com"))
    sha = bare.commit_tree(tree, parents, body_field(body, "message"), author)
    return Response(201, shapes.git_commit(ctx.gh, meta, bare.commit_info(sha)))
