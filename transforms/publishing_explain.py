"""The PR section every trusted-publishing transform writes: the publisher to register, clean-up, roll back."""

from __future__ import annotations

from collections.abc import Callable

from transforms.base import Finding
from transforms.oidc_plan import old_secrets


def registration(findings: list[Finding], title: str, place: str, fields: list[Field],
                 after: list[str]) -> str:
    """Markdown: the publisher to register per fixed job, what to delete after merge, how to roll back."""
    fixed = [f for f in findings if f.fixable]
    lines = [f"### {title}", ""]
    if fixed:
        lines += [f"**Before merging**, register a trusted publisher at {place} with exactly these values:", ""]
        lines += ["| " + " | ".join(label for label, _ in fields) + " |", "|" + "---|" * len(fields)]
        seen: set[tuple[str, ...]] = set()
        for f in fixed:
            row = tuple(get(f) for _, get in fields)
            if row not in seen:
                seen.add(row)
                lines.append("| " + " | ".join(row) + " |")
        lines += ["", "**Changed:**", "", *(f"- {f.message}" for f in fixed), ""]
        secrets, kept = old_secrets(fixed)
        shown = ", ".join(f"`{s}`" for s in secrets) or "the old token"
        lines += ["**Notes and clean-up:**", "", *(f"- {a}" for a in after)]
        if secrets or not kept:
            lines.append(f"- After the first successful publish, revoke the token on the registry and delete the "
                         f"repository secret(s) {shown}.")
        lines += [f"- Keep `{s}` for now: {where} still reads it." for s, where in sorted(kept.items())]
        lines += ["",
                  "**Roll back:** revert this commit; keep the secret until the new flow has published once.", ""]
    refused = [f for f in findings if not f.fixable]
    if refused:
        lines += ["**Left unchanged:**", "", *(f"- {f.message}" for f in refused), ""]
    return "\n".join(lines)


Field = tuple[str, Callable[[Finding], str]]


def publisher_fields(owner: str, repo: str, workflow: str, environment: str) -> list[Field]:
    """The four values every registry's trusted-publisher form asks for, under that registry's own labels."""
    return [(owner, lambda f: owner_repo(f)[0]), (repo, lambda f: owner_repo(f)[1]),
            (workflow, lambda f: f"`{f.data['file']}`"), (environment, env_cell)]


def owner_repo(f: Finding) -> tuple[str, str]:
    repo = str(f.data.get("repo") or "OWNER/REPO")
    owner, _, name = repo.partition("/")
    return f"`{owner}`", f"`{name or 'REPO'}`"


def env_cell(f: Finding) -> str:
    env = f.data.get("environment")
    return f"`{env}`" if env else "(none — consider adding one)"
