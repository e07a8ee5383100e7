"""GraphQL at /api/graphql, executed by graphql-core over GitHub's schema (or the project's slice).

Resolvers are plain dicts: graphql-core reads keys and calls callables with the field's arguments,
and `__typename` picks the concrete type of interfaces such as GitObject.
"""

from __future__ import annotations

import base64
import gc
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import graphql

from bot.standin import rest
from bot.standin.gitstore import BareRepo, TreeEntry
from bot.standin.state import RepoMeta, Token, now_iso
from bot.standin.web import ApiError, Response

if TYPE_CHECKING:
    from bot.standin.server import StandIn

SHARED_SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "github-api" / "schema.graphql"
MIN_SCHEMA = Path(__file__).with_name("schema_min.graphql")
TRUNCATE_AT = 512 * 1024  # GitHub stops returning Blob.text for very large blobs
T = TypeVar("T")

_schemas: dict[Path, graphql.GraphQLSchema] = {}
_schema_lock = threading.Lock()


class NotFoundError(Exception):
    """A GitHub-style NOT_FOUND error attached to one field."""


def default_schema_path() -> Path:
    return SHARED_SCHEMA if SHARED_SCHEMA.exists() else MIN_SCHEMA


def schema(path: Path | None = None) -> graphql.GraphQLSchema:
    """The built schema, once per process: GitHub's full SDL takes seconds to build."""
    path = (path or default_schema_path()).resolve()
    with _schema_lock:
        if path not in _schemas:
            # We serve GitHub's schema as GitHub publishes it, not judge it: its SDL defines two
            # EnterpriseOwnerInfo fields twice (assume_valid_sdl), and graphql-core 3.3 rejects its
            # deprecations of interface fields at execution (assume_valid skips schema validation).
            _schemas[path] = graphql.build_schema(path.read_text(), assume_valid_sdl=True, assume_valid=True)
            # GitHub's schema is ~10^6 long-lived objects; every full GC pass walked them all and stalled
            # requests for a few hundred ms. Freezing moves what exists now out of the collector's reach.
            gc.collect()
            gc.freeze()
        return _schemas[path]


def handle(gh: StandIn, token: Token, payload: Any) -> tuple[Response, str]:
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        raise ApiError(400, "Problems parsing JSON", doc="https://docs.github.com/graphql")
    rest.check_budget(token, "graphql")
    path = Path(gh.graphql_schema) if gh.graphql_schema else None
    result = graphql.graphql_sync(
        schema(path),
        payload["query"],
        root_value=_root(gh, token),
        variable_values=payload.get("variables"),
        operation_name=payload.get("operationName"),
    )
    body: dict[str, Any] = {}
    if result.data is not None or not result.errors:
        body["data"] = result.data
    if result.errors:
        body["errors"] = [_format_error(e) for e in result.errors]
    return Response(200, body), "graphql"


def _format_error(error: graphql.GraphQLError) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    if isinstance(error.original_error, NotFoundError):
        formatted["type"] = "NOT_FOUND"
    elif error.original_error is None and error.path is None:
        formatted.setdefault("extensions", {})["code"] = "graphqlParseOrValidationError"
    return formatted


