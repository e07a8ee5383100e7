"""`ztbot run`: scan the org, plan each repository, and open or update one PR per repository.

One failing repository never stops the run: every repository ends with an outcome (handled,
skipped with a reason, or failed with the reason), and the state is saved after each one so an
interrupted run loses nothing it already did.
"""

from __future__ import annotations

import datetime
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from bot import dashboard, inventory, prbody, state
from bot.audit import AuditLog
from bot.config import Config, check
from bot.errors import ZtbotError
from bot.github import GitHubError
from bot.github.models import RepoFiles, RepoInfo
from bot.github.redact import redact
from bot.hub import BotHub, Scanner, clone_url, open_hub
from bot.pinresolver import PinResolver
from bot.plan import REPO_CONFIG, RepoPlan, config_digest, enabled_transforms, plan_repo, unified_diff
from bot.posture import RepoReport, markdown
from bot.protection import enforce, reviews_required
from bot.prsync import Outcome, close_for_opt_out, current_pull, note_closed, refusal, sync
from bot.rollout import Budget, in_shard, queue_order, transforms_for
from bot.runaudit import Recorder, names
from bot.runview import Progress, RunReport, skip_reason
from bot.state import RepoState
from transforms.registry import TRANSFORMS

Now = Callable[[], datetime.datetime]
__all__ = ["BotHub", "Progress", "RunReport", "Runner", "Scanner", "clone_url", "open_hub", "run", "skip_reason"]


@dataclass(frozen=True)
class Decision:
    """What happened to one repository: the audit action, the progress text, and what it was about."""

    action: str  # the audit log's action
    text: str
    pr_url: str = ""
    content_hash: str = ""


AUDIT_ACTIONS = {"opened": "opened-pr", "updated": "updated-pr", "closed": "closed-pr", "merged": "merged"}


