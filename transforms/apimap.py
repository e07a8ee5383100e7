"""Map GitHub REST calls, Octokit methods and `gh` subcommands to GITHUB_TOKEN scopes.

The tables are vendored by tools/refresh_api_tables.py from GitHub's own permission data. Rules:

* Rows a GITHUB_TOKEN cannot use (scope not grantable in `permissions:`, or no server-to-server
  route) are dropped; an endpoint left with none is an Unknown. `metadata: read` is implicit.
* Several grantable permissions for one endpoint are alternatives in GitHub's table (issue
  comments: `issues` or `pull-requests`). The caller can't tell which applies (is #n an issue or
  a PR?), so every one is returned: the conservative superset, and the reason says so.
* A path segment holding a variable matches only template parameters; among matching templates
  the one with the most literal segments wins, and a tie with different scopes is an Unknown.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import cast

from transforms.base import SCOPES, Analysis, Level, Need, Unknown

_DATA = Path(__file__).resolve().parent / "data"
_GRAPHQL = "GraphQL permissions are not mapped"
# gh substitutes these from the current repository (`{owner}`) or from `:owner` (older syntax).
_PLACEHOLDER = re.compile(r"^(\{[\w-]+\}|:[a-z_]+)$")
_REPO_VAR = re.compile(r"^\$(\{)?GITHUB_REPOSITORY(?(1)\})$|^\$\{\{\s*github\.repository\s*\}\}$")
_API_BASES = re.compile(
    r"^(?:https?://)?(?:api\.github\.com|uploads\.github\.com)(?=/|$)"
    r"|^\$(\{)?GITHUB_API_URL(?(1)\})|^\$\{\{\s*github\.api_url\s*\}\}"
)
# Template parameters whose value may itself contain slashes (file paths, `heads/main`).
_SLASHY_PARAMS = frozenset({"{path}", "{ref}"})
_GH_ALIASES = {"ls": "list", "new": "create"}


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True)
class _Grant:
    scope: str
    level: str
    usable: str  # yes | implicit | no


@dataclass(frozen=True)
class _Endpoint:
    method: str
    path: str
    grants: tuple[_Grant, ...]

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path.strip("/").split("/"))


@dataclass(frozen=True)
class _GhCommand:
    grantable: str
    required: tuple[str, ...]
    optional: tuple[tuple[str, tuple[str, ...]], ...]
    note: str


def _read(name: str) -> list[dict[str, str]]:
    with open(_DATA / name, encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


@lru_cache(maxsize=1)
def _endpoints() -> dict[tuple[str, str], _Endpoint]:
    grants: dict[tuple[str, str], list[_Grant]] = {}
    for row in _read("endpoint-permissions.tsv"):
        grant = _Grant(row["permission"], row["access"], row["usable"])
        grants.setdefault((row["method"], row["path"]), []).append(grant)
    return {key: _Endpoint(key[0], key[1], tuple(value)) for key, value in grants.items()}


@lru_cache(maxsize=1)
def _octokit_index() -> dict[str, _Endpoint]:
    index: dict[str, _Endpoint] = {}
    endpoints = _endpoints()
    for row in _read("endpoint-permissions.tsv"):
        for name in filter(None, row["octokit"].split("|")):
            index[name] = endpoints[(row["method"], row["path"])]
    return index


def _gh_optional(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    entries = (entry.split() for entry in text.split(";") if entry)
    return tuple((grant, tuple(flags)) for grant, *flags in entries)


@lru_cache(maxsize=1)
def _gh_commands() -> dict[str, _GhCommand]:
    return {
        row["command"]: _GhCommand(
            row["grantable"], tuple(filter(None, row["required"].split(","))),
            _gh_optional(row["optional"]), row["note"],
        )
        for row in _read("gh-cli-permissions.tsv")
    }


# --- REST endpoints -----------------------------------------------------------------------------


def _split_path(path: str) -> list[str] | None:
    """Path segments, with the API host removed; None when the base URL is not GitHub's API."""
    path = path.strip()
    base = _API_BASES.match(path)
    if base:
        path = path[base.end():]
    elif "://" in path or path.startswith("$"):
        return None
    path = re.split(r"[?#]", path, maxsplit=1)[0]
    segments: list[str] = []
    for segment in filter(None, path.split("/")):
        segments += ["{owner}", "{repo}"] if _REPO_VAR.match(segment) else [segment]
    return segments


