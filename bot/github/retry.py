"""When and how long to retry a GitHub call, as GitHub documents it, driven by tenacity.

- `Retry-After` is always honoured: no retry happens earlier than it says.
- Primary limit exhausted (403/429 with `x-ratelimit-remaining: 0`): wait until `x-ratelimit-reset`.
- Secondary limit (403/429 naming it, or carrying `Retry-After`): at least 60 s, doubling per attempt,
  capped by `secondary_backoff_cap_s` (unless `Retry-After` asks for longer).
- 5xx, connection errors and timeouts: 1 s, 2 s, 4 s ... capped at 30 s.
- Any other 4xx is final.
"""

from __future__ import annotations

import enum
import http.client
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
import urllib3.exceptions
from github import GithubException
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from bot.github.clock import Clock

log = logging.getLogger(__name__)


class Failure(enum.Enum):
    SERVER = "server error"
    NETWORK = "network error"
    PRIMARY = "primary rate limit"
    SECONDARY = "secondary rate limit"
    FINAL = "final"


class GraphQLRateLimited(Exception):
    """GraphQL reports an exhausted budget as 200 + `errors[].type == RATE_LIMITED`."""

    def __init__(self, headers: dict[str, Any], message: str) -> None:
        super().__init__(message)
        self.headers = headers


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # tries in all, the first included
    server_base_s: float = 1.0
    server_cap_s: float = 30.0
    secondary_min_s: float = 60.0
    secondary_cap_s: float = 900.0
    reset_slack_s: float = 1.0  # the reset second itself may still be limited


@dataclass(frozen=True)
class Diagnosis:
    failure: Failure
    retry_after: float | None = None
    reset_at: float | None = None  # epoch seconds


_NETWORK_ERRORS = (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                   requests.exceptions.ChunkedEncodingError, urllib3.exceptions.HTTPError,
                   http.client.HTTPException, ConnectionError, TimeoutError)


def diagnose(exc: BaseException) -> Diagnosis:
    if isinstance(exc, GraphQLRateLimited):
        headers = _lower(exc.headers)
        return Diagnosis(Failure.PRIMARY, _number(headers.get("retry-after")),
                         _number(headers.get("x-ratelimit-reset")))
    if isinstance(exc, _NETWORK_ERRORS):
        return Diagnosis(Failure.NETWORK)
    if not isinstance(exc, GithubException):
        return Diagnosis(Failure.FINAL)
    headers = _lower(exc.headers or {})
    retry_after = _number(headers.get("retry-after"))
    if exc.status >= 500:
        return Diagnosis(Failure.SERVER, retry_after)
    if exc.status in (403, 429):
        if headers.get("x-ratelimit-remaining") == "0":
            return Diagnosis(Failure.PRIMARY, retry_after, _number(headers.get("x-ratelimit-reset")))
        message = str((exc.data or {}).get("message", "")).lower() if isinstance(exc.data, dict) else ""
        # 429 is only ever a rate limit; a bare 403 is a permission problem and final.
        if exc.status == 429 or retry_after is not None or "secondary rate limit" in message or "abuse" in message:
            return Diagnosis(Failure.SECONDARY, retry_after)
    return Diagnosis(Failure.FINAL)


def wait_seconds(diagnosis: Diagnosis, attempt: int, policy: RetryPolicy, now: float) -> float:
    """How long to wait after the `attempt`-th try (1-based) failed this way."""
    floor = diagnosis.retry_after or 0.0
    if diagnosis.failure is Failure.PRIMARY:
        if diagnosis.reset_at is None:
            return max(floor, policy.secondary_min_s)
        return max(floor, max(diagnosis.reset_at - now, 0.0) + policy.reset_slack_s)
    if diagnosis.failure is Failure.SECONDARY:
        backoff = min(policy.secondary_cap_s, policy.secondary_min_s * 2 ** (attempt - 1))
        return max(floor, backoff)
    return max(floor, min(policy.server_cap_s, policy.server_base_s * 2 ** (attempt - 1)))


def retrying(policy: RetryPolicy, clock: Clock, what: str,
             on_wait: Callable[[Diagnosis, float], None] | None = None) -> Retrying:
    """A tenacity `Retrying` for one call; `on_wait` hears about every wait before it is slept."""

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        assert exc is not None
        return wait_seconds(diagnose(exc), state.attempt_number, policy, clock.time())

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        seconds = state.upcoming_sleep
        diagnosis = diagnose(exc) if exc else Diagnosis(Failure.FINAL)
        log.warning("GitHub %s: %s (%s); retry %d/%d in %.1fs", what, diagnosis.failure.value,
                    _brief(exc), state.attempt_number, policy.attempts - 1, seconds)
        if on_wait:
            on_wait(diagnosis, seconds)

    return Retrying(sleep=clock.sleep, stop=stop_after_attempt(policy.attempts), wait=wait,
                    retry=retry_if_exception(lambda e: diagnose(e).failure is not Failure.FINAL),
                    before_sleep=before_sleep, reraise=True)


def _brief(exc: BaseException | None) -> str:
    if isinstance(exc, GithubException):
        return f"HTTP {exc.status}"
    return type(exc).__name__ if exc else "?"


def _lower(headers: dict[str, Any]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # Retry-After may be an HTTP date; GitHub sends seconds
