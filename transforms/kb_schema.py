"""The schema of the action knowledge base (`transforms/data/actions.yml`): entries, rules, conditions.

`parse_kb` turns the parsed data file into typed entries and refuses anything off-schema with the
entry and key named, so a typo in the data never silently drops a need. `transforms.kb` loads the
file and evaluates entries; its module docstring describes the token model the fields express.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from transforms.base import SCOPES

DATA_FILE_NAME = "actions.yml"

ENTRY_KEYS = frozenset(
    {"source", "token_inputs", "token_env", "permissions", "rules", "no_token", "script", "subpaths",
     "defaults", "notes", "aws_credentials"}
)
RULE_KEYS = frozenset({"when", "permissions", "reason"})
CONDITION_KEYS = frozenset({"present", "absent", "equals", "matches", "token"})
TOKEN_INPUT_MODES = frozenset({"default", "explicit"})
# id-token and models only accept one non-none value (facts §10); the rest take read or write.
SCOPE_LEVELS: Mapping[str, frozenset[str]] = {
    scope: frozenset({"write"}) if scope == "id-token"
    else frozenset({"read"}) if scope in ("models", "vulnerability-alerts")
    else frozenset({"read", "write"})
    for scope in SCOPES
}

class KnowledgeBaseError(ValueError):
    """The data file breaks the schema; the message names the entry and the offending key."""


@dataclass(frozen=True)
class Condition:
    present: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    equals: Mapping[str, str] | None = None
    matches: Mapping[str, re.Pattern[str]] | None = None
    # True: the action receives the token at all; a tuple: through one of these inputs.
    token: bool | tuple[str, ...] = False


@dataclass(frozen=True)
class Rule:
    when: Condition
    permissions: Mapping[str, str]
    reason: str


@dataclass(frozen=True)
class Entry:
    slug: str
    source: str
    token_inputs: Mapping[str, str]  # lowercase input name -> 'default' | 'explicit'
    token_env: tuple[str, ...]
    permissions: Mapping[str, str]  # needed whenever the action receives the GITHUB_TOKEN
    rules: tuple[Rule, ...]
    no_token: bool  # verified: never reads the GITHUB_TOKEN
    script: bool  # needs depend on a script analysed elsewhere (actions/github-script)
    subpaths: str | None  # 'inherit': owner/repo/<any path> falls back to this entry
    defaults: Mapping[str, str]  # action.yml defaults that rules depend on
    notes: str = ""
    aws_credentials: str | None = None  # "chain" | "key-pair: <how>", see the module docstring


def _fail(slug: str, message: str) -> KnowledgeBaseError:
    return KnowledgeBaseError(f"{DATA_FILE_NAME}: entry {slug!r}: {message}")


def input_text(value: Any) -> str:
    # YAML turns `true` into a bool; inputs always reach the action as strings.
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _names(slug: str, where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(slug, f"{where} must be a list of input names")
    return tuple(v.lower() for v in value)


def _permissions(slug: str, where: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _fail(slug, f"{where} must be a mapping of scope to level")
    for scope, level in value.items():
        if scope not in SCOPE_LEVELS:
            raise _fail(slug, f"{where}: unknown scope {scope!r} (allowed: {', '.join(SCOPES)})")
        if level not in SCOPE_LEVELS[scope]:
            allowed = "/".join(sorted(SCOPE_LEVELS[scope]))
            raise _fail(slug, f"{where}: scope {scope!r} has level {level!r}; allowed: {allowed}")
    return dict(value)


def _condition(slug: str, where: str, raw: Any) -> Condition:
    if raw is None:
        return Condition()
    if not isinstance(raw, dict):
        raise _fail(slug, f"{where} must be a mapping")
    unknown = set(raw) - CONDITION_KEYS
    if unknown:
        raise _fail(slug, f"{where}: unknown condition {sorted(unknown)} (allowed: {sorted(CONDITION_KEYS)})")
    for key in ("equals", "matches"):
        if key in raw and not isinstance(raw[key], dict):
            raise _fail(slug, f"{where}.{key} must be a mapping of input to value")
    try:
        matches = {k.lower(): re.compile(input_text(v)) for k, v in raw.get("matches", {}).items()}
    except re.error as exc:
        raise _fail(slug, f"{where}.matches: bad regex: {exc}") from exc
    token = raw.get("token", False)
    if not isinstance(token, bool):
        token = _names(slug, f"{where}.token", token)
    return Condition(
        present=_names(slug, f"{where}.present", raw.get("present", [])),
        absent=_names(slug, f"{where}.absent", raw.get("absent", [])),
        equals={k.lower(): input_text(v) for k, v in raw.get("equals", {}).items()} or None,
        matches=matches or None,
        token=token,
    )


def _rule(slug: str, index: int, raw: Any) -> Rule:
    where = f"rules[{index}]"
    if not isinstance(raw, dict):
        raise _fail(slug, f"{where} must be a mapping")
    unknown = set(raw) - RULE_KEYS
    if unknown:
        raise _fail(slug, f"{where}: unknown key {sorted(unknown)} (allowed: {sorted(RULE_KEYS)})")
    if not isinstance(raw.get("reason"), str) or not raw["reason"]:
        raise _fail(slug, f"{where}: 'reason' is required")
    if not raw.get("permissions"):
        raise _fail(slug, f"{where}: 'permissions' is required")
    return Rule(
        when=_condition(slug, f"{where}.when", raw.get("when")),
        permissions=_permissions(slug, f"{where}.permissions", raw["permissions"]),
        reason=raw["reason"],
    )


def _token_inputs(slug: str, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise _fail(slug, "token_inputs must be a mapping of input to 'default' or 'explicit'")
    for name, mode in raw.items():
        if mode not in TOKEN_INPUT_MODES:
            raise _fail(slug, f"token_inputs.{name}: {mode!r} is not 'default' or 'explicit'")
    return {str(k).lower(): v for k, v in raw.items()}


def parse_entry(slug: str, raw: Any) -> Entry:
    """Validate one entry of the data file; raise KnowledgeBaseError naming it on any problem."""
    if not re.fullmatch(r"[a-z0-9_.-]+/[a-z0-9_.-]+(/[a-z0-9_.-]+)*", slug):
        raise _fail(slug, "slug must be lowercase owner/repo[/path]")
    if not isinstance(raw, dict):
        raise _fail(slug, "must be a mapping")
    unknown = set(raw) - ENTRY_KEYS
    if unknown:
        raise _fail(slug, f"unknown key {sorted(unknown)} (allowed: {sorted(ENTRY_KEYS)})")
    if not isinstance(raw.get("source"), str) or not raw["source"].strip():
        raise _fail(slug, "'source' is required")
    if raw.get("subpaths") not in (None, "inherit"):
        raise _fail(slug, "subpaths must be 'inherit'")
    aws = raw.get("aws_credentials")
    if aws is not None and aws != "chain" and not (isinstance(aws, str) and re.match(r"key-pair: \S", aws)):
        raise _fail(slug, "aws_credentials must be 'chain' or 'key-pair: <how the session token is lost>'")
    for flag in ("no_token", "script"):
        if not isinstance(raw.get(flag, False), bool):
            raise _fail(slug, f"{flag} must be true or false")
    if not isinstance(raw.get("rules", []), list):
        raise _fail(slug, "rules must be a list")
    if not isinstance(raw.get("defaults", {}), dict):
        raise _fail(slug, "defaults must be a mapping of input to value")
    entry = Entry(
        slug=slug,
        source=raw["source"].strip(),
        token_inputs=_token_inputs(slug, raw.get("token_inputs", {})),
        token_env=tuple(v.upper() for v in _names(slug, "token_env", raw.get("token_env", []))),
        permissions=_permissions(slug, "permissions", raw.get("permissions", {})),
        rules=tuple(_rule(slug, i, r) for i, r in enumerate(raw.get("rules", []))),
        no_token=raw.get("no_token", False),
        script=raw.get("script", False),
        subpaths=raw.get("subpaths"),
        defaults={str(k).lower(): input_text(v) for k, v in raw.get("defaults", {}).items()},
        notes=str(raw.get("notes", "")),
        aws_credentials=aws,
    )
    _check_consistent(entry)
    return entry


def _check_consistent(entry: Entry) -> None:
    # A verified token-free action cannot also claim token inputs or token-bound scopes.
    if entry.no_token and (entry.token_inputs or entry.token_env or entry.permissions):
        raise _fail(entry.slug, "no_token entries cannot have token_inputs, token_env or permissions")
    if entry.script and (entry.permissions or entry.rules):
        raise _fail(entry.slug, "script entries carry no permissions: their needs come from the script")
    for i, rule in enumerate(entry.rules):
        token = rule.when.token
        if isinstance(token, tuple) and set(token) - set(entry.token_inputs):
            raise _fail(entry.slug, f"rules[{i}].when.token names inputs not in token_inputs")


def parse_kb(data: Any) -> dict[str, Entry]:
    """Validate the whole data file (already parsed YAML) into entries keyed by slug."""
    if not isinstance(data, dict):
        raise KnowledgeBaseError(f"{DATA_FILE_NAME}: top level must be a mapping of action slug to entry")
    return {str(slug): parse_entry(str(slug), raw) for slug, raw in data.items()}
