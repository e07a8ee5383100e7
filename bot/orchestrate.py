"""`ztbot run`: scan the org, plan each repository, and open or update one PR per repository.

One failing repository never stops the run: every repository ends with an outcome (handled,
skipped with a reason, or failed with the reason), and the state is saved after each one so an
interrupted run loses nothing it already did.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO
from urllib.parse import urlsplit

from bot import prbody, state
from bot.config import Config
from bot.errors import ZtbotError
from bot.github import GitHubClient, connect
from bot.github.models import RepoFiles, RepoInfo
from bot.github.redact import redact
from bot.github.scan import ScanResult
from bot.plan import RepoPlan, config_digest, plan_repo, unified_diff
from bot.prsync import Hub, Outcome, sync
from bot.state import RepoState


class Scanner(Hub, Protocol):
    def scan(self, known: Mapping[str, str] | None = None, want: Callable[[RepoInfo], bool] | None = None,
             with_topics: bool = False) -> ScanResult: ...


@dataclass
class RunReport:
    repos: int = 0  # repositories the listing returned
    scanned: int = 0  # fetched and planned this run
    not_moved: int = 0  # default branch unchanged since the last run: not fetched again
    skipped: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # reason -> repos
    actions: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # opened/updated/... -> repos
    failures: dict[str, str] = field(default_factory=dict)  # repo -> reason
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def lines(self) -> list[str]:
        acts = ", ".join(f"{len(v)} {k}" for k, v in sorted(self.actions.items())) or "none"
        skips = ", ".join(f"{len(v)} {k}" for k, v in sorted(self.skipped.items())) or "none"
        out = [f"repositories: {self.repos} listed, {self.scanned} scanned, {self.not_moved} unchanged since "
               "the last run", f"pull requests: {acts}", f"skipped: {skips}"]
        out += [f"failed: {repo}: {reason.splitlines()[0].removeprefix(repo + ': ')}"
                for repo, reason in sorted(self.failures.items())]
        return out


class Progress:
    """A bar on a terminal; plain lines otherwise (CI logs keep every repository's outcome)."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.tty = stream.isatty()

    def step(self, repo: str, what: str) -> None:
        self.done += 1
        if not self.tty:
            print(f"ztbot run: [{self.done}/{self.total}] {repo}: {what}", file=self.stream)
            return
        filled = int(30 * self.done / max(self.total, 1))
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} {repo[:40]:<40}")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.total:
            self.stream.write("\n")


def skip_reason(info: RepoInfo, config: Config) -> str:
    """Why the bot leaves a repository alone before reading it (empty = it does not)."""
    sel = config.select
    checks: list[tuple[bool, str]] = [
        (not _included(info, config), "excluded"),
        (info.archived, "archived"),  # read-only on GitHub: a PR is impossible
        (info.fork and not sel.forks, "fork"),
        (info.empty or not info.default_branch, "empty"),
        (bool(sel.topics) and not set(sel.topics) & set(info.topics), "excluded"),
        (sel.visibility != "all" and info.visibility != sel.visibility, "excluded"),
    ]
    return next((reason for hit, reason in checks if hit), "")


def _included(info: RepoInfo, config: Config) -> bool:
    def match(globs: list[str]) -> bool:
        return any(fnmatch.fnmatchcase(n, g) for g in globs for n in (info.name, info.full_name))
    return match(config.select.include) and not match(config.select.exclude)


