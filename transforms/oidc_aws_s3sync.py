"""`jakejarvis/s3-sync-action` -> the same `aws s3 sync` as a `run:` step, so a role session works.

The action cannot take temporary credentials: its entrypoint.sh (read for `data/actions.yml`) writes
the key pair and `${AWS_REGION:-us-east-1}` into a CLI profile, then runs

    sh -c "aws s3 sync ${SOURCE_DIR:-.} s3://${AWS_S3_BUCKET}/${DEST_DIR} --profile s3-sync-action \
           --no-progress ${ENDPOINT_APPEND} $*"

where `$*` is the `args` input. The replacement runs that command on the runner with the role session
from the environment, the region pinned to what the profile held, and the settings read from the
step's own `env:` (never `${{ }}` in the script). It is made only where the two provably run the
same sync; every other form is refused with the reason:

- the inner `sh -c` re-parses the expanded values, so every value must be one no shell changes:
  literals of plain path characters, or expressions only where AWS naming rules guarantee that
  (bucket names, regions); `args` must be a literal of plain words and simple quotes;
- the container saw the workspace as its working directory and its own HOME, so no absolute or `~`
  paths, no `defaults.run` and no job `container:`;
- the settings must all be in the step's `env:`: job or workflow values would reach a `run:` step
  with a different precedence against the exported role session;
- `AWS_S3_ENDPOINT` (an S3-compatible service or a custom endpoint) and `AWS_CF_DISTRIBUTION_ID`
  (a CloudFront invalidation that only some revisions run) are not reproduced;
- the runner must be a GitHub-hosted Ubuntu image, which ships the AWS CLI.
"""

from __future__ import annotations

import re

from transforms.model import Job, Step, Workflow
from transforms.yamledit import DeleteKey, InsertKey, Op

SLUG = "jakejarvis/s3-sync-action"
SETTINGS = ("AWS_S3_BUCKET", "AWS_REGION", "SOURCE_DIR", "DEST_DIR")
NOT_REPRODUCED = {
    "AWS_S3_ENDPOINT": "points the sync at another endpoint (an S3-compatible service or a custom endpoint)",
    "AWS_CF_DISTRIBUTION_ID": "asks for a CloudFront invalidation, which only some revisions of the action run",
    "AWS_DEFAULT_REGION": "would override the region the action's profile held",
}
KEYS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
# Refs whose entrypoint.sh runs the command above (read at master and in the v0.5 release line).
REFS = re.compile(r"^(master|v0\.5(\.\d+)?)$")
RUNNERS = {"ubuntu-latest", "ubuntu-24.04", "ubuntu-22.04"}  # GitHub-hosted images with the AWS CLI
STEP_KEYS = {"name", "id", "if", "uses", "with", "env", "continue-on-error", "timeout-minutes"}
PLAIN = re.compile(r"[A-Za-z0-9_.@:+,=%/-]*")  # no shell expands, splits or unquotes these
# Expressions are accepted where AWS itself forbids every character a shell would act on.
NAMED_BY_AWS = {"AWS_S3_BUCKET": "bucket names", "AWS_REGION": "region names"}
WORD = re.compile(r"(?:[A-Za-z0-9_.@:+,=%/*-]|'[^'\n]*'|\"[^\"$`\\\n]*\")+")
EXPR = re.compile(r"\$\{\{.*?\}\}", re.S)
DEFAULT_REGION = "us-east-1"  # entrypoint.sh: "Default to us-east-1 if AWS_REGION not set"


def replacement(wf: Workflow, job: Job, step: Step) -> tuple[list[Op], str | None]:
    """The edits turning the step into `aws s3 sync`, or why they would not run the same sync."""
    why = _refusal(wf, job, step)
    if why is not None:
        return [], why
    args = str(step.with_.get("args") or "").strip()
    region = '"${AWS_REGION:-' + DEFAULT_REGION + '}"' if "AWS_REGION" in step.env else DEFAULT_REGION
    script = (f'aws s3 sync "${{SOURCE_DIR:-.}}" "s3://${{AWS_S3_BUCKET}}/${{DEST_DIR}}" --no-progress '
              f"--region {region}" + (f" {args}" if args else ""))
    keys = list(step.data)
    before = keys[keys.index("uses") - 1]
    ops: list[Op] = [InsertKey(step.path, "run", script, after=before), DeleteKey(step.path, "uses")]
    return ops + ([DeleteKey(step.path, "with")] if "with" in step.data else []), None


