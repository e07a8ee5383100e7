"""The audit trail, `ztbot audit`, the dashboard issue, branch protection, shards and `ztbot scan --org`."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot import audit, state
from bot.cli import main
from bot.dashboard import MARKER
from bot.demo import ORG, TOKEN_ENV
from bot.protection import RULESET_NAME
from bot.standin import shapes
from tests.corpus import SHARED
from tests.e2e.conftest import Bot
from tests.e2e.test_run import OPENED, api
from tests.rollout.conftest import Clock, records, saved

SCHEMA = SHARED / "schemas" / "sarif-schema-2.1.0.json"
FIELDS = {f.name for f in dataclasses.fields(audit.Record)}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_audit_records_are_complete_and_hold_no_secret(bot: Bot, clock: Clock) -> None:
    bot.run(now=clock)
    bot.run(now=clock)
    text = Path(bot.config.paths.audit).read_text()
    assert bot.token not in text
    rows = [json.loads(line) for line in text.splitlines()]
    assert all(set(r) == FIELDS for r in rows)
    assert len({r["run_id"] for r in rows}) == 2 and all(UUID.match(r["run_id"]) for r in rows)
    assert {r["actor"] for r in rows} == {"ztbot-demo"}
    opened = [r for r in rows if r["action"] == "opened-pr"]
    assert sorted(r["repo"] for r in opened) == [f"{ORG}/{r}" for r in OPENED]
    for r in opened:
        assert "/pull/" in r["pr_url"] and re.fullmatch(r"[0-9a-f]{40}", r["base_sha"])
        assert re.fullmatch(r"[0-9a-f]{64}", r["content_hash"])
    kinds = {r["action"] for r in rows}
    assert {"scanned", "finding", "skipped", "opted-out", "opened-pr", "unchanged"} <= kinds
    finding = next(r for r in rows if r["action"] == "finding" and r["repo"] == f"{ORG}/payments-api")
    assert finding["file"].startswith(".github/workflows/") and finding["transform"] and finding["finding"]
    assert next(r for r in rows if r["action"] == "skipped")["reason"] == "archived"


def test_ztbot_audit_filters_by_repo_run_and_transform(bot: Bot, clock: Clock,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    bot.run(now=clock)
    bot.gh.commit(ORG, "ui-kit", {"x.txt": "1\n"}, message="x")
    bot.run(now=clock)
    capsys.readouterr()
    assert main(["audit", "--config", bot.config.source, "--repo", "ui-kit", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {r["repo"] for r in rows} == {f"{ORG}/ui-kit"} and len({r["run_id"] for r in rows}) == 2
    run_id = rows[-1]["run_id"]
    assert main(["audit", "--file", bot.config.paths.audit, "--run", run_id, "--transform", "permissions",
                 "--format", "json"]) == 0
    only = json.loads(capsys.readouterr().out)
    assert only and all(r["run_id"] == run_id and r["transform"] == "permissions" for r in only)
    assert main(["audit", "--config", bot.config.source, "--repo", "payments-api"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:3] == ["time", "run_id", "repo"] and "opened-pr" in table


def test_dashboard_issue_is_updated_and_never_duplicated(bot: Bot, clock: Clock) -> None:
    bot.config.dashboard.repo = f"{ORG}/legacy-monolith"
    first = bot.run(now=clock)
    issues = bot.gh.issues(ORG, "legacy-monolith")
    assert len(issues) == 1 and issues[0].body.startswith(MARKER) and first.dashboard.endswith("/issues/1")
    assert "`demo-org/payments-api`" in issues[0].body and "| draft" in issues[0].body.replace("[draft]", "| draft")
    api(bot, "PATCH", f"/repos/{ORG}/ui-kit/pulls/{bot.pull('ui-kit').number}", state="closed")
    bot.run(now=clock)
    issues = bot.gh.issues(ORG, "legacy-monolith")
    assert len(issues) == 1 and "[closed]" in issues[0].body
    assert [r["action"] for r in records(bot, action="dashboard-updated")] == ["dashboard-updated"]
    api(bot, "PATCH", f"/repos/{ORG}/legacy-monolith/issues/1", body="edited by hand")  # marker gone: title finds it
    bot.run(now=clock)
    issues = bot.gh.issues(ORG, "legacy-monolith")
    assert len(issues) == 1 and issues[0].body.startswith(MARKER)


@pytest.fixture
def admin_on(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Repositories where the stand-in reports `permissions.admin: true` for the bot."""
    admin: set[str] = set()
    original = shapes.repository

    def repository(gh: Any, meta: Any, full: bool = True) -> dict[str, Any]:
        body = original(gh, meta, full)
        body["permissions"] = {**body["permissions"], "admin": meta.name in admin}
        return body

    monkeypatch.setattr(shapes, "repository", repository)
    return admin


