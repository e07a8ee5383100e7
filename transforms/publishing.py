"""What the trusted-publishing transforms (`publish-*`) share: sites, job checks, env edits, runners.

Each registry module finds *sites* (one publishing step and the edits that move it to trusted
publishing, or the reason it cannot move). This module applies the job-wide rules once: refusals
that make any OIDC login unsafe, the removed secret still being read elsewhere in the job, and the
`id-token: write` grant, which a job gets once however many of its steps publish.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from transforms import oidc
from transforms.base import Context, Finding, Path, Severity
from transforms.model import Job, Step, Workflow, load_workflow
from transforms.pins import pin
from transforms.yamldoc import Doc, own_pair, resolve
from transforms.yamledit import DeleteKey, EditText, InsertItem, Op

# GitHub-hosted standard labels (docs "GitHub-hosted runners"); larger runners have custom names we cannot tell.
HOSTED = re.compile(r"^(ubuntu|windows|macos)-(latest|\d+(\.\d+)?)(-arm|-arm64|-large|-xlarge|-intel)?$", re.I)
_EXPR = re.compile(r"\$\{\{.*?\}\}", re.S)
_SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", ";;", "|&"}


@dataclass
class Site:
    """One publishing step: the edits that move it to trusted publishing, or why it cannot move."""

    step: Step
    change: str  # one line for the finding and the PR
    ops: list[Op] = field(default_factory=list)
    removed: set[Path] = field(default_factory=set)  # data paths whose secret references go away
    secrets: set[str] = field(default_factory=set)
    refusal: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # registry-specific data for explain
    grant: dict[str, str] = field(default_factory=dict)  # token scopes instead of `id-token: write` (no OIDC)


TOKEN_REASONS = {"packages": "publishes to GitHub Packages with the GITHUB_TOKEN"}
Matcher = Callable[[Doc, Workflow, Job, Step, Context], "Site | None"]


# ---------------------------------------------------------------- the plan


def plan(doc: Doc, ctx: Context, rule: str, registry: str, match: Matcher) -> list[tuple[Finding, list[Op]]]:
    """Findings (with the edits of the fixable ones) for every publishing site of the document."""
    wf = load_workflow(doc)
    if wf is None:
        return []
    out: list[tuple[Finding, list[Op]]] = []
    for job in wf.jobs:
        sites = [s for step in job.steps if (s := match(doc, wf, job, step, ctx)) is not None]
        if sites:
            out += _job_plan(doc, ctx, wf, job, sites, rule, registry)
    still = oidc.still_read(wf, {(f.data["job"], s) for f, _ in out if f.fixable for s in f.data["secrets"]})
    return [(replace(f, data={**f.data, "elsewhere": {s: still[s] for s in f.data["secrets"] if s in still}}), ops)
            for f, ops in out]


def _job_plan(doc: Doc, ctx: Context, wf: Workflow, job: Job, sites: list[Site], rule: str,
              registry: str) -> list[tuple[Finding, list[Op]]]:
    blocked = job_refusal(wf, job)
    for site in sites:
        site.refusal = blocked or site.refusal
    live = [s for s in sites if s.refusal is None]
    removed = {p for s in live for p in s.removed}
    names = {n for s in live for n in s.secrets}
    still = oidc.remaining_uses(job, names, removed) if names else []
    if still:
        for site in live:
            site.refusal = f"the secret would stay in use: {still[0]}; migrate that use first"
        live = []
    job_ops: list[Op] = []
    if live:
        grant = _grant(doc, ctx, wf, job, live, f"OIDC token for {registry} trusted publishing")
        if isinstance(grant, str):
            for site in live:
                site.refusal = grant
        else:
            job_ops = grant
    return [_finding(ctx, job, s, rule, registry, job_ops) for s in sites]


def _grant(doc: Doc, ctx: Context, wf: Workflow, job: Job, live: list[Site], reason: str) -> list[Op] | str:
    """`id-token: write` for trusted publishing, plus (or instead) the token scopes of sites that need no OIDC."""
    scopes = {k: v for s in live for k, v in s.grant.items()}
    if not scopes:
        return oidc.id_token_ops(doc, wf, job, ctx, reason=reason)
    if any(not s.grant for s in live):
        scopes["id-token"] = "write"
    return oidc.grant_ops(doc, wf, job, ctx, scopes, {**TOKEN_REASONS, "id-token": reason})


def _finding(ctx: Context, job: Job, site: Site, rule: str, registry: str,
             job_ops: list[Op]) -> tuple[Finding, list[Op]]:
    data = {
        "job": job.id, "step": site.step.index, "step_name": site.step.name,
        "file": posixpath.basename(ctx.path), "environment": job.environment, "repo": ctx.repo,
        "registry": registry, "secrets": sorted(site.secrets), "change": site.change, **site.extra,
    }
    where = f"jobs.{job.id}.steps[{site.step.index}]"
    if site.refusal:
        message = f"job `{job.id}` step `{site.step.name}` left unchanged: {site.refusal}"
        return Finding(f"{rule}-unresolved", message, site.step.line, yaml_path=where,
                       severity=Severity.NOTE, data={**data, "reason": site.refusal}), []
    message = f"job `{job.id}` step `{site.step.name}`: {site.change}"
    return Finding(rule, message, site.step.line, yaml_path=where, fixable=True, data=data), site.ops + job_ops


def chosen_ops(planned: list[tuple[Finding, list[Op]]], findings: list[Finding]) -> list[Op]:
    """The edits of the planned findings the runner passed back, each edit once."""
    wanted = {(f.data.get("job"), f.data.get("step")) for f in findings if f.fixable}
    ops: list[Op] = []
    for finding, edits in planned:
        if (finding.data["job"], finding.data["step"]) in wanted:
            ops += [op for op in edits if op not in ops]
    # Edits address the original document; the data check replays them in order, so inserted steps
    # (which shift the indexes after them) go last, the highest index first.
    items = sorted((op for op in ops if isinstance(op, InsertItem)), key=lambda op: op.index, reverse=True)
    return [op for op in ops if not isinstance(op, InsertItem)] + items


def job_refusal(wf: Workflow, job: Job) -> str | None:
    """Why no step of this job can move to trusted publishing, whatever it publishes."""
    if wf.composite:
        return ("this is a composite action: the registry trusts the calling workflow's file name, "
                "so migrate the workflow that uses it")
    if "workflow_call" in wf.triggers:
        return ("the workflow is reusable (`on: workflow_call`): registries match the calling workflow "
                "(PyPI cannot trust a reusable workflow at all); publish from a job of the top-level workflow")
    return oidc.refusal(wf, job)


# ---------------------------------------------------------------- environment variables


@dataclass(frozen=True)
class EnvVar:
    """Where a step's variable is set: `owner` is the step, job or workflow path holding `env`."""

    name: str
    value: Any
    owner: Path
    level: str  # "step" | "job" | "workflow"


