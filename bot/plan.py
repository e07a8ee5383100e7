"""Plan one repository's PR from its fetched files. Pure: no network, git or filesystem.

The plan is what the PR will carry (changed files), why (findings and each transform's
explanation), whether the owner must set something up first, and a content hash that tells a
re-run whether the open PR is already up to date.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot import repoconf
from bot.config import Config
from bot.repoconf import RepoSettings
from bot.runner import FileResult, run_file
from transforms.base import Context, Finding, Transform
from transforms.registry import TRANSFORMS, select

REPO_CONFIG = repoconf.PATH
ACTION_NAMES = ("action.yml", "action.yaml")


@dataclass(frozen=True)
class FileChange:
    path: str
    before: str
    after: str
    transforms: tuple[str, ...]  # ids that changed this file, in run order


@dataclass(frozen=True)
class Evidence:
    path: str
    transform: str
    finding: Finding


@dataclass
class RepoPlan:
    repo: str  # owner/name
    default_branch: str
    base_sha: str  # default-branch head the plan was computed on
    changes: list[FileChange] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    explanations: dict[str, str] = field(default_factory=dict)  # transform id -> markdown, run order
    needs_setup: list[str] = field(default_factory=list)  # applied transform ids with safe = False
    errors: list[str] = field(default_factory=list)
    opted_out: str = ""  # why `.github/ztbot.toml` turned the bot off (empty = it did not)
    settings: RepoSettings = field(default_factory=RepoSettings)  # the repo's own file, as honoured
    settings_error: str = ""  # a broken repo file: reported, and ignored (never read as an opt-out)
    ignored_paths: list[str] = field(default_factory=list)  # left untouched by the repo's `ignore_paths`
    ignored: list[Evidence] = field(default_factory=list)  # findings silenced by inline `# ztbot: ignore`
    results: list[FileResult] = field(default_factory=list)  # per file, for the posture report
    transforms: list[str] = field(default_factory=list)  # ids that ran here (org, wave and repo choices)
    content_hash: str = ""
    findings_digest: str = ""

    @property
    def applied(self) -> list[str]:
        """Transform ids that changed at least one file, in registry order."""
        used = {t for c in self.changes for t in c.transforms}
        return [t for t in TRANSFORMS if t in used]


def target_files(files: Mapping[str, str]) -> list[str]:
    """Workflows and local composite actions, the files the transforms rewrite."""
    def wanted(path: str) -> bool:
        in_workflows = path.startswith(".github/workflows/") and path.count("/") == 2
        return (in_workflows and path.endswith((".yml", ".yaml"))) or path.rsplit("/", 1)[-1] in ACTION_NAMES
    return sorted(p for p in files if wanted(p))


def enabled_transforms(config: Config) -> dict[str, Transform]:
    """`transforms.enabled`, or every transform that is on by default (opt-in ones stay off)."""
    return select(config.transforms.enabled or None)


def repo_settings(files: Mapping[str, str], repo: str, config: Config) -> RepoSettings:
    """The repository's `.github/ztbot.toml`, or the defaults when the org does not allow overrides."""
    if not config.transforms.allow_repo_overrides:
        return RepoSettings()
    return repoconf.parse(files.get(REPO_CONFIG), repo, list(TRANSFORMS))


