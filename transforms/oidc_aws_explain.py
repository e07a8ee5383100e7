"""The pull-request text for oidc-aws: what changed, and the exact AWS setup the owner must do first."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from transforms.base import Context, Finding
from transforms.model import Job, Workflow

PROVIDER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
DOCS = "https://github.com/aws-actions/configure-aws-credentials#oidc"


def _list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def subjects(wf: Workflow, job: Job, ctx: Context) -> list[str]:
    """The `sub` claims this job presents, by trigger (an environment overrides them all)."""
    repo = ctx.repo or "OWNER/REPO"
    branch = str(ctx.options.get("default_branch", "main"))
    env = job.environment
    if env is None and job.data.get("environment") is not None:
        env = "*"  # environment named by an expression: one claim per environment it evaluates to
    if env is not None:
        return [f"repo:{repo}:environment:{'*' if '${{' in env else env}"]
    triggers = wf.triggers
    tails: list[str] = []
    push: dict[str, Any] = triggers["push"] if isinstance(triggers.get("push"), dict) else {}
    tails += [f"ref:refs/heads/{b}" for b in _list(push.get("branches"))]
    tails += [f"ref:refs/tags/{t}" for t in _list(push.get("tags"))]
    if "release" in triggers or "create" in triggers:
        tails.append("ref:refs/tags/*")
    if "pull_request" in triggers:
        tails.append("pull_request")
    if not tails or set(triggers) - {"push", "pull_request", "release", "create"}:
        tails.append(f"ref:refs/heads/{branch}")
    return [f"repo:{repo}:{t}" for t in dict.fromkeys(tails)]


def trust_policy(subs: Sequence[str]) -> str:
    operator = "StringLike" if any("*" in s for s in subs) else "StringEquals"
    condition: dict[str, Any] = {"StringEquals": {f"{PROVIDER}:aud": AUDIENCE}}
    condition.setdefault(operator, {})[f"{PROVIDER}:sub"] = subs[0] if len(subs) == 1 else list(subs)
    policy = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::<ACCOUNT_ID>:oidc-provider/{PROVIDER}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }],
    }
    return json.dumps(policy, indent=2)


def _changed(fixed: list[Finding]) -> list[str]:
    lines = ["| job | secrets replaced | role | region | login |", "|---|---|---|---|---|"]
    for f in fixed:
        d = f.data
        secrets = ", ".join(f"`{s}`" for s in d["secrets"])
        role = f"`{d['role']}`" if d["role"] else "—"
        region = f"`{d['region']}`" if d["region"] else "—"
        lines.append(f"| `{d['job']}` | {secrets} | {role} | {region} | {d['login']} |")
    scripts = sorted({s for f in fixed for s in f.data.get("scripts", [])})
    lines += ["", *[f"`{s}` no longer hands the keys to boto3 explicitly: its clients now use the SDK's default "
                    "credential chain, which also picks up `AWS_SESSION_TOKEN`." for s in scripts]] if scripts else []
    replaced = [(f.data["job"], step) for f in fixed for step in f.data.get("replaced", [])]
    lines += ["", *[f"Step `{step}` of job `{job}` ran `jakejarvis/s3-sync-action`, which writes only the key pair "
                    "into an AWS CLI profile and so cannot use a role session. It now runs the action's own command, "
                    "`aws s3 sync` with the same source, bucket, destination and `args`, with the role session and "
                    "the region the action's profile held; the settings stay in its `env:`. The AWS CLI is now the "
                    "runner's (v2) instead of the action image's 1.16." for job, step in replaced]] if replaced else []
    return lines


def _roles(fixed: list[Finding]) -> dict[str, list[str]]:
    roles: dict[str, list[str]] = {}
    for f in fixed:
        if f.data["role"]:
            roles.setdefault(f.data["role"], []).extend(f.data["subjects"])
    return {r: list(dict.fromkeys(s)) for r, s in roles.items()}


def _setup(fixed: list[Finding]) -> list[str]:
    lines = [
        "#### What the owner must set up before merging", "",
        f"1. In the AWS account, create the IAM OIDC identity provider once (URL `https://{PROVIDER}`, "
        f"audience `{AUDIENCE}`):",
        "   ```sh",
        f"   aws iam create-open-id-connect-provider --url https://{PROVIDER} --client-id-list {AUDIENCE}",
        "   ```",
        "2. Create the role (or add this statement to the existing role's trust policy) and attach the same "
        "permission policies the IAM user behind the old keys had — ideally fewer:",
    ]
    for role, subs in _roles(fixed).items():
        var = re.fullmatch(r"\$\{\{\s*vars\.(\w+)\s*\}\}", role)
        name = f"the role whose ARN you store in `{var[1]}`" if var else f"`{role}`"
        lines += ["", f"   Trust policy for {name}:", "   ```json"]
        lines += ["   " + ln for ln in trust_policy(subs).splitlines()] + ["   ```"]
    if any(f.data["reusable"] for f in fixed):
        lines += ["", "   This workflow is reusable (`workflow_call`): the claims are the *caller's* repository and "
                  "ref. To trust only this workflow, customize the subject to include `job_workflow_ref`."]
    lines += [
        "",
        "   The `sub` values match these jobs: a job with `environment:` presents `environment:NAME` instead of "
        "its branch, and `pull_request` runs present `pull_request`. Repositories created (or renamed) on or after "
        "2026-07-15 use immutable claims, `repo:OWNER@OWNER_ID/REPO@REPO_ID:...`; write the condition in that "
        "form there (AWS otherwise answers \"Not authorized to perform sts:AssumeRoleWithWebIdentity\").",
    ]
    variables: dict[str, str] = {}
    for f in fixed:
        variables.update(f.data["variables"])
    if variables:
        lines += ["3. Create these repository (or organization) variables — variables, not secrets: "
                  "none of them is a credential:", ""]
        lines += [f"   - `{name}`: {meaning}" for name, meaning in sorted(variables.items())]
    return lines


def _after(fixed: list[Finding], refused: list[Finding]) -> list[str]:
    gone = sorted({s for f in fixed for s in f.data["secrets"]})
    kept = {s: "jobs left unchanged (below)" for f in refused for s in f.data["secrets"] if s in gone}
    kept.update({s: f"`{where}`" for f in fixed for s, where in f.data["elsewhere"].items()})
    lines = ["", "#### After merging", ""]
    deletable = [s for s in gone if s not in kept]
    if deletable:
        lines.append("- Once a run has succeeded, deactivate the IAM user's access keys, then delete the secrets "
                     + ", ".join(f"`{s}`" for s in deletable) + " (first check that no other workflow reads them).")
    lines += [f"- Keep `{s}` for now: it is still read by {where}." for s, where in sorted(kept.items())]
    lines += [
        "- Rolling back: revert this pull request. The old secrets keep working until you delete them, "
        "which is why they go last.",
        "- The role session lasts one hour by default (`role-duration-seconds` raises it, up to the role's "
        "maximum); CloudTrail shows each run as its own session.",
    ]
    return lines


def explain(findings: list[Finding]) -> str:
    fixed = [f for f in findings if f.fixable]
    refused = [f for f in findings if not f.fixable]
    lines = ["### Static AWS keys → OIDC role sessions (`oidc-aws`)", ""]
    if fixed:
        lines += [
            "Long-lived IAM user keys stored as secrets are replaced by a role session that GitHub's OIDC token "
            "buys for each run: nothing to leak, rotate or forget, and the role's trust policy says exactly which "
            "repository, branch or environment may use it. Steps now receive temporary credentials "
            "(`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` **and** `AWS_SESSION_TOKEN`) from "
            "`aws-actions/configure-aws-credentials`; each job gets `id-token: write`.", "",
        ]
        lines += [*_changed(fixed), "", *_setup(fixed), *_after(fixed, refused)]
    if refused:
        lines += ["", "#### Left unchanged", ""]
        lines += [f"- `{f.data['job']}`: " + "; ".join(f.data["problems"]) for f in refused]
    lines += ["", f"Reference: {DOCS}"]
    return "\n".join(lines) + "\n"