def login_region(step: Step) -> str:
    """The login step's region: the one the action's profile held, including its us-east-1 fallback."""
    value = step.env.get("AWS_REGION")
    if value is None:
        return DEFAULT_REGION
    text = str(value).strip()
    single = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.S)
    if single and "}}" not in single[1]:
        return "${{ " + single[1].strip() + " || '" + DEFAULT_REGION + "' }}"
    return text or DEFAULT_REGION


def _refusal(wf: Workflow, job: Job, step: Step) -> str | None:
    ref = step.uses
    if ref is None or not REFS.match(ref.ref or ""):
        return f"`@{ref.ref if ref else ''}` is not a revision whose command ztbot has read (master, v0.5)"
    if next(iter(step.data), None) == "uses":
        return "`uses:` opens the step, and the editor cannot replace a step's first key in place"
    extra = sorted(set(step.data) - STEP_KEYS)
    if extra:
        return f"the step also sets `{extra[0]}`"
    return _runner(wf, job) or _inputs(step) or _env(wf, job, step)


def _runner(wf: Workflow, job: Job) -> str | None:
    runs_on = job.data.get("runs-on")
    if not isinstance(runs_on, str) or runs_on not in RUNNERS:
        shown = ", ".join(map(str, runs_on)) if isinstance(runs_on, list) else runs_on
        return f"`runs-on: {shown}` is not a GitHub-hosted Ubuntu image known to ship the AWS CLI"
    if "container" in job.data:
        return "the job runs its steps in a `container:`, which may lack the AWS CLI"
    for where, scope in (("workflow", wf.data), (f"job `{job.id}`", job.data)):
        defaults = scope.get("defaults")
        if isinstance(defaults, dict) and defaults.get("run"):
            return f"the {where} sets `defaults.run`, which would change the shell or directory of the new step"
    return None


def _inputs(step: Step) -> str | None:
    given = step.with_
    if set(given) - {"args"}:
        return f"`with.{sorted(set(given) - {'args'})[0]}` is not an input of the action"
    args = given.get("args")
    if args is None:
        return None
    if isinstance(args, str) and EXPR.search(args):
        return "`with.args` holds an expression; written into a script it would be a template injection"
    if not isinstance(args, str) or "\n" in args.strip():
        return "`with.args` is not one line of text, so the action's shell would split it differently"
    words = args.split()
    if not all(WORD.fullmatch(w) for w in words) or any(w.startswith(("/", "'/", '"/')) for w in words):
        return f"`with.args` (`{args.strip()}`) uses shell syntax or absolute paths ztbot does not reproduce"
    return None


def _env(wf: Workflow, job: Job, step: Step) -> str | None:
    for where, env in (("workflow", wf.env), (f"job `{job.id}`", job.env)):
        shared = sorted((set(SETTINGS) | set(NOT_REPRODUCED)) & set(env))
        if shared:
            return f"the {where} `env:` sets `{shared[0]}`; the sync's settings must all be in the step's own `env:`"
    env = step.env
    for name, reason in NOT_REPRODUCED.items():
        if name in env:
            return f"`env.{name}` {reason}"
    if "AWS_S3_BUCKET" not in env:
        return "the step's `env:` has no `AWS_S3_BUCKET`"
    for name in SETTINGS:
        value = env.get(name)
        if value is None:
            continue
        text = str(value)
        if EXPR.search(text):
            if name not in NAMED_BY_AWS:
                return f"`env.{name}` is an expression; its value may hold characters the action's shell re-parses"
        elif not PLAIN.fullmatch(text) or text.startswith("/"):
            return f"`env.{name}` (`{text}`) holds characters or a path the action's container reads differently"
    # The action's `--profile` overrode AWS_PROFILE and friends; in a `run:` step they would configure the CLI.
    others = sorted(n for n in env if n.startswith("AWS_") and n not in SETTINGS and n not in KEYS)
    if others:
        return f"`env.{others[0]}` would configure the AWS CLI in a `run:` step, unlike in the action's profile"
    return None
