"""git smart HTTP: partial/shallow clone, push, auth, and GitHub's workflow-permission rejection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from bot.standin import StandIn


def clone(gh: StandIn, git: Any, token: str, dest: Path, repo: str = "app") -> Path:
    git("clone", "--filter=blob:none", "--depth", "1", gh.clone_url("acme", repo), str(dest), token=token)
    return dest


def test_partial_shallow_clone_and_push_round_trip(
    seeded: StandIn, git: Any, token: str, tmp_path: Path, auth: dict[str, str]
) -> None:
    work = clone(seeded, git, token, tmp_path / "wc")
    assert (work / ".github/workflows/ci.yml").read_text().startswith("on: push")
    assert git("rev-parse", "--is-shallow-repository", cwd=work).stdout.strip() == "true"
    git("checkout", "-b", "ztbot/fix", cwd=work)
    (work / ".github/workflows/ci.yml").write_text("on: pull_request\n")
    git("commit", "-qam", "fix", cwd=work)
    git("push", "origin", "ztbot/fix", cwd=work, token=token)
    head = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    assert seeded.bare("acme", "app").resolve("ztbot/fix") == head
    branch = requests.get(
        f"{seeded.api_url}/repos/acme/app/branches/ztbot/fix", headers=auth, timeout=10
    ).json()
    assert branch["commit"]["sha"] == head


def test_clone_needs_a_valid_token(seeded: StandIn, git: Any, tmp_path: Path) -> None:
    anonymous = git("clone", seeded.clone_url("acme", "app"), str(tmp_path / "a"), check=False)
    assert anonymous.returncode != 0
    wrong = git("clone", seeded.clone_url("acme", "app"), str(tmp_path / "b"), token="nope", check=False)
    assert wrong.returncode != 0
    assert seeded.count(path=r"\.git/info/refs", status=401) == 2


def test_bearer_header_is_accepted(
    seeded: StandIn, git_env: dict[str, str], token: str, tmp_path: Path
) -> None:
    import subprocess

    proc = subprocess.run(
        [
            "git",
            "-c",
            f"http.extraHeader=Authorization: Bearer {token}",
            "clone",
            "-q",
            seeded.clone_url("acme", "lib"),
            str(tmp_path / "lib"),
        ],
        env=git_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_workflow_push_rejected_for_app_without_workflows_permission(
    seeded: StandIn, git: Any, tmp_path: Path, token: str
) -> None:
    inst = seeded.add_installation(
        "acme", {"contents": "write", "pull_requests": "write", "metadata": "read"}
    )
    app_token = seeded.installation_token(inst)
    work = clone(seeded, git, app_token, tmp_path / "wc")
    git("checkout", "-b", "ztbot/fix", cwd=work)
    (work / ".github/workflows/ci.yml").write_text("on: pull_request\n")
    git("commit", "-qam", "fix", cwd=work)
    pushed = git("push", "origin", "ztbot/fix", cwd=work, token=app_token, check=False)
    assert pushed.returncode != 0
    assert (
        "! [remote rejected] ztbot/fix -> ztbot/fix (refusing to allow a GitHub App to create or update "
        "workflow `.github/workflows/ci.yml` without `workflows` permission)"
    ) in pushed.stderr
    assert seeded.bare("acme", "app").resolve("refs/heads/ztbot/fix") is None


def test_non_workflow_push_passes_the_guard(seeded: StandIn, git: Any, tmp_path: Path) -> None:
    scoped = seeded.add_token("human", scopes=("repo",))
    work = clone(seeded, git, scoped, tmp_path / "wc")
    git("checkout", "-b", "docs", cwd=work)
    (work / "README.md").write_text("docs\n")
    git("commit", "-qam", "docs", cwd=work)
    git("push", "origin", "docs", cwd=work, token=scoped)
    assert seeded.bare("acme", "app").resolve("refs/heads/docs") is not None


def test_workflow_push_fault_uses_oauth_wording(
    seeded: StandIn, git: Any, tmp_path: Path, token: str
) -> None:
    seeded.inject(kind="workflow_push", actor="oauth", times=1)
    work = clone(seeded, git, token, tmp_path / "wc")
    (work / ".github/workflows/release.yml").write_text("on: push\n")
    git("commit", "-qam", "wf", cwd=work)
    pushed = git("push", "origin", "HEAD:main", cwd=work, token=token, check=False)
    assert "without `workflow` scope" in pushed.stderr and pushed.returncode != 0
    git("push", "origin", "HEAD:main", cwd=work, token=token)  # the fault fired once only


def test_push_to_archived_repo_is_refused(seeded: StandIn, git: Any, tmp_path: Path, token: str) -> None:
    work = tmp_path / "old"
    git("clone", seeded.clone_url("acme", "old"), str(work), token=token)
    git("commit", "-q", "--allow-empty", "-m", "x", cwd=work)
    assert git("push", "origin", "HEAD", cwd=work, token=token, check=False).returncode != 0
