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
from functools import cache
from pathlib import Path

from transforms.base import Analysis, Need, Unknown
from transforms.kb_schema import DATA_FILE_NAME, Condition, Entry, Rule, input_text, parse_kb
from transforms.yamldoc import load_nodes

DATA_FILE = Path(__file__).with_name("data") / DATA_FILE_NAME

_EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_GITHUB_TOKEN_REF = re.compile(r"\bgithub\s*\.\s*token\b|\bsecrets\s*\.\s*github_token\b", re.IGNORECASE)
# Root contexts of an expression (`steps` in `steps.app.outputs.token`), not property names.
_CONTEXT_ROOT = re.compile(r"(?<![.\w-])([A-Za-z_][\w-]*)\s*(?=[.\[])")
# Contexts whose values are never the GITHUB_TOKEN: a value built only from these is "some other token".
_NOT_TOKEN_CONTEXTS = frozenset({"secrets", "steps", "needs", "vars", "env"})


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
    given = {str(k).lower(): input_text(v) for k, v in with_.items()}
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
    return token_in_env or any(gives_github_token(input_text(v), token_in_env) for v in with_.values())


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
