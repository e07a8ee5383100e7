"""gitcreds: which later steps need the credentials actions/checkout persisted."""

from __future__ import annotations

import pytest

from transforms.base import Context
from transforms.gitcreds import Reader, git_actions, needs_credentials
from transforms.model import load_workflow
from transforms.yamldoc import parse


def _why(step: str, files: dict[str, str] | None = None, public: bool = False) -> str | None:
    text = f"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n{step}"
    wf = load_workflow(parse(text))
    assert wf is not None
    job = wf.jobs[0]
    reader = Reader(Context("ci.yml", (files or {}).get), public)
    return needs_credentials(wf, job, job.steps[0], reader)


@pytest.mark.parametrize("run", [
    "git push", "git -c user.name=x push origin HEAD", "git subtree push --prefix d origin b",
    "npx semantic-release", "mkdocs gh-deploy --force", "./gradlew release", "mvn -B release:prepare",
    "bash -c 'git push'", "python -c 'import os; os.system(\"git push\")'",
])
def test_pushes(run: str) -> None:
    assert _why(f"      - run: {run}\n") is not None


@pytest.mark.parametrize("run", [
    "git log -1", "git tag v1", "git commit -am x", "make --version", "./gradlew build", "python -m pytest",
    "npm ci", "yarn install", "npx prettier --check .", "echo git push is not run here",
])
def test_does_not_push(run: str) -> None:
    assert _why(f"      - run: {run}\n") is None


def test_reads_count_only_for_private_repositories() -> None:
    assert _why("      - run: git fetch --tags\n") is not None
    assert _why("      - run: git fetch --tags\n", public=True) is None
    assert _why("      - uses: tj-actions/changed-files@v45\n", public=True) is None


def test_working_directory_and_cd() -> None:
    files = {"tools/ship.sh": "git push\n"}
    assert _why("      - run: ./ship.sh\n        working-directory: tools\n", files) is not None
    assert _why("      - run: cd tools && ./ship.sh\n", files) is not None
    assert _why("      - run: $GITHUB_WORKSPACE/tools/ship.sh\n", files) is not None


def test_local_action_and_github_script() -> None:
    action = "runs:\n  using: composite\n  steps:\n    - uses: ad-m/github-push-action@v0.8.0\n"
    assert _why("      - uses: ./.github/actions/push\n", {".github/actions/push/action.yml": action})
    assert _why("      - uses: ./.github/actions/none\n") is not None  # unreadable: may push
    script = "      - uses: actions/github-script@v7\n        with:\n          script: await exec.exec('git push')\n"
    assert _why(script) is not None


def test_action_list_is_valid_and_lowercase() -> None:
    assert git_actions()
    assert all(slug == slug.lower() for slug in git_actions())


def test_local_javascript_action_is_read_through_its_main() -> None:
    action = "runs:\n  using: node20\n  main: dist/index.js\n"
    files = {"action.yml": action, "dist/index.js": "console.log('hi')\n"}
    assert _why("      - uses: ./\n", files) is None
    assert _why("      - uses: ./\n", {"action.yml": action}) is not None  # code not readable
    assert _why("      - uses: ./\n", {"action.yml": "runs:\n  using: docker\n  image: Dockerfile\n"}) is not None
