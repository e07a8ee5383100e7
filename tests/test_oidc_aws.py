"""oidc-aws beyond the fixtures: the exact refusal reasons, the findings' data and the PR text."""

from __future__ import annotations

import json

import pytest

from tests.fixture import FIXTURES, load
from transforms.base import Context, Finding
from transforms.oidc_aws import OidcAws
from transforms.oidc_aws_explain import trust_policy
from transforms.yamldoc import parse

T = OidcAws()


def findings(case: str, repo: str = "octo/site") -> list[Finding]:
    c = load(FIXTURES / "oidc-aws" / f"{case}.yml")
    return T.detect(parse(c.input), Context(c.path, c.read, c.options, repo))


REFUSALS = {
    "python-boto3-literal-refused": "script `scripts/upload.py` line 3 passes the AWS keys to `boto3.client`",
    "remaining-use-refused": "jobs.deploy.steps.2.run still uses secrets.AWS_ACCESS_KEY_ID",
    "role-external-id-refused": "`role-external-id`",
    "pull-request-target-refused": "pull_request_target",
    "s3-sync-action-refused": "writes the key pair into an AWS CLI profile without AWS_SESSION_TOKEN",
    "keys-before-login-refused": "receives the keys before the login step",
    "kb-key-pair-action-refused": "writes the key pair into the default AWS profile (`sls config credentials`)",
    "s3-sync-endpoint-refused": "`env.AWS_S3_ENDPOINT` points the sync at another endpoint",
    "s3-sync-args-expression-refused": "`with.args` holds an expression",
    "s3-sync-runner-refused": "`runs-on: self-hosted, linux` is not a GitHub-hosted Ubuntu image",
    "s3-sync-job-env-refused": "the job `publish` `env:` sets `AWS_REGION`",
}


def test_s3_sync_action_becomes_its_own_command() -> None:
    (finding,) = findings("s3-sync-replaced")
    assert finding.fixable and finding.data["replaced"] == ["Deploy to S3"]
    assert "becomes the same `aws s3 sync` as a run step" in finding.message
    assert "runs the action's own command" in T.explain([finding])


def test_s3_sync_login_region_keeps_the_actions_fallback() -> None:
    first, *_ = findings("s3-sync-region-default")
    assert first.data["region"] == "us-east-1" and "AWS_REGION" not in first.data["variables"]


def test_a_boto3_script_with_keys_from_the_environment_is_rewritten_with_the_job() -> None:
    (finding,) = findings("python-boto3")
    assert finding.fixable and finding.data["scripts"] == ["scripts/upload.py"]
    assert "default credential chain" in T.explain([finding])


def test_docker_run_in_a_block_scalar_gains_the_session_token() -> None:
    (finding,) = findings("docker-run-block")
    assert finding.fixable


@pytest.mark.parametrize("case", REFUSALS)
def test_refusal_names_the_reason(case: str) -> None:
    (finding,) = findings(case)
    assert not finding.fixable
    assert REFUSALS[case] in finding.message
    assert finding.message.startswith(f"job `{finding.data['job']}` keeps static AWS keys (secrets.")


def test_already_oidc_has_no_finding() -> None:
    assert findings("already-oidc") == []


def test_finding_data_for_explain() -> None:
    plan, apply = [f for f in findings("env-workflow-several-jobs") if f.data["role"]]
    assert plan.fixable and plan.data["secrets"] == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
    assert plan.data["region"] == "${{ env.AWS_REGION }}"
    assert plan.data["variables"] == {"AWS_ROLE_ARN": "ARN of the IAM role the workflow assumes through GitHub OIDC"}
    assert plan.data["subjects"] == ["repo:octo/site:ref:refs/heads/main"]
    assert apply.data["subject"] == "repo:octo/site:environment:production"
    assert apply.data["subjects"] == ["repo:octo/site:environment:production"]


def test_subjects_follow_triggers() -> None:
    (f,) = findings("env-step")
    assert f.data["subjects"] == ["repo:octo/site:ref:refs/heads/main", "repo:octo/site:pull_request"]
    (f,) = findings("ecr-docker-login")
    assert f.data["subjects"] == ["repo:octo/site:ref:refs/tags/v*"]


def test_trust_policy_uses_string_like_only_for_patterns() -> None:
    exact = json.loads(trust_policy(["repo:o/r:ref:refs/heads/main"]))["Statement"][0]["Condition"]
    assert exact == {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                                      "token.actions.githubusercontent.com:sub": "repo:o/r:ref:refs/heads/main"}}
    wild = json.loads(trust_policy(["repo:o/r:ref:refs/tags/v*", "repo:o/r:pull_request"]))
    assert wild["Statement"][0]["Condition"]["StringLike"] == {
        "token.actions.githubusercontent.com:sub": ["repo:o/r:ref:refs/tags/v*", "repo:o/r:pull_request"]}


def test_explain_lists_setup_and_leftovers() -> None:
    text = T.explain(findings("env-workflow-several-jobs") + findings("s3-sync-action-refused"))
    assert text.startswith("### Static AWS keys → OIDC role sessions (`oidc-aws`)")
    for needle in (
        "aws iam create-open-id-connect-provider --url https://token.actions.githubusercontent.com",
        '"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"',
        '"repo:octo/site:environment:production"',
        "repo:OWNER@OWNER_ID/REPO@REPO_ID",
        "- `AWS_ROLE_ARN`: ARN of the IAM role",
        "Keep `AWS_ACCESS_KEY_ID` for now: it is still read by jobs left unchanged (below).",
        "Rolling back: revert this pull request.",
        "#### Left unchanged",
        "- `deploy`: step `#2` (`jakejarvis/s3-sync-action`)",
    ):
        assert needle in text, needle


def test_secrets_used_by_other_jobs_are_kept() -> None:
    text = """
on: push
jobs:
  oidc:
    runs-on: ubuntu-latest
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
          aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
          aws-region: us-east-1
  local:
    runs-on: ubuntu-latest
    steps:
      - uses: ./my-action
        with:
          key: ${{ secrets.AWS_ACCESS_KEY_ID }}
"""
    (f,) = T.detect(parse(text), Context(".github/workflows/x.yml", repo="o/r"))
    assert f.fixable and f.data["elsewhere"] == {"AWS_ACCESS_KEY_ID": "jobs.local.steps.0.with.key"}
    assert "Keep `AWS_ACCESS_KEY_ID` for now: it is still read by `jobs.local.steps.0.with.key`." in T.explain([f])
