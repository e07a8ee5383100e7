"""The PR title, body and commit message for one repository's plan.

The body ends with a hidden metadata block the bot reads back on later runs, so it can recognise
its own PR and tell what it last proposed even when the state file is gone.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot import __version__
from bot.config import Config
from bot.plan import REPO_CONFIG, RepoPlan
from transforms.registry import TRANSFORMS

META_RE = re.compile(r"<!-- ztbot: (\{.*?\}) -->")
MAX_EVIDENCE = 50  # GitHub caps a body at 65536 characters; the diff holds the rest


def title(config: Config) -> str:
    return config.pr.title


def commit_message(plan: RepoPlan) -> str:
    lines = [f"ztbot: Zero Trust fixes for {len(plan.changes)} workflow file(s)", ""]
    lines += [f"- {tid}: {TRANSFORMS[tid].summary}" for tid in plan.applied]
    return "\n".join(lines) + "\n"


def render(plan: RepoPlan) -> str:
    sections = [_intro(plan), _summary_table(plan), *plan.explanations.values(), _evidence(plan),
                _left_alone(plan), _setup(plan), _opt_out(), _metadata(plan)]
    return "\n\n".join(s.strip("\n") for s in sections if s) + "\n"


def _intro(plan: RepoPlan) -> str:
    kind = "is safe to merge as is" if not plan.needs_setup else "**needs setup before merging** (see the checklist)"
    return (f"ztbot found GitHub Actions workflows in `{plan.repo}` that do not follow Zero Trust and proposes "
            f"the edits below. This PR {kind}. Every edit is surgical: comments, quoting and layout are kept.")


def _summary_table(plan: RepoPlan) -> str:
    rows = ["### Summary", "", "| file | transform | merge |", "|---|---|---|"]
    for change in plan.changes:
        for tid in change.transforms:
            kind = "safe" if TRANSFORMS[tid].safe else "needs setup"
            rows.append(f"| `{change.path}` | `{tid}` | {kind} |")
    return "\n".join(rows)


def _evidence(plan: RepoPlan) -> str:
    shown = plan.evidence[:MAX_EVIDENCE]
    rows = [f"- `{e.path}:{e.finding.line}` [`{e.finding.rule}`] {e.finding.message}" for e in shown]
    if len(plan.evidence) > len(shown):
        rows.append(f"- … and {len(plan.evidence) - len(shown)} more (run `ztbot scan` on a checkout)")
    return "<details><summary>Evidence (findings)</summary>\n\n" + "\n".join(rows) + "\n\n</details>"


def _left_alone(plan: RepoPlan) -> str:
    """What the repository's own settings kept ztbot from touching, so reviewers know it was on purpose."""
    rows = [f"- `{path}`: `ignore_paths` in `{REPO_CONFIG}`" for path in plan.ignored_paths]
    rows += [f"- `{e.path}:{e.finding.line}` [`{e.finding.rule}`]: `# ztbot: ignore` on that line"
             for e in plan.ignored[:MAX_EVIDENCE]]
    if plan.settings_error:
        rows.append(f"- nothing: {plan.settings_error}")
    return "### Left alone on request\n\n" + "\n".join(rows) if rows else ""


def _setup(plan: RepoPlan) -> str:
    if not plan.needs_setup:
        return "### Before merging\n\nNothing to set up: the changes only narrow what the workflows may do."
    rows = ["### Before merging", "", "This PR is a draft until the owner has done the following:", ""]
    for tid in plan.needs_setup:
        rows.append(f"- [ ] **{tid}**: {TRANSFORMS[tid].summary} — do the setup its section above describes")
    rows.append("- [ ] run the changed workflows once (e.g. `workflow_dispatch`) and check they still pass")
    rows.append("- [ ] then mark this PR ready for review")
    return "\n".join(rows)


def _opt_out() -> str:
    return ("<sub>Not wanted? Close this PR and ztbot will not reopen it. To opt the repository out, add "
            f"`{REPO_CONFIG}` with `enabled = false` (or `disable = [\"<transform id>\"]` to skip some).</sub>")


def _metadata(plan: RepoPlan) -> str:
    meta = {"version": __version__, "transforms": plan.applied, "base_sha": plan.base_sha,
            "content_hash": plan.content_hash}
    return f"<!-- ztbot: {json.dumps(meta, sort_keys=True)} -->"


def parse_metadata(body: str | None) -> dict[str, Any] | None:
    """The metadata block of a body the bot wrote, or None (not ours, or edited beyond recognition)."""
    found = META_RE.search(body or "")
    if not found:
        return None
    try:
        data = json.loads(found.group(1))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
