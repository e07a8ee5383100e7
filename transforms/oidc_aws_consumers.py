"""Who reads the AWS keys in a job, and whether they keep working with temporary credentials.

OIDC gives the job temporary credentials: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` are only
valid together with `AWS_SESSION_TOKEN`. Consumers that read the environment through an AWS SDK or
the CLI pick all three up. Consumers that forward or copy the key pair by name do not; for each of
those we either know the minimal fix (a `docker run -e` list gains `-e AWS_SESSION_TOKEN`) or we
return the exact reason the job must be migrated by hand.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from transforms import kb
from transforms.model import Job, Step, Workflow

KEY_ID, SECRET, SESSION = "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"
KEY_REF = re.compile(r"\bAWS_(?:ACCESS_KEY_ID|SECRET_ACCESS_KEY)\b")
ENV_CONTEXT_REF = re.compile(r"\benv\.AWS_(?:ACCESS_KEY_ID|SECRET_ACCESS_KEY)\b")
DOCKER_RUN = re.compile(r"\bdocker\s+(?:container\s+)?run\b")
# `-e NAME`, `--env NAME`, `-e NAME=$NAME`, `--env="NAME=${NAME}"`: forwarding one variable by name.
ENV_FLAG = re.compile(
    r"(?:-e|--env)(?:\s+|=)(?P<q>['\"]?)(?P<name>AWS_(?:ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN))"
    r"(?:=\$\{?(?P=name)\}?)?(?P=q)(?=\s|$)"
)
PYTHON = re.compile(
    r"(?:^|[\s;&|(])(?:python(?:3(?:\.\d+)?)?|py)\s+(?:-[uBOq]+\s+)*"
    r"(?:-m\s+(?P<module>[A-Za-z_][\w.]*)|(?P<script>[\w./-]+\.py))(?=\s|$|[;&|)])"
)
EXPR = re.compile(r"\$\{\{.*?\}\}", re.S)

# AWS's own actions all build their client from the JavaScript SDK's default credential chain, so an
# owner-wide rule; every other action's verdict is its knowledge-base entry (`aws_credentials`).
CHAIN_SAFE_OWNERS = ("aws-actions/",)
AWS_LIKE = re.compile(r"aws|s3|serverless|ecr|lambda|cloudfront|beanstalk|ecs|cdk|dynamo|sqs|sns", re.I)
# Steps that cannot read AWS credentials: placing the login after them keeps the keys away from them.
INERT = re.compile(r"^(actions/(checkout|cache|download-artifact)|[^/]+/(setup|install)-[\w-]+)$", re.I)


@dataclass
class Consumers:
    """The verdict for the steps that will see the temporary credentials."""

    problems: list[str] = field(default_factory=list)
    run_fixes: dict[int, str] = field(default_factory=dict)  # step index -> new `run:` text
    notes: list[str] = field(default_factory=list)


def is_inert(step: Step) -> bool:
    ref = step.uses
    return ref is not None and bool(INERT.match(ref.slug)) and "run" not in step.data


def _logical_lines(script: str) -> list[tuple[int, int, str]]:
    """(first line number, start offset, text) per command line, joining `\\` continuations."""
    out: list[tuple[int, int, str]] = []
    offset, start, number, buf = 0, 0, 1, ""
    for i, line in enumerate(script.split("\n"), 1):
        if not buf:
            start, number = offset, i
        buf += line + "\n"
        offset += len(line) + 1
        if not line.rstrip().endswith("\\"):
            out.append((number, start, buf))
            buf = ""
    if buf:
        out.append((number, start, buf))
    return out


def docker_session_fix(script: str, label: str) -> tuple[str | None, list[str]]:
    """Add `-e AWS_SESSION_TOKEN` where `docker run` forwards the key pair; problems for other reads."""
    problems: list[str] = []
    inserts: list[int] = []
    for number, start, text in _logical_lines(script):
        masked = EXPR.sub(lambda mt: "_" * len(mt.group()), text)
        refs = [mt.start() for mt in KEY_REF.finditer(masked)]
        if not refs:
            continue
        flags = list(ENV_FLAG.finditer(masked))
        inside = [range(mt.start(), mt.end()) for mt in flags]
        if not DOCKER_RUN.search(masked) or any(not any(r in span for span in inside) for r in refs):
            problems.append(f"{label} reads the AWS key pair explicitly at script line {number}; with temporary "
                            "credentials it also needs AWS_SESSION_TOKEN there: update it by hand")
            continue
        names = {mt["name"] for mt in flags}
        secret = next((mt for mt in flags if mt["name"] == SECRET), None)
        if SESSION not in names and secret is not None:
            inserts.append(start + secret.end())
    if not inserts or problems:
        return None, problems
    for at in sorted(inserts, reverse=True):
        script = script[:at] + " -e " + SESSION + script[at:]
    return script, problems


def _workdir(wf: Workflow, job: Job, step: Step) -> str:
    for defaults in (job.data.get("defaults"), wf.data.get("defaults")):
        run = defaults.get("run") if isinstance(defaults, dict) else None
        if isinstance(run, dict) and isinstance(run.get("working-directory"), str):
            base = run["working-directory"]
            break
    else:
        base = ""
    own = step.data.get("working-directory")
    return posixpath.join(base, own) if isinstance(own, str) else base


def _candidates(workdir: str, match: re.Match[str]) -> list[str]:
    if match["script"]:
        return [posixpath.normpath(posixpath.join(workdir, match["script"]))]
    rel = match["module"].replace(".", "/")
    return [posixpath.normpath(posixpath.join(workdir, p)) for p in (f"{rel}.py", f"{rel}/__main__.py")]


def python_problems(wf: Workflow, job: Job, step: Step,
                    read: Callable[[str], str | None]) -> tuple[list[str], dict[str, tuple[str, str]]]:
    """Scripts run by the step that hand explicit keys to boto3 (they drop the session token): the ones we
    can rewrite to the default credential chain (path -> (old, new)), and problems for the rest."""
    problems: list[str] = []
    rewrites: dict[str, tuple[str, str]] = {}
    script = EXPR.sub("_", step.run or "")
    for match in PYTHON.finditer(script):
        for path in _candidates(_workdir(wf, job, step), match):
            source = read(path)
            if source is None or "boto3" not in source:
                continue
            from transforms.pyscripts import rewrite_boto3  # libcst costs ~0.3 s to import: only when needed

            try:
                new, changes = rewrite_boto3(source)
            except Exception:  # a script we cannot parse is not ours to judge
                continue
            refused = [c for c in changes if not c.applied]
            problems += [f"script `{path}` line {c.line} passes the AWS keys to `{c.call}` explicitly, which drops "
                         f"AWS_SESSION_TOKEN; {c.detail}" for c in refused]
            if changes and not refused:
                rewrites[path] = (source, new)
            break
    return problems, rewrites


def action_problem(step: Step, keys_in_step_env: bool) -> str | None:
    """Why an action step may break with temporary credentials; None when it is known to be fine."""
    ref = step.uses
    if ref is None or is_inert(step):
        return None
    slug = ref.slug if not ref.docker else ref.raw
    label = f"step `{step.name}` (`{slug}`)"
    if any(slug.startswith(s) for s in CHAIN_SAFE_OWNERS):
        return None
    entry = None if ref.docker else kb.lookup(slug)
    verdict = entry.aws_credentials if entry else None
    if verdict == "chain":
        return None
    if verdict is not None:
        return f"{label} {verdict.removeprefix('key-pair: ')}"
    if keys_in_step_env or AWS_LIKE.search(slug):
        return (f"{label} receives the AWS keys; whether it also reads AWS_SESSION_TOKEN (temporary "
                "credentials) is unknown, so it may break")
    return None


def value_problems(step: Step) -> list[str]:
    """`${{ env.AWS_ACCESS_KEY_ID }}` in `with:`/`env:` copies the key without its session token."""
    found = []
    for section in ("with", "env"):
        values = step.data.get(section)
        if isinstance(values, dict):
            for name, value in values.items():
                if isinstance(value, str) and ENV_CONTEXT_REF.search(value):
                    found.append(f"step `{step.name}` passes `{value.strip()}` as `{section}.{name}`; "
                                 "temporary credentials also need AWS_SESSION_TOKEN there")
    return found
