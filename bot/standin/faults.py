"""Fault injection: rules that make matching requests fail, stall or vanish.

Kinds:
- ``status``: answer with `status` (and `headers`, `message`) instead of the real response.
- ``secondary``: 403 secondary rate limit with `Retry-After: retry_after`.
- ``too_many``: 429 with `Retry-After`.
- ``exhausted``: 403 primary limit, `x-ratelimit-remaining: 0` and a reset `reset_in` seconds away.
- ``graphql_rate_limited``: GraphQL's primary limit: HTTP 200, `errors[0].type == "RATE_LIMITED"`,
  `x-ratelimit-remaining: 0` and a reset `reset_in` seconds away. Matches GraphQL requests only.
- ``latency``: sleep `delay` seconds, then serve normally (benchmarks).
- ``drop``: close the socket without any response.
- ``timeout``: sleep `delay` seconds (longer than the client's timeout), then close.
- ``workflow_push``: git pushes that touch `.github/workflows/*` are rejected with GitHub's message;
  `actor` is "app" (missing `workflows` permission) or "oauth" (missing `workflow` scope).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FaultKind = Literal[
    "status",
    "secondary",
    "too_many",
    "exhausted",
    "graphql_rate_limited",
    "latency",
    "drop",
    "timeout",
    "workflow_push",
]


@dataclass
class Fault:
    kind: FaultKind = "status"
    path: str = ".*"  # regex searched in the request path (query string excluded)
    method: str | None = None  # None = any method
    times: int | None = None  # how many requests to affect; None = forever
    skip: int = 0  # let this many matching requests through first
    status: int = 500
    message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    retry_after: int = 1
    reset_in: int = 60
    actor: Literal["app", "oauth"] = "app"
    seen: int = 0  # matching requests so far
    hits: int = 0  # requests the fault actually affected

    def __post_init__(self) -> None:
        self._pattern = re.compile(self.path)

    def matches(self, method: str, path: str) -> bool:
        if self.kind == "graphql_rate_limited" and not path.endswith("/graphql"):
            return False  # a GraphQL-shaped answer on a REST path would test nothing real
        return (self.method is None or self.method.upper() == method) and bool(self._pattern.search(path))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Outcome:
    """What the handler must do for a request after the faults have been consulted."""

    delay: float = 0.0
    fault: Fault | None = None  # a fault that replaces the response (None = serve normally)


class FaultSet:
    def __init__(self) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._rules.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def consult(self, method: str, path: str) -> Outcome:
        """Count the request against every matching rule; latencies add up, the first other rule wins."""
        delay, chosen = 0.0, None
        with self._lock:
            for rule in self._rules:
                if rule.kind == "workflow_push" or not rule.matches(method, path):
                    continue
                if rule.kind != "latency" and chosen is not None:
                    continue  # one response-replacing fault per request; later rules keep their budget
                if not self._take(rule):
                    continue
                if rule.kind == "latency":
                    delay += rule.delay
                else:
                    chosen = rule
        return Outcome(delay, chosen)

    def workflow_push_rule(self, path: str) -> Fault | None:
        with self._lock:
            for rule in self._rules:
                if rule.kind == "workflow_push" and rule.matches("POST", path) and self._take(rule):
                    return rule
        return None

    @staticmethod
    def _take(rule: Fault) -> bool:
        rule.seen += 1
        if rule.seen <= rule.skip or (rule.times is not None and rule.hits >= rule.times):
            return False
        rule.hits += 1
        return True


def fault_response(fault: Fault) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Status, headers and JSON body for a response-replacing fault, as GitHub sends them."""
    doc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
    if fault.kind == "secondary":
        message = fault.message or (
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
        )
        return 403, {"Retry-After": str(fault.retry_after), **fault.headers}, _body(message, doc, 403)
    if fault.kind == "too_many":
        message = fault.message or "Too Many Requests"
        return 429, {"Retry-After": str(fault.retry_after), **fault.headers}, _body(message, doc, 429)
    if fault.kind == "exhausted":
        message = fault.message or "API rate limit exceeded for installation ID 1."
        return 403, _spent_headers(fault, "core"), _body(message, doc, 403)
    if fault.kind == "graphql_rate_limited":
        # GitHub answers an exhausted GraphQL budget with 200 and a typed error, not with 403.
        message = fault.message or "API rate limit exceeded for user ID 1."
        return 200, _spent_headers(fault, "graphql"), {"errors": [{"type": "RATE_LIMITED", "message": message}]}
    message = fault.message or _REASONS.get(fault.status, "Server Error")
    return fault.status, dict(fault.headers), _body(message, "https://docs.github.com/rest", fault.status)


def _spent_headers(fault: Fault, resource: str) -> dict[str, str]:
    """Rate-limit headers of a spent budget that resets `fault.reset_in` seconds from now."""
    return {
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Used": "5000",
        "X-RateLimit-Reset": str(int(time.time()) + fault.reset_in),
        "X-RateLimit-Resource": resource,
        **fault.headers,
    }


_REASONS = {
    500: "Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    403: "Forbidden",
    404: "Not Found",
    401: "Bad credentials",
    409: "Conflict",
}


def _body(message: str, doc: str, status: int) -> dict[str, Any]:
    return {"message": message, "documentation_url": doc, "status": str(status)}
