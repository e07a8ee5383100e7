"""Every GitHub request goes through `Transport`: retries, rate-limit gate, write pacing, counting.

PyGithub does the HTTP (its own retries and sleeps switched off); tenacity decides about retries;
the injected `Clock` does all the waiting, so tests assert waits instead of sleeping through them.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

from github import Github, GithubException

from bot.config import LimitsConfig
from bot.github.clock import Clock, SystemClock
from bot.github.errors import AuthError, GitHubError, NotFound
from bot.github.models import RequestCounts
from bot.github.retry import Diagnosis, Failure, GraphQLRateLimited, RetryPolicy, diagnose, retrying

log = logging.getLogger(__name__)

T = TypeVar("T")
U = TypeVar("U")
Kind = Literal["rest_read", "rest_write", "graphql"]


class Transport:
    def __init__(self, github: Github, graphql_url: str, limits: LimitsConfig | None = None,
                 clock: Clock | None = None, policy: RetryPolicy | None = None) -> None:
        self.github = github
        self.graphql_url = graphql_url
        self.limits = limits or LimitsConfig()
        self.clock = clock or SystemClock()
        self.policy = policy or RetryPolicy(secondary_cap_s=self.limits.secondary_backoff_cap_s)
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._last_write: float | None = None
        self._not_before = 0.0  # a rate limit seen by one thread holds back all of them

    # -- calls ---------------------------------------------------------------------------------
    def read(self, what: str, fn: Callable[[], T]) -> T:
        """Run `fn` (exactly one REST GET) with retries."""
        return self._call("rest_read", what, fn)

    def write(self, what: str, fn: Callable[[], T]) -> T:
        """Run `fn` (exactly one REST POST/PATCH/PUT/DELETE), paced and with retries."""
        return self._call("rest_write", what, fn)

    def graphql(self, query: str, variables: dict[str, Any] | None = None, what: str = "GraphQL") -> dict[str, Any]:
        """The whole GraphQL answer (`data` and any per-field `errors`); rate limiting is retried."""
        return self._call("graphql", what, lambda: self._post_graphql(query, variables or {}))

    def map_reads(self, fn: Callable[[T], U], items: Iterable[T]) -> list[U]:
        """`fn` over `items` with at most `max_concurrency` in flight; results in input order."""
        todo = list(items)
        if len(todo) <= 1 or self.limits.max_concurrency <= 1:
            return [fn(item) for item in todo]
        with self.pool() as pool:
            return list(pool.map(fn, todo))

    def pool(self, reserve: int = 0) -> ThreadPoolExecutor:
        """An executor for reads, `reserve` slots short of `max_concurrency` (for work the caller does itself)."""
        workers = max(1, self.limits.max_concurrency - reserve)
        return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ztbot-gh")

    @property
    def counts(self) -> RequestCounts:
        with self._lock:
            return RequestCounts(self._counts["rest_read"], self._counts["rest_write"], self._counts["graphql"])

    # -- internals -----------------------------------------------------------------------------
    def _call(self, kind: Kind, what: str, fn: Callable[[], T]) -> T:
        try:
            for attempt in retrying(self.policy, self.clock, what, self._on_wait):
                with attempt:
                    self._before_attempt(kind)
                    return fn()
        except Exception as exc:  # anything left after retries becomes one redacted error type
            raise _final_error(what, exc) from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _before_attempt(self, kind: Kind) -> None:
        self._await_gate()
        if kind == "rest_write":
            self._pace_write()
        with self._lock:
            self._counts[kind] += 1

    def _await_gate(self) -> None:
        with self._lock:
            wait = self._not_before - self.clock.time()
        if wait > 0:
            self.clock.sleep(wait)

    def _pace_write(self) -> None:
        # GitHub asks integrations to leave about a second between content-creating requests.
        with self._write_lock:
            if self._last_write is not None:
                wait = self._last_write + self.limits.write_interval_s - self.clock.monotonic()
                if wait > 0:
                    self.clock.sleep(wait)
            self._last_write = self.clock.monotonic()

    def _on_wait(self, diagnosis: Diagnosis, seconds: float) -> None:
        if diagnosis.failure in (Failure.PRIMARY, Failure.SECONDARY):
            with self._lock:
                self._not_before = max(self._not_before, self.clock.time() + seconds)

    def _post_graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        headers, data = self.github.requester.requestJsonAndCheck(
            "POST", self.graphql_url, input={"query": query, "variables": variables})
        errors = data.get("errors") or [] if isinstance(data, dict) else []
        limited = [e for e in errors if isinstance(e, dict) and e.get("type") == "RATE_LIMITED"]
        if limited:
            raise GraphQLRateLimited(headers, str(limited[0].get("message", "rate limited")))
        if isinstance(data, dict) and data.get("data") is None and errors:
            raise GithubException(400, data, headers, message="GraphQL query failed")
        return data


def _final_error(what: str, exc: BaseException) -> GitHubError:
    if isinstance(exc, GitHubError):
        return exc
    if isinstance(exc, GithubException):
        problem = f"HTTP {exc.status} {_message(exc.data)}".rstrip()
        if exc.status == 404:
            return NotFound(what, problem, 404)
        if exc.status == 401:
            return AuthError(what, problem, 401, "check that the token or GitHub App key is valid and not expired")
        failure = diagnose(exc).failure
        hint = "retries used up; the run can be resumed later" if failure is not Failure.FINAL else ""
        return GitHubError(what, problem, exc.status, hint)
    return GitHubError(what, f"{type(exc).__name__}: {exc}", None, "retries used up; check the network or GitHub")


def _message(data: Any) -> str:
    """GitHub's error message plus the messages of `errors[]` (where 422 details live)."""
    if not isinstance(data, dict):
        return str(data or "")
    parts = [str(data.get("message", ""))]
    for item in data.get("errors") or []:
        if isinstance(item, dict) and item.get("message"):
            parts.append(str(item["message"]))
        elif isinstance(item, str):
            parts.append(item)
    return ": ".join(p for p in parts if p) or json.dumps(data)[:200]
