"""A PR's life in the rollout: repo overrides, opt-out, closed-PR memory and cool-down, merge and secrets."""

from __future__ import annotations

from bot.demo import ORG
from bot.prsync import CLOSED_MARK, OPT_OUT_MARK
from tests.e2e.conftest import Bot
from tests.e2e.test_run import api, pr_diff
from tests.rollout.conftest import Clock, records, saved

IGNORED_JOB = """name: Triage

on:
  issues:
    types: [opened]

jobs:
  welcome:  # ztbot: ignore[permissions]
    runs-on: ubuntu-latest
    steps:
      - run: gh issue edit "$N" --add-label triage
"""


def test_opting_out_closes_the_open_pr_once_and_deletes_the_branch(bot: Bot, clock: Clock) -> None:
    bot.run(now=clock)
    number = bot.pull("ui-kit").number
    bot.gh.commit(ORG, "ui-kit", {".github/ztbot.toml": "enabled = false\n"}, message="Opt out")
    report = bot.run(now=clock)
    assert report.skipped["opted out"] == [f"{ORG}/ui-kit"]
    assert [p.state for p in bot.gh.pulls(ORG, "ui-kit")] == ["closed"] and bot.branch("ui-kit") is None
    comments = bot.gh.comments(ORG, "ui-kit", number)
    assert len(comments) == 1 and OPT_OUT_MARK in comments[0]
    assert saved(bot, "ui-kit").opted_out and saved(bot, "ui-kit").pr_state == "closed"
    assert [r["pr_url"].endswith(f"/pull/{number}") for r in records(bot, repo=f"{ORG}/ui-kit", action="opted-out")]
    bot.gh.commit(ORG, "ui-kit", {"x.txt": "1\n"}, message="x")
    before = len(bot.gh.requests)
    bot.run(now=clock)
    assert bot.writes(before) == [] and len(bot.gh.comments(ORG, "ui-kit", number)) == 1


def test_inline_ignore_is_respected_unless_the_org_forbids_overrides(bot: Bot, clock: Clock) -> None:
    bot.gh.commit(ORG, "release-bot", {".github/workflows/triage.yml": IGNORED_JOB}, message="Ignore")
    bot.run(now=clock)
    assert "triage.yml" not in pr_diff(bot, "release-bot")
    assert "`.github/workflows/triage.yml:8` [`permissions-missing`]: `# ztbot: ignore`" in bot.pull("release-bot").body
    ignored = records(bot, repo=f"{ORG}/release-bot", action="ignored-finding")
    assert ignored and ignored[0]["file"] == ".github/workflows/triage.yml" and ignored[0]["transform"] == "permissions"
    bot.config.transforms.allow_repo_overrides = False  # config changed: every repository is planned again
    bot.run(now=clock)
    assert "triage.yml" in pr_diff(bot, "release-bot")
    assert saved(bot, "legacy-monolith").pr_state == "open"  # its opt-out file is not honoured either


def test_repo_file_ignores_paths_adds_reviewers_and_labels_and_a_broken_one_is_reported(
        bot: Bot, clock: Clock) -> None:
    settings = 'ignore_paths = [".github/workflows/deploy.yml"]\nreviewers = ["alice"]\nlabels = ["payments"]\n'
    bot.gh.commit(ORG, "payments-api", {".github/ztbot.toml": settings}, message="Settings")
    bot.gh.commit(ORG, "ui-kit", {".github/ztbot.toml": "enable = false\n"}, message="Typo")
    report = bot.run(now=clock)
    diff = pr_diff(bot, "payments-api")
    assert "deploy.yml" not in diff and "ci.yml" in diff
    issue = bot.pull("payments-api")
    assert issue.labels == ["security", "ztbot", "payments"] and issue.pull.requested_reviewers == ["alice"]
    assert "### Left alone on request\n\n- `.github/workflows/deploy.yml`: `ignore_paths`" in issue.body
    assert "did you mean `enabled`" in bot.pull("ui-kit").body
    assert records(bot, repo=f"{ORG}/payments-api", action="ignored-path")[0]["file"] == ".github/workflows/deploy.yml"
    assert "did you mean `enabled`" in report.warnings[f"{ORG}/ui-kit"]
    assert f"{ORG}/ui-kit" in report.actions["opened"]  # a broken file never opts out silently
    assert records(bot, repo=f"{ORG}/ui-kit", action="repo-config-error")


def test_closed_change_is_never_proposed_again_and_a_different_one_after_the_cool_down(
        bot: Bot, clock: Clock) -> None:
    bot.config.limits.cooldown_days = 7
    bot.run(now=clock)
    first = bot.pull("release-bot").number
    api(bot, "PATCH", f"/repos/{ORG}/release-bot/pulls/{first}", state="closed")
    bot.run(now=clock)
    assert CLOSED_MARK in bot.gh.comments(ORG, "release-bot", first)[0]
    clock.advance(days=30)
    bot.gh.commit(ORG, "release-bot", {"CHANGELOG.md": "1\n"}, message="unrelated: the same change")
    report = bot.run(now=clock)
    assert "the same change is not proposed again" in report.outcomes[f"{ORG}/release-bot"].detail
    clock.advance(days=-27)
    bot.gh.commit(ORG, "release-bot", {".github/workflows/lint.yml": IGNORED_JOB.replace("  # ztbot: ignore[permi"
                                                                                        "ssions]", "")})
    report = bot.run(now=clock)  # 3 days after the close: a different change waits
    assert "from 2026-12-03" in report.outcomes[f"{ORG}/release-bot"].detail
    clock.advance(days=5)
    bot.gh.commit(ORG, "release-bot", {"y.txt": "1\n"}, message="y")
    report = bot.run(now=clock)
    assert report.actions["opened"] == [f"{ORG}/release-bot"]
    assert [p.state for p in bot.gh.pulls(ORG, "release-bot")] == ["closed", "open"]
    assert len(bot.gh.comments(ORG, "release-bot", first)) == 1


def test_reset_repo_brings_a_closed_change_back(bot: Bot, clock: Clock) -> None:
    bot.run(now=clock)
    number = bot.pull("ui-kit").number
    api(bot, "PATCH", f"/repos/{ORG}/ui-kit/pulls/{number}", state="closed")
    bot.run(now=clock)
    report = bot.run(now=clock, reset=[f"{ORG}/ui-kit"])
    assert report.actions["opened"] == [f"{ORG}/ui-kit"] and len(bot.gh.pulls(ORG, "ui-kit")) == 2
    assert records(bot, repo=f"{ORG}/ui-kit", action="reset")


def test_merge_is_recorded_and_migrated_secrets_become_ready_to_delete(bot: Bot, clock: Clock) -> None:
    bot.gh.update_repo(ORG, "payments-api", secrets=["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "SLACK_HOOK"])
    bot.run(now=clock)
    assert saved(bot, "payments-api").migrated_secrets == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
    bot.gh.merge(ORG, "payments-api", bot.pull("payments-api").number)
    bot.run(now=clock)
    st = saved(bot, "payments-api")
    assert st.pr_state == "merged" and st.ready_to_delete == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
    assert records(bot, repo=f"{ORG}/payments-api", action="merged")
    assert records(bot, repo=f"{ORG}/payments-api", action="secrets-ready-to-delete")[0]["reason"] == \
        "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY"
