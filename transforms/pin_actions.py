"""pin-actions: pin every remote `uses:` to a full commit SHA with the tag as a trailing comment.

`uses: actions/checkout@v4` becomes `uses: actions/checkout@<40-hex sha>  # v4.4.0`: a tag can be
moved to other code by whoever controls the action's repository, a commit cannot. Refs resolve through
the resolver the bot injects (`options["resolver"]`, online, cached in its state) and then through the
bundled table of verified tags (`data/action-pins.tsv`, `source=snapshot` rows only). A moving major
tag (`v4`) gets the commit of that tag row and the comment names the `vX.Y.Z` sharing that commit.

Left alone, with a note: refs neither source resolves, and branches (`@main`, the table's BRANCH rows),
which only the resolver may pin because their head moves and a snapshot of it is a silent downgrade.
A resolved branch is pinned with the branch name as its comment (`# main`), so a reader and update
tools still see where the commit came from. Existing SHA pins whose version comment disagrees with
the table are reported, never changed: which of the two is wrong needs a human.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from ruamel.yaml.nodes import ScalarNode

from transforms import pins
from transforms.base import Context, Finding, Path, Severity
from transforms.model import ActionRef, load_workflow
from transforms.yamldoc import Doc, path_str, resolve
from transforms.yamledit import Op, ReplaceValue

ID = "pin-actions"
FIXABLE = "unpinned-uses"
UNRESOLVED = "unpinned-uses-unresolved"
MISMATCH = "pin-comment-mismatch"
FIRST_PARTY = frozenset({"actions", "github"})
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
SEMVER_RE = re.compile(r"^v?\d+\.\d+\.\d+$")
VERSION_RE = re.compile(r"^v?\d+(?:\.\d+){0,2}$")
SAME_COMMIT_RE = re.compile(r"same commit as ([\w.,/-]+)")
# Names that are branches in practice; the table marks the others it knows (`BRANCH ...` notes).
BRANCH_NAMES = frozenset({"main", "master", "develop", "dev", "trunk", "stable", "nightly", "latest", "HEAD"})

Resolver = Callable[[str, str], "tuple[str, str] | None"]


# ---------------------------------------------------------------- the bundled table


@dataclass(frozen=True)
class Row:
    action: str
    tag: str
    sha: str
    source: str
    note: str

    @property
    def branch(self) -> bool:
        return self.note.startswith("BRANCH")

    @property
    def names(self) -> tuple[str, ...]:
        """This tag and every tag the note says shares its commit."""
        found = SAME_COMMIT_RE.search(self.note)
        return (self.tag, *(found[1].split(",") if found else ()))


@cache
def table() -> tuple[Row, ...]:
    return tuple(Row(r["action"].lower(), r["tag"], r["sha"].lower(), r["source"], r["note"]) for r in pins.rows())


def _index(key: Callable[[Row], str]) -> dict[tuple[str, str], tuple[Row, ...]]:
    """The table's rows per (action, key), in table order."""
    index: dict[tuple[str, str], list[Row]] = {}
    for row in table():
        index.setdefault((row.action, key(row)), []).append(row)
    return {k: tuple(rows) for k, rows in index.items()}


@cache
def _by_tag() -> dict[tuple[str, str], tuple[Row, ...]]:
    """Every `uses:` looks its ref up here."""
    return _index(lambda row: row.tag)


def _tag_rows(action: str, tag: str) -> tuple[Row, ...]:
    return _by_tag().get((action, tag), ())


@cache
def _by_sha() -> dict[tuple[str, str], tuple[Row, ...]]:
    """Every SHA pin's comment is checked against these."""
    return _index(lambda row: row.sha)


def table_pin(action: str, ref: str) -> tuple[str, str] | None:
    """(sha, comment) for a verified tag of `action`; branch heads are never pinned from a snapshot."""
    for row in _tag_rows(action, ref):
        if row.source == "snapshot" and not row.branch:
            precise = next((n for n in row.names if SEMVER_RE.match(n)), ref)
            return row.sha, precise
    return None


def table_branch(action: str, ref: str) -> bool:
    return any(r.branch for r in _tag_rows(action, ref))


