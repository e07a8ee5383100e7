"""What a `run:` step does with the GITHUB_TOKEN, found by tokenizing the script as a shell would.

`transforms.shellwords` splits the script into simple commands of words (substitutions lifted out
and analysed as scripts of their own, `${{ ... }}` masked). Each command is then judged by its
program: `gh` (only when GH_TOKEN/GITHUB_TOKEN reach it), `git` (persisted checkout credentials,
token or not), `curl`/`wget` with the token in a header, programs known to ignore the token, and
everything else, which is an Unknown when given the token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from transforms.apimap import endpoint_needs, gh_needs, http_call, relabel, split_options
from transforms.base import Analysis, Level, Need, Unknown
from transforms.shellwords import drop_heredocs, mask, prepare, split, words

_TOKEN_EXPR = re.compile(
    r"\$\{\{[^}]*\b(github\.token|secrets\s*(\.\s*github_token\b|\[\s*['\"]github_token['\"]\s*\]))",
    re.IGNORECASE,
)
_ASSIGNMENT = re.compile(r"^([A-Za-z_]\w*)\+?=(.*)$", re.DOTALL)
_POSIX_SHELLS = frozenset({"bash", "sh", "dash", "zsh", "ksh", "ash"})
_GH_TOKEN_VARS = frozenset({"GH_TOKEN", "GITHUB_TOKEN"})


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_KEYWORDS = _names("! { } if then else elif do while until fi done esac")
_HEADERS = frozenset({"for", "select", "function"})  # the rest of such a command is not a program call
# Programs that never read GITHUB_TOKEN from their environment (they may still leak an argument).
_IGNORE_TOKEN = _names("""
    : [ [[ awk base64 basename cat cd chmod chown cmp cp cut date diff dirname echo egrep exit false fgrep
    find gawk grep gunzip gzip head jq ln ls md5sum mkdir mv popd printf pushd pwd read readlink realpath
    return rm rmdir sed set sha1sum sha256sum sha512sum shasum shift shopt sleep sort tail tar tee test
    touch tr trap true type uniq unzip wait wc which xz yq zip
""")

_INSPECTORS = frozenset({"test", "[", "[[", ":"})  # looking at the token is not passing it on
_DECLARE = frozenset({"export", "declare", "typeset", "local", "readonly"})
# Wrappers run the rest of their arguments as a command: value-taking flags, positional args to skip.
_WRAPPERS: dict[str, tuple[frozenset[str], int]] = {
    name: (_names(flags), skip)
    for name, flags, skip in (
        ("sudo", "-u -g -C -D -p -r -t -U -h", 0),
        ("env", "-u -C -S --unset --chdir --split-string", 0),
        ("xargs", "-I -i -n -P -d -L -s -E -a --replace", 0),
        ("timeout", "-s -k --signal --kill-after", 1),
        ("nice", "-n --adjustment", 0),
        ("stdbuf", "-i -o -e", 0),
        ("time", "-f -o", 0),
        ("exec", "-a", 0),
        ("nohup", "", 0),
        ("command", "", 0),
    )
}
_GIT_VALUE_FLAGS = _names("-C -c --git-dir --work-tree --namespace --exec-path")
_GIT_SCOPES: dict[str, Level] = {
    "push": "write", "fetch": "read", "pull": "read", "clone": "read", "ls-remote": "read",
}
_GIT_WORDS = re.compile(r"\bgit[\"',\s]+(push|fetch|pull|clone|ls-remote)\b")


@dataclass
class _State:
    """Which variables hold the token as the script runs, and how to print what we found."""

    step: str
    env: set[str]  # exported: every program started from here inherits them
    shell: set[str]  # token-holding shell variables, exported or not
    originals: dict[str, str] = field(default_factory=dict)

    def fork(self) -> _State:
        return replace(self, env=set(self.env), shell=set(self.shell))


# --- commands -----------------------------------------------------------------------------------------


def _refs_token(word: str, state: _State) -> bool:
    if _TOKEN_EXPR.search(word):
        return True
    return any(re.search(rf"\$\{{?{re.escape(name)}\b", word) for name in state.shell)


def _unknown(state: _State, reason: str) -> Analysis:
    return Analysis(unknowns=(Unknown(f'step "{state.step}": {reason}'),))


def _shown(words: list[str]) -> str:
    text = " ".join(words)
    return text if len(text) <= 80 else text[:77] + "..."


def _assignments(words: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """`NAME=value` prefixes and the words after them."""
    pairs: list[tuple[str, str]] = []
    while words and (found := _ASSIGNMENT.match(words[0])):
        pairs.append((found[1], found[2]))
        words = words[1:]
    return pairs, words


def _assign(words: list[str], state: _State, env: set[str]) -> list[str]:
    """Consume `NAME=value` prefixes, updating `env` (the names that hold the token for this command)."""
    pairs, rest = _assignments(words)
    for name, value in pairs:
        (env.add if _refs_token(value, state) else env.discard)(name)
    return rest


def _set_variables(pairs: list[tuple[str, str]], state: _State) -> None:
    """Bare `NAME=value`: a shell variable for later commands, still exported if it already was."""
    for name, value in pairs:
        if _refs_token(value, state):
            state.shell.add(name)
        else:
            state.shell.discard(name)
            state.env.discard(name)


def _declare(words: list[str], state: _State) -> None:
    exported = words[0] == "export" or "-x" in words
    for word in words[1:]:
        name, has_value, value = word.partition("=")
        if has_value:
            (state.shell.add if _refs_token(value, state) else state.shell.discard)(name)
        if exported and name in state.shell:
            state.env.add(name)


def _unwrap(words: list[str], state: _State, env: set[str]) -> list[str]:
    while words and PurePosixPath(words[0]).name in _WRAPPERS:
        value_flags, skip = _WRAPPERS[PurePosixPath(words[0]).name]
        index = 1
        while index < len(words) and words[index].startswith("-"):
            index += 2 if words[index] in value_flags else 1
        words = _assign(words[index + skip:], state, env)
    return words


def _http(words: list[str], state: _State, env: set[str]) -> Analysis:
    """curl/wget read no token from the environment: only a credential on the command line counts."""
    call = http_call(words)
    if not any(_refs_token(value, state) for value in call.credentials):
        return Analysis()
    result = Analysis()
    for url in call.urls:
        result += relabel(endpoint_needs(call.method, url), PurePosixPath(words[0]).name + " ", state.step)
    return result


def _git(words: list[str], state: _State, env: set[str]) -> Analysis:
    """The checkout persists credentials for git, so git talks to GitHub whether or not env has a token."""
    _, positionals = split_options(words[1:], _GIT_VALUE_FLAGS)
    level = _GIT_SCOPES.get(positionals[0]) if positionals else None
    if level is None:
        return Analysis()
    return Analysis(needs=(Need("contents", level, f'git {positionals[0]} in step "{state.step}"'),))


def _gh(words: list[str], state: _State, env: set[str]) -> Analysis:
    if not env & _GH_TOKEN_VARS:
        return Analysis()  # gh without a token fails before calling the API: nothing to grant
    return relabel(gh_needs(words), "", state.step)


def _shell(words: list[str], state: _State, env: set[str]) -> Analysis:
    if "-c" in words[:-1]:
        inner = state.fork()
        inner.env = env
        return _analyze_bash(words[words.index("-c") + 1], inner)
    return _other(words, state, env)


def _other(words: list[str], state: _State, env: set[str]) -> Analysis:
    program = PurePosixPath(words[0]).name
    in_args = any(_refs_token(word, state) for word in words[1:])
    if program in _IGNORE_TOKEN:
        if in_args and program not in _INSPECTORS:
            return _unknown(state, f"'{program}' passes the token on ({_shown(words)})")
        return Analysis()
    if not env and not in_args:
        return Analysis()
    via = sorted(env)[0] if env else "the token in its arguments"
    return _unknown(state, f"program '{program}' is given {via} and cannot be mapped ({_shown(words)})")


# NODE_AUTH_TOKEN is what the .npmrc of actions/setup-node reads; holding the GITHUB_TOKEN, it can only be
# GitHub Packages' credential. Only these subcommands: others (`npm run x`) run scripts we cannot see.
_NODE_TOKEN = frozenset({"NODE_AUTH_TOKEN"})
_PACKAGE_SCOPES: dict[str, Level] = {"publish": "write", "install": "read", "i": "read", "ci": "read", "add": "read"}


def _package_manager(words: list[str], state: _State, env: set[str]) -> Analysis:
    """npm/yarn/pnpm given the GITHUB_TOKEN as NODE_AUTH_TOKEN: GitHub Packages reads or writes."""
    sub = next((w for w in words[1:] if not w.startswith("-")), "install" if words[0] == "yarn" else "")
    level = _PACKAGE_SCOPES.get(sub)
    if env != _NODE_TOKEN or level is None or any(_refs_token(w, state) for w in words[1:]):
        return _other(words, state, env)
    return Analysis(needs=(Need("packages", level, f'{words[0]} {sub} with NODE_AUTH_TOKEN (GitHub Packages) in '
                                                   f'step "{state.step}"'),))


_HANDLERS = {"gh": _gh, "git": _git, "curl": _http, "wget": _http, **{s: _shell for s in _POSIX_SHELLS},
             **{pm: _package_manager for pm in ("npm", "yarn", "pnpm")}}


def _command(words: list[str], state: _State) -> Analysis:
    while words and words[0] in _KEYWORDS:
        words = words[1:]
    if not words or words[0] in _HEADERS or words[0] == "case":
        return Analysis()
    pairs, rest = _assignments(words)
    if not rest:
        _set_variables(pairs, state)
        return Analysis()
    env = set(state.env)
    rest = _unwrap(_assign(words, state, env), state, env)
    if not rest:
        return Analysis()
    program = PurePosixPath(rest[0]).name
    if program in _DECLARE:
        _declare(rest, state)
        return Analysis()
    if program == "unset":
        state.env -= set(rest[1:])
        state.shell -= set(rest[1:])
        return Analysis()
    return _HANDLERS.get(program, _other)(rest, state, env)


def _analyze_bash(script: str, state: _State) -> Analysis:
    masked = mask(script, state.originals)
    text, inner = prepare(drop_heredocs(masked), state.originals)
    result = Analysis()
    for body in inner:  # substitutions run before the command that uses their output
        result += _analyze_bash(body, state.fork())
    for command in split(words(text, state.originals)):
        result += _command(command, state)
    return result


def _analyze_other_shell(script: str, shell: str, token_vars: frozenset[str], step: str) -> Analysis:
    if token_vars or _TOKEN_EXPR.search(script):
        return Analysis(unknowns=(Unknown(f'step "{step}": a {shell} script is given the GITHUB_TOKEN'),))
    # The checkout's persisted credentials serve git in any shell; match its common spellings.
    needs = tuple(
        Need("contents", _GIT_SCOPES[verb], f'git {verb} in step "{step}"')
        for verb in dict.fromkeys(_GIT_WORDS.findall(script))
    )
    return Analysis(needs=needs)


_INLINE_TOKEN = re.compile(r"github\.token|secrets\.github_token", re.I)


def analyze_run(script: str, shell: str | None, token_vars: frozenset[str], step_name: str) -> Analysis:
    """Needs of one `run:` step; `token_vars` are the env names holding the GITHUB_TOKEN in this step."""
    # `shell:` may be a template such as `bash -e {0}`; None means the Linux default, bash.
    if not token_vars and "git" not in script and not _INLINE_TOKEN.search(script):
        # Without the token nothing but git's persisted credentials can reach GitHub: skip the parse.
        return Analysis()
    program = PurePosixPath(((shell or "").split() or ["bash"])[0]).name
    if program not in _POSIX_SHELLS:
        return _analyze_other_shell(script, program, token_vars, step_name)
    found = _analyze_bash(script, _State(step_name, set(token_vars), set(token_vars)))
    return Analysis(tuple(dict.fromkeys(found.needs)), tuple(dict.fromkeys(found.unknowns)))
