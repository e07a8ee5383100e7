"""registry-login, script form: a Docker Hub `docker login` line in a `run:` script.

    echo "$DOCKER_PASSWORD" | docker login -u "$DOCKER_USERNAME" --password-stdin

with the password from `${{ secrets.X }}` (directly or through the step's `env:`) logs in with a
stored token. The line becomes bash's no-op `:` with a comment, and a docker/login-action step
inserted just before the script logs in through the organization's OIDC connection, as the action
form does. Only a line that is a whole command by itself qualifies: a literal (`|`) script in bash or
sh, no heredoc in it, not continued from the line before or onto the next, `echo`/`printf '%s'` piped into
`docker login` with only `-u`/`--username`, `--password-stdin` and a Docker Hub host as arguments.
Anything else stays a static-secrets note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.nodes import ScalarNode

from transforms import oidc
from transforms.model import Job, Step, Workflow, shell_name
from transforms.oidc_plan import label, one_secret
from transforms.shellwords import mask, split, words
from transforms.yamldoc import resolve
from transforms.yamledit import DeleteKey, EditText, Op

DOCKER_HUB = {"docker.io", "index.docker.io", "registry-1.docker.io"}
STEP_KEYS = {"name", "id", "if", "env", "run", "shell", "working-directory", "timeout-minutes", "continue-on-error"}
COPIED_KEYS = ("if", "continue-on-error", "timeout-minutes")  # the new login runs exactly when the old one did
SHELLS = {None, "bash", "sh"}
VAR = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
CONTINUED = ("\\", "|", "&&", "||")


@dataclass(frozen=True)
class ScriptLogin:
    step: Step
    line: str  # the script line, without its indentation
    secret: str
    env_keys: tuple[str, ...]  # step env entries only this line read: they go with it


def find(wf: Workflow, job: Job) -> list[ScriptLogin]:
    """Every Docker Hub login line this module can move out of a script."""
    found = []
    for step in job.steps:
        if not isinstance(step.run, str) or "docker" not in step.run:
            continue
        if shell_name(step.data.get("shell")) not in SHELLS:
            continue
        node = resolve(wf.doc.root, (*step.path, "run"))
        if not isinstance(node, ScalarNode) or node.style != "|":  # value lines = source lines only here
            continue
        if set(step.data) - STEP_KEYS or "<<" in step.run:
            continue
        lines = step.run.split("\n")
        hits = [h for h in (_login(step, lines, i) for i in range(len(lines))) if h is not None]
        # The edit finds the line by its text: it must occur once (not also in a comment or an echo).
        found += hits if len(hits) == 1 and step.run.count(hits[0].line) == 1 else []
    return found


def _login(step: Step, lines: list[str], index: int) -> ScriptLogin | None:
    line = lines[index].strip()
    if "docker" not in line or line.endswith(CONTINUED):
        return None
    if index and lines[index - 1].rstrip().endswith(CONTINUED):
        return None
    originals: dict[str, str] = {}
    commands = split(words(mask(line, originals), originals))
    parsed = _login_args(commands[1]) if len(commands) == 2 and _echo(commands[0]) else None
    if parsed is None or len(parsed[1]) > 1 or (parsed[1] and parsed[1][0].lower() not in DOCKER_HUB):
        return None
    env = step.env
    password = commands[0][-1]
    secret = one_secret(password) or one_secret(env.get(_var(password) or "", ""))
    if secret is None:
        return None
    rest = "\n".join(lines[:index] + lines[index + 1:])
    keys = tuple(k for k in (_var(password), _var(parsed[0])) if k and k in env and not _reads(rest, k))
    return ScriptLogin(step, line, secret, keys)


def _echo(words: list[str]) -> bool:
    return (words[0] == "echo" and len(words) == 2) or (words[:2] == ["printf", "%s"] and len(words) == 3)


def _login_args(words: list[str]) -> tuple[str, list[str]] | None:
    """(the `-u` word, the other positionals) of `docker login ... --password-stdin`; None for anything else."""
    if words[:2] != ["docker", "login"] or "--password-stdin" not in words:
        return None
    user, hosts, args = "", [], words[2:]
    while args:
        arg = args.pop(0)
        if arg in ("-u", "--username") and args:
            value = args.pop(0)
            user = user or value
        elif arg.startswith("--username="):
            user = user or arg.split("=", 1)[1]
        elif arg != "--password-stdin":
            hosts.append(arg)
    return user, hosts


def _var(word: str) -> str | None:
    m = VAR.match(word)
    return m[1] if m else None


def _reads(script: str, name: str) -> bool:
    return re.search(r"\$\{?" + re.escape(name) + r"\b", script) is not None


def note_line(login_step_name: str) -> str:
    return f': # Docker Hub login moved to the "{login_step_name}" step (OIDC, no stored password)'


def script_ops(login: ScriptLogin, login_step_name: str) -> list[Op]:
    """The line becomes a no-op; env entries only it read go, the whole `env:` when nothing else is left."""
    step = login.step
    ops: list[Op] = [EditText((*step.path, "run"), login.line, note_line(login_step_name))]
    if login.env_keys and set(step.env) <= set(login.env_keys):
        return [*ops, DeleteKey(step.path, "env")]
    return ops + [DeleteKey((*step.path, "env"), k) for k in login.env_keys]


def login_step(login: ScriptLogin, name: str, uses: str, org: str, connection: str, env_var: str) -> dict[str, Any]:
    copied = {k: login.step.data[k] for k in COPIED_KEYS if k in login.step.data}
    return {"name": name, **copied, "uses": uses, "env": {env_var: connection}, "with": {"username": org}}


def removed_paths(login: ScriptLogin) -> set[Any]:
    """Paths whose secret references this rewrite takes away (for the remaining-use check)."""
    return {(*login.step.path, "env", k) for k in login.env_keys} | (
        {(*login.step.path, "run")} if login.secret not in oidc.secret_names(
            str(login.step.run).replace(login.line, "", 1)) else set())


def describe(login: ScriptLogin) -> str:
    return f'step "{label(login.step)}" (`{login.line}`)'
