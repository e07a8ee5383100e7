"""Types shared by every transform: needs, findings, edits, results and the Transform protocol.

Transforms are pure: text (and a read-only view of the checkout) in, findings and edits out.
All I/O lives in `bot/`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from transforms.yamldoc import Doc

Level = Literal["read", "write"]
Path = tuple[str | int, ...]
# Reads another file of the same checkout by repo-relative POSIX path; None when absent.
FileReader = Callable[[str], "str | None"]

SCOPES: tuple[str, ...] = (
    "actions", "artifact-metadata", "attestations", "checks", "contents", "deployments",
    "discussions", "id-token", "issues", "models", "packages", "pages", "pull-requests",
    "repository-projects", "security-events", "statuses", "vulnerability-alerts",
)


@dataclass(frozen=True)
class Need:
    """One token scope a step needs, with the evidence that shows it."""

    scope: str
    level: Level
    reason: str


@dataclass(frozen=True)
class Unknown:
    """Something that uses the token in a way we cannot map: the job must be left alone."""

    reason: str


@dataclass(frozen=True)
class Analysis:
    """What one step (or script) needs; any unknown makes the inference incomplete."""

    needs: tuple[Need, ...] = ()
    unknowns: tuple[Unknown, ...] = ()

    def __add__(self, other: Analysis) -> Analysis:
        return Analysis(self.needs + other.needs, self.unknowns + other.unknowns)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class Finding:
    """A violation (fixable or not) at a place in one file."""

    rule: str
    message: str
    line: int  # 1-based
    column: int = 1
    yaml_path: str = ""
    severity: Severity = Severity.WARNING
    fixable: bool = False
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WriteFile:
    """A change to another file of the checkout that belongs to a transform's fix (e.g. a script the
    job runs). `old` is the text the transform read through `Context.read`; the edit lands only if the
    file still holds it, and only together with the transform's YAML edits."""

    path: str
    old: str
    new: str


@dataclass(frozen=True)
class Context:
    """Everything a transform may look at besides the document itself."""

    path: str  # repo-relative path of the file
    read: FileReader = lambda _p: None
    options: Mapping[str, Any] = field(default_factory=dict)
    repo: str = ""  # owner/name when known


class Transform(Protocol):
    # Read-only members (properties) so plain class attributes such as `intended = ("a", "b")` conform.
    @property
    def id(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def safe(self) -> bool:
        """True: merge as is; False: needs setup outside the repository first."""
        ...

    @property
    def intended(self) -> tuple[str, ...]:
        """Data paths the transform may change (dotted, `*` = any key/index); the rest must stay equal."""
        ...

    # Optional `requires_text`: lowercase substrings, one of which must occur for detect() to find anything;
    # the runner skips the transform otherwise (tests prove the findings are the same either way).
    # Optional `default_enabled = False`: an opt-in transform, run only when named.

    def detect(self, doc: Doc, ctx: Context) -> list[Finding]: ...

    def apply(self, doc: Doc, ctx: Context, findings: list[Finding]) -> list[Any]: ...

    def explain(self, findings: list[Finding]) -> str: ...
