"""`ztbot run` end to end against the stand-in: PRs, re-runs, human edits, refusals and secrets.

Snapshots live in `tests/e2e/snapshots/`; after an intended change to a transform or the PR text,
refresh them with `ZTBOT_UPDATE_SNAPSHOTS=1 python -m pytest tests/e2e` and review the diff.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
import requests

from bot import prbody, state
from bot.cli import main
from bot.demo import ORG, TOKEN_ENV
from bot.prsync import HUMAN_EDITS_MARK
from tests.e2e.conftest import Bot, normalize

SNAPSHOTS = Path(__file__).with_name("snapshots")
OPENED = ["data-pipeline", "infra-azure", "payments-api", "py-toolkit", "release-bot", "ui-kit", "web-frontend"]
NEEDS_SETUP = {"data-pipeline", "infra-azure", "payments-api", "py-toolkit", "ui-kit", "web-frontend"}
NEW_WORKFLOW = """name: Lint
on: [pull_request]
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make lint
"""


def check_snapshot(name: str, text: str) -> None:
    target = SNAPSHOTS / name
    if os.environ.get("ZTBOT_UPDATE_SNAPSHOTS") == "1":
        target.parent.mkdir(exist_ok=True)
        target.write_text(text, encoding="utf-8")
    assert target.exists(), f"missing snapshot {target}; create it with ZTBOT_UPDATE_SNAPSHOTS=1"
    assert text == target.read_text(encoding="utf-8"), f"{name} differs from its snapshot"


def pr_diff(bot: Bot, repo: str) -> str:
    pull = bot.pull(repo).pull
    return bot.gh.bare(ORG, repo).text("diff", pull.base_sha, pull.head_sha) + "\n"


def api(bot: Bot, method: str, path: str, **body: Any) -> Any:
    answer = requests.request(method, f"{bot.gh.api_url}{path}", json=body or None, timeout=10,
                              headers={"Authorization": f"token {bot.token}"})
    assert answer.ok, answer.text
    return answer.json()


def touch_default_branch(bot: Bot, repo: str) -> str:
    """A human adds a workflow on the default branch: the repo's head moves and the plan grows."""
    return bot.gh.commit(ORG, repo, {".github/workflows/lint.yml": NEW_WORKFLOW}, message="Add lint",
                         author=("Dev", "dev@example.com"))


def test_first_run_opens_one_pr_per_repo_with_expected_diff_and_body(bot: Bot) -> None:
    report = bot.run()
    assert sorted(report.actions["opened"]) == [f"{ORG}/{r}" for r in OPENED]
    assert report.skipped == {"archived": [f"{ORG}/old-service"], "opted out": [f"{ORG}/legacy-monolith"]}
    assert not report.failures
    for repo in OPENED:
        issue = bot.pull(repo)
        assert (issue.title, issue.labels) == (bot.config.pr.title, ["security", "ztbot"])
        assert issue.pull.head_ref == "ztbot/zero-trust" and issue.pull.draft == (repo in NEEDS_SETUP)
        check_snapshot(f"{repo}.diff", normalize(pr_diff(bot, repo), bot.gh))
        check_snapshot(f"{repo}.md", normalize(issue.body, bot.gh))
        author = bot.gh.bare(ORG, repo).commit_info(issue.pull.head_sha)
        assert (author.author_name, author.author_email) == ("ztbot", "ztbot@users.noreply.github.com")
    assert not bot.gh.pulls(ORG, "legacy-monolith") and not bot.gh.pulls(ORG, "old-service")


def test_pr_body_sections_and_metadata(bot: Bot) -> None:
    bot.run()
    body = bot.pull("payments-api").body
    for heading in ("### Summary", "### Static AWS keys", "### Least-privilege", "Evidence (findings)",
                    "### Before merging", "- [ ] **oidc-aws**", "`.github/ztbot.toml` with `enabled = false`"):
        assert heading in body
    meta = prbody.parse_metadata(body)
    saved = state.load(bot.config.paths.state).repos[f"{ORG}/payments-api"]
    assert meta is not None and meta["transforms"] == ["oidc-aws", "permissions"]
    assert meta["content_hash"] == saved.content_hash and meta["base_sha"] == saved.head_oid
    assert saved.pushed_sha == bot.branch("payments-api") and saved.pr_state == "open"


