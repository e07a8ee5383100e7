"""What the `attest` transform attests: image names behind a `docker/build-push-action` step and the
files a release upload or a package publish sends out. Derived exactly from the workflow, or refused.

Values may keep `${{ ... }}` expressions: the attestation step runs in the same job right next to
the step it covers, so an expression evaluates to the same value there, except one that reads an
`env:` set on that very step (refused).
"""

from __future__ import annotations

import re
from typing import Any

from transforms.model import EXPR_RE, Job, Step, Workflow, expressions
from transforms.publishing import run_commands

META = "docker/metadata-action"
ENV_REF = re.compile(r"^env\.([A-Za-z_][A-Za-z0-9_]*)$")
MASK = re.compile(r"__ZT(\d+)__")
# What `docker` treats as a registry host in the first path component.
HOST = re.compile(r"^(localhost|[^/]*[.:][^/]*)$")
DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")
MAX_IMAGES = 4


class Refusal(Exception):
    """The subject cannot be derived exactly; the message says why."""


def items(value: Any) -> list[str]:
    """A list input as the docker actions read it: a YAML list, or newline / comma separated text."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value or "")
    masked, masks = _mask(text)
    parts = re.split(r"[\n,]", masked)
    return [_unmask(p, masks).strip() for p in parts if p.strip()]


def _mask(text: str) -> tuple[str, list[str]]:
    masks: list[str] = []

    def keep(m: re.Match[str]) -> str:
        masks.append(m.group(0))
        return f"__ZT{len(masks) - 1}__"

    return EXPR_RE.sub(keep, text), masks


def _unmask(text: str, masks: list[str]) -> str:
    return MASK.sub(lambda m: masks[int(m.group(1))], text)


def stable(value: str, step: Step) -> None:
    """Refuse a value whose expressions read the step's own `env:` (it is not visible next door)."""
    own = set(step.env)
    for expr in expressions(value):
        for name in re.findall(r"\benv\.([A-Za-z_][A-Za-z0-9_]*)", expr):
            if name in own:
                raise Refusal(f'`{value}` reads env.{name}, which only step "{step.name}" sets')


def image_names(wf: Workflow, job: Job, step: Step) -> list[str]:
    """Fully qualified image names (no tag) a build-push step pushes; Refusal when not exact."""
    tags = step.with_.get("tags")
    if tags is None:
        raise Refusal("the step has no `tags:`, so the pushed image name is unknown")
    found = items(tags)
    if len(found) == 1 and (meta := _meta_step(job, step, found[0])) is not None:
        return _unique([qualified(wf, job, meta, name) for name in _meta_images(meta)])
    return _unique([qualified(wf, job, step, _strip_tag(tag)) for tag in found])


def _unique(names: list[str]) -> list[str]:
    out = list(dict.fromkeys(names))
    if not out:
        raise Refusal("no image name found")
    if len(out) > MAX_IMAGES:
        raise Refusal(f"{len(out)} image names; attest them by hand")
    return out


def _meta_step(job: Job, step: Step, tags: str) -> Step | None:
    m = re.fullmatch(r"\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.tags\s*\}\}", tags)
    if not m:
        return None
    meta = next((s for s in job.steps if s.index < step.index and str(s.data.get("id")) == m[1]), None)
    slug = meta.uses.slug if meta is not None and meta.uses is not None else ""
    if meta is None or slug != META:
        raise Refusal(f"tags come from step `{m[1]}`, which is not an earlier docker/metadata-action step")
    return meta


def _meta_images(meta: Step) -> list[str]:
    names = []
    for entry in items(meta.with_.get("images")):
        masked, masks = _mask(entry)
        if "=" not in masked:
            names.append(entry)
            continue
        fields = dict(f.split("=", 1) for f in masked.split(",") if "=" in f)
        if set(fields) != {"name"}:
            raise Refusal(f"metadata-action image `{entry}` has attributes ({', '.join(sorted(fields))}); "
                          "which images are pushed depends on them")
        names.append(_unmask(fields["name"], masks).strip())
    if not names:
        raise Refusal("docker/metadata-action has no `images:`")
    return names


