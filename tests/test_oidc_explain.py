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


GKE = """on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: google-github-actions/auth@v2
        with:
          credentials_json: ${{ secrets.GKE_SA_KEY }}
      - uses: google-github-actions/get-gke-credentials@v0.2.1
        with:
          cluster_name: prod
          location: europe-west1
          credentials: ${{ secrets.GKE_SA_KEY }}
"""


def test_an_upgraded_get_gke_credentials_is_named_with_its_corroborated_pin() -> None:
    transform = TRANSFORMS["oidc-gcp"]
    findings = transform.detect(parse(GKE), Context(".github/workflows/ci.yml", lambda _: None, {}, "acme/app"))
    said = transform.explain(findings)
    assert "moves from `google-github-actions/get-gke-credentials@v0.2.1` to v3.0.0" in said
    assert "3da1e46a907576cefaa90c484278bb5b259dd395" in said
    assert "was not read from google-github-actions/get-gke-credentials itself" in said
