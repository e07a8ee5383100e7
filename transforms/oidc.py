"""What every credential-to-OIDC transform shares: value sources, id-token, refusals, secret tracing.

Values come from the org config (the transform's options) when given, else from repository or
organization variables with documented default names, so a rewrite is always possible and the PR
can list the variables to create.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from transforms.base import Context, Path
from transforms.inference import infer_job
from transforms.model import Job, Workflow, expressions
from transforms.permissions import block_op
from transforms.yamldoc import Doc
from transforms.yamledit import InsertKey, Op, ReplaceValue

SECRET_RE = re.compile(r"\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)")
ID_TOKEN_REASON = "OIDC token for the federated login"


@dataclass
class Values:
    """Resolved settings for one rewrite, and the variables the owner must create."""

    ctx: Context
    variables: dict[str, str] = field(default_factory=dict)  # name -> what it holds

    def get(self, key: str, var: str, meaning: str) -> str:
        given = self.ctx.options.get(key)
        if isinstance(given, str) and given:
            return given.replace("{repo}", self.ctx.repo.split("/")[-1] if self.ctx.repo else "REPO")
        self.variables[var] = meaning
        return f"${{{{ vars.{var} }}}}"


def secret_names(value: Any) -> set[str]:
    """Names of `secrets.X` referenced by a value (GITHUB_TOKEN excluded)."""
    if isinstance(value, str) and "secrets." not in value:
        return set()  # most strings, e.g. every line of every script: no expression search needed
    return {m for e in expressions(value) for m in SECRET_RE.findall(e) if m.upper() != "GITHUB_TOKEN"}


def walk(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, (*path, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, (*path, i))


def remaining_uses(job: Job, names: set[str], removed: set[Path]) -> list[str]:
    """Places in the job (outside `removed` paths) that still read one of the secrets."""
    hits = []
    for path, value in walk(dict(job.data), job.path):
        if isinstance(value, str) and path not in removed and not any(path[: len(r)] == r for r in removed):
            used = secret_names(value) & names
            if used:
                hits.append(f"{'.'.join(map(str, path))} still uses secrets.{sorted(used)[0]}")
    return hits


def still_read(wf: Workflow, gone: set[tuple[str, str]]) -> dict[str, str]:
    """Secret -> the first place still reading it once the (job id, secret) uses in `gone` are rewritten.

    A rewritten job that removes a secret reads it nowhere any more (its plan proved that); any other
    use (another job, a job left as it was) means the secret must outlive the PR, and the PR says where.
    """
    names = {name for _, name in gone}
    found: dict[str, str] = {}
    for job in wf.jobs if names else ():  # nothing rewritten (the common case): nothing to walk
        for path, value in walk(dict(job.data), job.path):
            for name in sorted(secret_names(value) & names) if isinstance(value, str) else ():
                if (job.id, name) not in gone:
                    found.setdefault(name, f"job `{job.id}` (`{'.'.join(map(str, path))}`)")
    return found


def refusal(wf: Workflow, job: Job) -> str | None:
    """Reasons that make any credential rewrite of this job unsafe."""
    if "pull_request_target" in wf.triggers:
        return ("the workflow runs on pull_request_target: an OIDC trust for it would let fork pull requests "
                "assume the role; migrate by hand after splitting the job")
    if job.data.get("secrets") == "inherit":
        return "secrets are passed through `secrets: inherit`; the callee's use of them cannot be rewritten here"
    return None


def id_token_ops(doc: Doc, wf: Workflow, job: Job, ctx: Context, reason: str = ID_TOKEN_REASON) -> list[Op] | str:
    """Ops giving the job `id-token: write` without changing its other scopes; or why we cannot."""
    perms = job.data.get("permissions")
    if perms == "write-all" or (isinstance(perms, dict) and perms.get("id-token") == "write"):
        return []
    if isinstance(perms, dict):
        return [InsertKey((*job.path, "permissions"), "id-token", "write", comments={(): reason})]
    if perms is not None:
        return f"job `{job.id}` declares `permissions: {perms}`; add `id-token: write` by hand"
    top = wf.data.get("permissions")
    if top == "write-all" or (isinstance(top, dict) and top.get("id-token") == "write"):
        return []  # the job inherits the workflow-level grant
    if isinstance(top, dict):
        # The job runs with exactly the workflow's block today: keep it and add the OIDC grant.
        block = {**{str(k): str(v) for k, v in top.items()}, "id-token": "write"}
        return [block_op(doc, job.id, _ordered(block), {"id-token": reason})]
    needs = infer_job(wf, job, ctx)
    if not needs.complete:
        why = needs.analysis.unknowns[0].reason
        return f"job `{job.id}` needs `id-token: write` but its other token needs are unknown ({why})"
    block = {**needs.block(), "id-token": "write"}
    notes = {**needs.evidence(), "id-token": reason} if ctx.options.get("comments", True) else {}
    return [block_op(doc, job.id, _ordered(block), notes)]


def grant_ops(doc: Doc, wf: Workflow, job: Job, ctx: Context, scopes: Mapping[str, str],
              reasons: Mapping[str, str], note_raised: bool = False) -> list[Op] | str:
    """Ops giving the job `scopes` (id_token_ops for several) without lowering any of its other ones.

    A scope the job's mapping lacks is added with its reason; one it holds below the wanted level is
    raised (with the reason too when `note_raised`); without `permissions:` the job gets its inferred
    minimal block plus `scopes`. Or the reason none of that can be done.
    """
    perms = job.data.get("permissions")
    if perms == "write-all":
        return []
    if isinstance(perms, dict):
        path = (*job.path, "permissions")
        return [ReplaceValue((*path, s), lvl, comments={(): reasons[s]} if note_raised else {}) if s in perms
                else InsertKey(path, s, lvl, comments={(): reasons[s]})
                for s, lvl in scopes.items() if perms.get(s) not in (lvl, "write")]
    wanted = ", ".join(f"`{s}: {lvl}`" for s, lvl in scopes.items())
    if perms is not None:
        return f"job `{job.id}` declares `permissions: {perms}`; add {wanted} by hand"
    needs = infer_job(wf, job, ctx)
    if not needs.complete:
        why = needs.analysis.unknowns[0].reason
        return f"job `{job.id}` needs {wanted} but its other token needs are unknown ({why})"
    block = {**needs.block(), **scopes}
    notes = {**needs.evidence(), **{s: reasons[s] for s in scopes}} if ctx.options.get("comments", True) else {}
    return [block_op(doc, job.id, _ordered(block), notes)]


def _ordered(block: dict[str, str]) -> dict[str, str]:
    return dict(sorted(block.items(), key=lambda kv: (kv[0] != "contents", kv[0])))


def subject(repo: str, job: Job, default_branch: str) -> str:
    """The OIDC `sub` claim this job presents (environment wins over ref)."""
    env = job.environment
    tail = f"environment:{env}" if env else f"ref:refs/heads/{default_branch}"
    return f"repo:{repo or 'OWNER/REPO'}:{tail}"


def with_value(step_with: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = step_with.get(name)
        if value is not None:
            return str(value)
    return None