class Runner:
    def __init__(self, config: Config, hub: Scanner, dry_run: bool = False, stream: TextIO = sys.stderr) -> None:
        self.config, self.hub, self.dry_run, self.stream = config, hub, dry_run, stream
        self.state = state.load(config.paths.state)
        self.digest = config_digest(config)
        self.report = RunReport()

    def run(self) -> RunReport:
        scan = self.hub.scan(self._known(), self._want, with_topics=bool(self.config.select.topics))
        self.report.repos = len(scan.repos) + sum(len(v) for v in self.report.skipped.values())
        fetched = {f.info.full_name: f for f in scan.fetched}
        progress = Progress(len(scan.repos), self.stream)
        try:
            for info in scan.repos:
                progress.step(info.full_name, self._guarded(info, fetched.get(info.full_name)))
        finally:
            progress.close()
        return self.report

    def _known(self) -> dict[str, str]:
        """Heads not worth reading again: same head, same bot settings, and no failure last time."""
        if self.dry_run:
            return {}  # a dry run writes every would-be PR, whatever the state says
        return {name: st.head_oid for name, st in self.state.repos.items()
                if st.head_oid and st.config_digest == self.digest and not st.error}

    def _want(self, info: RepoInfo) -> bool:
        """The scan's filter; records why a repository is left alone before any of its files is read."""
        reason = skip_reason(info, self.config)
        if reason:
            self.report.skipped[reason].append(info.full_name)
        return not reason

    def _guarded(self, info: RepoInfo, fetched: RepoFiles | None) -> str:
        """Handle one repository; whatever goes wrong is recorded for it and the run goes on."""
        st = self.state.repo(info.full_name)
        try:
            what = self._handle(info, fetched, st) if fetched is not None else self._recheck(info, st)
            st.error = ""
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            what = self._fail(info, st, exc)
        st.last_run = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        self._save(info, what)
        return what

    def _fail(self, info: RepoInfo, st: RepoState, exc: Exception) -> str:
        text = str(exc) if isinstance(exc, ZtbotError) else f"internal error {type(exc).__name__}: {exc}"
        st.error = redact(text)
        self.report.failures[info.full_name] = st.error
        return "failed: " + st.error.splitlines()[0]

    def _handle(self, info: RepoInfo, fetched: RepoFiles, st: RepoState) -> str:
        if "*" in fetched.errors:
            raise ZtbotError(f"{info.full_name}: cannot read files: {fetched.errors['*']}", "the next run tries again")
        base = fetched.info.head_oid or info.head_oid or ""
        plan = plan_repo(info.full_name, fetched.info.default_branch or "main", base, fetched.files, self.config)
        self.report.scanned += 1
        if plan.errors and not plan.changes:
            raise ZtbotError("; ".join(plan.errors), "fix the file so it parses, or report a bug with it")
        reason = "opted out" if plan.opted_out else ("" if plan.changes else _nothing_reason(plan))
        if reason:
            return self._record_plan(st, info, base, plan, skip=reason)
        if self.dry_run:
            return self._record_plan(st, info, base, plan, outcome=self._dry_run(info, plan))
        may_open = len(self.report.actions.get("opened", [])) < self.config.limits.new_prs_per_run
        outcome = sync(self.hub, self.config, info, plan, st, may_open)
        text = self._record_plan(st, info, base, plan, outcome=outcome)
        if outcome.action == "deferred":
            st.head_oid = ""  # not done: the next run must read it again
        return text

    def _record_plan(self, st: RepoState, info: RepoInfo, base: str, plan: RepoPlan, skip: str = "",
                     outcome: Outcome | None = None) -> str:
        st.head_oid, st.findings_digest, st.config_digest, st.skipped = base, plan.findings_digest, self.digest, skip
        if skip:
            self.report.skipped[skip].append(info.full_name)
            return f"skipped ({skip})"
        assert outcome is not None
        return self._record_outcome(info, outcome)

    def _record_outcome(self, info: RepoInfo, outcome: Outcome) -> str:
        self.report.actions[outcome.action].append(info.full_name)
        self.report.outcomes[info.full_name] = outcome
        return f"{outcome.action}: {outcome.detail}" + (f" {outcome.url}" if outcome.url else "")

    def _recheck(self, info: RepoInfo, st: RepoState) -> str:
        """An unmoved repository: only its open PR's state is refreshed (one read)."""
        self.report.not_moved += 1
        if not st.pr_open:
            return "unchanged since the last run"
        pull = self.hub.find_pull(info.full_name, self.config.pr.branch)
        if pull is None or pull.state == "open":
            return "unchanged since the last run"
        st.pr_state = "merged" if pull.merged else "closed"
        return self._record_outcome(info, Outcome("closed" if not pull.merged else "merged",
                                                  f"PR #{pull.number} was {st.pr_state}", pull.html_url))

    def _dry_run(self, info: RepoInfo, plan: RepoPlan) -> Outcome:
        """Write what the PR would be; reads tell whether it would be opened or updated, nothing is written."""
        folder = self._write_dry_run(plan)
        pull = self.hub.find_pull(info.full_name, self.config.pr.branch)
        if pull is not None and pull.state == "closed" and not pull.merged:
            return Outcome("closed", f"PR #{pull.number} was closed unmerged; would not reopen", pull.html_url)
        if pull is not None and pull.state == "open":
            same = (prbody.parse_metadata(pull.body) or {}).get("content_hash") == plan.content_hash
            return Outcome("unchanged" if same else "would-update", f"PR #{pull.number}; see {folder}", pull.html_url)
        return Outcome("would-open", f"{len(plan.changes)} file(s); see {folder}")

    def _write_dry_run(self, plan: RepoPlan) -> Path:
        folder = Path(self.config.paths.dry_run) / plan.repo.replace("/", "__")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "pr.md").write_text(f"# {prbody.title(self.config)}\n\n{prbody.render(plan)}", encoding="utf-8")
        (folder / "changes.diff").write_text(unified_diff(plan.changes), encoding="utf-8")
        return folder

    def _save(self, info: RepoInfo, what: str) -> None:
        if self.dry_run:
            return  # a dry run must not make the next real run think it already handled these heads
        state.save(self.state, self.config.paths.state)
        _audit(self.config.paths.audit, info.full_name, what)


def _nothing_reason(plan: RepoPlan) -> str:
    return "no findings" if not plan.evidence else "nothing fixable"


def _audit(path: str, repo: str, what: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    entry = {"time": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"), "repo": repo,
             "outcome": redact(what)}
    with target.open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")


def run(config: Config, hub: Scanner, dry_run: bool = False, stream: TextIO = sys.stderr) -> RunReport:
    return Runner(config, hub, dry_run, stream).run()


class BotHub:
    """`GitHubClient` plus what `bot/github` does not offer yet: the git remote and its credentials.

    Everything else is delegated unchanged; drop this adapter once the client grows `git_remote`.
    """

    def __init__(self, client: GitHubClient, base_url: str) -> None:
        self.client, self.base_url = client, base_url

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def git_remote(self, repo: str) -> tuple[str, str]:
        # The client's own auth object: for a GitHub App it renews the installation token when due.
        auth = self.client.transport.github.requester.auth
        if auth is None:
            raise ZtbotError("no GitHub credentials to push with", "set the token or configure [github] auth = \"app\"")
        return clone_url(self.base_url, repo), auth.token


def clone_url(base_url: str, repo: str) -> str:
    """github.com: https://github.com/o/r.git; GitHub Enterprise Server: https://HOST/o/r.git."""
    parts = urlsplit(base_url.rstrip("/"))
    if parts.netloc == "api.github.com":
        return f"https://github.com/{repo}.git"
    path = parts.path.removesuffix("/api/v3")
    return f"{parts.scheme}://{parts.netloc}{path}/{repo}.git"


def open_hub(config: Config, env: Mapping[str, str] | None = None) -> BotHub:
    """The GitHub client for `config` (credentials from `env`, default: the process environment)."""
    client = connect(config.github, config.limits, env=env)
    return BotHub(client, config.github.base_url)

