"""A shell script as a shell would split it: simple commands of words.

A quote-aware pass drops comments, line continuations and heredoc bodies and lifts `$(...)`,
`<(...)` and backtick substitutions out (their bodies are analysed as scripts of their own); the rest
is split with `shlex` (quotes, `;`, `&&`, `||`, `|`, newlines), or by an equivalent regex scan in
the common case. GitHub expressions `${{ ... }}` are masked first: the runner substitutes them
before the shell ever runs. Masked and lifted text is kept in `originals` and put back in the words.
"""

from __future__ import annotations

import re
import shlex

_EXPR = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)
_HEREDOC = re.compile(r"(?<!<)<<(-?)\s*\\?([\"']?)([A-Za-z_][\w.-]*)\2")
PUNCTUATION = frozenset("();<>|&\n")



def mask(text: str, originals: dict[str, str]) -> str:
    """Hide `${{ ... }}` (spaces, quotes and all) behind a word the tokenizer keeps whole."""

    def substitute(found: re.Match[str]) -> str:
        key = f"__ztbotexpr{len(originals)}__"
        originals[key] = found[0]
        return key

    return _EXPR.sub(substitute, text)


def drop_heredocs(text: str) -> str:
    """Heredoc bodies are data for the command, never commands themselves."""
    kept: list[str] = []
    pending: list[tuple[bool, str]] = []
    for line in text.split("\n"):
        if pending:
            strip_tabs, word = pending[0]
            if (line.lstrip("\t") if strip_tabs else line) == word:
                pending.pop(0)
            continue
        kept.append(line)
        pending = [(dash == "-", word) for dash, _, word in _HEREDOC.findall(line)]
    return "\n".join(kept)


def _closing_paren(text: str, start: int) -> int:
    """Index of the `)` that balances the `(` at text[start], skipping quoted text."""
    depth, quote = 0, ""
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "()":
            depth += 1 if char == "(" else -1
            if depth == 0:
                return index
    return len(text)


def _at_word_start(out: list[str]) -> bool:
    return not out or out[-1][-1] in " \t\n;&|()"


def _substitution(text: str, index: int, originals: dict[str, str], inner: list[str]) -> tuple[str, int]:
    """Replace `$(...)`, `<(...)` or a backtick substitution by a placeholder; keep its body."""
    if text[index] == "`":
        end = text.find("`", index + 1)
        end = len(text) if end < 0 else end
        body = text[index + 1:end]
    else:
        end = _closing_paren(text, index + 1)
        body = text[index + 2:end]
    if text.startswith("$((", index):  # arithmetic, not a command
        return "0", end + 1
    inner.append(body)
    key = f"__ztbotsub{len(originals)}__"
    originals[key] = text[index:end + 1]
    return key, end + 1


# Runs of characters that `prepare` copies unchanged: none of them opens or closes anything.
_PLAIN_RUN = re.compile(r"[^'\"\\`$<>#]+")
_SINGLE_QUOTED_RUN = re.compile(r"[^']+")


def prepare(text: str, originals: dict[str, str]) -> tuple[str, list[str]]:
    """Drop comments and `\\` continuations and lift substitutions out of the script text."""
    out: list[str] = []
    inner: list[str] = []
    quote, index = "", 0
    while index < len(text):
        # Copy ordinary text a run at a time (the character loop below would append it one by one).
        run = (_SINGLE_QUOTED_RUN if quote == "'" else _PLAIN_RUN).match(text, index)
        if run:
            out.append(run[0])
            index = run.end()
            continue
        char, pair = text[index], text[index:index + 2]
        if quote == "'":
            quote = "" if char == "'" else quote
            out.append(char)
            index += 1
        elif pair == "\\\n":
            index += 2
        elif char == "\\":
            out.append(pair)
            index += 2
        elif char == "`" or pair == "$(" or (not quote and pair in ("<(", ">(")):
            piece, index = _substitution(text, index, originals, inner)
            out.append(piece)
        elif not quote and char == "#" and _at_word_start(out):
            index = text.find("\n", index) if "\n" in text[index:] else len(text)
        else:
            if char in "'\"" and quote in ("", char):
                quote = "" if quote else char
            out.append(char)
            index += 1
    return "".join(out), inner


