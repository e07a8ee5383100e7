"""Waves, canaries and caps decide which repositories get which PRs, run after run, on a fake clock."""

from __future__ import annotations

import datetime

from bot import prbody, rollout
from bot.config import Wave
from bot.demo import ORG
from tests.e2e.conftest import Bot
from tests.e2e.test_run import OPENED, api
from tests.rollout.conftest import Clock, records, saved

ELIGIBLE = sorted([*OPENED, "legacy-monolith"])  # not archived


def transforms_in_pr(bot: Bot, repo: str) -> list[str]:
    return (prbody.parse_metadata(bot.pull(repo).body) or {})["transforms"]


def test_a_wave_lets_a_transform_in_only_where_and_when_it_covers(bot: Bot, clock: Clock) -> None:
    bot.config.rollout.waves = [Wave("safe", ["permissions"]),
                                Wave("oidc", ["oidc-aws"], ["payments-*"], not_before=datetime.date(2026, 12, 1))]
    bot.run(now=clock)
    assert transforms_in_pr(bot, "payments-api") == ["permissions"]
    assert transforms_in_pr(bot, "data-pipeline") == ["permissions"]
    assert transforms_in_pr(bot, "py-toolkit") == ["permissions"]  # publish-pypi is in no wave
    clock.advance(days=6)
    report = bot.run(now=clock)
    assert report.actions["updated"] == [f"{ORG}/payments-api"]  # the wave opened: only its repos re-planned
    assert transforms_in_pr(bot, "payments-api") == ["oidc-aws", "permissions"]
    assert transforms_in_pr(bot, "data-pipeline") == ["permissions"]


def test_canary_percentage_selects_the_repositories_its_hash_bucket_documents(bot: Bot, clock: Clock) -> None:
    bot.config.rollout.waves = [Wave("canary", [], canary_percent=40)]
    report = bot.run(now=clock)
    inside = {f"{ORG}/{r}" for r in ELIGIBLE if rollout.bucket(f"{ORG}/{r}") < 40}
    assert inside and inside != {f"{ORG}/{r}" for r in ELIGIBLE}  # the demo org straddles the cut
    assert set(report.actions["deferred"]) == {f"{ORG}/{r}" for r in ELIGIBLE} - inside
    assert set(report.actions["opened"]) == inside & {f"{ORG}/{r}" for r in OPENED}
    assert {r["repo"] for r in records(bot, action="deferred")} == set(report.actions["deferred"])


def test_per_hour_cap_holds_across_runs_and_the_queue_serves_the_longest_waiting(bot: Bot, clock: Clock) -> None:
    bot.config.limits.new_prs_per_hour = 2
    first = bot.run(now=clock)
    assert len(first.actions["opened"]) == 2 and len(first.actions["deferred"]) == 5
    assert "limits.new_prs_per_hour (2) reached" in first.outcomes[first.actions["deferred"][0]].detail
    clock.advance(minutes=30)
    assert not bot.run(now=clock).actions.get("opened")
    waiting = {f"{ORG}/{r}": saved(bot, r).waiting_since for r in OPENED if saved(bot, r).waiting_since}
    assert set(waiting) == set(first.actions["deferred"])
    clock.advance(minutes=31)
    third = bot.run(now=clock)
    assert third.actions["opened"] == rollout.queue_order(waiting, waiting)[:2]
    assert not saved(bot, third.actions["opened"][0].split("/")[1]).waiting_since


def test_open_pr_cap_counts_the_org_and_frees_a_slot_when_one_closes(bot: Bot, clock: Clock) -> None:
    bot.config.limits.open_prs = 3
    first = bot.run(now=clock)
    assert len(first.actions["opened"]) == 3
    clock.advance(hours=2)
    assert not bot.run(now=clock).actions.get("opened")
    closed = first.actions["opened"][0].split("/")[1]
    api(bot, "PATCH", f"/repos/{ORG}/{closed}/pulls/{bot.pull(closed).number}", state="closed")
    clock.advance(hours=2)
    bot.run(now=clock)
    bot.run(now=clock)
    pulls = [p for r in OPENED for p in bot.gh.pulls(ORG, r)]
    assert sum(p.state == "open" for p in pulls) == 3 and len(pulls) == 4


def test_shards_share_the_open_pr_cap(bot: Bot, clock: Clock) -> None:
    bot.config.limits.open_prs = 4
    runs = [bot.run(now=clock, shard=(k, 2)) for k in (1, 2)]
    opened = [len(r.actions.get("opened", [])) for r in runs]
    assert all(n <= 2 for n in opened) and sum(opened) <= 4, opened  # without the split each shard took 4
