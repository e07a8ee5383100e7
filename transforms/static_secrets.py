"""static-secrets: report every long-lived credential fed from `secrets.*` that no other transform reports.

Report only: nothing is edited. A `secrets.X` counts when it reaches a step through a `with:` input,
a step/job/workflow `env:` entry or a `run:` line, and the key it lands in (else the secret's own
name) looks like a credential. Keys that another transform reports itself (AWS keys, `creds`,
registry logins, publish tokens, ...) are listed in `data/static-credentials.yml` under `owned`, so
one secret never gets two findings. The same file names the service behind a key and says whether
it accepts GitHub OIDC tokens, with the source of that claim.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path as FsPath
from typing import Any

from transforms import registry_script
from transforms.base import Context, Finding, Path, Severity
from transforms.model import EXPR_RE, Job, Step, Workflow, load_workflow
from transforms.oidc import secret_names
from transforms.oidc_plan import label, slug
from transforms.yamldoc import Doc, load_nodes, node_line

ID = "static-secrets"
RULE = "static-secret"
DATA_FILE = FsPath(__file__).with_name("data") / "static-credentials.yml"

# A key or secret name that holds a credential ...
CREDENTIAL = re.compile(r"token|passw|pwd|secret|key|credential|creds|auth|service.?account|publish.?profile|"
                        r"webhook|cert|passphrase|private|(^|_)pat($|_)|p12|keychain", re.I)
# ... unless it names an identifier: ids, user names, addresses, public halves of key pairs.
IDENTIFIER = re.compile(r"([_-]|^)(id|ids|email|user|username|login_name|url|uri|name|region|host|endpoint|dsn|"
                        r"domain|zone|project|bucket|location|org|owner|channel)$|public|pubkey|keygrip|key_?id$|"
                        r"^service_account(_email)?$", re.I)
CAMEL_ID = re.compile(r"[a-z](Id|Ids|Url|Name|Email)$")  # subscriptionId, clientId: identifiers too
# `${{ !!secrets.X }}` or `secrets.X != ''` only tests whether the secret is set; the value goes nowhere.
TESTED = re.compile(r"!+\s*secrets\.\w+|secrets\.\w+\s*[!=]=\s*(''|\"\"|null)|(''|\"\"|null)\s*[!=]=\s*secrets\.\w+")


@dataclass(frozen=True)
class Owner:
    """Keys that another transform reports itself."""

    by: str
    env: frozenset[str]
    inputs: Mapping[str, frozenset[str]]
    run: re.Pattern[str] | None
    when: re.Pattern[str] | None
    always_at_step: bool


@dataclass(frozen=True)
class Service:
    key: str
    name: str
    actions: frozenset[str]
    match: re.Pattern[str] | None
    oidc: bool
    hint: str
    source: str


@dataclass(frozen=True)
class Use:
    """One `secrets.X` reaching a step: where, through which key, and the step's action."""

    secret: str
    path: Path
    key: str  # input or env name; "" for a `run:` line
    where: str
    job: str
    action: str = ""
    line: str = ""  # the `run:` line, for owners matched by command
    step_run: str = ""  # the whole `run:` of the step whose `env:` holds it


def _regex(text: Any) -> re.Pattern[str] | None:
    return re.compile(str(text), re.I) if text else None


@cache
def table() -> tuple[tuple[Owner, ...], tuple[Service, ...]]:
    data = load_nodes(DATA_FILE.read_text(encoding="utf-8"))[1] or {}
    owners = tuple(Owner(o["by"], frozenset(e.upper() for e in o.get("env", [])),
                         {a.lower(): frozenset(i.lower() for i in ins) for a, ins in (o.get("inputs") or {}).items()},
                         _regex(o.get("run")), _regex(o.get("when")), o.get("always_at_step") is True)
                   for o in data.get("owned", []))
    services = tuple(Service(k, s["name"], frozenset(a.lower() for a in s.get("actions", [])), _regex(s.get("match")),
                             s.get("oidc") is True or str(s.get("oidc")).lower() == "yes", " ".join(s["hint"].split()),
                             " ".join(s["source"].split()))
                     for k, s in (data.get("services") or {}).items())
    return owners, services


# ---------------------------------------------------------------- where secrets reach steps


def passed(value: Any) -> set[str]:
    """Secrets whose value a string hands on (tests of whether one is set do not count)."""
    if not isinstance(value, str):
        return secret_names(value)
    if "secrets." not in value:  # then neither the tests nor any name can be there
        return set()
    return secret_names(EXPR_RE.sub(lambda m: "${{" + TESTED.sub("", m[1]) + "}}", value))


def _env_uses(env: dict[str, Any], base: Path, where: str, job: str, step: Step | None = None) -> Iterator[Use]:
    action, run = (slug(step), step.run or "") if step is not None else ("", "")
    for key, value in env.items():
        for name in sorted(passed(value)):
            yield Use(name, (*base, str(key)), str(key), f"{where} env `{key}`", job, action, step_run=run)


def _step_uses(job: Job, step: Step) -> Iterator[Use]:
    where = f'job `{job.id}` step "{label(step)}"'
    action = slug(step)
    yield from _env_uses(step.env, (*step.path, "env"), where, job.id, step)
    for key, value in step.with_.items():
        for name in sorted(passed(value)):
            yield Use(name, (*step.path, "with", str(key)), str(key), f"{where} input `{key}`", job.id, action)
    for line in (step.run or "").splitlines():
        for name in sorted(passed(line)):
            yield Use(name, (*step.path, "run"), "", f"{where} `run:` ({line.strip()[:60]})", job.id, line=line)


