"""Infer the GITHUB_TOKEN scopes a job needs from what its steps do.

Sources: the action knowledge base (`kb`), `run:` scripts (`shellcmd`), `actions/github-script`
scripts (`ghscript`), and local composite actions / local reusable workflows read from the same
checkout, recursively. Anything we cannot map becomes an `Unknown`, which makes the job's
inference incomplete: such a job is never rewritten.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from transforms import ghscript, kb, shellcmd
from transforms.base import Analysis, Context, FileReader, Level, Need, Unknown
from transforms.model import Job, Step, Workflow, expressions, is_token_value, load_workflow
from transforms.yamldoc import YamlError, parse

MAX_DEPTH = 4
GITHUB_SCRIPT = "actions/github-script"


@dataclass(frozen=True)
class Scope:
    level: Level
    reasons: tuple[str, ...]


@dataclass
class JobNeeds:
    """The merged result for one job."""

    analysis: Analysis = field(default_factory=Analysis)

    @property
    def complete(self) -> bool:
        return not self.analysis.unknowns

    @property
    def scopes(self) -> dict[str, Scope]:
        return merge(self.analysis.needs)

    def block(self) -> dict[str, str]:
        """The `permissions:` mapping, contents first, then alphabetical."""
        scopes = self.scopes
        order = sorted(scopes, key=lambda s: (s != "contents", s))
        return {s: scopes[s].level for s in order}

    def evidence(self) -> dict[str, str]:
        """One short line per scope for the trailing comment; the full reasons stay in the finding."""
        out = {}
        for scope, info in self.scopes.items():
            more = len(info.reasons) - 1
            out[scope] = short(info.reasons[0]) + (f" (+{more} more)" if more > 0 else "")
        return out

    def reasons(self) -> dict[str, list[str]]:
        return {scope: list(info.reasons) for scope, info in self.scopes.items()}


_DETAIL = re.compile(r"\s*\([^()]*\)")


def short(reason: str, limit: int = 80) -> str:
    """A reason without its parenthesised detail, cut to fit; the step it names is always kept."""
    text = " ".join(_DETAIL.sub("", reason).split())
    what, sep, where = text.rpartition(" in step ")
    if not sep:
        what, where = text, ""
    room = max(limit - len(sep + where), 24)
    if len(what) > room:
        what = what[: room - 1].rstrip() + "…"
    return what + sep + where


def merge(needs: tuple[Need, ...]) -> dict[str, Scope]:
    """Highest level per scope, keeping the evidence for that level."""
    out: dict[str, Scope] = {}
    for need in needs:
        current = out.get(need.scope)
        if current is None or (need.level == "write" and current.level == "read"):
            out[need.scope] = Scope(need.level, (need.reason,))
        elif need.level == current.level and need.reason not in current.reasons:
            out[need.scope] = Scope(current.level, (*current.reasons, need.reason))
    return out


def infer_job(wf: Workflow, job: Job, ctx: Context) -> JobNeeds:
    if load_workflow(wf.doc) is not wf:  # not the document's own model: nothing to share
        return JobNeeds(_job(wf, job, ctx, 0, frozenset()))
    # permissions, tighten-permissions and the OIDC, attest and registry plans all ask about the same
    # jobs of a document: infer each once. The result depends only on the document and on the files
    # `ctx.read` gives, hence the key; an edited document is a new Doc with an empty memo.
    memo: dict[tuple[str, FileReader], Analysis] = wf.doc.derived("job-analysis", lambda _doc: {})
    key = (job.id, ctx.read)
    if key not in memo:
        memo[key] = _job(wf, job, ctx, 0, frozenset())
    return JobNeeds(memo[key])


def _job(wf: Workflow, job: Job, ctx: Context, depth: int, seen: frozenset[str]) -> Analysis:
    call = job.uses
    if call is not None:
        return _reusable(call.raw, ctx, depth, seen, job.id)
    container = job.data.get("container")
    # `container.env` is the environment of every `run:` step inside the job's container.
    inner = container["env"] if isinstance(container, dict) and isinstance(container.get("env"), dict) else {}
    env = {**wf.env, **job.env, **inner}
    shell = job.shell or wf.shell
    total = _registry_pulls(job)
    for step in job.steps:
        total = total + _step(step, env, shell, ctx, depth, seen, frozenset())
    return total


def _registry_pulls(job: Job) -> Analysis:
    """`container:`/`services:` images pulled with the GITHUB_TOKEN as the registry password."""
    images = [("container", job.data.get("container"))]
    services = job.data.get("services")
    if isinstance(services, dict):
        images += [(f"service {name}", spec) for name, spec in services.items()]
    needs = []
    for label, spec in images:
        creds = spec.get("credentials") if isinstance(spec, dict) else None
        if isinstance(creds, dict) and is_token_value(creds.get("password")):
            needs.append(Need("packages", "read", f"{label} image pulled with the GITHUB_TOKEN"))
    return Analysis(tuple(needs))


def token_vars(env: Mapping[str, Any], token_exprs: frozenset[str]) -> frozenset[str]:
    return frozenset(k for k, v in env.items() if carries_token(v, token_exprs))


def carries_token(value: Any, token_exprs: frozenset[str]) -> bool:
    """True when a value holds the GITHUB_TOKEN, directly or through a composite action input."""
    if is_token_value(value):
        return True
    return any(e.lower() in token_exprs for e in expressions(value))


def _step(step: Step, env: Mapping[str, Any], shell: str | None, ctx: Context, depth: int,
          seen: frozenset[str], token_exprs: frozenset[str]) -> Analysis:
    step_env = {**env, **step.env}
    tvars = token_vars(step_env, token_exprs)
    if step.run is not None:
        given = step.data.get("shell")
        if given is not None and not isinstance(given, str):
            return Analysis(unknowns=(Unknown(f'step "{step.name}": `shell: {given}` is not a shell name'),))
        script = _expand_token_inputs(step.run, token_exprs)
        return shellcmd.analyze_run(script, given or shell, tvars, step.name)
    ref = step.uses
    if ref is None:
        return Analysis()
    with_ = {k: v if isinstance(v, str) else str(v) for k, v in step.with_.items()}
    if ref.local:
        return _local_action(ref.raw, with_, bool(tvars), ctx, depth, seen, token_exprs)
    if ref.docker:
        given = bool(tvars) or any(carries_token(v, token_exprs) for v in with_.values())
        return Analysis(unknowns=(Unknown(f'step "{step.name}" passes the GITHUB_TOKEN to a docker action'),)) \
            if given else Analysis()
    if not ref.owner:
        return Analysis(unknowns=(Unknown(f'step "{step.name}": cannot read `uses: {ref.raw}`'),))
    with_ = {k: _expand_token_inputs(v, token_exprs) for k, v in with_.items()}
    result = kb.analyze_action(ref.slug, with_, bool(tvars))
    if ref.slug == GITHUB_SCRIPT and _script_gets_token(with_):
        result = result + ghscript.analyze_script(with_.get("script", ""), step.name)
    return _name_step(result, step.name)


def _expand_token_inputs(text: str, token_exprs: frozenset[str]) -> str:
    """Inside a composite action, `${{ inputs.token }}` may be the GITHUB_TOKEN: say so explicitly."""
    if not token_exprs:
        return text

    def swap(m: re.Match[str]) -> str:
        return "${{ github.token }}" if m.group(1).strip().lower() in token_exprs else m.group(0)

    return re.sub(r"\$\{\{(.*?)\}\}", swap, text)


def _script_gets_token(with_: Mapping[str, str]) -> bool:
    given = with_.get("github-token")
    return given is None or is_token_value(given)


def _name_step(result: Analysis, name: str) -> Analysis:
    def tag(reason: str) -> str:
        return reason if f'"{name}"' in reason else f'{reason} in step "{name}"'

    return Analysis(tuple(Need(n.scope, n.level, tag(n.reason)) for n in result.needs),
                    tuple(Unknown(tag(u.reason)) for u in result.unknowns))


def _read_doc(path: str, ctx: Context) -> tuple[Any, str | None]:
    text = ctx.read(path)
    if text is None:
        return None, None
    try:
        return parse(text), None
    except YamlError as exc:
        return None, f"{path}: {exc}"


def _local_action(raw: str, with_: Mapping[str, str], token_in_env: bool, ctx: Context, depth: int,
                  seen: frozenset[str], token_exprs: frozenset[str]) -> Analysis:
    base = posixpath.normpath(raw[2:].split("@")[0])
    if depth >= MAX_DEPTH or base in seen:
        return Analysis(unknowns=(Unknown(f"local action {raw} nests too deeply or recursively"),))
    for name in ("action.yml", "action.yaml"):
        doc, error = _read_doc(posixpath.join(base, name), ctx)
        if error:
            return Analysis(unknowns=(Unknown(f"local action {raw}: {error}"),))
        if doc is not None:
            return _composite(raw, doc, with_, token_in_env, ctx, depth, seen | {base}, token_exprs)
    return Analysis(unknowns=(Unknown(f"local action {raw} has no action.yml in this checkout"),))


def _composite(raw: str, doc: Any, with_: Mapping[str, str], token_in_env: bool, ctx: Context, depth: int,
               seen: frozenset[str], token_exprs: frozenset[str]) -> Analysis:
    data = doc.data if isinstance(doc.data, dict) else {}
    inputs: dict[str, Any] = data["inputs"] if isinstance(data.get("inputs"), dict) else {}
    carrying = frozenset(
        f"inputs.{name}".lower()
        for name, spec in inputs.items()
        if carries_token(with_.get(name, (spec or {}).get("default") if isinstance(spec, dict) else None),
                         token_exprs)
    )
    wf = load_workflow(doc)
    if wf is None or not wf.composite:
        if carrying or token_in_env:
            return Analysis(unknowns=(Unknown(f"local action {raw} is not composite and receives the token"),))
        return Analysis()
    env = {"GITHUB_TOKEN": "${{ github.token }}"} if token_in_env else {}
    total = Analysis()
    for step in wf.jobs[0].steps:
        total = total + _step(step, env, None, ctx, depth + 1, seen, carrying)
    return _within(total, raw)


def _within(result: Analysis, where: str) -> Analysis:
    """Say which local action a step belongs to, so `step "#1"` is not read as the caller's."""
    def tag(reason: str) -> str:
        return reason if where in reason else f"{reason} of {where}"

    return Analysis(tuple(Need(n.scope, n.level, tag(n.reason)) for n in result.needs),
                    tuple(Unknown(tag(u.reason)) for u in result.unknowns))


