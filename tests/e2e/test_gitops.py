"""The git side on its own: where the token goes (and does not), partial clone, leased pushes."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from git import Actor, Repo
from git.cmd import Git

from bot import gitops
from bot.gitops import GitOpsError, Push, WorkflowScopeError, auth_env, publish
from bot.standin import StandIn

FILES = {".github/workflows/ci.yml": "on: push\n", "README.md": "hi\n"}


@pytest.fixture
def gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    with StandIn(tmp_path / "gh") as server:
        server.create_repo("acme", "app", FILES)
        yield server


def push_for(gh: StandIn, token: str, **changes: Any) -> Push:
    base = gh.bare("acme", "app").resolve("refs/heads/main")
    fields: dict[str, Any] = {"repo": "acme/app", "clone_url": gh.clone_url("acme", "app"), "token": token,
                              "default_branch": "main", "base_sha": base, "branch": "ztbot/zt",
                              "files": {".github/workflows/ci.yml": "on: pull_request\n"}, "message": "fix\n",
                              "author": Actor("ztbot", "bot@example.com")}
    return Push(**{**fields, **changes})


def test_token_is_in_no_url_config_or_argv(gh: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    token = gh.add_token("bot")
    header = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    argv: list[str] = []
    seen: dict[str, str] = {}
    real_execute, real_push = Git.execute, gitops._push

    def execute(self: Git, command: Any, *args: Any, **kwargs: Any) -> Any:
        argv.append(" ".join(map(str, command)))
        return real_execute(self, command, *args, **kwargs)

    def push(repo: Repo, p: Push, sha: str) -> None:
        seen["config"] = Path(repo.git_dir, "config").read_text()
        seen["url"] = repo.remotes.origin.url
        seen["shallow"] = repo.git.rev_parse("--is-shallow-repository")
        real_push(repo, p, sha)

    monkeypatch.setattr(Git, "execute", execute)
    monkeypatch.setattr(gitops, "_push", push)
    sha = publish(push_for(gh, token))
    assert gh.bare("acme", "app").resolve("refs/heads/ztbot/zt") == sha
    assert seen["url"] == gh.clone_url("acme", "app") and seen["shallow"] == "true"
    assert "promisor = true" in seen["config"]  # a partial clone: blobs fetched only on demand
    for text in [seen["config"], seen["url"], *argv]:
        assert token not in text and header not in text
    # Clone: ls-refs + one fetch of commit and trees. The push may fetch the changed file's old blob
    # once (a delta base for the thin pack); nothing else of the tree is ever downloaded.
    assert gh.count("POST", "git-upload-pack$") <= 3


def test_auth_env_appends_to_existing_git_config_env() -> None:
    env = auth_env("tok-123456789", "https://ghe.example.com/o/r.git",
                   {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.x", "GIT_CONFIG_VALUE_0": "y"})
    assert env["GIT_CONFIG_COUNT"] == "2" and env["GIT_CONFIG_KEY_0"] == "core.x"
    assert env["GIT_CONFIG_KEY_1"] == "http.https://ghe.example.com/.extraHeader"
    assert env["GIT_CONFIG_VALUE_1"].startswith("Authorization: Basic ") and env["GIT_TERMINAL_PROMPT"] == "0"


def test_force_push_needs_the_lease_to_match(gh: StandIn) -> None:
    token = gh.add_token("bot")
    first = publish(push_for(gh, token))
    second = publish(push_for(gh, token, files={"README.md": "new\n"}, lease=first))
    assert gh.bare("acme", "app").resolve("refs/heads/ztbot/zt") == second
    with pytest.raises(GitOpsError, match="changed on GitHub while we pushed"):
        publish(push_for(gh, token, lease=first))  # someone (we, here) moved it since
    assert gh.bare("acme", "app").resolve("refs/heads/ztbot/zt") == second


def test_workflow_permission_refusal_is_explained(gh: StandIn) -> None:
    inst = gh.add_installation("acme", {"contents": "write", "pull_requests": "write", "metadata": "read"})
    token = gh.installation_token(inst)
    with pytest.raises(WorkflowScopeError) as refused:
        publish(push_for(gh, token))
    text = str(refused.value)
    assert "refusing to allow a GitHub App to create or update workflow `.github/workflows/ci.yml`" in text
    assert "hint: grant the GitHub App the `Workflows: write` permission" in text and token not in text


def test_base_moved_since_the_scan_pushes_nothing(gh: StandIn) -> None:
    token = gh.add_token("bot")
    stale = push_for(gh, token)
    gh.commit("acme", "app", {"README.md": "changed\n"})
    with pytest.raises(GitOpsError, match="moved during the run"):
        publish(stale)
    assert gh.bare("acme", "app").resolve("refs/heads/ztbot/zt") is None
