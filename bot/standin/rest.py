"""REST dispatch: the ordered route registry, the primary rate limit, and repository lookup."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.standin.state import RepoMeta, Token
from bot.standin.web import ApiError, Ctx, Response, Router, not_found

if TYPE_CHECKING:
    from bot.standin.handler import RequestHandler
    from bot.standin.server import StandIn


def _router() -> Router:
    # Explicit and ordered: more specific templates must come before the catch-alls.
    from bot.standin import rest_admin, rest_compare, rest_git, rest_issues, rest_pulls, rest_repos

    router = Router()
    for module in (rest_admin, rest_repos, rest_compare, rest_git, rest_pulls, rest_issues):
        router.extend(module.router)
    return router


_ROUTER: Router | None = None


def router() -> Router:
    global _ROUTER
    if _ROUTER is None:
        _ROUTER = _router()
    return _ROUTER


def handle(
    gh: StandIn, request: RequestHandler, path: str, query: dict[str, str], token: Token
) -> tuple[Response, str | None]:
    found = router().match(request.command, path)
    if found is None:
        request.read_body()
        return Response(404, not_found().body()), "core"
    fn, params, resource = found
    try:
        if resource != "none":
            check_budget(token, resource)
        ctx = Ctx(gh, request.command, path, query, request.read_json(), token, dict(request.headers))
        result = fn(ctx, **params)
    except ApiError as err:
        return Response(err.status, err.body(), err.headers), (None if resource == "none" else resource)
    response = result if isinstance(result, Response) else Response(200, result)
    return response, (None if resource == "none" else resource)


def check_budget(token: Token, resource: str) -> None:
    """GitHub's primary rate limit: 403 with remaining 0 once the hour's budget is spent."""
    if token.kind == "jwt":
        return
    budget = token.budget(resource)
    if budget.remaining > 0:
        return
    who = (
        f"installation ID {token.installation_id}"
        if token.installation_id
        else f"user ID {abs(hash(token.login))}"
    )
    raise ApiError(
        403,
        f"API rate limit exceeded for {who}.",
        doc="https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
    )


def repo_meta(ctx: Ctx, owner: str, name: str) -> RepoMeta:
    """The repository, or GitHub's 404 (also for installation tokens that cannot see it)."""
    meta = ctx.gh.repo(owner, name)
    if meta is None or not can_see(ctx.gh, ctx.token, meta):
        raise not_found("https://docs.github.com/rest/repos/repos#get-a-repository")
    return meta


def can_see(gh: StandIn, token: Token | None, meta: RepoMeta) -> bool:
    if token is None or token.kind != "installation" or token.installation_id is None:
        return True
    inst = gh.state.installations.get(token.installation_id)
    if inst is None or inst.account.lower() != meta.owner.lower():
        return False
    return inst.repositories is None or meta.name in inst.repositories


def require_branch(ctx: Ctx, meta: RepoMeta, branch: str) -> str:
    sha = ctx.gh.bare(meta.owner, meta.name).resolve(f"refs/heads/{branch}")
    if sha is None:
        raise ApiError(
            404, "Branch not found", doc="https://docs.github.com/rest/branches/branches#get-a-branch"
        )
    return sha


def body_field(
    body: dict[str, Any], name: str, kind: type | tuple[type, ...] = str, required: bool = True
) -> Any:
    """A field of the JSON body, or GitHub's 422 for a missing or mistyped one."""
    if name not in body or body[name] is None:
        if required:
            raise ApiError(422, f'Invalid request.\n\n"{name}" wasn\'t supplied.')
        return None
    if not isinstance(body[name], kind):
        raise ApiError(
            422, f"Invalid request.\n\nFor 'properties/{name}', {body[name]!r} is not a valid value."
        )
    return body[name]
