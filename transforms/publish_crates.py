"""publish-crates: `cargo publish` with crates.io trusted publishing instead of a registry token secret.

`rust-lang/crates-io-auth-action` (pinned, `id: auth`) is inserted before the publishing step; it
exchanges the job's OIDC token for a 30-minute crates.io token (revoked in its post step), which the
step reads as `CARGO_REGISTRY_TOKEN: ${{ steps.auth.outputs.token }}` in place of the secret. A token
given on the command line (`--token ${{ secrets.X }}`) is edited in place instead.
"""

from __future__ import annotations

from transforms import publishing as pub
from transforms import publishing_explain as pubx
from transforms.base import Context, Finding
from transforms.model import Job, Step, Workflow
from transforms.yamldoc import Doc
from transforms.yamledit import InsertKey, Op, ReplaceValue

ID = "publish-crates"
ACTION = "rust-lang/crates-io-auth-action"
VAR = "CARGO_REGISTRY_TOKEN"


def _publishes(step: Step) -> list[list[str]]:
    out = []
    for cmd in pub.run_commands(step):
        if cmd[:1] != ["cargo"] or "--dry-run" in cmd or "-n" in cmd:
            continue
        if cmd[1:2] == ["publish"] or cmd[1:2] == ["release"] or cmd[1:3] in (["workspaces", "publish"],
                                                                              ["ws", "publish"]):
            out.append(cmd)
    return out


def _match(doc: Doc, wf: Workflow, job: Job, step: Step, ctx: Context) -> pub.Site | None:
    if step.run is None:
        return None
    publishes = _publishes(step)
    var = pub.find_env(wf, job, step, VAR)
    in_env = var is not None and bool(pub.secret_refs(var.value))
    on_line = any(w.startswith("--token") for p in publishes for w in p) or "cargo login" in step.run
    inline = pub.secret_refs(step.run) if on_line else set()
    if not publishes or not (in_env or inline):
        return None
    site = pub.Site(step, "", secrets=(pub.secret_refs(var.value) if in_env and var else set()) | inline)
    if "--registry" in step.run or "--index" in step.run:
        site.refusal = "it publishes to another registry (`--registry`/`--index`); trusted publishing is crates.io's"
    elif in_env and var is not None and var.level == "workflow":
        site.refusal = f"{VAR} is set in the workflow-level `env:` that every job shares; move it to the job first"
    if site.refusal:
        return site
    step_id = pub.free_id(job, "auth", "crates-io-auth")
    token = "${{ steps." + step_id + ".outputs.token }}"
    ops = _token_ops(doc, job, step, var if in_env else None, inline, token, site)
    if isinstance(ops, str):
        site.refusal = ops
        return site
    value, comments = pub.action_step(ACTION, "Authenticate to crates.io (trusted publishing)", step, step_id=step_id)
    site.ops = [pub.insert_before(job, step, value, comments), *ops]
    site.change = f"take a short-lived crates.io token from trusted publishing (`{token}`) instead of the secret"
    return site


def _token_ops(doc: Doc, job: Job, step: Step, var: pub.EnvVar | None, inline: set[str], token: str,
               site: pub.Site) -> list[Op] | str:
    ops: list[Op] = []
    if inline:
        swapped = pub.swap_secret(step, "run", inline, token)
        if isinstance(swapped, str):
            return swapped
        ops += swapped
        site.removed.add((*step.path, "run"))
    if var is None:
        return ops
    site.removed.add((*var.owner, "env", VAR))
    if var.level == "step":
        return [*ops, ReplaceValue((*step.path, "env", VAR), token)]
    # `steps.*` is not available in a job-level env: the value moves onto the step.
    deleted = pub.delete_env(doc, var)
    if isinstance(deleted, str):
        return deleted
    add: Op = (InsertKey((*step.path, "env"), VAR, token) if step.env
               else InsertKey(step.path, "env", {VAR: token}))
    return [*ops, *deleted, add]


class PublishCrates:
    id = ID
    summary = "Publish crates with crates.io trusted publishing (OIDC) instead of a registry token secret."
    # Only files mentioning one of these can match: cargo publish, CARGO_REGISTRY_TOKEN, crates-io actions.
    requires_text = ("cargo", "crates")
    safe = False  # the crate must list this workflow as a trusted publisher on crates.io first
    intended = ("jobs.*.steps", "jobs.*.env", "jobs.*.permissions")

    def detect(self, doc: Doc, ctx: Context) -> list[Finding]:
        return [f for f, _ in pub.plan(doc, ctx, ID, "crates.io", _match)]

    def apply(self, doc: Doc, ctx: Context, findings: list[Finding]) -> list[Op]:
        return pub.chosen_ops(pub.plan(doc, ctx, ID, "crates.io", _match), findings)

    def explain(self, findings: list[Finding]) -> str:
        fields = pubx.publisher_fields("Repository owner", "Repository name", "Workflow filename", "Environment")
        after = ["The crate must already exist (its first publish needs an API token) and the person "
                 "configuring it must be an owner.",
                 "The short-lived token lasts 30 minutes and is revoked when the job ends."]
        return pubx.registration(findings, "crates.io trusted publishing",
                                "crates.io → the crate → Settings → Trusted Publishing", fields, after)

