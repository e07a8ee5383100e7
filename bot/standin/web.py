"""Small HTTP vocabulary shared by the REST handlers: context, responses, errors, routing, paging."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.standin.server import StandIn
    from bot.standin.state import Token

DOCS = "https://docs.github.com/rest"


class ApiError(Exception):
    """Raised by handlers; rendered as GitHub's `{"message", "documentation_url", "status"}` body."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[dict[str, Any]] | None = None,
        doc: str = DOCS,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.errors, self.doc = status, message, errors, doc
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        body["documentation_url"] = self.doc
        body["status"] = str(self.status)
        return body


def not_found(doc: str = DOCS) -> ApiError:
    return ApiError(404, "Not Found", doc=doc)


def validation_failed(message: str | None = None, **error: Any) -> ApiError:
    """GitHub's 422: a generic 'Validation Failed' with one error object."""
    entry = dict(error)
    if message:
        entry.setdefault("code", "custom")
        entry["message"] = message
    return ApiError(422, "Validation Failed", errors=[entry])


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    """Everything a REST handler may look at."""

    gh: StandIn
    method: str
    path: str  # below the API prefix, e.g. /repos/o/r
    query: dict[str, str]
    body: Any
    token: Token | None
    headers: dict[str, str]

    def q(self, name: str, default: str | None = None) -> str | None:
        return self.query.get(name, default)

    def json(self) -> dict[str, Any]:
        if isinstance(self.body, dict):
            return self.body
        if self.body is None:
            return {}
        raise ApiError(400, "Problems parsing JSON")

    @property
    def login(self) -> str:
        return self.token.login if self.token else "anonymous"


Handler = Callable[..., Any]


class Router:
    """Route templates like `/repos/{owner}/{repo}/contents/{path+}` to handlers, in order."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler, str]] = []

    def route(self, method: str, template: str, resource: str = "core") -> Callable[[Handler], Handler]:
        pattern = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", template)
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)

        def register(fn: Handler) -> Handler:
            self.routes.append((method, re.compile(f"^{pattern}/?$"), fn, resource))
            return fn

        return register

    def extend(self, other: Router) -> None:
        self.routes.extend(other.routes)

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str], str] | None:
        """The handler for method+path; raises 404 when only the path matches (GitHub does too)."""
        for verb, pattern, fn, resource in self.routes:
            found = pattern.match(path)
            if found and verb == method:
                params = {k: urllib.parse.unquote(v) for k, v in found.groupdict().items()}
                return fn, params, resource
        return None


def paginate(ctx: Ctx, items: list[Any], default: int = 30) -> tuple[list[Any], dict[str, str]]:
    """One page of `items` and the RFC 5988 Link header that GitHub would send with it."""
    try:
        per_page = min(max(int(ctx.q("per_page") or default), 1), 100)
        page = max(int(ctx.q("page") or 1), 1)
    except ValueError:
        raise ApiError(400, "Invalid pagination parameter") from None
    last = max((len(items) + per_page - 1) // per_page, 1)
    chunk = items[(page - 1) * per_page : page * per_page]
    links = []
    rels = [("prev", page - 1), ("next", page + 1), ("last", last), ("first", 1)]
    for rel, number in rels:
        if (rel in ("prev", "first") and page > 1) or (rel in ("next", "last") and page < last):
            links.append(f'<{page_url(ctx, number, per_page)}>; rel="{rel}"')
    return chunk, ({"Link": ", ".join(links)} if links else {})


def page_url(ctx: Ctx, page: int, per_page: int) -> str:
    query = {**ctx.query, "per_page": str(per_page), "page": str(page)}
    return f"{ctx.gh.api_url}{ctx.path}?{urllib.parse.urlencode(query)}"


def paged(ctx: Ctx, items: list[Any], default: int = 30) -> Response:
    chunk, headers = paginate(ctx, items, default)
    return Response(200, chunk, headers)
