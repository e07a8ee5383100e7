"""The action knowledge base: which GITHUB_TOKEN scopes a job needs when a step `uses:` an action.

The data lives in `transforms/data/actions.yml` (one entry per action slug); this module loads and
validates it once and evaluates an entry against a step's `with:` inputs.

Token model. An action *receives the GITHUB_TOKEN* through one of its `token_inputs` when that input
is absent and defaults to `github.token` (`default`), or when the step passes `github.token` /
`secrets.GITHUB_TOKEN` to it, or through `token_env` when the step's environment carries the token.
Any other value (a PAT, an app token from a previous step) means that input does not use the
GITHUB_TOKEN, so the entry's token-bound `permissions` drop. Rules are conditional needs evaluated on
`with:` values; they hold whether or not the token is received unless they say `token:`.
`aws_credentials` is not about the token: it tells oidc-aws whether AWS keys from the environment reach
the action's AWS client with their session token (`chain`) or not (`key-pair: <how it drops it>`).

Conditions: `present`/`absent` look at which inputs the step sets (structural: an expression-valued
input counts as present); `equals` (case-insensitive) and `matches` (regex) look at values, and a
value containing `${{ ... }}` makes them "maybe", which counts as true with "may" in the reason,
because we never drop a need we cannot rule out. Inputs the step omits take the entry's `defaults`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from transforms.base import SCOPES, Analysis, Need, Unknown
from transforms.yamldoc import load_nodes

DATA_FILE = Path(__file__).with_name("data") / "actions.yml"

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

_EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_GITHUB_TOKEN_REF = re.compile(r"\bgithub\s*\.\s*token\b|\bsecrets\s*\.\s*github_token\b", re.IGNORECASE)
# Root contexts of an expression (`steps` in `steps.app.outputs.token`), not property names.
_CONTEXT_ROOT = re.compile(r"(?<![.\w-])([A-Za-z_][\w-]*)\s*(?=[.\[])")
# Contexts whose values are never the GITHUB_TOKEN: a value built only from these is "some other token".
_NOT_TOKEN_CONTEXTS = frozenset({"secrets", "steps", "needs", "vars", "env"})


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


# ---------------------------------------------------------------------------------------------
# Loading and validation


def _fail(slug: str, message: str) -> KnowledgeBaseError:
    return KnowledgeBaseError(f"{DATA_FILE.name}: entry {slug!r}: {message}")


def _text(value: Any) -> str:
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
        matches = {k.lower(): re.compile(_text(v)) for k, v in raw.get("matches", {}).items()}
    except re.error as exc:
        raise _fail(slug, f"{where}.matches: bad regex: {exc}") from exc
    token = raw.get("token", False)
    if not isinstance(token, bool):
        token = _names(slug, f"{where}.token", token)
    return Condition(
        present=_names(slug, f"{where}.present", raw.get("present", [])),
        absent=_names(slug, f"{where}.absent", raw.get("absent", [])),
        equals={k.lower(): _text(v) for k, v in raw.get("equals", {}).items()} or None,
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
        defaults={str(k).lower(): _text(v) for k, v in raw.get("defaults", {}).items()},
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
        raise KnowledgeBaseError(f"{DATA_FILE.name}: top level must be a mapping of action slug to entry")
    return {str(slug): parse_entry(str(slug), raw) for slug, raw in data.items()}


@cache
def entries() -> Mapping[str, Entry]:
    """All entries, loaded and validated once."""
    return parse_kb(load_nodes(DATA_FILE.read_text(encoding="utf-8"))[1])


def lookup(uses: str) -> Entry | None:
    """The entry for `owner/repo[/path]` (no `@ref`), case-insensitive.

    A sub-path falls back to its owner/repo entry only when that entry says `subpaths: inherit`:
    other repositories ship unrelated actions under sub-paths (github/codeql-action/*).
    """
    slug = uses.split("@", 1)[0].strip().strip("/").lower()
    kb = entries()
    if slug in kb:
        return kb[slug]
    parts = slug.split("/")
    if len(parts) > 2:
        parent = kb.get("/".join(parts[:2]))
        if parent is not None and parent.subpaths == "inherit":
            return parent
    return None


# ---------------------------------------------------------------------------------------------
# Evaluation


def gives_github_token(value: str, token_in_env: bool) -> bool | None:
    """Whether an input value carries the GITHUB_TOKEN: True, False, or None for "maybe".

    `env.X` counts as the token when the step's environment carries it; an expression over
    other contexts (inputs, matrix, github.event) may evaluate to the token, so it is "maybe".
    """
    if _GITHUB_TOKEN_REF.search(value):
        return True
    roots = {root.lower() for expr in _EXPR.findall(value) for root in _CONTEXT_ROOT.findall(expr)}
    if "env" in roots and token_in_env:
        return True
    return False if roots <= _NOT_TOKEN_CONTEXTS else None


def _token_inputs_used(entry: Entry, given: Mapping[str, str], token_in_env: bool) -> dict[str, bool]:
    """Token inputs through which the action receives the GITHUB_TOKEN -> whether that is certain."""
    used: dict[str, bool] = {}
    for name, mode in entry.token_inputs.items():
        if name not in given:
            if mode == "default":
                used[name] = True
            continue
        gives = gives_github_token(given[name], token_in_env)
        if gives is not False:
            used[name] = gives is True
    return used


def _value_holds(test: str | re.Pattern[str], value: str) -> bool:
    if isinstance(test, str):
        return value.strip().lower() == test.lower()
    return test.search(value) is not None


def _values_hold(cond: Condition, values: Mapping[str, str]) -> tuple[bool, list[str]]:
    """`equals`/`matches`: (holds, names of expression-valued inputs that made it a "maybe")."""
    maybe: list[str] = []
    tests: list[tuple[str, str | re.Pattern[str]]] = [*(cond.equals or {}).items()]
    tests += (cond.matches or {}).items()
    for name, test in tests:
        value = values.get(name)
        if value is not None and _EXPR.search(value):
            maybe.append(name)
        elif value is None or not _value_holds(test, value):
            return False, []
    return True, maybe


def _structure_holds(cond: Condition, given: Mapping[str, str], token_via: set[str], token_env: bool) -> bool:
    """`present`/`absent`/`token`: decided by what the step sets, never "maybe"."""
    if any(not given.get(n, "").strip() for n in cond.present):
        return False
    if any(given.get(n, "").strip() for n in cond.absent):
        return False
    if cond.token is True:
        return bool(token_via) or token_env
    if isinstance(cond.token, tuple):
        return bool(token_via & set(cond.token))
    return True


def _needs(scopes: Mapping[str, str], reason: str) -> tuple[Need, ...]:
    return tuple(Need(scope, level, reason) for scope, level in scopes.items())  # type: ignore[arg-type]


def _rule_reason(slug: str, rule: Rule, maybe: list[str]) -> str:
    if not maybe:
        return f"uses {slug}: {rule.reason}"
    return f"uses {slug}: may need it: {rule.reason} ({', '.join(maybe)} is an expression)"


def _token_reason(slug: str, used: Mapping[str, bool], token_env: bool) -> str:
    if token_env or any(used.values()):
        return f"uses {slug}"
    return f"uses {slug}: may receive the GITHUB_TOKEN ({', '.join(sorted(used))} is an expression)"


def analyze_entry(entry: Entry, with_: Mapping[str, str], token_in_env: bool) -> Analysis:
    """Needs of one step using a known action."""
    given = {str(k).lower(): _text(v) for k, v in with_.items()}
    values = {**entry.defaults, **given}
    used = _token_inputs_used(entry, given, token_in_env)
    token_env = token_in_env and bool(entry.token_env)
    needs: tuple[Need, ...] = ()
    if (used or token_env) and not entry.script:
        needs += _needs(entry.permissions, _token_reason(entry.slug, used, token_env))
    for rule in entry.rules:
        if not _structure_holds(rule.when, given, set(used), token_env):
            continue
        holds, maybe = _values_hold(rule.when, values)
        if holds:
            needs += _needs(rule.permissions, _rule_reason(entry.slug, rule, maybe))
    return Analysis(needs=needs)


def _explicit_token(with_: Mapping[str, str], token_in_env: bool) -> bool:
    return token_in_env or any(gives_github_token(_text(v), token_in_env) for v in with_.values())


def unlisted_action(slug: str, with_: Mapping[str, str], token_in_env: bool) -> Analysis:
    """The one place that decides what an action missing from the KB means.

    Actions verified never to read the token are KB entries marked `no_token`, so nothing is
    exempt here: any unlisted action may read `github.token` through an input default, and the job
    must be left alone. Revisit here to trust wider groups of actions.
    """
    if _explicit_token(with_, token_in_env):
        reason = f"step uses {slug}, which is given the GITHUB_TOKEN and is not in the knowledge base"
    else:
        reason = (f"step uses {slug}, which is not in the knowledge base; it may read github.token "
                  "through a default input")
    return Analysis(unknowns=(Unknown(reason),))


def _docker_image(uses: str, with_: Mapping[str, str], token_in_env: bool) -> Analysis:
    # An image only sees the token if the step hands it over; what it then does is unknowable.
    if not _explicit_token(with_, token_in_env):
        return Analysis()
    return Analysis(unknowns=(Unknown(f"step runs {uses.split('@', 1)[0]} and gives it the GITHUB_TOKEN"),))


def analyze_action(uses: str, with_: Mapping[str, str], token_in_env: bool) -> Analysis:
    """Token scopes a step `uses: <uses>` needs, given its `with:` inputs.

    `token_in_env`: the step's effective env (step, job or workflow) carries the GITHUB_TOKEN.
    Local actions (`./...`) are analysed by the caller; `docker://` images get the token only via
    env and have no entry, so they need nothing here.
    """
    target = uses.strip()
    if target.startswith("./"):
        return Analysis()
    if target.startswith("docker://"):
        return _docker_image(target, with_, token_in_env)
    entry = lookup(target)
    if entry is None:
        return unlisted_action(target.split("@", 1)[0].lower(), with_, token_in_env)
    return analyze_entry(entry, with_, token_in_env)
