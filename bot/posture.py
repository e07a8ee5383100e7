"""Org-level reports: the Markdown posture report and SARIF over many repositories.

Per repository: static credentials by provider, jobs without permissions, PR state, opt-outs,
branch protection, and the static secrets that a merged OIDC PR made ready to delete.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.report import to_sarif
from bot.runner import FileResult
from transforms.base import Transform

# Rules that mean "a static credential is still here", by provider label.
PROVIDERS = {
    "oidc-aws": "AWS", "oidc-gcp": "GCP", "oidc-azure": "Azure", "oidc-vault": "Vault",
    "registry-login": "Registry", "publish-pypi": "PyPI", "publish-npm": "npm",
    "publish-rubygems": "RubyGems", "publish-crates": "crates.io", "publish-nuget": "NuGet",
}
MISSING_PERMISSIONS = ("permissions-missing", "permissions-unresolved")


@dataclass
class RepoReport:
    full_name: str
    results: list[FileResult] = field(default_factory=list)
    skipped: str = ""  # why the repository was not analysed (archived, fork, excluded, opted out...)
    opted_out: bool = False
    pr_state: str = ""  # open / draft / merged / closed / "" (none)
    pr_url: str = ""
    reviews_required: bool | None = None  # branch protection; None = unknown
    secrets_before: tuple[str, ...] = ()
    secrets_after: tuple[str, ...] = ()
    ready_to_delete: tuple[str, ...] = ()
    # Counts remembered from an earlier run (the state file), for repositories not read again this time.
    credential_counts: dict[str, int] | None = None
    missing_permissions: int | None = None

    def credentials(self) -> Counter[str]:
        """Static-credential findings by provider."""
        if self.credential_counts is not None:
            return Counter(self.credential_counts)
        return Counter(PROVIDERS[t] for r in self.results for t, f in r.findings
                       if t in PROVIDERS and f.rule.startswith(t))

    def jobs_without_permissions(self) -> int:
        if self.missing_permissions is not None:
            return self.missing_permissions
        return sum(1 for r in self.results for _, f in r.findings if f.rule in MISSING_PERMISSIONS)


def _cell(report: RepoReport) -> list[str]:
    creds = ", ".join(f"{p} {n}" for p, n in sorted(report.credentials().items())) or "none"
    pr = f"[{report.pr_state}]({report.pr_url})" if report.pr_url else (report.pr_state or "—")
    reviews = {True: "yes", False: "**no**", None: "unknown"}[report.reviews_required]
    failed = sum(r.status.value == "failed" for r in report.results)
    status = f"skipped: {report.skipped}" if report.skipped else ("opted out" if report.opted_out else "scanned")
    status += f" ({failed} file{'s' * (failed != 1)} failed)" if failed else ""
    delete = ", ".join(f"`{s}`" for s in report.ready_to_delete) or "—"
    return [f"`{report.full_name}`", status, creds, str(report.jobs_without_permissions()), pr, reviews, delete]


def markdown(reports: list[RepoReport], title: str = "Zero Trust posture") -> str:
    scanned = [r for r in reports if not r.skipped and not r.opted_out]
    creds = sum((r.credentials() for r in scanned), Counter())
    lines = [f"# {title}", "",
             f"{len(reports)} repositories, {len(scanned)} scanned, "
             f"{sum(r.opted_out for r in reports)} opted out, "
             f"{sum(1 for r in scanned if r.credentials())} with static credentials, "
             f"jobs without permissions: {sum(r.jobs_without_permissions() for r in scanned)}.", ""]
    if creds:
        lines += ["| provider | static credential findings |", "|---|---|"]
        lines += [f"| {p} | {n} |" for p, n in sorted(creds.items())] + [""]
    header = ["repository", "status", "static credentials", "jobs without permissions", "PR",
              "reviews required", "secrets ready to delete"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(r)) + " |" for r in sorted(reports, key=lambda r: r.full_name)]
    return "\n".join(lines) + "\n"


def sarif(reports: list[RepoReport], transforms: Mapping[str, Transform], docs: Mapping[str, str]) -> str:
    """One SARIF run for the whole org; artifact URIs are `owner/repo/path`."""
    results = []
    for report in reports:
        for r in report.results:
            results.append(FileResult(f"{report.full_name}/{r.path}", r.status, findings=r.findings))
    return to_sarif(results, transforms, docs)