def uses(wf: Workflow) -> Iterator[Use]:
    yield from _env_uses(wf.env, ("env",), "workflow", "")
    for job in wf.jobs:
        yield from _env_uses(job.env, (*job.path, "env"), f"job `{job.id}`", job.id)
        for step in job.steps:
            yield from _step_uses(job, step)


# ---------------------------------------------------------------- judging one use


def _credential(name: str) -> bool | None:
    """True / False when the name decides; None when it says nothing either way."""
    if "webhook" in name.lower():
        return True  # a webhook URL is itself the bearer secret
    if IDENTIFIER.search(name) or CAMEL_ID.search(name):
        return False
    return True if CREDENTIAL.search(name) else None


def looks_secret(use: Use) -> bool:
    """A secret named like an identifier never counts; else the key decides when it can (`password:` yes,
    `username:` no), else the secret's own name."""
    if _credential(use.secret) is False:
        return False
    verdict = _credential(use.key) if use.key else None
    return verdict if verdict is not None else bool(_credential(use.secret))


def _run_text(wf: Workflow, job_id: str) -> str:
    jobs = [j for j in wf.jobs if j.id == job_id] if job_id else wf.jobs
    return "\n".join(s.run or "" for j in jobs for s in j.steps)


def _owns_env(o: Owner, use: Use, wf: Workflow) -> bool:
    if use.key.upper() not in o.env:
        return False
    at_step = "steps" in use.path
    if o.when is None or (at_step and o.always_at_step):
        return True
    return bool(o.when.search(use.step_run if at_step else _run_text(wf, use.job)))


def owner(use: Use, wf: Workflow) -> str | None:
    """The transform that reports this use itself (by the key it lands in), if any."""
    owners, _ = table()
    for o in owners:
        if use.path[-2] == "with" and use.key.lower() in o.inputs.get(use.action, frozenset()):
            return o.by
        if use.path[-2] == "env" and _owns_env(o, use, wf):
            return o.by
        if not use.key and o.run is not None and o.run.search(use.line):
            return o.by
    return None


def unowned(wf: Workflow) -> list[Use]:
    """Uses no other transform reports: neither through their key nor through a secret that an owned key
    of the same job (or the workflow `env:`) also receives, since the owner names those uses itself."""
    all_uses = list(uses(wf))
    owned = [u for u in all_uses if owner(u, wf)]
    taken = {(u.job, u.secret) for u in owned} | {(j.id, u.secret) for u in owned if not u.job for j in wf.jobs}
    # Script logins are recognized by their command line, not by a key name: registry-login says which.
    taken |= {(j.id, login.secret) for j in wf.jobs for login in registry_script.find(wf, j)}
    return [u for u in all_uses if u not in owned and (u.job, u.secret) not in taken]


def service(use: Use) -> Service:
    _, services = table()
    for s in services:
        if use.action and use.action in s.actions:
            return s
    for s in services:
        if s.match is not None and any(s.match.search(n) for n in (use.key, use.secret) if n):
            return s
    return services[-1]


def _finding(doc: Doc, use: Use) -> Finding:
    s = service(use)
    federation = "accepts GitHub OIDC" if s.oidc else "no GitHub OIDC federation known"
    message = f"`secrets.{use.secret}` reaches {use.where}: {s.name} ({federation}); {s.hint}"
    data = {"secret": use.secret, "where": use.where, "job": use.job, "service": s.name, "oidc": s.oidc,
            "hint": s.hint, "source": s.source}
    return Finding(RULE, message, node_line(doc.root, use.path), yaml_path=".".join(map(str, use.path)),
                   severity=Severity.WARNING if s.oidc else Severity.NOTE, data=data)


def findings(doc: Doc) -> list[Finding]:
    wf = load_workflow(doc)
    if wf is None:
        return []
    seen: set[tuple[Path, str]] = set()
    out = []
    for use in unowned(wf):
        if (use.path, use.secret) in seen or not looks_secret(use):
            continue
        seen.add((use.path, use.secret))
        out.append(_finding(doc, use))
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


class StaticSecrets:
    id = ID
    summary = "Report long-lived credentials from `secrets.*` that no OIDC transform can replace (report only)."
    # Every finding is a `secrets.X` expression.
    requires_text = ("secrets.",)
    safe = True
    intended: tuple[str, ...] = ()

    def detect(self, doc: Doc, ctx: Context) -> list[Finding]:
        return findings(doc)

    def apply(self, doc: Doc, ctx: Context, findings: list[Finding]) -> list[Any]:
        return []  # report only: these credentials need a decision at the provider, not an edit

    def explain(self, findings: list[Finding]) -> str:
        rows = [f for f in findings if f.rule == RULE]
        if not rows:
            return ""
        lines = ["### Long-lived credentials still stored as secrets", "",
                 "Not changed by this pull request: these services need a decision at the provider first.", "",
                 "| Secret | Where | Service | GitHub OIDC | What to do | Source |", "|---|---|---|---|---|---|"]
        for f in rows:
            d = f.data
            lines.append(f"| `{d['secret']}` | {_cell(d['where'])} | {d['service']} | "
                         f"{'yes' if d['oidc'] else 'no'} | {_cell(d['hint'])} | {_cell(d['source'])} |")
        return "\n".join(lines) + "\n"