def names_of(action: str, sha: str) -> set[str]:
    """Every tag the table knows for this commit (observed pins included: they only add names)."""
    return {n for r in _by_sha().get((action, sha), ()) if not r.branch for n in r.names}


def tag_sha(action: str, tag: str) -> str | None:
    """The verified commit of a tag, when the table has it."""
    row = next((r for r in _tag_rows(action, tag) if r.source == "snapshot" and not r.branch), None)
    return row.sha if row else None


# ---------------------------------------------------------------- finding the `uses:` values


@dataclass(frozen=True)
class Use:
    path: Path
    ref: ActionRef
    line: int  # where an ignore comment or a reader finds it: the step's (or job's) first line
    where: str  # "job `build` step `Checkout`"


def uses(doc: Doc) -> Iterator[Use]:
    wf = load_workflow(doc)
    if wf is None:
        return
    for job in wf.jobs:
        if job.uses is not None and not wf.composite:
            yield Use((*job.path, "uses"), job.uses, job.line, f"job `{job.id}`")
        for step in job.steps:
            if step.uses is not None:
                where = f"job `{job.id}` step `{step.name}`" if not wf.composite else f"step `{step.name}`"
                yield Use((*step.path, "uses"), step.uses, step.line, where)


def remote(ref: ActionRef, skip_first_party: bool) -> bool:
    if not ref.owner or ref.local or ref.docker or "${{" in ref.raw:
        return False
    return not (skip_first_party and ref.owner.lower() in FIRST_PARTY)


def trailing_comment(doc: Doc, path: Path) -> str:
    """The comment after a `uses:` value on its line ('' when none, or when the value is not plain)."""
    node = resolve(doc.root, path)
    if not isinstance(node, ScalarNode) or node.end_mark.line != node.start_mark.line:
        return ""
    rest = doc.line_text(node.end_mark.line)[node.end_mark.column:]
    return rest.split("#", 1)[1].strip() if "#" in rest else ""


def version_in(comment: str) -> str | None:
    """The version a pin comment names: `v4.1.0`, `tag=v4.1.0`, `pin@v4`, `4.1.0 (2024)`..."""
    for word in re.split(r"[\s=@:,;()]+", comment):
        if VERSION_RE.match(word):
            return word
    return None


# ---------------------------------------------------------------- resolution


def call_resolver(resolver: Any, owner_repo: str, ref: str) -> tuple[str, str] | None:
    """The injected resolver's answer when it is well formed; a failing resolver counts as no answer."""
    if not callable(resolver):
        return None
    try:
        answer = resolver(owner_repo, ref)
    except Exception:  # network trouble must not cost the file its other fixes: fall back to the table
        return None
    if not (isinstance(answer, tuple) and len(answer) == 2 and all(isinstance(a, str) for a in answer)):
        return None
    sha, tag = answer[0].lower(), answer[1] or ref
    return (sha, tag) if SHA_RE.match(sha) else None


def resolve_ref(ctx: Context, owner_repo: str, ref: str) -> tuple[str, str] | None:
    return call_resolver(ctx.options.get("resolver"), owner_repo, ref) or table_pin(owner_repo, ref)


def why_unresolved(ctx: Context, owner_repo: str, ref: str) -> str:
    online = callable(ctx.options.get("resolver"))
    if ref in BRANCH_NAMES or table_branch(owner_repo, ref):
        tail = "the resolver could not resolve it" if online else "only the online resolver pins branches"
        return f"`@{ref}` is a branch whose head moves; {tail}"
    if re.fullmatch(r"[0-9a-fA-F]{7,39}", ref):
        return f"`@{ref}` is an abbreviated commit; write the full 40-character SHA"
    if online:
        return f"`@{ref}` is known to neither the resolver nor the bundled pin table"
    return f"`@{ref}` is not known to the bundled pin table (offline)"


def comment_for(tag: str, old: str) -> str:
    """The new trailing comment: the tag, then any old comment that was not a version (ignores stay)."""
    return f"{tag}  # {old}" if old and version_in(old) is None else tag


# ---------------------------------------------------------------- checks of existing pins


