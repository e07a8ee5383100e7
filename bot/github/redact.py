"""Keep credentials out of logs, reprs and exception text.

`Secret` wraps a credential so that printing or logging the object never shows it. The record factory
installed by `install_redaction` rewrites every log record (from any library, PyGithub and urllib3
included) so that registered secrets and anything shaped like a GitHub token or JWT is masked.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

MASK = "***"
# Token shapes GitHub issues (classic/fine-grained PATs, app installation/user/refresh tokens) and JWTs.
_TOKEN_SHAPES = re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9_]{16,}|github_pat_[A-Za-z0-9_]{20,}"
                           r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)")

_known: set[str] = set()
_lock = threading.Lock()
_installed = False


class Secret:
    """A credential that does not show itself; call `reveal()` where it must be sent."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


def register(value: str) -> None:
    """Mask `value` wherever it would show up in a log record or a redacted string."""
    if len(value) >= 8:  # short values would mask ordinary words
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    return _TOKEN_SHAPES.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """A handler filter doing the same as the record factory, for handlers configured elsewhere."""

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub(record)
        return True


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        message = str(record.msg)
    cleaned = redact(message)
    if cleaned != message or record.args:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))


def install_redaction() -> None:
    """Scrub every log record at creation, whichever logger or handler it goes to (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _scrub(record)
        return record

    logging.setLogRecordFactory(factory)