def _strip_tag(tag: str) -> str:
    """`host:5000/a/b:tag` -> `host:5000/a/b`: the tag is after the last `:` of the last path part."""
    masked, masks = _mask(tag)
    if "@" in masked:
        masked = masked.split("@", 1)[0]
    head, sep, last = masked.rpartition("/")
    last = last.split(":", 1)[0]
    return _unmask(head + sep + last, masks)


def qualified(wf: Workflow, job: Job, step: Step, name: str) -> str:
    """Prefix Docker Hub names with `index.docker.io` (what push-to-registry needs); Refusal if unclear."""
    stable(name, step)
    resolved = resolve_env(wf, job, name)
    first, _, rest = _mask(resolved)[0].partition("/")
    if "__ZT" in first:
        raise Refusal(f"cannot tell whether the start of `{name}` is a registry host or a Docker Hub namespace")
    if rest and HOST.match(first) and first not in DOCKER_HUB:
        return name
    if rest and first in DOCKER_HUB:
        if not name.startswith(first + "/"):
            raise Refusal(f"the Docker Hub host of `{name}` comes from an expression; attest it by hand")
        return "index.docker.io/" + name[len(first) + 1 :]
    return f"index.docker.io/{name}" if rest else f"index.docker.io/library/{name}"


def resolve_env(wf: Workflow, job: Job, text: str) -> str:
    """`${{ env.X }}` replaced by a literal workflow or job env value (for judging a host only)."""
    env = {**wf.env, **job.env}

    def swap(m: re.Match[str]) -> str:
        ref = ENV_REF.match(m.group(1).strip())
        value = env.get(ref[1]) if ref else None
        return str(value) if isinstance(value, (str, int)) and not EXPR_RE.search(str(value)) else m.group(0)

    return EXPR_RE.sub(swap, text)


def host_of(wf: Workflow, job: Job, name: str) -> str:
    return resolve_env(wf, job, name).split("/", 1)[0].lower()


# ---------------------------------------------------------------- files


def release_files(step: Step) -> list[str]:
    """Files of `gh release upload TAG FILES...` commands (labels after `#` dropped)."""
    out: list[str] = []
    for words in run_commands(step):
        if words[:3] != ["gh", "release", "upload"]:
            continue
        args = _positionals(words[3:], {"-R", "--repo"})
        out += [_literal_path(a.split("#", 1)[0], step) for a in args[1:]]
    return out


def twine_files(step: Step) -> list[str]:
    out: list[str] = []
    for words in run_commands(step):
        cmd = words[2:] if words[:3] == ["python", "-m", "twine"] or words[:3] == ["python3", "-m", "twine"] else words
        if cmd[:2] == ["twine", "upload"]:
            valued = {"-r", "--repository", "--repository-url", "-u", "--username", "-p", "--password", "-c",
                      "--comment", "--config-file", "--sign-with", "-i", "--identity", "--cert", "--client-cert"}
            out += [_literal_path(a, step) for a in _positionals(cmd[2:], valued)]
    return out


def _positionals(args: list[str], valued: set[str]) -> list[str]:
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in valued:
            skip = True
        elif not arg.startswith("-"):
            out.append(arg)
    return out


def _literal_path(arg: str, step: Step) -> str:
    """A path the attest action can glob as is: no shell variables, braces or `~`; relative to the workspace."""
    masked, _ = _mask(arg)
    if re.search(r"[$`{}~]", masked):
        raise Refusal(f"`{arg}` is expanded by the shell; attest the files by hand")
    stable(arg, step)
    workdir = str(step.data.get("working-directory") or "").strip().rstrip("/")
    if workdir and not arg.startswith("/"):
        if EXPR_RE.search(workdir) or re.search(r"[$`~]", workdir):
            raise Refusal(f"the step runs in `{workdir}`; attest the files by hand")
        return f"{workdir}/{arg}"
    return arg