def _reusable(raw: str, ctx: Context, depth: int, seen: frozenset[str], job_id: str) -> Analysis:
    if not raw.startswith("./"):
        return Analysis(unknowns=(Unknown(f"job {job_id} calls remote reusable workflow {raw}; "
                                          "its needs cannot be read from this checkout"),))
    path = posixpath.normpath(raw[2:].split("@")[0])
    if depth >= MAX_DEPTH or path in seen:
        return Analysis(unknowns=(Unknown(f"reusable workflow {raw} nests too deeply or recursively"),))
    doc, error = _read_doc(path, ctx)
    if doc is None:
        return Analysis(unknowns=(Unknown(error or f"reusable workflow {raw} is not in this checkout"),))
    wf = load_workflow(doc)
    if wf is None:
        return Analysis(unknowns=(Unknown(f"{raw} is not a workflow"),))
    total = Analysis()
    for callee in wf.jobs:
        total = total + _callee_job(wf, callee, raw, ctx, depth, seen | {path})
    return _within(total, raw)


def _callee_job(wf: Workflow, job: Job, raw: str, ctx: Context, depth: int, seen: frozenset[str]) -> Analysis:
    """A callee job that declares permissions needs them from the caller; else infer from its steps."""
    declared = job.data.get("permissions", wf.data.get("permissions"))
    if declared is None:
        return _job(wf, job, ctx, depth + 1, seen)
    if isinstance(declared, dict):
        return Analysis(tuple(Need(str(s), "write" if lvl == "write" else "read", f"declared by {raw} job {job.id}")
                              for s, lvl in declared.items() if lvl in ("read", "write")))
    return Analysis(unknowns=(Unknown(f"{raw} job {job.id} declares `permissions: {declared}`"),))
