"""publish-pypi: upload to PyPI with trusted publishing instead of an API token.

Three forms are rewritten:
- `pypa/gh-action-pypi-publish` with `password:` → drop `password`/`user` (the action then uses
  trusted publishing), keep `repository-url` and the rest, pin the action;
- a step that only runs `twine upload DIR/*` → the pinned action (`packages-dir` when DIR is not `dist`);
- a script that also builds → keep the script and drop `TWINE_PASSWORD`/`TWINE_USERNAME`: twine ≥ 6.1
  does trusted publishing itself. We do this only when the job visibly installs such a twine; we never
  split a script (its lines share shell state, so a split is not exact).
The job gets `id-token: write`. PyPI cannot trust a reusable workflow, so those are refused.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from transforms import publishing as pub
from transforms import publishing_explain as pubx
from transforms.base import Context, Finding
from transforms.model import Job, Step, Workflow
from transforms.pins import known, pin
from transforms.yamldoc import Doc, resolve
from transforms.yamledit import DeleteKey, InsertKey, Op, ReplaceValue

ID = "publish-pypi"
ACTION = "pypa/gh-action-pypi-publish"
INDEXES = {  # trusted publishing exists only on these two
    "https://upload.pypi.org/legacy": "PyPI", "https://test.pypi.org/legacy": "TestPyPI",
    "pypi": "PyPI", "testpypi": "TestPyPI",
}
TWINE_MIN = (6, 1)  # built-in trusted publishing (twine changelog 6.1.0)
PYTHON_MIN = (3, 8)  # oldest Python twine 6.1 installs on
STEP_KEYS = {"name", "id", "if", "env", "run", "working-directory", "shell", "timeout-minutes", "continue-on-error"}
QUIET_FLAGS = {"--non-interactive", "--disable-progress-bar"}  # the action never prompts nor draws bars
BOOL_FLAGS = {"--skip-existing": "skip-existing", "--verbose": "verbose"}
CRED_FLAGS = {"-u", "-p", "--username", "--password", "--config-file", "--identity", "--sign", "-s"}
PYTHONS = re.compile(r"^(python[\d.]*|py)$")


def version(text: str) -> tuple[int, ...] | None:
    m = re.match(r"^v?(\d+(?:\.\d+)*)", str(text).strip())
    return tuple(int(p) for p in m.group(1).split(".")) if m else None


# ---------------------------------------------------------------- the action form


def _index(url: Any) -> str | None:
    return INDEXES.get(str(url).strip().rstrip("/")) if url is not None else "PyPI"


def _action_site(doc: Doc, step: Step) -> pub.Site | None:
    with_ = step.with_
    password = with_.get("password")
    if not password:
        return None  # already trusted publishing
    url = with_.get("repository-url", with_.get("repository_url"))
    index = _index(url)
    site = pub.Site(step, "", secrets=pub.secret_refs(password) | pub.secret_refs(with_.get("user")),
                    extra={"index": index or str(url)})
    if index is None:
        site.refusal = f"it uploads to `{url}`; trusted publishing exists only on PyPI and TestPyPI"
        return site
    gone = [k for k in ("password", "user") if k in with_]
    site.removed = {(*step.path, "with", k) for k in gone}
    if set(with_) - set(gone):
        site.ops = [DeleteKey((*step.path, "with"), k) for k in gone]
    else:
        site.ops = [DeleteKey(step.path, "with")]
    repin = _repin(doc, step)
    site.ops += [repin] if repin else []
    kept = ", ".join(f"`{k}`" for k in with_ if k not in gone)
    site.change = (f"drop `{'`/`'.join(gone)}` so the action uses trusted publishing to {index}"
                   + (f" (keeps {kept})" if kept else "") + ("; pin the action" if repin else ""))
    return site


def _repin(doc: Doc, step: Step) -> Op | None:
    """Pin to the verified commit unless the step already pins something as new (never downgrade)."""
    ref = step.uses
    current = pin(ACTION)
    if ref is None or ref.ref == current.sha:
        return None
    row = known(ACTION, ref.ref)
    have = version(row.tag) if row else None
    if have and have >= (version(current.tag) or ()):
        return None
    return ReplaceValue((*step.path, "uses"), current.uses, comments={(): current.tag})


# ---------------------------------------------------------------- the twine form


def twine_args(words: list[str]) -> list[str] | None:
    """Arguments after `upload` for `twine upload` / `python -m twine upload` / `pipx run twine upload`."""
    rest = None
    if words[:1] == ["twine"]:
        rest = words[1:]
    elif words[:3] == ["pipx", "run", "twine"] or (PYTHONS.match(words[0] if words else "")
                                                    and words[1:3] == ["-m", "twine"]):
        rest = words[3:]
    return rest[1:] if rest and rest[0] == "upload" else None


def _parse(args: list[str]) -> tuple[dict[str, Any], list[str], list[str]]:
    """(action inputs, dist arguments, flags the action cannot express)."""
    inputs: dict[str, Any] = {}
    dists: list[str] = []
    other: list[str] = []
    it = iter(args)
    for arg in it:
        flag, eq, val = arg.partition("=")
        if flag in ("--repository-url", "--repository", "-r"):
            inputs["repository"] = val if eq else next(it, "")
        elif arg in BOOL_FLAGS:
            inputs[BOOL_FLAGS[arg]] = True
        elif arg in QUIET_FLAGS:
            continue
        elif arg.startswith("-"):
            other.append(flag)
        else:
            dists.append(arg)
    return inputs, dists, other


def _twine_site(doc: Doc, wf: Workflow, job: Job, step: Step) -> pub.Site | None:
    var = pub.find_env(wf, job, step, "TWINE_PASSWORD")
    if var is None or not var.value:
        return None
    uploads = [a for cmd in pub.run_commands(step) if (a := twine_args(cmd)) is not None]
    if not uploads and var.level != "step":
        return None  # the job-wide variable only matters to the steps that upload
    site = pub.Site(step, "", secrets=pub.secret_refs(var.value), extra={"index": "PyPI"})
    user = pub.find_env(wf, job, step, "TWINE_USERNAME")
    site.secrets |= pub.secret_refs(user.value) if user else set()
    site.removed = {(*v.owner, "env", v.name) for v in (var, user) if v is not None}
    site.refusal = _twine_refusal(step, var, uploads)
    if site.refusal:
        return site
    inputs, dists, other = _parse(uploads[0])
    repo = inputs.pop("repository", None) or step.env.get("TWINE_REPOSITORY_URL") or step.env.get("TWINE_REPOSITORY")
    site.extra["index"] = _index(repo) or str(repo)
    if _index(repo) is None:
        site.refusal = f"it uploads to `{repo}`; trusted publishing exists only on PyPI and TestPyPI"
    elif set(other) & CRED_FLAGS:
        site.refusal = f"twine gets `{sorted(set(other) & CRED_FLAGS)[0]}` on its command line; migrate by hand"
    else:
        _twine_ops(doc, wf, job, step, site, (inputs, dists, other, repo))
    return site


def _twine_refusal(step: Step, var: pub.EnvVar, uploads: list[list[str]]) -> str | None:
    if var.level == "workflow":
        return "TWINE_PASSWORD is set in the workflow-level `env:` that every job shares; move it to the job first"
    if pub.commands(step.run or "") is None:
        return "its script does not split into shell commands (unbalanced quotes); migrate by hand"
    if not uploads:
        shown = " ".join(next(pub.run_commands(step), ["(no run)"]))
        return f"TWINE_PASSWORD goes to `{shown}`, which uploads out of sight; migrate that script by hand"
    if len(uploads) > 1:
        return "the step runs `twine upload` more than once; migrate by hand"
    return None


def _twine_ops(doc: Doc, wf: Workflow, job: Job, step: Step, site: pub.Site,
               parsed: tuple[dict[str, Any], list[str], list[str], Any]) -> None:
    inputs, dists, other, repo = parsed
    env_ops = _env_ops(doc, wf, job, step)
    if isinstance(env_ops, str):
        site.refusal = env_ops
        return
    replace = _replacement(doc, job, step, inputs, dists, other, repo)
    if not isinstance(replace, str):
        site.ops = env_ops + replace
        site.change = f"replace the `twine upload` step with the pinned `{ACTION}` (trusted publishing)"
        return
    why_not = _native(job, step)
    if why_not:
        site.refusal = f"{replace}, and {why_not}"
        return
    site.ops = env_ops
    site.change = ("drop TWINE_PASSWORD/TWINE_USERNAME: the twine ≥ 6.1 this job installs does trusted "
                   f"publishing itself (not replaced by the action: {replace})")


def _env_ops(doc: Doc, wf: Workflow, job: Job, step: Step) -> list[Op] | str:
    ops: list[Op] = []
    for name in ("TWINE_PASSWORD", "TWINE_USERNAME"):
        var = pub.find_env(wf, job, step, name)
        if var is None or any(isinstance(o, DeleteKey) and o.path[: len(var.owner)] == var.owner for o in ops):
            continue
        if var.level == "workflow":
            return f"{name} is set in the workflow-level `env:` that every job shares; move it to the job first"
        more = pub.delete_env(doc, var, also=("TWINE_PASSWORD", "TWINE_USERNAME", "TWINE_REPOSITORY_URL"))
        if isinstance(more, str):
            return more
        ops += more
    return ops


def _replacement(doc: Doc, job: Job, step: Step, inputs: dict[str, Any], dists: list[str], other: list[str],
                 repo: Any) -> list[Op] | str:
    """Ops turning the step into the action, or why that would not be exact."""
    if len(list(pub.run_commands(step))) != 1:
        return "the step does more than `twine upload`"
    if other:
        return f"the action has no input for `{other[0]}`"
    if len(dists) != 1 or not dists[0].rstrip("/").endswith("/*") or "*" in dists[0][:-1]:
        return f"it uploads `{' '.join(dists)}`, not a whole `DIR/*`"
    if not pub.linux(job):
        return "the action is a container action and this job does not run on Linux"
    extra = set(step.data) - STEP_KEYS
    if extra:
        return f"the step also sets `{sorted(extra)[0]}`"
    node = resolve(doc.root, step.path)
    keys = [str(k.value) for k, _ in node.value] if node is not None else []
    kept = [k for k in keys[: keys.index("run")] if k not in ("env", "shell", "working-directory")]
    if not kept:
        return "`run:` opens the step, so the step cannot be rewritten in place"
    return _action_ops(doc, job, step, inputs, dists[0], repo, kept[-1])


def _action_ops(doc: Doc, job: Job, step: Step, inputs: dict[str, Any], dist: str, repo: Any,
                after: str) -> list[Op]:
    p = pin(ACTION)
    with_: dict[str, Any] = {}
    folder = posixpath.normpath(posixpath.join(_workdir(job, step), dist.rstrip("/")[:-2] or "."))
    if folder != "dist":
        with_["packages-dir"] = folder + "/"
    if repo and _index(repo) == "TestPyPI":
        with_["repository-url"] = "https://test.pypi.org/legacy/"
    with_.update(inputs)
    ops: list[Op] = [InsertKey(step.path, "uses", p.uses, after=after, comments={(): p.tag})]
    if with_:
        ops.append(InsertKey(step.path, "with", with_, after=after))
    ops += [DeleteKey(step.path, k) for k in ("run", "shell", "working-directory") if k in step.data]
    return ops


def _workdir(job: Job, step: Step) -> str:
    wd = step.data.get("working-directory")
    if wd is None:
        defaults = job.data.get("defaults")
        run = defaults.get("run") if isinstance(defaults, dict) else None
        wd = run.get("working-directory") if isinstance(run, dict) else None
    return str(wd) if wd else "."


def _native(job: Job, step: Step) -> str | None:
    """Why twine's own trusted publishing cannot be relied on in this job (None: it can)."""
    spec = _installed_twine(job, step)
    if spec is None:
        return "the job does not visibly install twine ≥ 6.1 (which does trusted publishing itself)"
    have = version(spec) if spec else None
    if have is not None and have < TWINE_MIN:
        return f"the job installs twine {spec}, older than 6.1 (the first with trusted publishing)"
    setup = pub.setup_step(job, step, "actions/setup-python")
    py = setup.with_.get("python-version") if setup else None
    pyv = version(str(py)) if py is not None and "x" not in str(py) else None
    if pyv is not None and len(pyv) >= 2 and pyv[:2] < PYTHON_MIN:
        return f"Python {py} cannot install twine ≥ 6.1"
    return None


