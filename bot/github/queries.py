"""GraphQL documents the scanner sends: a 100-per-page repository listing and a batched file fetch.

The fetch is one query for many repositories: each is an alias (`r0`, `r1`, ...) whose git objects
are addressed by `OID:path` expressions, so the files match the listed head commit exactly.

A warm scan's first listing page also asks for the files of the most recently pushed repositories
(`recent`): those are the likeliest to have moved, and reading them there saves the file query.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.github.models import ACTIONS_DIR, OPT_OUT_FILE, ROOT_ACTIONS, WORKFLOWS_DIR, RepoInfo

PAGE_SIZE = 100
RECENT = 10  # recently pushed repositories whose files ride along with a warm scan's first page
TOPICS_FIELD = "repositoryTopics(first: 20) { nodes { topic { name } } }"

_REPO_FIELDS = """
  name owner { login } isArchived isFork isEmpty isPrivate visibility
  defaultBranchRef { name target { oid } }
"""


def list_query(with_topics: bool, recent: bool = False) -> str:
    """One listing page; with `recent`, also the files of the RECENT most recently pushed repositories."""
    fields = _REPO_FIELDS + (f"  {TOPICS_FIELD}\n" if with_topics else "")
    return (
        "query($login: String!, $cursor: String) {\n"
        "  repositoryOwner(login: $login) {\n"
        f"    repositories(first: {PAGE_SIZE}, after: $cursor) {{\n"
        "      pageInfo { hasNextPage endCursor }\n"
        "      nodes { ...repoInfo }\n"
        "    }\n"
        f"{_RECENT if recent else ''}"
        "  }\n"
        "}\n"
        f"fragment repoInfo on Repository {{{fields}}}\n"
        f"{_FRAGMENTS if recent else ''}"
    )


_FRAGMENTS = """
fragment blob on Blob { text isBinary isTruncated byteSize }
fragment dir on Tree { entries { name type object { ...blob } } }
fragment actionDirs on Tree {
  entries { name type object { ... on Tree { entries { name type object { ...blob } } } } }
}
"""

# alias -> (path, fragment)
OBJECTS: dict[str, tuple[str, str]] = {
    "wf": (WORKFLOWS_DIR, "dir"),
    "acts": (ACTIONS_DIR, "actionDirs"),
    "optout": (OPT_OUT_FILE, "blob"),
    "act1": (ROOT_ACTIONS[0], "blob"),
    "act2": (ROOT_ACTIONS[1], "blob"),
}


def _recent_connection() -> str:
    # Files are read through the head commit itself (`Commit.file`), not `HEAD:path`: a push landing
    # while the query runs cannot then pair one commit's oid with another commit's files.
    files = "\n".join(f'            {alias}: file(path: "{path}") {{ object {{ ...{fragment} }} }}'
                      for alias, (path, fragment) in OBJECTS.items())
    # Whether github.com's `Commit.file` returns directories is not documented: a cheap probe of each
    # directory by expression tells "absent" from "not returned", and the batched fetch takes the latter.
    probes = "\n".join(f'        {alias}Probe: object(expression: "HEAD:{path}") {{ oid }}'
                       for alias, (path, fragment) in OBJECTS.items() if fragment != "blob")
    return (
        f"    recent: repositories(first: {RECENT}, orderBy: {{field: PUSHED_AT, direction: DESC}}) {{\n"
        "      nodes {\n"
        "        nameWithOwner\n"
        f"{probes}\n"
        "        defaultBranchRef { target { oid ... on Commit {\n"
        f"{files}\n"
        "        } } }\n"
        "      }\n"
        "    }\n"
    )


_RECENT = _recent_connection()


def files_query(repos: Sequence[RepoInfo]) -> tuple[str, dict[str, str]]:
    """The document and variables fetching the bot's files of every repo in `repos` (aliases r0..rN)."""
    params, parts, variables = [], [], {}
    for i, info in enumerate(repos):
        params.append(f"$o{i}: String!, $n{i}: String!")
        variables[f"o{i}"], variables[f"n{i}"] = info.owner, info.name
        rev = info.head_oid or "HEAD"  # an oid is hex: safe inside a string literal
        objects = "\n".join(f'    {alias}: object(expression: "{rev}:{path}") {{ ...{fragment} }}'
                            for alias, (path, fragment) in OBJECTS.items())
        # Without a listed head (REST listing), ask which commit HEAD was; with one, the oid pins it.
        head = "" if info.head_oid else "    defaultBranchRef { name target { oid } }\n"
        parts.append(f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{\n{head}{objects}\n  }}")
    body = "\n".join(parts)
    return f"query({', '.join(params)}) {{\n  rateLimit {{ cost remaining }}\n{body}\n}}\n{_FRAGMENTS}", variables