def test_second_run_with_nothing_changed_makes_no_writes(bot: Bot) -> None:
    bot.run()
    before = len(bot.gh.requests)
    report = bot.run()
    assert bot.writes(before) == []
    assert report.not_moved == 8 and report.scanned == 0 and not report.actions
    fetched = bot.gh.count("POST", "graphql") - sum(1 for r in bot.gh.requests[:before] if "graphql" in r.path)
    assert fetched == 1  # the listing only: no file was fetched again


def test_changed_repo_gets_its_pr_updated_in_place(bot: Bot) -> None:
    bot.run()
    first_head, first_body = bot.branch("payments-api"), bot.pull("payments-api").body
    touch_default_branch(bot, "payments-api")
    before = len(bot.gh.requests)
    report = bot.run()
    assert report.actions == {"updated": [f"{ORG}/payments-api"]}
    assert len(bot.gh.pulls(ORG, "payments-api")) == 1  # updated, not duplicated
    assert bot.branch("payments-api") != first_head and bot.pull("payments-api").body != first_body
    assert "lint.yml" in pr_diff(bot, "payments-api")
    assert sorted(w.split()[0] for w in bot.writes(before)) == ["PATCH", "POST"]  # push + body update


def test_closed_pr_is_not_reopened(bot: Bot) -> None:
    bot.run()
    number = bot.pull("release-bot").number
    api(bot, "PATCH", f"/repos/{ORG}/release-bot/pulls/{number}", state="closed")
    touch_default_branch(bot, "release-bot")
    before = len(bot.gh.requests)
    report = bot.run()
    assert report.actions == {"closed": [f"{ORG}/release-bot"]}
    assert [p.state for p in bot.gh.pulls(ORG, "release-bot")] == ["closed"]
    assert bot.writes(before) == [f"POST /api/v3/repos/{ORG}/release-bot/issues/{number}/comments"]  # once
    comment = bot.gh.comments(ORG, "release-bot", number)[0]
    assert f"ztbot run --config {bot.config.source} --reset-repo {ORG}/release-bot" in comment
    assert "cooldown_days" in comment
    assert state.load(bot.config.paths.state).repos[f"{ORG}/release-bot"].pr_state == "closed"
    bot.gh.commit(ORG, "release-bot", {"CHANGELOG.md": "1.0\n"}, message="Changelog")
    before = len(bot.gh.requests)
    report = bot.run()
    assert report.scanned == 1 and bot.writes(before) == []  # the comment is not repeated


def test_closed_pr_is_noticed_without_refetching(bot: Bot) -> None:
    bot.run()
    api(bot, "PATCH", f"/repos/{ORG}/ui-kit/pulls/1", state="closed")
    report = bot.run()
    assert report.actions == {"closed": [f"{ORG}/ui-kit"]} and report.scanned == 0
    assert state.load(bot.config.paths.state).repos[f"{ORG}/ui-kit"].pr_state == "closed"


def test_human_commits_on_the_branch_are_kept_and_commented_once(bot: Bot) -> None:
    bot.run()
    human = bot.gh.commit(ORG, "web-frontend", {"NOTES.md": "reviewed\n"}, branch="ztbot/zero-trust",
                          message="Note", author=("Reviewer", "reviewer@example.com"))
    touch_default_branch(bot, "web-frontend")
    report = bot.run()
    assert report.actions == {"human-edits": [f"{ORG}/web-frontend"]}
    touch_default_branch(bot, "web-frontend")  # more changes: still no overwrite, and no second comment
    bot.gh.commit(ORG, "web-frontend", {"x.txt": "1\n"}, message="x")
    bot.run()
    assert bot.branch("web-frontend") == human
    comments = bot.gh.comments(ORG, "web-frontend", bot.pull("web-frontend").number)
    assert len(comments) == 1 and HUMAN_EDITS_MARK in comments[0]


