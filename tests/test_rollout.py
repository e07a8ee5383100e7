"""Waves, canaries, caps, fair queueing, the repo opt-out file and the audit log."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from bot import audit, repoconf, rollout
from bot.config import from_dict

TODAY = datetime.date(2026, 11, 26)
REPOS = [f"acme/svc-{i:03d}" for i in range(400)]


def _cfg(waves: list[dict[str, object]]) -> object:
    return from_dict({"github": {"name": "acme"}, "rollout": {"waves": waves}})


def test_canary_share_is_stable_and_close_to_the_percentage() -> None:
    wave = _cfg([{"transforms": ["oidc-aws"], "canary_percent": 10}]).rollout.waves[0]
    chosen = [r for r in REPOS if rollout.covers(wave, r, TODAY)]
    assert 20 <= len(chosen) <= 60  # 10% of 400, hash-distributed
    assert chosen == [r for r in REPOS if rollout.covers(wave, r, TODAY)]
    assert all(rollout.bucket(r) < 10 for r in chosen)


def test_a_transform_enters_only_where_its_wave_covers() -> None:
    cfg = _cfg([{"transforms": ["permissions"], "repos": ["*"]},
                {"transforms": ["oidc-aws"], "repos": ["payments-*"], "not_before": datetime.date(2027, 1, 4)}])
    enabled = ["oidc-aws", "permissions"]
    assert rollout.transforms_for(cfg, "acme/payments-api", enabled, TODAY) == ["permissions"]
    assert rollout.transforms_for(cfg, "acme/payments-api", enabled, datetime.date(2027, 1, 4)) == enabled
    assert rollout.transforms_for(cfg, "acme/web", enabled, datetime.date(2027, 2, 1)) == ["permissions"]


def test_budget_honours_every_cap() -> None:
    cfg = from_dict({"github": {"name": "a"}, "limits": {"new_prs_per_run": 5, "new_prs_per_hour": 3, "open_prs": 10}})
    now = datetime.datetime(2026, 11, 26, 12, 0)
    recent = [now - datetime.timedelta(minutes=m) for m in (5, 30, 90)]
    assert rollout.Budget.compute(cfg.limits, recent, open_now=0, now=now).remaining == 1
    assert rollout.Budget.compute(cfg.limits, [], open_now=9, now=now).remaining == 1
    assert rollout.Budget.compute(cfg.limits, [], open_now=12, now=now).remaining == 0


def test_queue_serves_the_longest_waiting_first_deterministically() -> None:
    waiting = {"acme/b": "2026-11-20T00:00:00", "acme/a": "2026-11-25T00:00:00"}
    order = rollout.queue_order(["acme/c", "acme/a", "acme/b", "acme/d"], waiting)
    assert order[:2] == ["acme/b", "acme/a"]
    assert order == rollout.queue_order(["acme/d", "acme/c", "acme/b", "acme/a"], waiting)


def test_repo_settings_file() -> None:
    ids = ["permissions", "oidc-aws"]
    s = repoconf.parse('enabled = true\ndisable = ["oidc-aws"]\nignore_paths = [".github/workflows/legacy-*"]\n',
                       "acme/x", ids)
    assert s.disable == ("oidc-aws",) and s.ignores(".github/workflows/legacy-deploy.yml")
    assert not repoconf.parse("enabled = false\n", "acme/x", ids).enabled
    bad = repoconf.parse("enable = false\n", "acme/x", ids)
    assert bad.enabled and "did you mean `enabled`" in bad.error and "acme/x: .github/ztbot.toml" in bad.error
    assert "unknown transform `oidc-gcpp`" in repoconf.parse('disable = ["oidc-gcpp"]', "acme/x", ids).error


def test_audit_log_appends_filters_and_scrubs(tmp_path: Path) -> None:
    token = "ghs_" + "A" * 36
    log = audit.AuditLog(tmp_path / "audit.jsonl", secrets=["s3cr3t-value-xyz"])
    log.write(audit.Record("run-1", "ztbot[bot]", "acme/api", "opened-pr", reason=f"pushed with {token}",
                           transform="permissions", pr_url="http://x/pull/1"))
    log.write(audit.Record("run-2", "ztbot[bot]", "acme/web", "skipped", reason="s3cr3t-value-xyz leaked"))
    text = (tmp_path / "audit.jsonl").read_text()
    assert token not in text and "s3cr3t-value-xyz" not in text
    records = list(audit.read(tmp_path / "audit.jsonl"))
    assert [r["repo"] for r in audit.select(records, repo="api")] == ["acme/api"]
    assert [r["run_id"] for r in audit.select(records, run="run-2")] == ["run-2"]
    assert json.loads(text.splitlines()[0])["transform"] == "permissions"
    assert "acme/api" in audit.table(records)


def test_shards_split_the_org_wide_caps_instead_of_each_taking_all_of_them() -> None:
    cfg = from_dict({"github": {"name": "a"}, "limits": {"new_prs_per_run": 5, "new_prs_per_hour": 60, "open_prs": 10}})
    share = cfg.limits.per_shard(4)
    assert (share.new_prs_per_run, share.new_prs_per_hour, share.open_prs) == (2, 15, 3)
    assert cfg.limits.per_shard(1) == cfg.limits
    assert 4 * share.open_prs >= cfg.limits.open_prs  # rounded up: a small cap never becomes 0
