"""The stand-in's own admin endpoints under /_standin/ (no auth): faults, request log, seeding."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from bot.standin.faults import Fault

if TYPE_CHECKING:
    from bot.standin.server import StandIn

Result = tuple[int, Any]


def handle(gh: StandIn, method: str, path: str, body: Any) -> Result:
    route = (method, path.rstrip("/"))
    try:
        if route == ("GET", "/_standin/faults"):
            return 200, [f.to_json() for f in gh.faults.rules()]
        if route == ("POST", "/_standin/faults"):
            rules = body if isinstance(body, list) else [body]
            return 201, [gh.inject(**rule).to_json() for rule in rules]
        if route == ("DELETE", "/_standin/faults"):
            gh.faults.clear()
            return 204, None
        if route == ("GET", "/_standin/requests"):
            return 200, [r._asdict() for r in list(gh.requests)]
        if route == ("DELETE", "/_standin/requests"):
            gh.requests.clear()
            return 204, None
        if route == ("POST", "/_standin/repos"):
            return 201, asdict(gh.create_repo(**body))
        if route == ("POST", "/_standin/tokens"):
            return 201, {"token": gh.add_token(**(body or {}))}
        if route == ("POST", "/_standin/installations"):
            return 201, {"id": gh.add_installation(**body)}
        if route == ("GET", "/_standin/pulls"):
            return 200, [asdict(i) for m in gh.repos() for i in gh.pulls(m.owner, m.name)]
    except (TypeError, ValueError) as err:
        return 400, {"message": f"bad admin request: {err}"}
    return 404, {"message": "Not Found"}


__all__ = ["Fault", "handle"]