def find_env(wf: Workflow, job: Job, step: Step, name: str) -> EnvVar | None:
    """The definition a step sees (step env wins over job env over workflow env)."""
    for env, owner, level in ((step.env, step.path, "step"), (job.env, job.path, "job"), (wf.env, (), "workflow")):
        if name in env:
            return EnvVar(name, env[name], owner, level)
    return None


def delete_env(doc: Doc, var: EnvVar, also: tuple[str, ...] = ()) -> list[Op] | str:
    """Edits removing `var` (and the `also` names set next to it); the whole `env:` when nothing else is left."""
    env_node = resolve(doc.root, (*var.owner, "env"))
    owner_node = resolve(doc.root, var.owner)
    if env_node is None or owner_node is None or own_pair(env_node, var.name) is None:
        return f"`{var.name}` comes from a YAML anchor or merge key; edit it by hand"
    names = list(dict.fromkeys([var.name, *(n for n in also if own_pair(env_node, n) is not None)]))
    keys = [str(k.value) for k, _ in getattr(env_node, "value", ())]
    if set(keys) - set(names):
        return [DeleteKey((*var.owner, "env"), n) for n in names]
    first = own_pair(owner_node, "env")
    if var.level == "step" and first is not None and owner_node.value[0][0] is first[0]:
        return "the step's `env:` is its first key and holds only the token; remove it by hand"
    return [DeleteKey(var.owner, "env")]


def secret_refs(value: Any) -> set[str]:
    return oidc.secret_names(value)


def swap_secret(step: Step, key: str, names: set[str], new: str) -> list[Op] | str:
    """Edit `${{ secrets.X }}` (one occurrence, any X of `names`) in the step's string `key` into `new`."""
    text = step.data.get(key)
    if not isinstance(text, str):
        return f"`{key}` is not a string"
    found = [m.group(0) for m in _EXPR.finditer(text) if secret_refs(m.group(0)) & names]
    if len(found) != 1 or text.count(found[0]) != 1:
        return f"the token appears {len(found)} times in `{key}:`; migrate by hand"
    return [EditText((*step.path, key), found[0], new)]


# ---------------------------------------------------------------- inserted steps


def guard(step: Step) -> dict[str, Any]:
    """An inserted login step runs exactly when the publishing step does (else it fails on other events)."""
    cond = step.data.get("if")
    return {"if": cond} if cond is not None else {}


def action_step(action: str, name: str, step: Step, with_: Mapping[str, Any] | None = None,
                step_id: str | None = None) -> tuple[dict[str, Any], dict[tuple[str | int, ...], str]]:
    """A pinned `uses:` step (with its `# vX.Y.Z` comment) to insert before `step`."""
    p = pin(action)
    value: dict[str, Any] = {"name": name}
    if step_id:
        value["id"] = step_id
    value.update(guard(step))
    value["uses"] = p.uses
    if with_:
        value["with"] = dict(with_)
    return value, {("uses",): p.tag}


def insert_before(job: Job, step: Step, value: dict[str, Any], comments: Mapping[tuple[str | int, ...], str]) -> Op:
    return InsertItem((*job.path, "steps"), step.index, value, comments=dict(comments))


def free_id(job: Job, wanted: str, fallback: str) -> str:
    used = {str(s.data.get("id")) for s in job.steps if s.data.get("id") is not None}
    return wanted if wanted not in used else fallback