def rulesets(bot: Bot, repo: str) -> list[dict[str, Any]]:
    return api(bot, "GET", f"/repos/{ORG}/{repo}/rulesets")


def test_enforce_creates_exactly_one_ruleset_only_when_configured_and_admin(
        bot: Bot, clock: Clock, admin_on: set[str]) -> None:
    admin_on.update({"payments-api", "ui-kit"})
    bot.gh.set_branch_protection(ORG, "ui-kit", "main", {"required_pull_request_reviews": {
        "required_approving_review_count": 1}})
    bot.run(now=clock)  # reporting only (the default)
    assert all(not rulesets(bot, r) for r in OPENED)
    assert saved(bot, "ui-kit").reviews_required is True and saved(bot, "payments-api").reviews_required is False
    bot.config.branch_protection.enforce = True
    for _ in range(2):
        for repo in OPENED:
            bot.gh.commit(ORG, repo, {"x.txt": f"{_}\n"}, message="move")
        bot.run(now=clock)
    made = rulesets(bot, "payments-api")
    assert [r["name"] for r in made] == [RULESET_NAME]
    assert all(not rulesets(bot, r) for r in OPENED if r != "payments-api")  # not admin, or reviews required
    assert saved(bot, "payments-api").reviews_required is True
    rule = api(bot, "GET", f"/repos/{ORG}/payments-api/rulesets/{made[0]['id']}")
    assert rule["conditions"]["ref_name"]["include"] == ["~DEFAULT_BRANCH"]
    assert rule["rules"][0]["parameters"]["required_approving_review_count"] == 1
    assert [r["repo"] for r in records(bot, action="ruleset-created")] == [f"{ORG}/payments-api"]
    assert {r["repo"] for r in records(bot, action="ruleset-not-admin")} == {f"{ORG}/{r}" for r in OPENED} - {
        f"{ORG}/payments-api", f"{ORG}/ui-kit"}


def test_shards_partition_the_org_with_their_own_state_files(bot: Bot, clock: Clock) -> None:
    one, two = bot.run(now=clock, shard=(1, 2)), bot.run(now=clock, shard=(2, 2))
    mine = [set(r.actions["opened"]) for r in (one, two)]
    assert mine[0] and mine[1] and not mine[0] & mine[1] and mine[0] | mine[1] == {f"{ORG}/{r}" for r in OPENED}
    base = Path(bot.config.paths.state)
    files = [base.with_name(f"state.shard-{k}-of-2.json") for k in (1, 2)]
    assert all(f.exists() for f in files) and not base.exists()
    assert set(state.load(files[0]).repos).isdisjoint(state.load(files[1]).repos)
    assert {r["shard"] for r in records(bot)} == {"1/2", "2/2"}


def scan(bot: Bot, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *flags: str) -> str:
    monkeypatch.setenv(TOKEN_ENV, bot.token)
    capsys.readouterr()
    assert main(["scan", "--org", ORG, "--config", bot.config.source, *flags]) == 0
    return capsys.readouterr().out


def test_scan_org_is_read_only_and_speaks_every_format(bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    text = scan(bot, monkeypatch, capsys)
    assert bot.writes() == [] and not Path(bot.config.paths.state).exists()
    assert text.splitlines()[0].split()[0] == "repository" and f"{ORG}/payments-api" in text
    assert "skipped: archived" in text and "opted out" in text
    data = json.loads(scan(bot, monkeypatch, capsys, "--format", "json"))
    pay = next(r for r in data["repositories"] if r["repo"] == f"{ORG}/payments-api")
    assert pay["static_credentials"] == {"AWS": 1} and "AWS_ACCESS_KEY_ID" in pay["secrets_before"]
    assert "AWS_ACCESS_KEY_ID" not in pay["secrets_after"] and pay["reviews_required"] is False
    markdown = scan(bot, monkeypatch, capsys, "--format", "markdown")
    assert markdown.startswith("# Zero Trust posture") and "| `demo-org/payments-api` | scanned |" in markdown
    out = tmp_path / "org.sarif"
    assert scan(bot, monkeypatch, capsys, "--format", "sarif", "--output", str(out)) == ""
    sarif = json.loads(out.read_text())
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert f"{ORG}/payments-api/.github/workflows/deploy.yml" in uris
    if SCHEMA.exists():
        jsonschema = pytest.importorskip("jsonschema")
        jsonschema.validate(sarif, json.loads(SCHEMA.read_text()))
    assert bot.writes() == []


def test_scan_org_reads_pr_states_from_the_state_file_and_a_shard(bot: Bot, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    bot.run()
    data = json.loads(scan(bot, monkeypatch, capsys, "--format", "json", "--state", bot.config.paths.state,
                           "--shard", "1/2"))
    states = {r["repo"]: r["pr_state"] for r in data["repositories"]}
    assert 0 < len(states) < 9 and set(states.values()) <= {"draft", "open", ""}
    assert any(v for v in states.values())
