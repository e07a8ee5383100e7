"""persist-credentials: `actions/checkout` stops leaving its token in `.git/config` when nothing needs it.

By default checkout writes the token it used into the repository's git config for the rest of the
job, where every later step, action and uploaded artifact can read it. Each checkout step gains
`with: persist-credentials: false` unless a later step of the same job needs (or may need) those
credentials: see `transforms/gitcreds.py` for what counts. Those checkouts are left alone with the
reason. An explicit `persist-credentials` (true, false or an expression) is never touched.

A checkout authenticating with a secret other than the GITHUB_TOKEN (a PAT) is reported, not changed.
"""

from __future__ import annotations

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from transforms.base import Context, Finding, Severity
from transforms.gitcreds import Reader, needs_credentials
from transforms.model import Job, Step, Workflow, expressions, is_token_value, load_workflow
from transforms.yamldoc import Doc, has_merge, path_str, resolve, usage_counts
from transforms.yamledit import InsertKey, Op, ReplaceValue

ID = "persist-credentials"
FIXABLE = "checkout-persists-credentials"
KEPT = "checkout-persists-credentials-kept"
PAT = "checkout-token-secret"
CHECKOUT = "actions/checkout"
KEY = "persist-credentials"


def _is_checkout(step: Step) -> bool:
    return step.uses is not None and step.uses.slug == CHECKOUT


def _token_finding(job: Job, step: Step) -> Finding | None:
    """A checkout whose `token:` is a secret other than the GITHUB_TOKEN: a long-lived credential."""
    token = step.with_.get("token")
    if token is None or is_token_value(token):
        return None
    secrets = [e for e in expressions(token) if e.lower().startswith("secrets.")]
    if not secrets:
        return None  # an app token from an earlier step, or similar: short-lived, not reported
    return Finding(PAT, f"job `{job.id}` step `{step.name}`: checkout authenticates with `{secrets[0]}`, "
                   "probably a personal access token; prefer the GITHUB_TOKEN with `permissions:` or a "
                   "GitHub App token (actions/create-github-app-token)", step.line,
                   yaml_path=path_str(step.path), severity=Severity.WARNING)


def _shared(doc: Doc, step: Step) -> bool:
    """The step (or its `with:`) comes from a YAML anchor or merge: an insert would change other users."""
    counts = doc.derived("usage-counts", lambda d: usage_counts(d.root))
    nodes = [resolve(doc.root, step.path), resolve(doc.root, (*step.path, "with"))]
    return any(n is not None and (counts.get(id(n), 1) > 1 or has_merge(n)) for n in nodes)


def _later_need(wf: Workflow, job: Job, step: Step, reader: Reader) -> str | None:
    for later in job.steps:
        if later.index > step.index and (why := needs_credentials(wf, job, later, reader)):
            return f'step "{later.name}": {why}'
    return None


def _finding(doc: Doc, wf: Workflow, job: Job, step: Step, reader: Reader) -> Finding | None:
    with_ = step.data.get("with")
    if (isinstance(with_, dict) and KEY in with_) or (with_ is not None and not isinstance(with_, dict)):
        return None
    where = f"job `{job.id}` step `{step.name}`"
    why = _later_need(wf, job, step, reader)
    if why is None and _shared(doc, step):
        why = "the step is written through a YAML anchor shared with other places"
    if why is not None:
        return Finding(KEPT, f"{where}: checkout keeps its persisted credentials: {why}", step.line,
                       yaml_path=path_str(step.path), severity=Severity.NOTE, data={"job": job.id})
    return Finding(FIXABLE, f"{where}: checkout leaves its token in .git/config and no later step needs it; "
                   "set `persist-credentials: false`", step.line, yaml_path=path_str(step.path), fixable=True,
                   data={"job": job.id, "path": step.path})


def _op(doc: Doc, f: Finding) -> Op:
    path = tuple(f.data["path"])
    step = resolve(doc.root, path)
    with_ = resolve(doc.root, (*path, "with"))
    if with_ is None:
        after = "uses" if _written(step, "uses") else None
        return InsertKey(path, "with", {KEY: False}, after=after)
    if isinstance(with_, MappingNode) and (with_.value or with_.flow_style):
        return InsertKey((*path, "with"), KEY, False)
    return ReplaceValue((*path, "with"), {KEY: False})  # `with:` left empty


def _written(node: Node | None, key: str) -> bool:
    return isinstance(node, MappingNode) and any(isinstance(k, ScalarNode) and k.value == key for k, _ in node.value)


class PersistCredentials:
    id = ID
    summary = "Stop `actions/checkout` from leaving its token in `.git/config` when no later step needs it."
    # Only files mentioning one of these can match: only actions/checkout steps are changed.
    requires_text = ("checkout",)
    safe = True
    intended = ("jobs.*.steps.*.with",)

    def detect(self, doc: Doc, ctx: Context) -> list[Finding]:
        wf = load_workflow(doc)
        if wf is None or wf.composite:
            return []  # a composite action cannot see the steps of the job that calls it
        reader = Reader(ctx, bool(ctx.options.get("public_repo", False)))
        found: list[Finding | None] = []
        for job in wf.jobs:
            for step in job.steps:
                if _is_checkout(step):
                    found += [_finding(doc, wf, job, step, reader), _token_finding(job, step)]
        return [f for f in found if f is not None]

    def apply(self, doc: Doc, ctx: Context, findings: list[Finding]) -> list[Op]:
        return [_op(doc, f) for f in findings if f.rule == FIXABLE]

    def explain(self, findings: list[Finding]) -> str:
        lines = ["### `actions/checkout` without persisted credentials", ""]
        fixed = [f for f in findings if f.rule == FIXABLE]
        if fixed:
            jobs = ", ".join(dict.fromkeys(f"`{f.data['job']}`" for f in fixed))
            lines += [f"Checkout steps in {jobs} now set `persist-credentials: false`: no later step in "
                      "those jobs pushes or fetches with git, so the token no longer stays in `.git/config` "
                      "where every later step and any uploaded artifact could read it.", ""]
        lines += [f"- {f.message}" for f in findings if f.rule != FIXABLE]
        return "\n".join(lines) + "\n"