_LIFTED = re.compile(r"__ztbot\w+?\d+__")


def _restore(word: str, originals: dict[str, str]) -> str:
    if "__ztbot" not in word:  # the common case: no lifted substitution in this word
        return word
    for key in _LIFTED.findall(word):
        word = word.replace(key, originals.get(key, key))
    return word


# What shlex (as set up in `words`) makes of text without backslashes and with balanced quotes:
# runs of punctuation, and words of bare text and whole '...' / "..." parts, quotes removed.
_LEX_TOKEN = re.compile(r"""[();<>|&\n]+|(?:[^ \t\r();<>|&\n'"]+|'[^']*'|"[^"]*")+""")
_QUOTED = re.compile(r"'([^']*)'" + r'|"([^"]*)"')
_BLANKS = " \t\r"


def fast_words(text: str) -> list[str] | None:
    """shlex's tokens for the common case by a regex scan instead of its character loop; None otherwise."""
    if "\\" in text:
        return None
    tokens: list[str] = []
    end = 0
    for token in _LEX_TOKEN.finditer(text):
        if text[end:token.start()].strip(_BLANKS):  # skipped over an unclosed quote: shlex decides
            return None
        word, end = token[0], token.end()
        tokens.append(word if word[0] in PUNCTUATION else _QUOTED.sub(lambda m: m[1] if m[1] is not None else m[2],
                                                                      word))
    return None if text[end:].strip(_BLANKS) else tokens


def words(text: str, originals: dict[str, str]) -> list[str]:
    fast = fast_words(text)
    if fast is not None:
        return [_restore(token, originals) for token in fast]
    # Newlines end commands like `;`, so they are punctuation here rather than whitespace.
    lexer = shlex.shlex(text, posix=True, punctuation_chars="".join(sorted(PUNCTUATION)))
    lexer.whitespace_split = True
    lexer.whitespace = " \t\r"
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: keep what a plain split gives, best effort
        tokens = text.split()
    return [_restore(token, originals) for token in tokens]


def _is_redirect(token: str) -> bool:
    return set(token) <= PUNCTUATION and bool(set(token) & set("<>")) and "|" not in token


def _past_paren(tokens: list[str], index: int, close: str, commands: list[list[str]]) -> int:
    """Index after the token that closes `name=( ... )` or `(( ... ))`; a `;` glued to it ends the command."""
    closing = (i for i in range(index, len(tokens)) if close in tokens[i] and set(tokens[i]) <= PUNCTUATION)
    end = next(closing, len(tokens) - 1)
    if set(tokens[end]) - {")"}:
        commands.append([])
    return end + 1


def split(tokens: list[str]) -> list[list[str]]:
    """Simple commands; redirection targets, array literals and case patterns are dropped."""
    commands: list[list[str]] = [[]]
    index, in_pattern = 0, False
    while index < len(tokens):
        token = tokens[index]
        index += 1
        current = commands[-1]
        if in_pattern:
            in_pattern = token != "esac" and ")" not in token
        elif _is_redirect(token):
            if current and current[-1].isdigit():
                current.pop()  # the fd of `2>&1`, not an argument
            index += 1
        elif current and current[-1].endswith("=") and token.startswith("(") and set(token) <= PUNCTUATION:
            current[-1] += "(...)"
            index = _past_paren(tokens, index, ")", commands)
        elif token.startswith("((") and set(token) <= PUNCTUATION:  # `(( i++ ))` is arithmetic
            index = _past_paren(tokens, index, "))", commands)
        elif token == "()":
            commands[-1] = []  # `name() {`: a function definition, not a call
        elif set(token) <= PUNCTUATION:
            in_pattern = ";;" in token or ";&" in token
            commands.append([])
        elif current[:1] == ["case"] and token == "in":
            commands.append([])
            in_pattern = True
        else:
            current.append(token)
    return [command for command in commands if command]