# -- root ----------------------------------------------------------------------------------------
def _root(gh: StandIn, token: Token) -> dict[str, Any]:
    def repository(info: Any, owner: str, name: str, **_: Any) -> dict[str, Any]:
        meta = gh.repo(owner, name)
        if meta is None or not rest.can_see(gh, token, meta):
            raise NotFoundError(f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        return repo_node(gh, token, meta)

    def owner(info: Any, login: str, kind: str | None = None, **_: Any) -> dict[str, Any]:
        if login not in gh.state.accounts or (kind and gh.state.account(login)[1] != kind):
            what = kind or "Organization"
            raise NotFoundError(
                f"Could not resolve to an {what} with the login of '{login}'."
                if what[0] in "AEIOU"
                else f"Could not resolve to a {what} with the login of '{login}'."
            )
        return owner_node(gh, token, login)

    budget = token.budget("graphql")
    return {
        "repository": repository,
        "organization": lambda info, login, **kw: owner(info, login, "Organization"),
        "user": lambda info, login, **kw: owner(info, login, "User"),
        "repositoryOwner": lambda info, login, **kw: owner(info, login),
        "viewer": lambda info, **kw: {**owner_node(gh, token, token.login), "__typename": "User"},
        "rateLimit": lambda info, **kw: {
            "cost": 1,
            "limit": budget.limit,
            "nodeCount": 1,
            "remaining": budget.remaining,
            "resetAt": now_iso(budget.reset),
            "used": budget.used,
        },
    }


def gid(kind: str, key: object) -> str:
    return base64.b64encode(f"0:{kind}:{key}".encode()).decode()


def owner_node(gh: StandIn, token: Token, login: str) -> dict[str, Any]:
    ident, kind = gh.state.account(login)
    return {
        "__typename": "User" if kind == "User" else "Organization",
        "id": gid(kind, ident),
        "login": login,
        "name": login,
        "url": f"{gh.url}/{login}",
        "databaseId": ident,
        "repositories": lambda info, **args: repo_connection(gh, token, login, args),
    }


def repo_connection(gh: StandIn, token: Token, login: str, args: dict[str, Any]) -> dict[str, Any]:
    metas = [m for m in gh.repos(login) if rest.can_see(gh, token, m)]
    for flag, attr in (("isFork", "fork"), ("isArchived", "archived")):
        if args.get(flag) is not None:
            metas = [m for m in metas if getattr(m, attr) == args[flag]]
    if args.get("orderBy"):
        metas = _ordered(gh, metas, args["orderBy"])
    connection = paged_connection(metas, args, lambda m: repo_node(gh, token, m))
    return {**connection, "totalDiskUsage": 0}


def _ordered(gh: StandIn, metas: list[RepoMeta], order: dict[str, str]) -> list[RepoMeta]:
    """`metas` in `orderBy` order; ties keep the name order they came in (sorting is stable)."""
    keys: dict[str, Callable[[RepoMeta], Any]] = {
        "NAME": lambda m: m.name.lower(),
        "CREATED_AT": lambda m: (m.created_at, m.id),  # ids break ties within one second
        "PUSHED_AT": lambda m: gh.bare(m.owner, m.name).pushed_ns(),
    }
    key = keys.get(order["field"])
    if key is None:
        raise ApiError(400, f"the stand-in cannot order repositories by {order['field']}")
    return sorted(metas, key=key, reverse=order["direction"] == "DESC")


def paged_connection(items: list[Any], args: dict[str, Any], node: Callable[[Any], Any]) -> dict[str, Any]:
    """A GitHub connection (nodes, edges, pageInfo, totalCount) over `items`, paged by first/after."""
    after = args.get("after")
    start = _cursor_index(after) + 1 if after else 0
    first = min(args.get("first") or 100, 100)
    page = items[start : start + first]
    cursors = [base64.b64encode(f"cursor:v2:{start + i}".encode()).decode() for i in range(len(page))]
    nodes = [node(item) for item in page]
    return {
        "nodes": nodes,
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)],
        "totalCount": len(items),
        "pageInfo": {
            "hasNextPage": start + first < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


def topic_node(gh: StandIn, meta: RepoMeta, name: str) -> dict[str, Any]:
    """A RepositoryTopic: the repository's use of a topic, whose `topic` is the shared Topic."""
    return {
        "__typename": "RepositoryTopic",
        "id": gid("RepositoryTopic", f"{meta.id}:{name}"),
        "resourcePath": f"/topics/{name}",
        "url": f"{gh.url}/topics/{name}",
        "topic": {
            "__typename": "Topic",
            "id": gid("Topic", name),
            "name": name,
            "stargazerCount": 0,
            "viewerHasStarred": False,
            "relatedTopics": [],
        },
    }


def _cursor_index(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError):
        raise NotFoundError(f"`{cursor}` does not appear to be a valid cursor.") from None


# -- repositories and git objects ------------------------------------------------------------------------
def repo_node(gh: StandIn, token: Token, meta: RepoMeta) -> dict[str, Any]:
    bare = gh.bare(meta.owner, meta.name)

    def default_ref(info: Any, **_: Any) -> dict[str, Any] | None:
        branch = bare.head_branch()
        return ref_node(gh, meta, bare, f"refs/heads/{branch}")

    def obj(
        info: Any, expression: str | None = None, oid: str | None = None, **_: Any
    ) -> dict[str, Any] | None:
        return git_object(gh, meta, bare, expression or oid or "")

    return {
        "__typename": "Repository",
        "id": gid("Repository", meta.id),
        "databaseId": meta.id,
        "name": meta.name,
        "nameWithOwner": meta.full_name,
        "owner": lambda info, **_: owner_node(gh, token, meta.owner),
        "description": meta.description,
        "url": f"{gh.url}/{meta.full_name}",
        "isArchived": meta.archived,
        "isFork": meta.fork,
        "isPrivate": meta.private,
        "isDisabled": False,
        "isLocked": False,
        "isTemplate": False,
        "isEmpty": lambda info, **_: not bare.refs("refs/heads/"),
        "visibility": "PRIVATE" if meta.private else "PUBLIC",
        "createdAt": meta.created_at,
        "pushedAt": lambda info, **_: now_iso(bare.pushed_ns() / 1e9),
        "updatedAt": meta.created_at,
        "diskUsage": lambda info, **_: bare.disk_kb(),
        "defaultBranchRef": default_ref,
        "object": obj,
        "ref": lambda info, **args: ref_node(gh, meta, bare, args["qualifiedName"]),
        "repositoryTopics": lambda info, **args: paged_connection(
            list(meta.topics), args, lambda name: topic_node(gh, meta, name)
        ),
    }


def ref_node(gh: StandIn, meta: RepoMeta, bare: BareRepo, name: str) -> dict[str, Any] | None:
    full = name if name.startswith("refs/") else f"refs/heads/{name}"
    sha = bare.refs(full).get(full)
    if sha is None:
        return None
    prefix, _, short = (
        full.rpartition("/") if not full.startswith("refs/heads/") else ("refs/heads", "", full[11:])
    )
    return {
        "__typename": "Ref",
        "id": gid("Ref", full),
        "name": short,
        "prefix": prefix + "/",
        "target": lambda info, **_: ref_target(gh, meta, bare, full, sha),
    }


def ref_target(gh: StandIn, meta: RepoMeta, bare: BareRepo, ref: str, sha: str) -> dict[str, Any] | None:
    # A branch always points at a commit: listing `target { oid }` then needs no git object read at all.
    if ref.startswith("refs/heads/"):
        return object_node(gh, meta, bare, sha, "commit")
    return git_object(gh, meta, bare, sha)


def git_object(gh: StandIn, meta: RepoMeta, bare: BareRepo, expression: str) -> dict[str, Any] | None:
    found = bare.object_info(expression) if expression else None
    if found is None:
        return None
    prefix = expression.split(":", 1)[1].strip("/") if ":" in expression else ""
    return object_node(gh, meta, bare, found[0], found[1], prefix)


def _once(compute: Callable[[], T]) -> Callable[[], T]:
    """`compute` run on first call only: fields of one object share a single git read."""
    cache: list[T] = []

    def get() -> T:
        if not cache:
            cache.append(compute())
        return cache[0]

    return get


def object_node(
    gh: StandIn, meta: RepoMeta, bare: BareRepo, sha: str, kind: str, path: str = ""
) -> dict[str, Any]:
    """A Blob, Tree or Commit; `path` is where a tree sits, so TreeEntry.path can be repo-relative."""
    common = {"id": gid(kind, sha), "oid": sha, "abbreviatedOid": sha[:7]}
    if kind == "blob":
        blob = _once(lambda: blob_fields(bare, sha))
        fields = ("byteSize", "isBinary", "isTruncated", "text")
        return {"__typename": "Blob", **common, **{f: lambda i, _f=f, **_: blob()[_f] for f in fields}}
    if kind == "tree":
        return {
            "__typename": "Tree",
            **common,
            "entries": lambda info, **_: tree_entries(gh, meta, bare, sha, path),
        }
    commit = _once(lambda: bare.commit_info(sha))  # read only if a commit field is asked for
    return {
        "__typename": "Commit",
        **common,
        "message": lambda i, **_: commit().message,
        "messageHeadline": lambda i, **_: commit().message.splitlines()[0] if commit().message else "",
        "committedDate": lambda i, **_: commit().committer_date,
        "authoredDate": lambda i, **_: commit().author_date,
        "url": f"{gh.url}/{meta.full_name}/commit/{sha}",
        "tree": lambda i, **_: object_node(gh, meta, bare, commit().tree, "tree"),
        "file": lambda i, path, **_: file_entry(gh, meta, bare, sha, path),
    }


def file_entry(gh: StandIn, meta: RepoMeta, bare: BareRepo, commit: str, path: str) -> dict[str, Any] | None:
    """Commit.file: the tree entry (file or directory) at `path` in `commit`, or None."""
    path = path.strip("/")
    found = bare.entry_at(commit, path) if path else None
    return entry_node(gh, meta, bare, found) if found else None


def blob_fields(bare: BareRepo, sha: str) -> dict[str, Any]:
    data = bare.blob(sha)
    binary = b"\0" in data[:8000]
    text = None
    if not binary:
        try:
            text = data.decode()
        except UnicodeDecodeError:
            binary = True
    truncated = len(data) > TRUNCATE_AT
    return {
        "byteSize": len(data),
        "isBinary": binary,
        "isTruncated": truncated,
        "text": None if binary else (text[:TRUNCATE_AT] if truncated and text else text),
    }


def tree_entries(gh: StandIn, meta: RepoMeta, bare: BareRepo, sha: str, path: str) -> list[dict[str, Any]]:
    return [
        entry_node(gh, meta, bare, replace(e, path=f"{path}/{e.name}" if path else e.name)) for e in bare.ls_tree(sha)
    ]


def entry_node(gh: StandIn, meta: RepoMeta, bare: BareRepo, entry: TreeEntry) -> dict[str, Any]:
    """A TreeEntry whose `entry.path` is repo-relative."""
    name = entry.name
    ext = "." + name.rsplit(".", 1)[1] if "." in name[1:] else None
    return {
        "name": name,
        "path": entry.path,
        "type": entry.type,
        "mode": int(entry.mode, 8),
        "oid": entry.sha,
        "size": entry.size or 0,
        "extension": ext,
        "isGenerated": False,
        "lineCount": None,
        "language": None,
        "object": (lambda info, **_: object_node(gh, meta, bare, entry.sha, entry.type, entry.path))
        if entry.type != "commit"
        else None,
    }
