"""A typed view of workflows and composite actions over the parsed data.

The model never owns text: paths back into the document let transforms build edit operations.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ruamel.yaml.nodes import Node, SequenceNode

from transforms.base import Path
from transforms.yamldoc import Doc, child, get_pair, pairs, resolve

USES_RE = re.compile(r"^(?P<owner>[^/@\s]+)/(?P<repo>[^/@\s]+)(?:/(?P<sub>[^@\s]+))?@(?P<ref>\S+)$")
EXPR_RE = re.compile(r"\$\{\{(.*?)\}\}", re.S)


@dataclass(frozen=True)
class ActionRef:
    """A `uses:` value: remote action, local path, docker image or reusable workflow."""

    raw: str
    owner: str = ""
    repo: str = ""
    subpath: str = ""
    ref: str = ""

    @property
    def local(self) -> bool:
        return self.raw.startswith("./")

    @property
    def docker(self) -> bool:
        return self.raw.startswith("docker://")

    @cached_property  # asked for by most transforms, for every step (a frozen dataclass may cache it)
    def slug(self) -> str:
        """owner/repo[/path], lowercase: the knowledge-base key."""
        base = f"{self.owner}/{self.repo}".lower()
        return f"{base}/{self.subpath.lower()}" if self.subpath else base

    @staticmethod
    def parse(raw: str) -> ActionRef:
        raw = raw.strip()
        m = USES_RE.match(raw)
        if not m:
            return ActionRef(raw=raw)
        return ActionRef(raw, m["owner"], m["repo"], m["sub"] or "", m["ref"])


@dataclass
class Step:
    index: int
    path: Path
    data: Mapping[str, Any]
    line: int

    @property
    def name(self) -> str:
        """How a reader finds the step: its name, else its id, else its 1-based position."""
        label = self.data.get("name") or self.data.get("id")
        text = str(label).strip().splitlines() if label is not None else []
        return text[0][:60] if text else f"#{self.index + 1}"

    @cached_property
    def uses(self) -> ActionRef | None:
        value = self.data.get("uses")
        return ActionRef.parse(value) if isinstance(value, str) else None

    @property
    def with_(self) -> dict[str, Any]:
        value = self.data.get("with")
        return dict(value) if isinstance(value, dict) else {}

    @property
    def env(self) -> dict[str, Any]:
        value = self.data.get("env")
        return dict(value) if isinstance(value, dict) else {}

    @property
    def run(self) -> str | None:
        value = self.data.get("run")
        return value if isinstance(value, str) else None


@dataclass
class Job:
    id: str
    path: Path
    data: Mapping[str, Any]
    line: int
    steps: list[Step] = field(default_factory=list)

    @property
    def uses(self) -> ActionRef | None:
        """Reusable-workflow call (`jobs.<id>.uses`)."""
        value = self.data.get("uses")
        return ActionRef.parse(value) if isinstance(value, str) else None

    @property
    def has_permissions(self) -> bool:
        return "permissions" in self.data

    @property
    def env(self) -> dict[str, Any]:
        value = self.data.get("env")
        return dict(value) if isinstance(value, dict) else {}

    @property
    def shell(self) -> str | None:
        run = (self.data.get("defaults") or {}).get("run") if isinstance(self.data.get("defaults"), dict) else None
        return shell_name(run.get("shell")) if isinstance(run, dict) else None

    @property
    def environment(self) -> str | None:
        env = self.data.get("environment")
        if isinstance(env, dict):
            env = env.get("name")
        return env if isinstance(env, str) else None

    @property
    def runs_on(self) -> Any:
        return self.data.get("runs-on")


@dataclass
class Workflow:
    doc: Doc
    data: Mapping[str, Any]
    jobs: list[Job]
    composite: bool = False  # an action.yml with runs.using: composite

    @property
    def triggers(self) -> dict[str, Any]:
        on = self.data.get("on", self.data.get(True))  # type: ignore[call-overload]  # YAML 1.1 readers: `on` -> True
        if isinstance(on, str):
            return {on: None}
        if isinstance(on, list):
            return {str(t): None for t in on}
        return dict(on) if isinstance(on, dict) else {}

    @property
    def env(self) -> dict[str, Any]:
        value = self.data.get("env")
        return dict(value) if isinstance(value, dict) else {}

    @property
    def has_permissions(self) -> bool:
        return "permissions" in self.data

    @property
    def shell(self) -> str | None:
        defaults = self.data.get("defaults")
        run = defaults.get("run") if isinstance(defaults, dict) else None
        return shell_name(run.get("shell")) if isinstance(run, dict) else None

    def job(self, job_id: str) -> Job | None:
        return next((j for j in self.jobs if j.id == job_id), None)


def shell_name(value: Any) -> str | None:
    """A `shell:` value as text. Anything but a string (a list, a number) stays visibly not a known shell,
    so a script run by it is judged as one we cannot read rather than as bash."""
    return None if value is None else value if isinstance(value, str) else repr(value).replace(" ", "")


def _line(node: Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 1


def _steps(node: Node | None, base: Path, raw: Any) -> list[Step]:
    if not isinstance(raw, list):
        return []
    items = node.value if isinstance(node, SequenceNode) else []
    return [
        Step(i, (*base, i), s, _line(items[i] if i < len(items) else None))
        for i, s in enumerate(raw)
        if isinstance(s, dict)
    ]


def malformed_step(doc: Doc) -> tuple[str, int] | None:
    """The first step that is not a mapping (`- run` without its colon), with its line; None when all are.

    GitHub rejects such a workflow, and a step list with holes would shift every step index the
    transforms use, so the file is reported and left alone instead.
    """
    data = doc.data
    if not isinstance(data, dict):
        return None
    runs = data.get("runs")
    places: list[tuple[tuple[str, ...], dict[str, Any]]] = [(("runs",), runs)] if isinstance(runs, dict) else []
    jobs = data.get("jobs")
    places += [(("jobs", str(k)), j) for k, j in jobs.items() if isinstance(j, dict)] if isinstance(jobs, dict) else []
    for base, owner in places:
        steps = owner.get("steps")
        for i, step in enumerate(steps if isinstance(steps, list) else []):
            if not isinstance(step, dict):
                node = resolve(doc.root, (*base, "steps", i))
                return f"{'.'.join((*base, 'steps', str(i)))} is `{step}`, not a mapping", _line(node)
    return None


def load_workflow(doc: Doc) -> Workflow | None:
    """The workflow model, or None when the document is not a workflow (built once per document)."""
    return doc.derived("workflow", _load_workflow)  # type: ignore[no-any-return]


def _load_workflow(doc: Doc) -> Workflow | None:
    data = doc.data
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("runs"), dict):
        return _load_composite(doc, data)
    jobs_data = data.get("jobs")
    if not isinstance(jobs_data, dict):
        return None
    jobs_node = child(doc.root, "jobs")
    job_nodes = {str(k.value): (k, v) for k, v in pairs(jobs_node)} if jobs_node is not None else {}
    jobs = []
    for jid, j in jobs_data.items():
        if isinstance(j, dict):
            key, value = job_nodes.get(str(jid), (None, None))
            jobs.append(Job(str(jid), ("jobs", str(jid)), j, _line(key),
                            _steps(child(value, "steps"), ("jobs", str(jid), "steps"), j.get("steps"))))
    return Workflow(doc, data, jobs)


def _load_composite(doc: Doc, data: Mapping[str, Any]) -> Workflow | None:
    runs = data["runs"]
    if str(runs.get("using", "")).lower() != "composite":
        return None
    found = get_pair(doc.root, "runs")
    key, node = found if found else (None, None)
    job = Job("<composite>", ("runs",), runs, _line(key), _steps(child(node, "steps"), ("runs", "steps"),
                                                                  runs.get("steps")))
    return Workflow(doc, data, [job], composite=True)


def expressions(value: Any) -> list[str]:
    """The `${{ ... }}` expression bodies in a value, stripped."""
    if isinstance(value, str):
        return [e.strip() for e in EXPR_RE.findall(value)]
    if isinstance(value, dict):
        return [e for v in value.values() for e in expressions(v)]
    if isinstance(value, list):
        return [e for v in value for e in expressions(v)]
    return []


TOKEN_EXPR = re.compile(r"^(github\.token|secrets\.github_token)$", re.I)
_TOKEN_WORD = re.compile(r"\b(github\.token|secrets\.github_token)\b", re.I)


def is_token_value(value: Any) -> bool:
    """True when a value carries the GITHUB_TOKEN (`${{ github.token }}` / `${{ secrets.GITHUB_TOKEN }}`)."""
    return any(TOKEN_EXPR.match(e) or _TOKEN_WORD.search(e)
               for e in expressions(value))