class Runner:
    def __init__(self, config: Config, hub: Scanner, dry_run: bool = False, stream: TextIO | None = None,
                 now: Now | None = None, shard: tuple[int, int] | None = None) -> None:
        check(config, list(TRANSFORMS))
        self.config, self.hub, self.dry_run, self.shard = config, hub, dry_run, shard
        self.limits = config.limits.per_shard(shard[1] if shard else 1)
        self.stream = stream or sys.stderr  # looked up now: tests and callers may have replaced it
        self.now = now or (lambda: datetime.datetime.now(datetime.UTC))
        self.today = self.now().date()
        self.state_path = state.shard_path(config.paths.state, shard)
        self.state = state.load(self.state_path)
        day_ago = self.now() - datetime.timedelta(days=1)  # only the last hour counts; a day is plenty
        self.state.opened_at = [t for t in self.state.opened_at if datetime.datetime.fromisoformat(t) > day_ago]
        self.enabled = list(enabled_transforms(config))
        self.report = RunReport()
        self.pins = PinResolver(hub, self.state.pins, self.now)
        self._allowed_cache: dict[str, list[str]] = {}
        self.opened_this_run = 0
        shard_text = f"{shard[0]}/{shard[1]}" if shard else ""
        log = None if dry_run else AuditLog(config.paths.audit, hub.secrets())
        self.audit = Recorder(log, str(uuid.uuid4()), hub.identity() if log else "", shard_text, self.now)

    # -- the run ---------------------------------------------------------------------------------
    def reset(self, repos: list[str]) -> None:
        """`--reset-repo`: forget what the owner said no to, so the change may be proposed again."""
        for name in repos:
            if not self.state.reset(name):
                raise ZtbotError(f"{name}: not in the state file {self.state_path}",
                                 "name it as owner/name, exactly as `ztbot audit` shows it")
            self.audit.write(name, "reset", "state entry reset by --reset-repo")
        if not self.dry_run:
            state.save(self.state, self.state_path)

    def run(self) -> RunReport:
        scan = self.hub.scan(self._known(), self._want, with_topics=bool(self.config.select.topics))
        waiting_for_wave = len(self.report.actions.get("deferred", []))
        self.report.repos = len(scan.repos) + sum(len(v) for v in self.report.skipped.values()) + waiting_for_wave
        fetched = {f.info.full_name: f for f in scan.fetched}
        by_name = {info.full_name: info for info in scan.repos}
        waiting = {n: st.waiting_since for n, st in self.state.repos.items() if st.waiting_since}
        progress = Progress(len(scan.repos), self.stream)
        try:
            for name in queue_order(by_name, waiting):  # the longest-waiting get the budget first
                progress.step(name, self._guarded(by_name[name], fetched.get(name)))
        finally:
            progress.close()
        self._dashboard()
        return self.report

    def _remaining(self) -> int:
        """New PRs this run may still open; live, so PRs closed or merged earlier in this run free a slot."""
        opened = [datetime.datetime.fromisoformat(t) for t in self.state.opened_at]
        open_now = sum(st.pr_open for st in self.state.repos.values())
        budget = Budget.compute(self.limits, opened, open_now, self.now()).remaining
        # The per-hour and open-PR terms already count this run's PRs; the per-run term does not.
        return min(budget, self.limits.new_prs_per_run - self.opened_this_run)

    def _cap_reason(self) -> str:
        """The cap that stopped a new PR, named by its config key."""
        limits = self.limits
        hour_ago = self.now() - datetime.timedelta(hours=1)
        last_hour = sum(datetime.datetime.fromisoformat(t) > hour_ago for t in self.state.opened_at)
        open_now = sum(st.pr_open for st in self.state.repos.values())
        if self.opened_this_run >= limits.new_prs_per_run:
            return f"limits.new_prs_per_run ({limits.new_prs_per_run}) reached"
        if last_hour >= limits.new_prs_per_hour:
            return f"limits.new_prs_per_hour ({limits.new_prs_per_hour}) reached"
        return f"limits.open_prs ({limits.open_prs} open bot PRs) reached" if open_now >= limits.open_prs else "cap"

    def _allowed(self, name: str) -> list[str]:
        if name not in self._allowed_cache:
            self._allowed_cache[name] = transforms_for(self.config, name, self.enabled, self.today)
        return self._allowed_cache[name]

    def _known(self) -> dict[str, str]:
        """Heads not worth reading again: same head, same bot settings and wave, and no failure last time."""
        if self.dry_run:
            return {}  # a dry run writes every would-be PR, whatever the state says
        return {name: st.head_oid for name, st in self.state.repos.items()
                if st.head_oid and st.config_digest == config_digest(self.config, self._allowed(name))
                and not st.error}

    def _want(self, info: RepoInfo) -> bool:
        """The scan's filter; records why a repository is left alone before any of its files is read."""
        if not in_shard(info.full_name, self.shard):
            return False  # another shard's repository: not this run's business, not even a record
        reason = skip_reason(info, self.config)
        if not reason and not self._allowed(info.full_name):
            return self._wave_deferred(info)
        if reason:
            self.report.skipped[reason].append(info.full_name)
            self.state.repo(info.full_name).skipped = reason
            self.audit.write(info.full_name, "skipped", reason)
        return not reason

    def _wave_deferred(self, info: RepoInfo) -> bool:
        st = self.state.repo(info.full_name)
        st.waiting_since = st.waiting_since or self._stamp()
        self.report.actions["deferred"].append(info.full_name)
        self.audit.write(info.full_name, "deferred", "no rollout wave covers this repository yet")
        return False

    def _stamp(self) -> str:
        return self.now().isoformat(timespec="seconds")

    def _guarded(self, info: RepoInfo, fetched: RepoFiles | None) -> str:
        """Handle one repository; whatever goes wrong is recorded for it and the run goes on."""
        st = self.state.repo(info.full_name)
        try:
            decision = self._handle(info, fetched, st) if fetched is not None else self._recheck(info, st)
            st.error = ""
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            decision = self._fail(info, st, exc)
        st.last_run = self._stamp()
        self.audit.write(info.full_name, decision.action, decision.text, pr_url=decision.pr_url,
                         base_sha=st.head_oid or info.head_oid or "", content_hash=decision.content_hash)
        if not self.dry_run:
            state.save(self.state, self.state_path)
        return decision.text

    def _runtime(self, info: RepoInfo) -> dict[str, dict[str, Any]]:
        """Options only the run knows: pins resolved online (cached in the state), the repo's visibility."""
        return {"pin-actions": {"resolver": self.pins}, "persist-credentials": {"public_repo": not info.private}}

    def _fail(self, info: RepoInfo, st: RepoState, exc: Exception) -> Decision:
        text = str(exc) if isinstance(exc, ZtbotError) else f"internal error {type(exc).__name__}: {exc}"
        st.error = redact(text)
        self.report.failures[info.full_name] = st.error
        return Decision("failed", "failed: " + st.error.splitlines()[0])

    # -- one repository ----------------------------------------------------------------------------
    def _handle(self, info: RepoInfo, fetched: RepoFiles, st: RepoState) -> Decision:
        if "*" in fetched.errors:
            raise ZtbotError(f"{info.full_name}: cannot read files: {fetched.errors['*']}", "the next run tries again")
        base = fetched.info.head_oid or info.head_oid or ""
        allowed = self._allowed(info.full_name)
        plan = plan_repo(info.full_name, fetched.info.default_branch or "main", base, fetched.files, self.config,
                         allowed=allowed, runtime=self._runtime(info))
        self.report.scanned += 1
        self._note_plan(plan, fetched)
        if plan.errors and not plan.changes:
            raise ZtbotError("; ".join(plan.errors), "fix the file so it parses, or report a bug with it")
        st.head_oid, st.findings_digest, st.skipped = base, plan.findings_digest, ""
        st.config_digest = config_digest(self.config, allowed)
        st.opted_out = bool(plan.opted_out)
        if plan.opted_out:
            decision = self._opt_out(info, st)
        elif not plan.changes:
            decision = self._nothing(info, st, plan)
        elif self.dry_run:
            decision = self._record_outcome(info, self._dry_run(info, plan), plan)
        else:
            decision = self._sync(info, st, plan)
        self._posture(info, fetched, plan, st)
        return decision

    def _note_plan(self, plan: RepoPlan, fetched: RepoFiles) -> None:
        self.audit.write(plan.repo, "scanned", f"{len(fetched.files)} file(s) read; transforms: "
                         f"{names(plan.transforms)}", base_sha=plan.base_sha, content_hash=plan.content_hash)
        if plan.settings_error:
            self.report.warnings[plan.repo] = plan.settings_error
            self.audit.write(plan.repo, "repo-config-error", plan.settings_error, file=REPO_CONFIG)
        self.audit.findings(plan)

    def _sync(self, info: RepoInfo, st: RepoState, plan: RepoPlan) -> Decision:
        may_open = self._remaining() > 0
        outcome = sync(self.hub, self.config, info, plan, st, may_open, self.now(),
                       deferred="" if may_open else self._cap_reason())
        if outcome.action == "opened":
            self.opened_this_run += 1
            self.state.opened_at.append(self._stamp())
        if outcome.action == "deferred":
            st.head_oid = ""  # not done: the next run must read it again
            st.waiting_since = st.waiting_since or self._stamp()
        else:
            st.waiting_since = ""
        return self._record_outcome(info, outcome, plan)

    def _opt_out(self, info: RepoInfo, st: RepoState) -> Decision:
        self.report.skipped["opted out"].append(info.full_name)
        st.waiting_since = ""
        if self.dry_run or not st.pr_open:
            st.skipped = "opted out"
            return Decision("opted-out", "skipped (opted out)")
        outcome = close_for_opt_out(self.hub, self.config, info, st)
        st.skipped = "opted out"
        return Decision("opted-out", f"opted out: {outcome.detail}", outcome.url)

    def _nothing(self, info: RepoInfo, st: RepoState, plan: RepoPlan) -> Decision:
        reason = _nothing_reason(plan)
        st.skipped, st.waiting_since = reason, ""  # nothing to wait for any more
        self.report.skipped[reason].append(info.full_name)
        event = self._refresh_pull(info, st) if st.pr_open and not self.dry_run else None
        if event is not None:  # e.g. merged: its changes are on the default branch now
            done = self._record_outcome(info, event)
            self.audit.write(info.full_name, done.action, done.text, pr_url=done.pr_url, base_sha=plan.base_sha)
        return Decision("skipped", f"skipped ({reason})", st.pr_url)

    def _record_outcome(self, info: RepoInfo, outcome: Outcome, plan: RepoPlan | None = None) -> Decision:
        self.report.actions[outcome.action].append(info.full_name)
        self.report.outcomes[info.full_name] = outcome
        text = f"{outcome.action}: {outcome.detail}" + (f" {outcome.url}" if outcome.url else "")
        return Decision(AUDIT_ACTIONS.get(outcome.action, outcome.action), text, outcome.url,
                        plan.content_hash if plan else "")

    def _recheck(self, info: RepoInfo, st: RepoState) -> Decision:
        """An unmoved repository: only its open PR's state is refreshed (one read)."""
        self.report.not_moved += 1
        outcome = self._refresh_pull(info, st) if st.pr_open else None
        if outcome is None:
            return Decision("unchanged", "unchanged since the last run", st.pr_url)
        return self._record_outcome(info, outcome)

    def _refresh_pull(self, info: RepoInfo, st: RepoState) -> Outcome | None:
        """The PR the state calls open was merged or closed since: remember it (and comment once if closed)."""
        pull = current_pull(self.hub, self.config, info, st)
        if pull is None or pull.state == "open":
            return None
        st.pr_state = "merged" if pull.merged else "closed"
        if pull.merged:
            st.merged_at = self._stamp()
            st.head_oid = ""  # read it again next time: the secret inventory wants the merged files
            return Outcome("merged", f"PR #{pull.number} was merged", pull.html_url)
        note_closed(self.hub, self.config, info, st, pull, self.now())
        return Outcome("closed", f"PR #{pull.number} was closed unmerged", pull.html_url)

    # -- posture: findings, branch protection, secrets ---------------------------------------------------
    def _posture(self, info: RepoInfo, fetched: RepoFiles, plan: RepoPlan, st: RepoState) -> None:
        report = RepoReport(info.full_name, plan.results)
        st.credentials, st.jobs_without_permissions = dict(report.credentials()), report.jobs_without_permissions()
        if self.dry_run or plan.opted_out:
            return
        bp = self.config.branch_protection
        if bp.report or bp.enforce:
            self._protection(info, plan.default_branch, st)
        self._secrets(info, fetched, plan, st)

    def _protection(self, info: RepoInfo, branch: str, st: RepoState) -> None:
        st.reviews_required = reviews_required(self.hub, info.full_name, branch)
        if not self.config.branch_protection.enforce:
            return
        done = enforce(self.hub, info.full_name, st.reviews_required)
        if done.action == "created":
            st.reviews_required = True
        if done.action != "already-required":
            self.audit.write(info.full_name, f"ruleset-{done.action}", done.detail)

    def _secrets(self, info: RepoInfo, fetched: RepoFiles, plan: RepoPlan, st: RepoState) -> None:
        inv = inventory.of_plan(plan, fetched.files)
        if inv.migrated:
            st.migrated_secrets = list(inv.migrated)
        if st.pr_state != "merged" or not st.migrated_secrets:
            return
        ready = inventory.ready_to_delete(st.migrated_secrets, self.hub.secret_names(info.full_name),
                                          inventory.referenced(fetched.files))
        if ready != st.ready_to_delete:
            self.audit.write(info.full_name, "secrets-ready-to-delete", names(ready))
        st.ready_to_delete = ready

    def _dashboard(self) -> None:
        if not self.config.dashboard.repo or self.dry_run:
            return
        shard = f"{self.shard[0]}-of-{self.shard[1]}" if self.shard else ""
        text = markdown(dashboard.reports(self.state), dashboard.title(self.config, shard))
        try:
            done = dashboard.publish(self.hub, self.config, text, shard)
        except GitHubError as err:
            self.report.failures[self.config.dashboard.repo] = f"dashboard: {err}"
            self.audit.write(self.config.dashboard.repo, "failed", f"dashboard: {err}")
            return
        self.report.dashboard = done.url
        self.audit.write(self.config.dashboard.repo, f"dashboard-{done.action}", "posture report", pr_url=done.url)

    # -- dry run -------------------------------------------------------------------------------------------
    def _dry_run(self, info: RepoInfo, plan: RepoPlan) -> Outcome:
        """Write what the PR would be; reads tell whether it would be opened or updated, nothing is written."""
        folder = self._write_dry_run(plan)
        st = self.state.repo(info.full_name)
        pull = current_pull(self.hub, self.config, info, st)
        if pull is not None and pull.state == "closed" and not pull.merged:
            said_no = (prbody.parse_metadata(pull.body) or {}).get("content_hash", "")
            seen = st.closed_at if st.closed_pr == pull.number else self._stamp()
            refused = refusal(self.config, replace(st, closed_hashes=[*st.closed_hashes, said_no], closed_at=seen),
                              plan, self.now())
            if refused:
                return Outcome("closed", f"PR #{pull.number} was closed unmerged; {refused}", pull.html_url)
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


def _nothing_reason(plan: RepoPlan) -> str:
    return "no findings" if not plan.evidence else "nothing fixable"


def run(config: Config, hub: Scanner, dry_run: bool = False, stream: TextIO | None = None, now: Now | None = None,
        shard: tuple[int, int] | None = None, reset: list[str] | None = None) -> RunReport:
    runner = Runner(config, hub, dry_run, stream, now, shard)
    if reset:
        runner.reset(reset)
    return runner.run()
