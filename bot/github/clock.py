"""Time as a dependency: retries, rate-limit waits and write pacing all sleep through a `Clock`.

Tests pass a `FakeClock`, so no test really sleeps and every wait is recorded and can be asserted.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock seconds since the epoch (rate-limit resets are epoch timestamps)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (pacing)."""
        ...

    def sleep(self, seconds: float) -> None:
        ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock whose `sleep` only advances time and records the wait.

    Starts at the real epoch time by default so that reset timestamps sent by a (stand-in) server
    line up with it.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def time(self) -> float:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        return self.time()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(seconds, 0.0)

    def advance(self, seconds: float) -> None:
        """Let time pass without recording a sleep (a slow request, a human taking a while)."""
        with self._lock:
            self._now += seconds
