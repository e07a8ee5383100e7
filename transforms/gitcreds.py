"""Which steps use the git credentials `actions/checkout` persists in `.git/config`.

A later step needs them when it talks to the remote with git: `git push` (also of a tag, or after a
commit), `git fetch`/`pull`/`clone`/`submodule` in a private repository, `gh pr checkout` and the
other `gh` commands that run git, release tools that push (`semantic-release`, `mkdocs gh-deploy`...)
and actions listed in `data/git-credential-actions.yml`. A step we cannot see into may push too:
a local script that is not readable here, an action missing from both data files. Those answer
"may" and the checkout is left alone. Readable scripts (`./release.sh`, Makefiles, package.json
scripts, local actions) are scanned as text, following the scripts they name a few levels deep.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path as FsPath
from typing import Any

from transforms import kb
from transforms.base import Context
from transforms.model import Job, Step, Workflow
from transforms.publishing import commands, program
from transforms.yamldoc import load_nodes

DATA_FILE = FsPath(__file__).with_name("data") / "git-credential-actions.yml"

GIT_READS = frozenset({"fetch", "pull", "clone", "ls-remote", "submodule"})
GIT_VALUE_FLAGS = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path"})
GH_GIT = (("pr", "checkout"), ("repo", "clone"), ("repo", "sync"))
# Tools that push with git themselves; matched as programs (`npx semantic-release`) and in script text.
PUSHING_TOOLS = re.compile(r"\b(semantic-release|release-it|gh-pages|ghp-import|mkdocs\s+gh-deploy|lerna\s+(?:version|"
                           r"publish)|cargo[\s-]release|push_to_git_remote|release:prepare)\b")
PUSH_TEXT = re.compile(r"\bgit\b[^\n;|&]{0,80}?\bpush\b|" + PUSHING_TOOLS.pattern)
READ_TEXT = re.compile(r"\bgit\b[^\n;|&]{0,80}?\b(fetch|pull|clone|ls-remote|submodule)\b|\bgh\s+(?:pr\s+checkout|"
                       r"repo\s+(?:clone|sync))\b")
SCRIPT_REF = re.compile(r"(?<![\w$/.-])((?:\.{1,2}/)?(?:[\w.-]+/)*[\w-]+\.(?:sh|bash|zsh|py|js|mjs|cjs|rb|pl|ps1))\b")
WORKSPACE = re.compile(r"^(\$\{\{\s*github\.workspace\s*\}\}|\$\{?GITHUB_WORKSPACE\}?)/")
POSIX = frozenset({"bash", "sh", "zsh", "dash", "ksh", "pwsh", "powershell", "cmd"})
INTERPRETERS = frozenset({"python", "python3", "node", "ruby", "perl", "php", "deno", "tsx", "ts-node", *POSIX,
                          "source", "."})
TASK_RUNNERS = {"make": ("Makefile", "makefile", "GNUmakefile"), "gmake": ("Makefile", "makefile"),
                "just": ("justfile", "Justfile"), "task": ("Taskfile.yml", "Taskfile.yaml"), "rake": ("Rakefile",)}
PACKAGE_MANAGERS = frozenset({"npm", "pnpm", "yarn", "bun"})
# Package-manager subcommands that run no script of the project (`yarn build` runs one, `yarn add` not).
PM_BUILTINS = frozenset({"install", "i", "ci", "add", "remove", "uninstall", "update", "upgrade", "audit", "cache",
                         "config", "info", "init", "link", "list", "ls", "outdated", "pack", "publish", "view",
                         "whoami", "why", "version", "login", "logout", "set", "help", "-v", "--version", "dlx",
                         "exec", "x", "workspaces", "import", "prune", "rebuild", "dedupe", "create"})
INFO_FLAGS = frozenset({"-v", "--version", "-h", "--help", "-n", "--dry-run", "-l", "--list"})
RUNNERS = frozenset({"npx", "pnpx", "bunx"})
INLINE_FLAGS = frozenset({"-c", "-e", "--eval", "-Command", "-command", "-r"})
# Build tools run tasks from build files we do not parse: only a task named like a release may push.
BUILD_TOOLS = frozenset({"gradle", "gradlew", "mvn", "mvnw", "sbt", "ant", "lein"})
RISKY_TASK = re.compile(r"(?i)(^|[:_-])(release|push|tag|gh-?pages)($|[:_-])")
DEPTH = 3


# ---------------------------------------------------------------- data


@dataclass(frozen=True)
class GitAction:
    push: bool
    unless: Mapping[str, str]


@cache
def git_actions() -> Mapping[str, GitAction]:
    data = load_nodes(DATA_FILE.read_text(encoding="utf-8"))[1] or {}
    out = {}
    for slug, entry in data.items():
        if entry.get("git") not in ("push", "fetch") or not entry.get("source"):
            raise ValueError(f"{DATA_FILE.name}: entry {slug!r} needs git: push|fetch and a source")
        unless = {str(k).lower(): str(v).lower() for k, v in (entry.get("unless") or {}).items()}
        out[str(slug)] = GitAction(entry["git"] == "push", unless)
    return out


# ---------------------------------------------------------------- the question


@dataclass(frozen=True)
class Reader:
    """Reads repository files the scripts name; `public` = fetching needs no credentials."""

    ctx: Context
    public: bool

    def read(self, path: str) -> str | None:
        clean = posixpath.normpath(WORKSPACE.sub("", path))
        if clean.startswith(("../", "/")) or "$" in clean:
            return None
        return self.ctx.read(clean)

    def matters(self, push: bool) -> bool:
        return push or not self.public


def needs_credentials(wf: Workflow, job: Job, step: Step, reader: Reader) -> str | None:
    """Why `step` needs (or may need) the persisted credentials; None when it does not."""
    if step.uses is not None:
        return _action(step, reader)
    if step.run is None:
        return None
    shell = str(step.data.get("shell") or job.shell or wf.shell or "bash").split()[0]
    wd = _workdir(wf, job, step)
    if posixpath.basename(shell) not in POSIX:
        return _text_reason(step.run, reader, f"its {shell} script")
    split = commands(step.run)
    if split is None:
        return "its script could not be read as shell commands; it may push"
    for words in split:
        words = program(words)
        if words and words[0] == "cd" and len(words) > 1:
            wd = posixpath.join(wd, words[1])
        elif words and (why := _command(words, wd, reader)):
            return why
    return None


def _workdir(wf: Workflow, job: Job, step: Step) -> str:
    for data in (step.data, (job.data.get("defaults") or {}).get("run") or {},
                 (wf.data.get("defaults") or {}).get("run") or {}):
        if isinstance(data, dict) and isinstance(data.get("working-directory"), str):
            return str(data["working-directory"])
    return "."


# ---------------------------------------------------------------- actions


def _action(step: Step, reader: Reader) -> str | None:
    ref = step.uses
    assert ref is not None
    if ref.docker:
        return _text_reason(json.dumps(step.with_), reader, f"the container {ref.raw}")
    if ref.local:
        return _local_action(ref.raw, reader)
    if not ref.owner:
        return None
    listed = git_actions().get(ref.slug) or git_actions().get(f"{ref.owner}/{ref.repo}".lower())
    if listed is not None:
        given = {str(k).lower(): str(v).lower() for k, v in step.with_.items()}
        if any(given.get(k) == v for k, v in listed.unless.items()) or not reader.matters(listed.push):
            return None
        return f"{ref.slug} {'pushes' if listed.push else 'fetches'} with them"
    entry = kb.lookup(ref.slug)
    if entry is None:
        return f"{ref.slug} is not in the knowledge base; it may push with them"
    if entry.script:  # actions/github-script: its script may shell out to git
        return _text_reason(str(step.with_.get("script", "")), reader, "its script")
    return None


def _local_action(raw: str, reader: Reader) -> str | None:
    base = posixpath.normpath(raw.rstrip("/"))
    for name in ("action.yml", "action.yaml"):
        text = reader.read(f"{base}/{name}")
        if text is not None:
            found = _text_reason(text, reader, f"the local action {raw}", base)
            return found or _action_program(text, raw, base, reader)
    return f"the local action {raw} is not readable here; it may push"


def _action_program(text: str, raw: str, base: str, reader: Reader) -> str | None:
    """A JavaScript or Docker action runs code its action.yml does not show: read the script or give up."""
    try:
        runs = (load_nodes(text)[1] or {}).get("runs") or {}
    except Exception:  # an unparsable action.yml fails the job anyway; nothing to keep for
        return None
    using = str(runs.get("using", "")).lower() if isinstance(runs, dict) else ""
    if using == "composite" or not using:
        return None
    main = runs.get("main") if using.startswith("node") else None
    code = reader.read(posixpath.join(base, str(main))) if main else None
    if code is None:
        return f"the local action {raw} runs {using} code that is not readable here; it may push"
    return _text_reason(code, reader, f"the local action {raw}", base, 0)


# ---------------------------------------------------------------- run: commands


def _command(words: list[str], wd: str, reader: Reader) -> str | None:
    name = posixpath.basename(words[0])
    if name == "git":
        return _git(words, reader)
    if name == "gh":
        verbs = tuple(w for w in words[1:] if not w.startswith("-"))[:2]
        return f"`gh {' '.join(verbs)}` runs git" if verbs in GH_GIT and reader.matters(False) else None
    if PUSHING_TOOLS.search(" ".join(words)):
        return f"`{_shown(words)}` pushes with git"
    if name in TASK_RUNNERS:
        return _task_runner(words, wd, reader)
    if name in PACKAGE_MANAGERS:
        return _package_script(words, wd, reader)
    if name in RUNNERS:
        return None  # a package from the registry; the tools among them that push matched above
    if name in BUILD_TOOLS:
        risky = next((w for w in words[1:] if RISKY_TASK.search(w)), None)
        return f"`{_shown(words)}` runs the build task {risky}, which may push" if risky else None
    if name in INTERPRETERS:
        return _interpreter(words, wd, reader)
    if "/" in words[0] and not words[0].startswith("/"):
        return _script(posixpath.join(wd, words[0]), reader, words)
    return None


def _interpreter(words: list[str], wd: str, reader: Reader) -> str | None:
    """`bash x.sh`, `python tool.py`: read the script; `-c`/`-e` bodies are scanned as text."""
    for index, word in enumerate(words[1:], start=1):
        if word in INLINE_FLAGS:
            return _text_reason(" ".join(words[index + 1:index + 2]), reader, f"`{_shown(words)}`")
        if word == "-m":
            return None  # an installed module, not a file of the repository
        if not word.startswith("-"):
            return _script(posixpath.join(wd, word), reader, words)
    return None


def _git(words: list[str], reader: Reader) -> str | None:
    index = 1
    while index < len(words) and words[index].startswith("-"):
        index += 2 if words[index] in GIT_VALUE_FLAGS else 1
    verb = words[index] if index < len(words) else ""
    sub = words[index + 1] if index + 1 < len(words) else ""
    if verb == "push" or (verb in ("subtree", "lfs") and sub == "push"):
        return f"`{_shown(words)}` pushes with them"
    reads = verb in GIT_READS or (verb in ("subtree", "lfs") and sub in ("pull", "fetch")) or (
        verb == "remote" and sub == "update")
    if reads and reader.matters(False):
        return f"`{_shown(words)}` reads the remote with them (a private repository needs them)"
    return None


def _task_runner(words: list[str], wd: str, reader: Reader) -> str | None:
    if INFO_FLAGS & set(words[1:]):
        return None  # `make --version`: prints, runs no task
    flags = dict(pairwise(words[1:]))
    wd = posixpath.join(wd, flags.get("-C", flags.get("--directory", "")))
    names = [flags["-f"]] if "-f" in flags else list(TASK_RUNNERS[posixpath.basename(words[0])])
    for name in names:
        text = reader.read(posixpath.join(wd, name))
        if text is not None:
            return _text_reason(text, reader, f"`{_shown(words)}`", wd)
    return f"`{_shown(words)}` runs tasks that are not readable here; they may push"


def _package_script(words: list[str], wd: str, reader: Reader) -> str | None:
    args = [w for w in words[1:] if not w.startswith("-")]
    if not args or (args[0] in PM_BUILTINS and args[0] not in ("run", "run-script", "test", "start")):
        return None
    name = args[1] if args[0] in ("run", "run-script") and len(args) > 1 else args[0]
    scripts = _scripts(reader.read(posixpath.join(wd, "package.json")))
    if scripts is None:
        return f"`{_shown(words)}` runs a package script that is not readable here; it may push"
    body = " ; ".join(_script_bodies(scripts, name, DEPTH))
    return _text_reason(body, reader, f"`{_shown(words)}`", wd) if body else None


def _scripts(raw: str | None) -> Mapping[str, Any] | None:
    try:
        scripts = json.loads(raw).get("scripts", {}) if raw is not None else None
    except (ValueError, AttributeError):
        return None
    return scripts if isinstance(scripts, dict) else None


def _script_bodies(scripts: Mapping[str, Any], name: str, depth: int) -> list[str]:
    """The commands `npm run name` executes: its pre/post hooks and the scripts it runs in turn."""
    out = []
    for key in (f"pre{name}", name, f"post{name}"):
        body = scripts.get(key)
        if isinstance(body, str):
            out.append(body)
            if depth > 0:
                for inner in re.findall(r"\b(?:npm|pnpm|yarn|bun)\s+(?:run(?:-script)?\s+)?([\w:.-]+)", body):
                    if inner != name and inner not in PM_BUILTINS:
                        out += _script_bodies(scripts, inner, depth - 1)
    return out


def _script(path: str, reader: Reader, words: list[str]) -> str | None:
    text = reader.read(path)
    if text is None:
        return f"`{_shown(words)}` runs a script that is not readable here; it may push"
    return _text_reason(text, reader, f"`{_shown(words)}`", posixpath.dirname(path))


# ---------------------------------------------------------------- text scans


def _text_reason(text: str, reader: Reader, what: str, base: str = ".", depth: int = DEPTH) -> str | None:
    """Scan script text for pushes (and, for private repositories, fetches), then the scripts it names."""
    if found := PUSH_TEXT.search(text):
        return f"{what} pushes with them (`{found[0].strip()}`)"
    if reader.matters(False) and (found := READ_TEXT.search(text)):
        return f"{what} reads the remote with them (`{found[0].strip()}`; a private repository needs them)"
    slugs = [s for s in git_actions() if re.search(rf"\b{re.escape(s)}@", text, re.I)]
    if slugs and reader.matters(git_actions()[slugs[0]].push):
        return f"{what} uses {slugs[0]}, which pushes with them"
    if depth <= 0:
        return None
    for ref in dict.fromkeys(SCRIPT_REF.findall(text)):
        for path in (posixpath.join(base, ref), ref):
            inner = reader.read(path)
            if inner is not None:
                if why := _text_reason(inner, reader, f"{what} (through {ref})", posixpath.dirname(path), depth - 1):
                    return why
                break
    return None


def _shown(words: list[str]) -> str:
    text = " ".join(words)
    return text if len(text) <= 60 else text[:57] + "..."
