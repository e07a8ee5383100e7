"""`ztbot scan` / `ztbot fix` on checkouts, as a user runs them: exit codes, outputs, nothing written by accident."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import cli

WORKFLOW = """on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: git push
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    target = tmp_path / "repo" / ".github" / "workflows" / "ci.yml"
    target.parent.mkdir(parents=True)
    target.write_text(WORKFLOW)
    return tmp_path / "repo"


def _ci(repo: Path) -> Path:
    return repo / ".github" / "workflows" / "ci.yml"


def test_check_exits_1_until_fixed_then_0(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["fix", "--check", str(repo)]) == 1
    assert _ci(repo).read_text() == WORKFLOW
    assert cli.main(["fix", str(repo)]) == 0
    assert "contents: write  # git push" in _ci(repo).read_text()
    assert cli.main(["fix", "--check", str(repo)]) == 0
    assert "ztbot fix: 1 files, 0 would change, 0 failed" in capsys.readouterr().err


def test_diff_prints_a_patch_and_writes_nothing(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["fix", "--diff", str(_ci(repo))]) == 0
    out = capsys.readouterr().out
    assert out.startswith("--- a/") and "+    permissions:" in out
    assert _ci(repo).read_text() == WORKFLOW


def test_invalid_yaml_names_file_and_line_and_the_rest_still_runs(repo: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (repo / ".github" / "workflows" / "bad.yml").write_text("on: push\njobs:\n  a:\n\truns-on: x\n")
    assert cli.main(["fix", str(repo)]) == 1
    err = capsys.readouterr().err
    assert "bad.yml:4:1:" in err and "Traceback" not in err
    assert "permissions:" in _ci(repo).read_text()


def test_a_step_that_is_not_a_mapping_is_reported_and_the_file_left_alone(repo: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    # `- run` without its colon: GitHub rejects the file, and a hole in the steps would shift every index
    bad = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n      - run\n"
    (repo / ".github" / "workflows" / "bad.yml").write_text(bad)
    action = repo / "tools" / "action.yml"
    action.parent.mkdir()
    action.write_text("runs:\n  using: composite\n  steps:\n    - 42\n")
    assert cli.main(["fix", str(repo)]) == 1
    err = capsys.readouterr().err
    assert "bad.yml:7: jobs.a.steps.1 is `run`, not a mapping" in err and "internal error" not in err
    assert "action.yml:4: runs.steps.0 is `42`, not a mapping" in err
    assert (repo / ".github" / "workflows" / "bad.yml").read_text() == bad
    assert "permissions:" in _ci(repo).read_text()
    assert cli.main(["scan", "--format", "json", str(repo)]) == 1
    rules = {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert "invalid-workflow" in rules


def test_a_loose_file_given_by_a_relative_path_from_inside_another_checkout(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # "../loose/x.yml" once walked up to "." and took the working checkout as its repository
    loose = tmp_path / "loose" / "ci.yml"
    loose.parent.mkdir()
    loose.write_text(WORKFLOW)
    here = tmp_path / "elsewhere"
    (here / ".git").mkdir(parents=True)
    monkeypatch.chdir(here)
    assert cli.main(["fix", "--check", "../loose/ci.yml"]) == 1
    assert cli.main(["fix", "../loose/ci.yml"]) == 0
    assert "contents: write" in loose.read_text()


def test_scan_formats(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["scan", str(repo), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {f["rule"] for f in report["findings"]} >= {"permissions-missing"}
    assert report["findings"][0]["fixable"] is True and report["findings"][0]["line"] >= 1
    assert cli.main(["scan", str(repo), "--format", "sarif"]) == 0
    sarif = json.loads(capsys.readouterr().out)
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert cli.main(["scan", str(repo)]) == 0
    captured = capsys.readouterr()
    assert "ci.yml:3:1: warning [permissions-missing]" in captured.out
    assert captured.err.startswith("ztbot scan: 1 files,")


def test_only_and_disable(repo: Path) -> None:
    assert cli.main(["fix", "--check", "--only", "pin-actions", str(repo)]) == 0
    assert cli.main(["fix", "--check", "--disable", "permissions", str(repo)]) == 0
    assert cli.main(["fix", "--check", "--only", "permisions", str(repo)]) == 2


@pytest.mark.parametrize(("argv", "code"), [(["scan"], 2), (["frobnicate"], 2), (["scan", "/no/such/path"], 1)])
def test_usage_and_expected_errors(argv: list[str], code: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == code
    assert capsys.readouterr().err.startswith("error: ")


def test_internal_error_and_interrupt(monkeypatch: pytest.MonkeyPatch, repo: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    def boom(_args: object) -> int:
        raise RuntimeError("bug")

    monkeypatch.setitem(cli.COMMANDS, "scan", boom)
    assert cli.main(["scan", str(repo)]) == 3
    assert "internal error: RuntimeError: bug" in capsys.readouterr().err

    def interrupt(_args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, "scan", interrupt)
    assert cli.main(["scan", str(repo)]) == 130


def test_python_dash_m_bot_works() -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "bot", "transforms"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "permissions" in proc.stdout


def test_fix_also_rewrites_a_script_the_job_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / "scripts").mkdir()
    (root / ".github" / "workflows" / "report.yml").write_text(
        "on: push\njobs:\n  report:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
        "      - run: python scripts/upload.py\n        env:\n"
        "          AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}\n"
        "          AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n")
    script = root / "scripts" / "upload.py"
    script.write_text('import os\nimport boto3\n\ns3 = boto3.client(\n    "s3",\n'
                      '    aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],\n'
                      '    aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],\n)\n')
    assert cli.main(["fix", "--diff", str(root)]) == 0
    diff = capsys.readouterr().out
    assert "scripts/upload.py" in diff and '-    aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],' in diff
    assert cli.main(["fix", str(root)]) == 0
    assert "aws_access_key_id" not in script.read_text()
    assert "role-to-assume" in (root / ".github" / "workflows" / "report.yml").read_text()
    assert cli.main(["fix", "--check", str(root)]) == 0
