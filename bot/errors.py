"""One error base for expected failures; the CLI's top-level handler turns it into exit code 1."""

from __future__ import annotations


class ZtbotError(Exception):
    """An expected error: bad input, config or environment. `hint` says what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\nhint: {self.hint}" if self.hint else self.message


class UsageError(ZtbotError):
    """Wrong command-line usage (exit code 2)."""