def mismatch(ctx: Context, owner_repo: str, sha: str, comment: str) -> str | None:
    """Why a SHA pin's version comment disagrees with the table (or the resolver); None when it agrees."""
    said = version_in(comment)
    if said is None:
        return None
    names = names_of(owner_repo, sha.lower())
    if names:
        if _agrees(said, names):
            return None
        best = sorted(names, key=lambda n: (bool(SEMVER_RE.match(n)), len(n)))[-1]
        return f"the comment says {said} but the pin table has this commit as {best}"
    if not SEMVER_RE.match(said):
        return None
    tags = [said] if said.startswith("v") else [f"v{said}", said]
    known = next((k for t in tags if (k := tag_sha(owner_repo, t))), None)
    if known is None:
        answer = call_resolver(ctx.options.get("resolver"), owner_repo, tags[0])
        known = answer[0] if answer else None
    if known is not None and known != sha.lower():
        return f"the comment says {said} but {said} is commit {known[:12]}"
    return None


def _agrees(said: str, names: set[str]) -> bool:
    bare = {n.removeprefix("v") for n in names}
    plain = said.removeprefix("v")
    # `# v4` on the v4.3.1 commit is true when it was written: a major (or minor) names its line.
    return plain in bare or any(n.startswith(plain + ".") for n in bare)


# ---------------------------------------------------------------- the transform


def _finding(doc: Doc, ctx: Context, use: Use) -> Finding | None:
    ref = use.ref
    action = f"{ref.owner}/{ref.repo}".lower()
    shown = f"{use.where}: `{ref.raw}`"
    yaml_path = path_str(use.path)
    if SHA_RE.match(ref.ref.lower()):
        if (why := mismatch(ctx, action, ref.ref, trailing_comment(doc, use.path))):
            return Finding(MISMATCH, f"{shown}: {why}; check which is right and fix the comment or the pin",
                           use.line, yaml_path=yaml_path, data={"path": use.path})
        return None
    found = resolve_ref(ctx, action, ref.ref)
    if found is None:
        return Finding(UNRESOLVED, f"{shown} left unpinned: {why_unresolved(ctx, action, ref.ref)}", use.line,
                       yaml_path=yaml_path, severity=Severity.NOTE, data={"path": use.path})
    sha, tag = found
    base = ref.raw.rsplit("@", 1)[0]
    return Finding(FIXABLE, f"{shown}: pin to the commit of {tag} ({sha[:12]})", use.line, yaml_path=yaml_path,
                   fixable=True, data={"path": use.path, "was": ref.raw, "uses": f"{base}@{sha}", "tag": tag,
                                       "comment": comment_for(tag, trailing_comment(doc, use.path))})


class PinActions:
    id = ID
    summary = "Pin every third-party `uses:` to a full commit SHA, with the version as a comment."
    safe = True
    intended = ("jobs.*.steps.*.uses", "jobs.*.uses", "runs.steps.*.uses")

    def detect(self, doc: Doc, ctx: Context) -> list[Finding]:
        skip = bool(ctx.options.get("skip_first_party", False))
        found = (_finding(doc, ctx, use) for use in uses(doc) if remote(use.ref, skip))
        return [f for f in found if f is not None]

    def apply(self, doc: Doc, ctx: Context, findings: list[Finding]) -> list[Op]:
        return [ReplaceValue(tuple(f.data["path"]), f.data["uses"], comments={(): f.data["comment"]})
                for f in findings if f.rule == FIXABLE]

    def explain(self, findings: list[Finding]) -> str:
        lines = ["### Actions pinned to commits", ""]
        pinned = [f for f in findings if f.rule == FIXABLE]
        if pinned:
            lines += ["| was | pinned to |", "|---|---|"]
            seen: set[tuple[str, str]] = set()
            for f in pinned:
                if (f.data["was"], f.data["uses"]) not in seen:
                    seen.add((f.data["was"], f.data["uses"]))
                    lines.append(f"| `{f.data['was']}` | `{f.data['uses']}` ({f.data['tag']}) |")
            lines += ["", "Dependabot and Renovate keep SHA pins with a version comment up to date.", ""]
        lines += [f"- {f.message}" for f in findings if f.rule != FIXABLE]
        return "\n".join(lines) + "\n"
