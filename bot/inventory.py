"""Static-secret inventory: which Actions secrets the workflows read before and after the migration,
and which become ready to delete once the OIDC PR is merged.

Names only, always: GitHub's API never returns secret values and ztbot never asks for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.plan import RepoPlan, target_files
from transforms.model import expressions
from transforms.oidc import SECRET_RE
from transforms.yamldoc import YamlError, parse


@dataclass(frozen=True)
class Inventory:
    before: tuple[str, ...]  # referenced by the workflows on the default branch
    after: tuple[str, ...]  # still referenced once the plan is applied

    @property
    def migrated(self) -> tuple[str, ...]:
        """Names the PR stops using: candidates to delete after it is merged."""
        return tuple(sorted(set(self.before) - set(self.after)))


def referenced(files: Mapping[str, str]) -> set[str]:
    """`secrets.X` names the workflows and local actions read (GITHUB_TOKEN excluded; comments ignored)."""
    names: set[str] = set()
    for path in target_files(files):
        try:
            data = parse(files[path]).data
        except YamlError:
            continue  # an unparsable file is reported elsewhere; it references nothing we can trust
        names |= {m for e in expressions(data) for m in SECRET_RE.findall(e) if m.upper() != "GITHUB_TOKEN"}
    return names


def of_plan(plan: RepoPlan, files: Mapping[str, str]) -> Inventory:
    after = {**files, **{c.path: c.after for c in plan.changes}}
    return Inventory(tuple(sorted(referenced(files))), tuple(sorted(referenced(after))))


def ready_to_delete(migrated: Iterable[str], repo_secrets: Iterable[str], still_used: Iterable[str]) -> list[str]:
    """Secrets the merged PR migrated away from that the repository still holds and nothing reads any more."""
    return sorted((set(migrated) & set(repo_secrets)) - set(still_used))
