"""`ztbot demo`: the whole bot against a local stand-in GitHub, offline, in a few seconds.

It seeds `demo-org` with the repositories under `bot/demo_data/`, runs `ztbot run` with a default
config, and shows the pull requests it opened and where its state and logs live.
"""

from __future__ import annotations

import io
import sys
import tempfile
import textwrap
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from bot import config as config_mod
from bot.errors import ZtbotError
from bot.orchestrate import RunReport, open_hub, run
from bot.standin import StandIn

ORG = "demo-org"
TOKEN_ENV = "ZTBOT_DEMO_TOKEN"
BODY_LINES = 4  # summary rows shown per PR
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")


@dataclass(frozen=True)
class SampleRepo:
    name: str
    files: dict[str, str]
    meta: dict[str, Any]  # create_repo keywords: archived, topics, description


def sample_repos() -> list[SampleRepo]:
    """The demo org as data: `repos.toml` plus each repository's folder of workflows."""
    root = resources.files("bot") / "demo_data"
    table = tomllib.loads((root / "repos.toml").read_text(encoding="utf-8"))
    return [_sample(root / name, name, entry) for name, entry in table.items()]


def _sample(folder: Any, name: str, entry: dict[str, Any]) -> SampleRepo:
    files = dict(entry.get("files", {}))
    workflows = folder / "workflows"
    for item in sorted(workflows.iterdir(), key=lambda p: p.name) if workflows.is_dir() else []:
        files[f".github/workflows/{item.name}"] = item.read_text(encoding="utf-8")
    if (folder / "ztbot.toml").is_file():
        files[".github/ztbot.toml"] = (folder / "ztbot.toml").read_text(encoding="utf-8")
    meta: dict[str, Any] = {k: entry[k] for k in ("archived", "topics", "description") if k in entry}
    return SampleRepo(name, files, meta)


def seed(gh: StandIn, org: str = ORG) -> str:
    """Create the org and its repositories; returns a token with `repo` and `workflow` scopes."""
    gh.add_org(org)
    for repo in sample_repos():
        gh.create_repo(org, repo.name, dict(repo.files), **repo.meta)
    return gh.add_token("ztbot-demo", scopes=("repo", "workflow"))


def write_config(gh: StandIn, work: Path) -> Path:
    """The default config, pointed at the stand-in, with every path inside `work`."""
    path = work / "ztbot.toml"
    path.write_text(f'''# ztbot config written by `ztbot demo`; `ztbot run --config {path}` runs it again.
[github]
target = "org"
name = "{ORG}"
base_url = "{gh.api_url}"
token_env = ["{TOKEN_ENV}"]

[limits]
write_interval_s = 0  # the stand-in needs no pacing

[paths]
state = "{work / 'state.json'}"
audit = "{work / 'audit.jsonl'}"
dry_run = "{work / 'dry-run'}"
''', encoding="utf-8")
    return path


def demo(keep: str | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    work = _workdir(keep)
    with StandIn(work / "github") as gh:
        token = seed(gh)
        cfg_path = write_config(gh, work)
        config = config_mod.load(cfg_path)
        print(f"ztbot demo: stand-in GitHub at {gh.url}, org `{ORG}` with {len(gh.repos(ORG))} repositories",
              file=out)
        report = run(config, open_hub(config, {TOKEN_ENV: token}), stream=err)
        _show_pulls(gh, out)
        _show_summary(report, out)
        _show_rerun(gh, config, token, out)
        run(config, open_hub(config, {TOKEN_ENV: token}), dry_run=True, stream=io.StringIO())
        _show_paths(work, cfg_path, keep, out)
    return 1 if report.failures else 0


def _workdir(keep: str | None) -> Path:
    if keep is None:
        return Path(tempfile.mkdtemp(prefix="ztbot-demo-"))
    work = Path(keep).resolve()
    if work.exists() and any(work.iterdir()):
        raise ZtbotError(f"{work} is not empty", "pass a new or empty folder to --keep")
    work.mkdir(parents=True, exist_ok=True)
    return work


def _show_pulls(gh: StandIn, out: TextIO) -> None:
    print("\nPull requests opened:", file=out)
    for meta in gh.repos(ORG):
        for issue in gh.pulls(ORG, meta.name):
            draft = " (draft)" if issue.pull and issue.pull.draft else ""
            print(f"\n  {meta.full_name} #{issue.number}{draft}: {issue.title}", file=out)
            print(f"  {gh.url}/{meta.full_name}/pull/{issue.number}", file=out)
            for line in _body_preview(issue.body or ""):
                print(f"    | {line}", file=out)


def _body_preview(body: str) -> list[str]:
    """The opening sentence and the summary table's rows: what changes, and whether it needs setup."""
    lines = [t for t in body.splitlines() if t.strip()]
    summary = body.partition("### Summary")[2].split("\n### ", 1)[0]
    rows = [t for t in summary.splitlines() if t.startswith("| `")]
    return [textwrap.shorten(lines[0], 110), *rows[:BODY_LINES]] if lines else []


def _show_rerun(gh: StandIn, config: config_mod.Config, token: str, out: TextIO) -> None:
    """Run again with nothing changed: the state file makes it a read-only no-op."""
    before = len(gh.requests)
    quiet = open_hub(config, {TOKEN_ENV: token})
    report = run(config, quiet, stream=io.StringIO())
    writes = [r for r in gh.requests[before:] if r.method in WRITE_METHODS and "graphql" not in r.path
              and not r.path.endswith("git-upload-pack")]
    print(f"\nSecond run with nothing changed: {len(gh.requests) - before} requests, {len(writes)} writes, "
          f"{report.not_moved} repositories not fetched again.", file=out)


def _show_summary(report: RunReport, out: TextIO) -> None:
    print("\nFirst run:", file=out)
    for line in report.lines():
        print(f"  {line}", file=out)


def _show_paths(work: Path, cfg_path: Path, keep: str | None, out: TextIO) -> None:
    print(f"\nConfig:  {cfg_path}\nState:   {work / 'state.json'}\n"
          f"Audit:   {work / 'audit.jsonl'} (every decision; `ztbot audit --config {cfg_path}` shows it)\n"
          f"Dry run: {work / 'dry-run'}/<owner>__<repo>/{{pr.md,changes.diff}} (what `ztbot run --dry-run` writes)\n"
          f"GitHub:  {work / 'github'} (the stand-in's bare repositories)", file=out)
    if keep is None:
        print("(a temporary folder; `ztbot demo --keep DIR` puts everything in DIR)", file=out)