def test_push_refused_for_workflow_scope_fails_that_repo_only(bot: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    bot.gh.inject(kind="workflow_push", actor="oauth", path="/demo-org/ui-kit", times=1)
    os.environ[TOKEN_ENV] = bot.token
    try:
        code = main(["run", "--config", bot.config.source])
    finally:
        del os.environ[TOKEN_ENV]
    err = capsys.readouterr().err
    bot.logs.append(err)
    assert code == 1
    assert f"ztbot run: failed: {ORG}/ui-kit: GitHub refused the push of ztbot/zero-trust: refusing to allow" in err
    assert "without `workflow` scope" in err and "6 opened" in err
    saved = state.load(bot.config.paths.state).repos[f"{ORG}/ui-kit"]
    assert "Workflows: write" in saved.error and "`workflow` scope" in saved.error and not saved.pr_number
    report = bot.run()  # the failure is retried on the next run, without a rescan of the others
    assert report.actions == {"opened": [f"{ORG}/ui-kit"]} and not report.failures


def test_dry_run_writes_bodies_and_diffs_and_nothing_to_github(bot: Bot) -> None:
    report = bot.run(dry_run=True)
    assert sorted(report.actions["would-open"]) == [f"{ORG}/{r}" for r in OPENED]
    assert bot.writes() == [] and not Path(bot.config.paths.state).exists()
    folder = Path(bot.config.paths.dry_run) / f"{ORG}__payments-api"
    assert (folder / "pr.md").read_text().startswith(f"# {bot.config.pr.title}\n")
    assert "+          role-to-assume: ${{ vars.AWS_ROLE_ARN }}" in (folder / "changes.diff").read_text()


def test_no_token_anywhere(bot: Bot) -> None:
    bot.gh.inject(kind="workflow_push", actor="app", path="/demo-org/py-toolkit", times=1)
    bot.run()
    bot.run(dry_run=True)
    touch_default_branch(bot, "infra-azure")
    bot.gh.commit(ORG, "infra-azure", {"n": "1\n"}, branch="ztbot/zero-trust", author=("H", "h@example.com"))
    bot.run()
    secrets = [bot.token, base64.b64encode(f"x-access-token:{bot.token}".encode()).decode()]
    texts = {"logs": "\n".join(bot.logs)}
    texts |= {str(p): p.read_text(errors="replace") for p in bot.work.rglob("*") if p.is_file()}
    for repo in OPENED:
        for issue in bot.gh.pulls(ORG, repo):
            texts[f"{repo} body"] = issue.body or ""
            texts[f"{repo} comments"] = "\n".join(bot.gh.comments(ORG, repo, issue.number))
    assert any("refusing to allow" in t for t in texts.values())  # the failure text is there...
    for where, text in texts.items():
        assert not any(s in text for s in secrets), f"token found in {where}"  # ...without the token
    assert json.loads(Path(bot.config.paths.state).read_text())["version"] == state.STATE_VERSION


def test_new_pr_budget_defers_the_rest_to_the_next_run(bot: Bot) -> None:
    bot.config.limits.new_prs_per_run = 3
    first = bot.run()
    assert len(first.actions["opened"]) == 3 and len(first.actions["deferred"]) == 4
    second = bot.run()
    assert len(second.actions["opened"]) == 3 and len(second.actions["deferred"]) == 1
    assert sum(len(bot.gh.pulls(ORG, r)) for r in OPENED) == 6


def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere() -> None:
    import io

    from bot.orchestrate import Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, plain = Tty(), io.StringIO()
    for stream in (tty, plain):
        bar = Progress(2, stream)
        bar.step("o/a", "opened")
        bar.step("o/b", "skipped (fork)")
        bar.close()
    assert tty.getvalue().count("\r") == 2 and "2/2" in tty.getvalue() and tty.getvalue().endswith("\n")
    assert plain.getvalue().splitlines() == ["ztbot run: [1/2] o/a: opened", "ztbot run: [2/2] o/b: skipped (fork)"]