# ---------------------------------------------------------------- shell commands


def commands(script: str) -> list[list[str]] | None:
    """Simple commands of a POSIX shell script (expressions kept verbatim); None when it will not split."""
    split = _commands(script)
    return None if split is None else [list(cmd) for cmd in split]


@lru_cache(maxsize=512)
def _commands(script: str) -> tuple[tuple[str, ...], ...] | None:
    # Every publishing transform reads the same scripts: tokenize each one once.
    masks: list[str] = []

    def mask(m: re.Match[str]) -> str:
        masks.append(m.group(0))
        return f"__ZTEXPR{len(masks) - 1}__"

    text = _EXPR.sub(mask, script).replace("\\\n", " ")
    out: list[list[str]] = []
    try:
        for line in text.split("\n"):
            out += _split_line(line)
    except ValueError:
        return None
    return tuple(tuple(_unmask(w, masks) for w in cmd) for cmd in out if cmd)


# Words made of bare text and whole '...' / "..." parts, and runs of shell punctuation.
_WORDS = re.compile(r"""[;&|()]+|(?:[^\s;&|()'"]+|'[^']*'|"[^"]*")+""")
_QUOTED = re.compile(r"'([^']*)'" + r'|"([^"]*)"')


def _split_line(line: str) -> list[list[str]]:
    if "\\" not in line and "#" not in line and _balanced(line):
        # No escapes or comments and closed quotes: shlex would split exactly here, at a fraction of the cost.
        return _group([_QUOTED.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), w)
                       for w in _WORDS.findall(line)])
    return _group(list(_shlex_tokens(line)))


def _balanced(line: str) -> bool:
    """Every quote closes before the line ends (a quoted part may hold the other quote character)."""
    rest = _QUOTED.sub("", line)
    return "'" not in rest and '"' not in rest


def _group(tokens: list[str]) -> list[list[str]]:
    cmds: list[list[str]] = [[]]
    for token in tokens:
        if token in _SEPARATORS:
            cmds.append([])
        else:
            cmds[-1].append(token)
    return cmds


def _shlex_tokens(line: str) -> shlex.shlex:
    lex = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
    lex.whitespace_split = True
    lex.commenters = "#"
    return lex


_MASKED = re.compile(r"__ZTEXPR(\d+)__")


def _unmask(word: str, masks: list[str]) -> str:
    if "__ZTEXPR" not in word:  # most words hold no expression: skip the substitution
        return word
    return _MASKED.sub(lambda m: masks[int(m.group(1))], word)


_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")


def program(words: list[str]) -> list[str]:
    """The command with leading `VAR=value` assignments and `sudo`/`env`/`exec` wrappers dropped."""
    rest = list(words)
    while rest and (_ASSIGNMENT.match(rest[0]) or rest[0] in ("sudo", "env", "exec", "command")):
        rest = rest[1:]
    return rest


def run_commands(step: Step) -> Iterator[list[str]]:
    for cmd in commands(step.run or "") or []:
        yield program(cmd)


# ---------------------------------------------------------------- runners


def hosted(job: Job) -> bool | None:
    """True: GitHub-hosted; False: self-hosted or a runner group; None: cannot tell (expressions, custom labels)."""
    labels = _labels(job)
    if labels is None:
        return None
    if any(str(label).lower() == "self-hosted" for label in labels):
        return False
    return all(HOSTED.match(str(label)) for label in labels) or None


def _labels(job: Job) -> list[Any] | None:
    value = job.runs_on
    if isinstance(value, dict):
        return None if "group" in value else _as_list(value.get("labels"))
    values = _as_list(value)
    if values is None:
        return None
    out: list[Any] = []
    for label in values:
        m = re.fullmatch(r"\$\{\{\s*matrix\.([\w-]+)\s*\}\}", str(label))
        if not m:
            if _EXPR.search(str(label)):
                return None
            out.append(label)
            continue
        axis = _matrix_axis(job, m.group(1))
        if axis is None:
            return None
        out += axis
    return out


def _matrix_axis(job: Job, axis: str) -> list[Any] | None:
    strategy = job.data.get("strategy")
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    values = matrix.get(axis) if isinstance(matrix, dict) else None
    if not isinstance(values, list) or any(_EXPR.search(str(v)) or isinstance(v, (dict, list)) for v in values):
        return None
    includes = matrix.get("include") if isinstance(matrix, dict) else None
    if isinstance(includes, list) and any(isinstance(i, dict) and axis in i for i in includes):
        return None
    return values


def _as_list(value: Any) -> list[Any] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        return value
    return None


def linux(job: Job) -> bool:
    labels = _labels(job)
    return bool(labels) and all(str(label).lower().startswith("ubuntu-") for label in labels or [])


def setup_step(job: Job, before: Step, action: str) -> Step | None:
    """The last `uses: <action>` step before `before` (the one whose settings it runs under)."""
    found = None
    for step in job.steps:
        if step.index >= before.index:
            break
        ref = step.uses
        if ref is not None and ref.slug == action:
            found = step
    return found