def _installed_twine(job: Job, before: Step) -> str | None:
    """'' for an unpinned or lower-bounded-enough install, the pinned version when pinned, None when unseen."""
    found = None
    for step in job.steps:
        if step.index > before.index:
            break
        for cmd in pub.run_commands(step):
            for req in _pip_requirements(cmd):
                m = re.match(r"^twine(?:\[[^\]]*\])?\s*(?:(==|>=|~=|<=|<|>)\s*([\w.]+))?", req, re.I)
                if m and m.group(0):
                    op, ver = m.group(1), m.group(2)
                    found = "" if op in (None, ">", ">=") and (not ver or (version(ver) or ()) >= TWINE_MIN) else ver
    return found


def _pip_requirements(cmd: list[str]) -> list[str]:
    words = cmd
    if len(words) > 2 and PYTHONS.match(words[0]) and words[1:3] == ["-m", "pip"]:
        words = ["pip", *words[3:]]
    if words[:2] == ["uv", "pip"]:
        words = ["pip", *words[2:]]
    if words[:1] not in (["pip"], ["pip3"], ["pipx"]) or "install" not in words:
        return []
    return [w for w in words[words.index("install") + 1:] if not w.startswith("-")]


# ---------------------------------------------------------------- the transform


def _match(doc: Doc, wf: Workflow, job: Job, step: Step, ctx: Context) -> pub.Site | None:
    ref = step.uses
    if ref is not None and ref.slug == ACTION:
        return _action_site(doc, step)
    if step.run is not None:
        return _twine_site(doc, wf, job, step)
    return None