def transform_options(config: Config, transforms: Mapping[str, Transform], default_branch: str,
                      runtime: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Per-transform options from the config, plus the default branch (OIDC subjects name it) and what only
    the run knows (`runtime`: e.g. pin-actions' online resolver, the repository's visibility)."""
    extra = runtime or {}
    return {tid: {**config.transforms.options.get(tid, {}), "default_branch": default_branch, **extra.get(tid, {})}
            for tid in transforms}


def plan_repo(full_name: str, default_branch: str, base_sha: str, files: Mapping[str, str],
              config: Config, allowed: Iterable[str] | None = None,
              runtime: Mapping[str, Mapping[str, Any]] | None = None) -> RepoPlan:
    """`allowed`: the transform ids the rollout lets into this repository today (None = every enabled one)."""
    plan = RepoPlan(full_name, default_branch, base_sha)
    settings = repo_settings(files, full_name, config)
    if settings.error:
        plan.settings_error, settings = settings.error, RepoSettings()
    plan.settings = settings
    if not settings.enabled:
        plan.opted_out = f"opted out ({REPO_CONFIG}: enabled = false)"
        return plan
    keep = set(TRANSFORMS if allowed is None else allowed) - set(settings.disable)
    transforms = {tid: t for tid, t in enabled_transforms(config).items() if tid in keep}
    plan.transforms = list(transforms)
    options = transform_options(config, transforms, default_branch, runtime)
    targets = target_files(files)
    plan.ignored_paths = [p for p in targets if settings.ignores(p)]
    honour = config.transforms.allow_repo_overrides
    results = [_run_one(path, files, full_name, options, transforms, honour) for path in targets
               if path not in plan.ignored_paths]
    _collect(plan, results, transforms)
    return plan


def _run_one(path: str, files: Mapping[str, str], repo: str, options: dict[str, Any],
             transforms: dict[str, Transform], honour_ignores: bool) -> FileResult:
    ctx = Context(path, files.get, options, repo)
    return run_file(files[path], ctx, transforms, honour_ignores=honour_ignores)


def _add_sibling(plan: RepoPlan, change: FileChange) -> None:
    """A script changed by the fix of one or more workflows: once, and only if every workflow agrees."""
    same = next((c for c in plan.changes if c.path == change.path), None)
    if same is None:
        plan.changes.append(change)
    elif same.after != change.after:
        plan.errors.append(f"{change.path}: two workflows' fixes change it differently; not changed")
        plan.changes.remove(same)


def _collect(plan: RepoPlan, results: list[FileResult], transforms: dict[str, Transform]) -> None:
    plan.results = results
    for r in results:
        plan.errors += r.errors
        plan.evidence += [Evidence(r.path, tid, f) for tid, f in r.findings]
        plan.ignored += [Evidence(r.path, tid, f) for tid, f in r.ignored]
        if r.changed:
            plan.changes.append(FileChange(r.path, r.before, r.after, tuple(r.applied)))
        for path, (before, after) in r.files.items():
            _add_sibling(plan, FileChange(path, before, after, tuple(r.applied)))
    applied = plan.applied
    plan.explanations = {tid: transforms[tid].explain([e.finding for e in plan.evidence if e.transform == tid])
                         for tid in applied}
    plan.needs_setup = [tid for tid in applied if not transforms[tid].safe]
    plan.content_hash = content_hash(plan.changes)
    plan.findings_digest = findings_digest(plan.evidence)


def content_hash(changes: list[FileChange]) -> str:
    """sha256 over the sorted (path, new text) pairs: equal hashes mean the PR already says this."""
    digest = hashlib.sha256()
    for change in sorted(changes, key=lambda c: c.path):
        digest.update(json.dumps([change.path, change.after]).encode())
    return digest.hexdigest()


def findings_digest(evidence: list[Evidence]) -> str:
    rows = sorted((e.path, e.transform, e.finding.rule, e.finding.line, e.finding.message) for e in evidence)
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def unified_diff(changes: list[FileChange]) -> str:
    """One patch for all changed files, `git apply`-able (a/ and b/ prefixes)."""
    out: list[str] = []
    for c in changes:
        out += difflib.unified_diff(c.before.splitlines(keepends=True), c.after.splitlines(keepends=True),
                                    f"a/{c.path}", f"b/{c.path}")
    return "".join(out)


def config_digest(config: Config, allowed: Iterable[str] | None = None) -> str:
    """What, besides the repository's own files, decides the plan: a change here means re-plan.

    `allowed` (the rollout's choice for one repository) is part of it: a wave opening is a reason to re-plan.
    """
    from bot import __version__

    key = [__version__, list(enabled_transforms(config)), config.transforms.options,
           config.transforms.allow_repo_overrides, None if allowed is None else sorted(allowed)]
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