def _is_param(template_segment: str) -> bool:
    return template_segment.startswith("{")


def _is_dynamic(segment: str) -> bool:
    return "$" in segment or "`" in segment


def _match(given: list[str], template: tuple[str, ...]) -> int | None:
    """Number of literal segments matched (specificity), or None when the template doesn't fit."""
    if not given or not template:
        return 0 if not given and not template else None
    head, first = given[0], template[0]
    if _is_dynamic(head):
        return _best(_match(given[1:], template[k:]) for k in _param_run(template))
    if _PLACEHOLDER.match(head):
        return _match(given[1:], template[1:]) if _is_param(first) else None
    if not _is_param(first):
        rest = _match(given[1:], template[1:]) if head == first else None
        return None if rest is None else rest + 1
    if len(template) == 1 and first in _SLASHY_PARAMS:
        return 0
    return _match(given[1:], template[1:])


def _param_run(template: tuple[str, ...]) -> Iterator[int]:
    """A variable may stand for one or more consecutive parameters (`$REPO` = `{owner}/{repo}`)."""
    for k, segment in enumerate(template, start=1):
        if not _is_param(segment):
            return
        yield k


def _best(scores: Iterator[int | None]) -> int | None:
    found = [score for score in scores if score is not None]
    return max(found) if found else None


def _candidates(method: str, segments: list[str]) -> list[_Endpoint]:
    scored = [
        (score, endpoint)
        for (verb, _path), endpoint in _endpoints().items()
        if verb == method and (score := _match(segments, endpoint.segments)) is not None
    ]
    top = max((score for score, _ in scored), default=None)
    return [endpoint for score, endpoint in scored if score == top]


def _route(method: str, path: str) -> str:
    return f"{method} {path}"


def _grants_analysis(endpoint: _Endpoint, label: str) -> Analysis:
    usable = [grant for grant in endpoint.grants if grant.usable == "yes"]
    if not usable:
        if any(grant.usable == "implicit" for grant in endpoint.grants):
            return Analysis()
        wanted = ", ".join(f"{grant.scope}:{grant.level}" for grant in endpoint.grants)
        return Analysis(unknowns=(Unknown(f"{label} needs {wanted}, which GITHUB_TOKEN cannot be granted"),))
    reason = label
    if len(usable) > 1:
        listed = " or ".join(f"{grant.scope}:{grant.level}" for grant in usable)
        reason += f" (GitHub lists {listed}; all are requested since the target's kind is not known)"
    return Analysis(needs=tuple(_need(grant.scope, grant.level, reason) for grant in usable))


def _need(scope: str, level: str, reason: str) -> Need:
    # Grantable rows only ever carry read or write (admin exists for organization rows alone).
    return Need(scope, cast(Level, level), reason)


def _unknown(reason: str) -> Analysis:
    return Analysis(unknowns=(Unknown(reason),))


def endpoint_needs(method: str, path: str) -> Analysis:
    """Scopes for one REST call; `path` may be a full API URL, contain `{owner}`, `:repo` or `$VARS`."""
    method = "GET" if method.upper() == "HEAD" else method.upper()
    segments = _split_path(path)
    if segments is None:
        return _unknown(f"{method} {path}: not a literal GitHub API URL")
    if segments == ["graphql"]:
        return _unknown(f"{method} {path}: {_GRAPHQL}")
    shown = "/" + "/".join(segments)
    found = _candidates(method, segments)
    if not found:
        return _unknown(f"{_route(method, shown)} is not a repository endpoint in GitHub's permission table")
    if len({endpoint.grants for endpoint in found}) > 1:
        routes = ", ".join(endpoint.path for endpoint in found)
        return _unknown(f"{_route(method, shown)} is ambiguous ({routes})")
    return _grants_analysis(found[0], _route(method, found[0].path))


