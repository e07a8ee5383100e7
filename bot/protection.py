"""Branch protection: does the default branch require PR reviews, and (opt-in) make it so.

Reading: the rules for the branch (rulesets, `GET /repos/{o}/{r}/rules/branches/{b}`) first, then
classic protection. Enforcing (`branch_protection.enforce`, off by default): one repository ruleset
requiring one approving review on `~DEFAULT_BRANCH`, created only where the bot is admin and no such
rule exists yet — never a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from bot.github.errors import GitHubError

RULESET_NAME = "ztbot: require pull request reviews"


class ProtectionHub(Protocol):
    def branch_rules(self, repo: str, branch: str) -> list[dict[str, Any]]: ...

    def branch_protection(self, repo: str, branch: str) -> dict[str, Any] | None: ...

    def repo_admin(self, repo: str) -> bool: ...

    def list_rulesets(self, repo: str) -> list[dict[str, Any]]: ...

    def create_ruleset(self, repo: str, ruleset: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Enforcement:
    action: str  # created / exists / not-admin / already-required / unknown
    detail: str = ""


def reviews_required(hub: ProtectionHub, repo: str, branch: str) -> bool | None:
    """True / False, or None when GitHub will not tell these credentials (a 403, say)."""
    try:
        if any(rule.get("type") == "pull_request" for rule in hub.branch_rules(repo, branch)):
            return True
        classic = hub.branch_protection(repo, branch)
    except GitHubError:
        return None
    return bool(classic and classic.get("required_pull_request_reviews"))


def ruleset() -> dict[str, Any]:
    return {"name": RULESET_NAME, "target": "branch", "enforcement": "active",
            "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
            "rules": [{"type": "pull_request", "parameters": {
                "required_approving_review_count": 1, "dismiss_stale_reviews_on_push": False,
                "require_code_owner_review": False, "require_last_push_approval": False,
                "required_review_thread_resolution": False}}]}


def enforce(hub: ProtectionHub, repo: str, required: bool | None) -> Enforcement:
    """Create the ruleset when reviews are not required yet and the bot may; `required` from `reviews_required`."""
    if required is None:
        return Enforcement("unknown", "branch rules unreadable; nothing created")
    if required:
        return Enforcement("already-required")
    if not hub.repo_admin(repo):
        return Enforcement("not-admin", "the bot is not admin here; ask an admin to require reviews")
    if any(rs.get("name") == RULESET_NAME for rs in hub.list_rulesets(repo)):
        return Enforcement("exists", f"ruleset {RULESET_NAME!r} exists (perhaps disabled by an admin); left alone")
    made = hub.create_ruleset(repo, ruleset())
    return Enforcement("created", f"ruleset #{made.get('id')} {RULESET_NAME!r}")