class PublishPypi:
    id = ID
    summary = "Publish to PyPI with trusted publishing (OIDC) instead of an API token."
    # Only files mentioning one of these can match: gh-action-pypi-publish or twine.
    requires_text = ("pypi", "twine")
    safe = False  # the PyPI project must list this workflow as a trusted publisher first
    intended = ("jobs.*.steps", "jobs.*.env", "jobs.*.permissions")

    def detect(self, doc: Doc, ctx: Context) -> list[Finding]:
        return [f for f, _ in pub.plan(doc, ctx, ID, "PyPI", _match)]

    def apply(self, doc: Doc, ctx: Context, findings: list[Finding]) -> list[Op]:
        return pub.chosen_ops(pub.plan(doc, ctx, ID, "PyPI", _match), findings)

    def explain(self, findings: list[Finding]) -> str:
        fields = [
            ("index", lambda f: str(f.data.get("index", "PyPI"))),
            *pubx.publisher_fields("Owner", "Repository name", "Workflow name", "Environment name"),
        ]
        after = ["A brand-new project can use a *pending* publisher (PyPI → Your projects → Publishing).",
                 "PyPI cannot trust a reusable workflow: the job must stay in this file."]
        return pubx.registration(findings, "PyPI trusted publishing",
                                "pypi.org → your project → Manage → Publishing (test.pypi.org for TestPyPI)",
                                fields, after)