def octokit_needs(name: str) -> Analysis:
    """Scopes for an Octokit method such as `issues.createComment` (`rest.` prefix allowed)."""
    name = name.removeprefix("rest.")
    endpoint = _octokit_index().get(name)
    if endpoint is None:
        return _unknown(f"Octokit method {name} has no repository route in GitHub's permission table")
    return _grants_analysis(endpoint, f"{name} ({_route(endpoint.method, endpoint.path)})")


# --- gh CLI ---------------------------------------------------------------------------------------

# gh flags that take a value, so the value is not mistaken for a subcommand or an API path.
_GH_VALUE_FLAGS = frozenset({"-R", "--repo", "--hostname"})
_GH_API_VALUE_FLAGS = _names(
    "-X --method -H --header -q --jq -t --template --cache --hostname -p --preview --input "
    "-f --raw-field -F --field"
)
# Any field or request body makes gh default to POST, exactly as `gh api --help` documents.
_GH_API_BODY_FLAGS = frozenset({"-f", "--raw-field", "-F", "--field", "--input"})


def split_options(args: list[str], value_flags: frozenset[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """(flag, value) pairs and positional words of GNU-style options, `-sSX POST` clusters included."""
    options: list[tuple[str, str]] = []
    positionals: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if word.startswith("--"):
            name, has_value, value = word.partition("=")
            if name in value_flags and not has_value and index < len(args):
                value, index = args[index], index + 1
            options.append((name, value))
        elif word.startswith("-") and len(word) > 1:
            index = _short_cluster(word, args, index, value_flags, options)
        else:
            positionals.append(word)
    return options, positionals


def _short_cluster(
    word: str, args: list[str], index: int, value_flags: frozenset[str], options: list[tuple[str, str]]
) -> int:
    """Append the flags of `-abc` (the first value-taking one eats the rest or the next word)."""
    for offset, char in enumerate(word[1:], start=2):
        flag = "-" + char
        if flag not in value_flags:
            options.append((flag, ""))
            continue
        if word[offset:]:
            options.append((flag, word[offset:]))
            return index
        options.append((flag, args[index] if index < len(args) else ""))
        return index + 1
    return index


def _gh_api(args: list[str]) -> Analysis:
    options, positionals = split_options(args, _GH_API_VALUE_FLAGS)
    if not positionals:
        return _unknown("gh api without an endpoint")
    path = positionals[0]
    if path == "graphql":
        return _unknown(f"gh api graphql: {_GRAPHQL}")
    if _is_dynamic(path.strip("/").split("/")[0]):
        return _unknown(f"gh api {path}: the endpoint is not literal")
    methods = [value.upper() for flag, value in options if flag in ("-X", "--method")]
    has_body = any(flag in _GH_API_BODY_FLAGS for flag, _ in options)
    verb = methods[-1] if methods else ("POST" if has_body else "GET")
    return relabel(endpoint_needs(verb, path), "gh api ")


def relabel(analysis: Analysis, prefix: str, step: str | None = None) -> Analysis:
    """Prefix every reason with the call that was made and, given a step, say where it was made."""
    where = f' in step "{step}"' if step is not None else ""
    lead = f'step "{step}": ' if step is not None else ""
    needs = tuple(Need(n.scope, n.level, f"{prefix}{n.reason}{where}") for n in analysis.needs)
    return Analysis(needs, tuple(Unknown(f"{lead}{prefix}{u.reason}") for u in analysis.unknowns))


def _gh_grant(grant: str, label: str) -> Analysis:
    scope, _, level = grant.partition(":")
    if scope not in SCOPES or level not in ("read", "write"):
        return _unknown(f"{label} needs {scope}, which GITHUB_TOKEN cannot be granted")
    return Analysis(needs=(_need(scope, level, label),))


def _gh_table_needs(command: str, entry: _GhCommand, options: list[tuple[str, str]]) -> Analysis:
    if entry.grantable == "no":
        return _unknown(f"{command}: {entry.note}")
    result = Analysis()
    for grant in entry.required:
        result += _gh_grant(grant, command)
    given = {flag for flag, _ in options}
    for grant, flags in entry.optional:
        for flag in sorted(given.intersection(flags)):
            result += _gh_grant(grant, f"{command} {flag}")
    return result


def gh_needs(argv: list[str]) -> Analysis:
    """Scopes for one `gh` invocation, argv[0] being `gh` (or a path to it)."""
    options, positionals = split_options(argv[1:], _GH_VALUE_FLAGS)
    if not positionals:
        return Analysis()
    if positionals[0] == "api":
        return _gh_api(argv[argv.index("api") + 1:])
    names = positionals[:2]
    if len(names) == 2:
        names[1] = _GH_ALIASES.get(names[1], names[1])
    command = " ".join(["gh", *names])
    entry = _gh_commands().get(command)
    if entry is None:
        return _unknown(f"{command} is not in the gh permission table")
    return _gh_table_needs(command, entry, options)


# --- curl / wget --------------------------------------------------------------------------------------


_CURL_BODY = _names("-d --data --data-raw --data-binary --data-ascii --data-urlencode --json -F --form")
_CURL_VALUE_FLAGS = _CURL_BODY | _names("""
    -X --request -H --header --form-string -o --output -u --user -A --user-agent -e --referer --url -T
    --upload-file -w --write-out -m --max-time --connect-timeout --retry --retry-delay --retry-max-time -K
    --config -b --cookie -c --cookie-jar --oauth2-bearer -x --proxy --cacert -E --cert --key -r --range -C
    --continue-at --max-redirs --limit-rate -y -Y -z --resolve
""")
_WGET_VALUE_FLAGS = _names("""
    -O --output-document -o --output-file -a -e -t --tries -T --timeout -U --user-agent -P -i -B --header
    --method --post-data --post-file --body-data --body-file --user --password --http-user --http-password
""")
_CREDENTIAL_FLAGS = _names("-H --header -u --user --oauth2-bearer --password --http-password")


@dataclass(frozen=True)
class HttpCall:
    """What a curl/wget command line requests, and the values it passes as credentials."""

    method: str
    urls: tuple[str, ...]
    credentials: tuple[str, ...]


def _http_method(options: list[tuple[str, str]]) -> str:
    flags = {flag: value for flag, value in options}
    explicit = flags.get("-X") or flags.get("--request") or flags.get("--method")
    if explicit:
        return explicit.upper()
    if "-G" in flags or "--get" in flags:
        return "GET"
    if _CURL_BODY.intersection(flags) or {"--post-data", "--post-file"}.intersection(flags):
        return "POST"
    if "-T" in flags or "--upload-file" in flags:
        return "PUT"
    return "HEAD" if "-I" in flags or "--head" in flags else "GET"


def http_call(argv: list[str]) -> HttpCall:
    """Parse `curl ...` or `wget ...` (argv[0] names which) into method, URLs and credential values."""
    value_flags = _WGET_VALUE_FLAGS if PurePosixPath(argv[0]).name == "wget" else _CURL_VALUE_FLAGS
    options, urls = split_options(argv[1:], value_flags)
    urls += [value for flag, value in options if flag == "--url"]
    credentials = tuple(value for flag, value in options if flag in _CREDENTIAL_FLAGS)
    return HttpCall(_http_method(options), tuple(urls), credentials)
