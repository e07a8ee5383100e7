"""`python -m bot.standin`: serves a root of bare repos, seeded over the admin API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def test_cli_serves_and_seeds(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.standin",
            "--root",
            str(tmp_path / "r"),
            "--port",
            "0",
            "--token",
            "demo-token",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["api_url"].endswith("/api/v3") and info["tokens"] == ["demo-token"]
        seeded = requests.post(
            f"{info['url']}/_standin/repos",
            timeout=10,
            json={"owner": "acme", "name": "app", "files": {"README.md": "hi\n"}},
        )
        assert seeded.status_code == 201
        repo = requests.get(
            f"{info['api_url']}/repos/acme/app", timeout=10, headers={"Authorization": "token demo-token"}
        ).json()
        assert repo["clone_url"] == f"{info['url']}/acme/app.git"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_restart_finds_existing_repos(tmp_path: Path) -> None:
    from bot.standin import StandIn

    with StandIn(tmp_path / "r") as first:
        first.create_repo("acme", "app", {"a": "b"}, archived=True)
    with StandIn(tmp_path / "r") as second:
        meta = second.repo("acme", "app")
        assert meta is not None and meta.archived
