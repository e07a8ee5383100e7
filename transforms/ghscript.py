"""What an `actions/github-script` script calls on its `github` client (an authenticated Octokit).

The JavaScript is lexed first: comments are dropped and string/template literals are replaced by
placeholders, so a call that is commented out or merely quoted is not counted, while the route
string of `github.request('POST /repos/...')` is still read from the literal it was in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from transforms.apimap import endpoint_needs, octokit_needs, relabel
from transforms.base import Analysis, Unknown

# Some github-script releases also hand the client over as `octokit`.
_CLIENT = r"(?<![\w$.])(?P<client>github|octokit)\s*"
_REST = re.compile(_CLIENT + r"\.\s*rest\s*\.\s*(?P<ns>\w+)\s*\.\s*(?P<method>\w+)")
# Before github-script v5 the REST methods sat on the client itself: `github.issues.createComment`.
_LEGACY = re.compile(_CLIENT + r"\.\s*(?P<ns>\w+)\s*\.\s*(?P<method>\w+)")
_NOT_LEGACY = frozenset({"rest", "graphql", "request", "paginate", "hook", "log", "auth", "plugin"})
_ROUTE_CALL = re.compile(_CLIENT + r"\.\s*(?P<call>request|paginate)\s*\(\s*(?P<arg>\S)")
_GRAPHQL = re.compile(_CLIENT + r"\.\s*graphql\b")
_DYNAMIC = re.compile(_CLIENT + r"(\.\s*rest\s*)?(\.\s*\w+\s*)?\[")
# `octokit` is also the usual name of a client a script builds itself; only `github` is surely ours.
_BARE = re.compile(r"(?<![\w$.])github\b(?!\s*[.\[])")
_LOAD = re.compile(r"(?<![\w$.])(require|__original_require__|import)\s*\(\s*(\S)")
_EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)
_PLACEHOLDER = re.compile(r"\x00(\d+)\x00")
_ROUTE = re.compile(r"^\s*(?:([A-Za-z]+)\s+)?(\S+)\s*$")
# A `/` after one of these (or at the start) opens a regular expression literal, not a division.
_REGEX_BEFORE = frozenset("(,=:[!&|?{};+-*%<>~^")
_REGEX_KEYWORDS = ("return", "typeof", "case", "do", "else", "in", "of", "void", "yield", "await")


@dataclass
class _Lexed:
    """Code with literals replaced by `\\x00n\\x00`; literal n is `strings[n]` (None: has `${}`)."""

    code: list[str] = field(default_factory=list)
    strings: list[str | None] = field(default_factory=list)

    def literal(self, value: str | None) -> None:
        self.code.append(f"\x00{len(self.strings)}\x00")
        self.strings.append(value)


def _string_end(source: str, start: int) -> int:
    """Index just past the quoted literal that starts at `start`."""
    index = start + 1
    while index < len(source) and source[index] != source[start]:
        index += 2 if source[index] == "\\" else 1
    return index + 1


def _template_end(source: str, start: int) -> tuple[int, list[str]]:
    """Index past a template literal, and the source of its `${...}` expressions."""
    index, expressions = start + 1, []
    while index < len(source) and source[index] != "`":
        if source.startswith("${", index):
            depth, begin = 0, index + 2
            while index < len(source) and not (source[index] == "}" and depth == 1):
                depth += {"{": 1, "}": -1}.get(source[index], 0)
                index += 1
            expressions.append(source[begin:index])
        index += 2 if source[index:index + 1] == "\\" else 1
    return index + 1, expressions


def _regex_allowed(code: list[str]) -> bool:
    text = "".join(code[-12:]).rstrip()
    return not text or text[-1] in _REGEX_BEFORE or text.endswith(_REGEX_KEYWORDS)


def _regex_end(source: str, start: int) -> int:
    index, in_class = start + 1, False
    while index < len(source) and source[index] != "\n":
        char = source[index]
        if char == "/" and not in_class:
            break
        in_class = (in_class or char == "[") and char != "]"
        index += 2 if char == "\\" else 1
    index += 1
    while index < len(source) and source[index].isalpha():  # flags
        index += 1
    return index


def _lex(source: str, lexed: _Lexed | None = None) -> _Lexed:
    lexed = lexed or _Lexed()
    index = 0
    while index < len(source):
        char, pair = source[index], source[index:index + 2]
        if pair == "//":
            end = source.find("\n", index)
            index = len(source) if end < 0 else end
        elif pair == "/*":
            end = source.find("*/", index + 2)
            index = len(source) if end < 0 else end + 2
            lexed.code.append(" ")
        elif char in "'\"":
            end = _string_end(source, index)
            lexed.literal(source[index + 1:end - 1])
            index = end
        elif char == "`":
            end, expressions = _template_end(source, index)
            lexed.literal(None if expressions else source[index + 1:end - 1])
            for expression in expressions:  # code inside `${}` still runs
                lexed.code.append(" ")
                _lex(expression, lexed)
            index = end
        elif char == "/" and _regex_allowed(lexed.code):
            end = _regex_end(source, index)
            lexed.literal(source[index:end])
            index = end
        else:
            lexed.code.append(char)
            index += 1
    return lexed


def _unknown(reason: str) -> Analysis:
    return Analysis(unknowns=(Unknown(reason),))


def _literal_at(lexed: _Lexed, code: str, position: int) -> str | None:
    found = _PLACEHOLDER.match(code, position)
    return lexed.strings[int(found[1])] if found else None


def _route_calls(lexed: _Lexed, code: str, step: str) -> Analysis:
    """`github.request('POST /repos/{owner}/{repo}/...')`, also `github.paginate('GET ...')`."""
    result = Analysis()
    for found in _ROUTE_CALL.finditer(code):
        route = _literal_at(lexed, code, found.start("arg"))
        parsed = _ROUTE.match(route) if route is not None else None
        call = f"{found['client']}.{found['call']}"
        if parsed is None:
            if found["call"] == "request":
                result += _unknown(f'step "{step}": {call} with a route that is not a literal string')
            continue  # paginate(github.rest.x.y) is counted as the method reference
        method, path = (parsed[1] or "GET").upper(), parsed[2]
        result += relabel(endpoint_needs(method, path), f"{call} ", step)
    return result


def _methods(code: str, step: str) -> Analysis:
    result = Analysis()
    for found in _REST.finditer(code):
        result += relabel(octokit_needs(f"{found['ns']}.{found['method']}"), f"{found['client']}.rest.", step)
    for found in _LEGACY.finditer(code):
        if found["ns"] not in _NOT_LEGACY:
            result += relabel(octokit_needs(f"{found['ns']}.{found['method']}"), f"{found['client']}.", step)
    return result


def _loads(lexed: _Lexed, code: str, step: str) -> Analysis:
    """A script that loads a local file keeps its real body there, out of our sight."""
    result = Analysis()
    for found in _LOAD.finditer(code):
        target = _literal_at(lexed, code, found.start(2))
        if target is None or target.startswith((".", "/")) or "GITHUB_WORKSPACE" in target:
            shown = target if target is not None else "a computed path"
            result += _unknown(f'step "{step}": {found[1]}({shown}) runs code that is not in the workflow')
    return result


def _opaque(code: str, step: str) -> Analysis:
    result = Analysis()
    if _GRAPHQL.search(code):
        result += _unknown(f'step "{step}": github.graphql: GraphQL permissions are not mapped')
    if _DYNAMIC.search(code):
        result += _unknown(f'step "{step}": the github client is indexed dynamically (github.rest[...])')
    if _BARE.search(code):
        result += _unknown(f'step "{step}": the github client is passed on, so its calls cannot be followed')
    return result


def _dedupe(analysis: Analysis) -> Analysis:
    return Analysis(tuple(dict.fromkeys(analysis.needs)), tuple(dict.fromkeys(analysis.unknowns)))


def analyze_script(script: str, step_name: str) -> Analysis:
    """Needs of one github-script `script:`; anything we cannot follow is an Unknown."""
    # The runner substitutes `${{ }}` before the script runs; `github.event` in there is not the client.
    lexed = _lex(_EXPRESSION.sub("__expr__", script))
    code = "".join(lexed.code)
    found = _methods(code, step_name) + _route_calls(lexed, code, step_name)
    return _dedupe(found + _loads(lexed, code, step_name) + _opaque(code, step_name))
