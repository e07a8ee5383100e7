"""The PR section of the federated-login transforms: which old secrets may go after merging, which must stay."""

from __future__ import annotations

from transforms.base import Context
from transforms.registry import TRANSFORMS
from transforms.yamldoc import parse

LOGIN = """      - uses: docker/login-action@v3
        with:
          username: ${{ secrets.DOCKERHUB_USERNAME }}
          password: ${{ secrets.DOCKERHUB_TOKEN }}
"""
DESCRIPTION = """      - uses: peter-evans/dockerhub-description@v4
        with:
          username: ${{ secrets.DOCKERHUB_USERNAME }}
          password: ${{ secrets.DOCKERHUB_TOKEN }}
"""


def _explain(second_job_steps: str) -> str:
    text = ("on: push\njobs:\n  image:\n    runs-on: ubuntu-latest\n    steps:\n" + LOGIN
            + "  other:\n    runs-on: ubuntu-latest\n    steps:\n" + second_job_steps)
    transform = TRANSFORMS["registry-login"]
    findings = transform.detect(parse(text), Context(".github/workflows/ci.yml", lambda _: None, {}, "acme/app"))
    return transform.explain(findings)


def test_a_secret_another_job_still_reads_is_kept_not_deleted() -> None:
    said = _explain(DESCRIPTION)
    assert "**Keep** `DOCKERHUB_TOKEN` for now: job `other`" in said
    assert "delete the old secret(s)" not in said


def test_a_secret_every_job_stops_reading_may_be_deleted() -> None:
    said = _explain(LOGIN)
    assert "delete the old secret(s) `DOCKERHUB_TOKEN`" in said and "**Keep**" not in said
