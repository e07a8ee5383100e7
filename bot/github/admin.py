"""Repository settings the rollout reads (and, when configured, writes): identity, admin rights, branch
rules and protection, rulesets, Actions secret names, and issues (the dashboard).

Raw REST through the requester where PyGithub has no (or a chattier) call; every method is one request
per page through the `Transport`, so retries and counting work as for every other call.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.github.errors import GitHubError, NotFound
from bot.github.transport import Transport

PAGE = 100


@dataclass(frozen=True)
class IssueInfo:
    number: int
    title: str
    body: str
    state: str
    html_url: str
    labels: tuple[str, ...] = ()


class RepoAdmin:
    """Mixed into `GitHubClient`, which provides `transport`."""

    transport: Transport
    _identity: str | None = None

    def _get(self, what: str, url: str, params: dict[str, Any] | None = None) -> Any:
        requester = self.transport.github.requester
        return self.transport.read(what, lambda: requester.requestJsonAndCheck("GET", url, params)[1])

    def _send(self, what: str, verb: str, url: str, body: dict[str, Any]) -> Any:
        requester = self.transport.github.requester
        return self.transport.write(what, lambda: requester.requestJsonAndCheck(verb, url, input=body)[1])

    def _pages(self, what: str, url: str, key: str | None = None, **params: Any) -> list[Any]:
        found: list[Any] = []
        for page in range(1, 1000):
            data = self._get(f"{what} page {page}", url, {**params, "per_page": PAGE, "page": page})
            items = data.get(key, []) if key else data
            found += items
            if len(items) < PAGE:
                break
        return found

    # -- who the bot is --------------------------------------------------------------------------
    def identity(self) -> str:
        """`slug[bot]` for a GitHub App, the login for a token; "unknown" when GitHub will not say. Cached."""
        if self._identity is None:
            self._identity = self._ask_identity()
        return self._identity

    def _ask_identity(self) -> str:
        auth = self.transport.github.requester.auth
        app_requester = getattr(auth, "requester", None) if hasattr(auth, "installation_id") else None
        try:
            if app_requester is not None:  # an installation: GET /app needs the app's own JWT
                data = self.transport.read("GET /app", lambda: app_requester.requestJsonAndCheck("GET", "/app")[1])
                return f"{data['slug']}[bot]"
            return str(self._get("GET /user", "/user")["login"])
        except (GitHubError, KeyError, TypeError):
            return "unknown"

    # -- repository --------------------------------------------------------------------------------
    def repo_admin(self, repo: str) -> bool:
        """Whether the bot's credentials have admin on `repo` (`permissions.admin` of the repo API)."""
        data = self._get(f"GET {repo}", f"/repos/{repo}")
        return bool((data.get("permissions") or {}).get("admin"))

    def branch_rules(self, repo: str, branch: str) -> list[dict[str, Any]]:
        """The rules (from every active ruleset) that apply to `branch`."""
        return self._pages(f"GET {repo}/rules/branches/{branch}",
                           f"/repos/{repo}/rules/branches/{urllib.parse.quote(branch)}")

    def branch_protection(self, repo: str, branch: str) -> dict[str, Any] | None:
        """Classic branch protection of `branch`, or None when it has none."""
        try:
            return dict(self._get(f"GET {repo}/branches/{branch}/protection",
                                  f"/repos/{repo}/branches/{urllib.parse.quote(branch)}/protection"))
        except NotFound:
            return None

    def commit_for(self, repo: str, ref: str) -> str | None:
        """The full commit sha `ref` (tag or branch) of `repo` points to now; None when GitHub has no such ref."""
        try:
            data = self._get(f"GET {repo}/commits/{ref}", f"/repos/{repo}/commits/{urllib.parse.quote(ref)}")
        except NotFound:
            return None
        sha = data.get("sha") if isinstance(data, dict) else None
        return sha if isinstance(sha, str) and len(sha) == 40 else None

    def list_rulesets(self, repo: str) -> list[dict[str, Any]]:
        return self._pages(f"GET {repo}/rulesets", f"/repos/{repo}/rulesets")

    def create_ruleset(self, repo: str, ruleset: dict[str, Any]) -> dict[str, Any]:
        return dict(self._send(f"POST {repo}/rulesets", "POST", f"/repos/{repo}/rulesets", ruleset))

    def secret_names(self, repo: str) -> list[str]:
        """Names of the repository's Actions secrets (GitHub never returns values)."""
        items = self._pages(f"GET {repo}/actions/secrets", f"/repos/{repo}/actions/secrets", key="secrets")
        return sorted(str(s["name"]) for s in items)

    # -- issues (the dashboard) ----------------------------------------------------------------------
    def list_issues(self, repo: str, labels: Sequence[str] = (), state: str = "all") -> list[IssueInfo]:
        params: dict[str, Any] = {"state": state}
        if labels:
            params["labels"] = ",".join(labels)
        items = self._pages(f"GET {repo}/issues", f"/repos/{repo}/issues", **params)
        return [_issue(i) for i in items if "pull_request" not in i]

    def create_issue(self, repo: str, title: str, body: str, labels: Sequence[str] = ()) -> IssueInfo:
        return _issue(self._send(f"POST {repo}/issues", "POST", f"/repos/{repo}/issues",
                                 {"title": title, "body": body, "labels": list(labels)}))

    def update_issue(self, repo: str, number: int, body: str, state: str = "open") -> IssueInfo:
        return _issue(self._send(f"PATCH {repo}/issues/{number}", "PATCH", f"/repos/{repo}/issues/{number}",
                                 {"body": body, "state": state}))


def _issue(data: dict[str, Any]) -> IssueInfo:
    labels = tuple(lbl["name"] if isinstance(lbl, dict) else str(lbl) for lbl in data.get("labels") or [])
    return IssueInfo(int(data["number"]), str(data.get("title") or ""), str(data.get("body") or ""),
                     str(data.get("state") or ""), str(data.get("html_url") or ""), labels)
