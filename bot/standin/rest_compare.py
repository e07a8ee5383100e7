"""`GET /repos/{owner}/{repo}/compare/{base}...{head}`: GitHub's three-dot comparison of two commits.

The operation is not in the project's OpenAPI subset; the body follows GitHub's `commit-comparison`
schema (its `commit` and `diff-entry` parts are in the subset and are validated by the tests).
"""

from __future__ import annotations

import re
from typing import Any

from bot.standin import shapes
from bot.standin.gitstore import ZERO_SHA, BareRepo
from bot.standin.rest import repo_meta
from bot.standin.state import RepoMeta
from bot.standin.web import ApiError, Ctx, Response, Router, not_found, paginate

router = Router()
DOC = "https://docs.github.com/rest/commits/commits#compare-two-commits"
_NOREPLY = re.compile(r"^(?:\d+\+)?(?P<login>[^@]+)@users\.noreply\.github\.com$")
_STATUS = {"A": "added", "D": "removed", "M": "modified", "T": "changed"}


@router.route("GET", "/repos/{owner}/{repo}/compare/{basehead+}")
def compare(ctx: Ctx, owner: str, repo: str, basehead: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    bare = ctx.gh.bare(owner, repo)
    base_name, sep, head_name = basehead.partition("...")
    if not sep:
        raise not_found(DOC)
    base, head = _commit(bare, meta, base_name), _commit(bare, meta, head_name)
    merge_base = bare.text("merge-base", base, head, check=False)
    if not merge_base:
        raise ApiError(404, f"No common ancestor between {base_name} and {head_name}.", doc=DOC)
    behind, ahead = (int(n) for n in bare.text("rev-list", "--left-right", "--count", f"{base}...{head}").split())
    # GitHub lists the commits oldest first and pages them (250 a page by default).
    shas = bare.text("rev-list", "--reverse", f"{base}..{head}").split()
    page, headers = paginate(ctx, shas, default=250)
    html = f"{ctx.gh.url}/{meta.full_name}/compare/{basehead}"
    body = {
        "url": f"{ctx.gh.api_url}/repos/{meta.full_name}/compare/{basehead}",
        "html_url": html,
        "permalink_url": f"{ctx.gh.url}/{meta.full_name}/compare/{owner}:{base[:7]}...{owner}:{head[:7]}",
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "base_commit": commit_with_users(ctx, meta, bare, base),
        "merge_base_commit": commit_with_users(ctx, meta, bare, merge_base),
        "status": _status(ahead, behind),
        "ahead_by": ahead,
        "behind_by": behind,
        "total_commits": ahead,
        "commits": [commit_with_users(ctx, meta, bare, sha) for sha in page],
        "files": diff_entries(ctx, meta, bare, merge_base, head),
    }
    return Response(200, body, headers)


def _commit(bare: BareRepo, meta: RepoMeta, name: str) -> str:
    """The commit `name` (a branch, tag or sha, optionally `owner:`-qualified) names, or GitHub's 404."""
    owner, colon, ref = name.rpartition(":")
    if colon and owner.lower() != meta.owner.lower():
        raise not_found(DOC)  # cross-repository comparisons are not modelled
    sha = bare.resolve(ref) if ref else None
    if sha is None:
        raise not_found(DOC)
    return sha


def _status(ahead: int, behind: int) -> str:
    if ahead and behind:
        return "diverged"
    return "ahead" if ahead else ("behind" if behind else "identical")


def commit_with_users(ctx: Ctx, meta: RepoMeta, bare: BareRepo, sha: str) -> dict[str, Any]:
    """shapes.commit plus the GitHub accounts of author and committer, where the stand-in knows them."""
    info = bare.commit_info(sha)
    body = shapes.commit(ctx.gh, meta, info)
    body["author"] = account_for(ctx, info.author_name, info.author_email)
    body["committer"] = account_for(ctx, info.committer_name, info.committer_email)
    return body


def account_for(ctx: Ctx, name: str, email: str) -> dict[str, Any] | None:
    """GitHub links a commit to the account owning its email; here: noreply addresses and known logins."""
    found = _NOREPLY.match(email)
    login = found["login"] if found else name
    return shapes.user(ctx.gh, login) if login in ctx.gh.state.accounts else None


def diff_entries(ctx: Ctx, meta: RepoMeta, bare: BareRepo, old: str, new: str) -> list[dict[str, Any]]:
    """`files` of the comparison: each path changed between the merge base and head."""
    counts: dict[str, tuple[int, int]] = {}
    for record in _records(bare, "--numstat", old, new):
        plus, minus, path = record.split("\t", 2)  # binary files count "-"
        counts[path] = (int(plus) if plus != "-" else 0, int(minus) if minus != "-" else 0)
    raw = _records(bare, "--raw", old, new)
    entries = []
    for header, path in zip(raw[::2], raw[1::2], strict=True):  # -z: ":modes shas status" NUL path NUL
        _, _, old_sha, new_sha, letter = header.split()
        added, deleted = counts.get(path, (0, 0))
        sha = new_sha if new_sha != ZERO_SHA else old_sha
        entries.append(
            {
                "sha": sha,
                "filename": path,
                "status": _STATUS.get(letter[0], "modified"),
                "additions": added,
                "deletions": deleted,
                "changes": added + deleted,
                "blob_url": f"{ctx.gh.url}/{meta.full_name}/blob/{new}/{path}",
                "raw_url": f"{ctx.gh.url}/{meta.full_name}/raw/{new}/{path}",
                "contents_url": f"{ctx.gh.api_url}/repos/{meta.full_name}/contents/{path}?ref={new}",
            }
        )
    return entries


def _records(bare: BareRepo, mode: str, old: str, new: str) -> list[str]:
    # -z keeps paths unquoted (tabs, non-ASCII); renames off, as GitHub's three-dot file list shows them.
    out = bare.run("diff-tree", "-r", "-z", "--no-renames", mode, old, new)
    return [part for part in out.decode(errors="surrogateescape").split("\0") if part]
