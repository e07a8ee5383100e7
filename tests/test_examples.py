"""The shipped scheduled workflow is what ztbot itself asks for: schema-valid, zizmor-clean, no findings."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bot.runner import run_file
from transforms.base import Context
from transforms.registry import TRANSFORMS

WORKFLOW = Path(__file__).resolve().parents[1] / "examples" / "workflows" / "ztbot.yml"


def test_ztbot_has_nothing_to_say_about_its_own_workflow() -> None:
    result = run_file(WORKFLOW.read_text(), Context(".github/workflows/ztbot.yml"), TRANSFORMS, fix=False)
    assert not result.errors
    assert [f.message for _, f in result.findings if f.fixable] == []


@pytest.mark.skipif(not shutil.which("zizmor") or not shutil.which("check-jsonschema"), reason="test tools missing")
def test_schema_valid_and_zizmor_clean(tmp_path: Path) -> None:
    target = tmp_path / ".github" / "workflows" / "ztbot.yml"
    target.parent.mkdir(parents=True)
    shutil.copy(WORKFLOW, target)
    schema = subprocess.run(["check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(target)],
                            capture_output=True, text=True, check=False)
    assert schema.returncode == 0, schema.stdout
    zizmor = subprocess.run(["zizmor", "--offline", "--no-progress", str(target)], capture_output=True, text=True,
                            check=False)
    assert zizmor.returncode == 0, zizmor.stdout
