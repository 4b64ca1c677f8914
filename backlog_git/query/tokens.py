"""The filter tokenizer: split a filter string into words, parentheses and operators, with positions.

Rules (why: users type the original's and taskwarrior's filters from memory, and both styles must work):

* Tokens are separated by whitespace. ``(`` and ``)`` are always tokens of their own, also when glued to a
  word (``(project:web``, ``+bug)``); quote a value to keep a parenthesis in it.
* A quote (``"`` or ``'``) opens a quoted run at the start of a token or right after the first ``:``; it
  runs to the matching quote, may contain spaces and parentheses, and ``\\`` escapes the next character.
  So ``description.contains:"a b"`` and ``"description.contains:a b"`` both work, while an apostrophe
  inside a word (``don't``) is an ordinary character.
* Positions are 1-based character offsets into the original string, used by every error message.
"""

from __future__ import annotations

from dataclasses import dataclass

from backlog_git.errors import InvalidInput

__all__ = ["FilterError", "Token", "tokenize"]


class FilterError(InvalidInput):
    """A filter that cannot be read; the message names the token, its position and what was expected."""


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``kind`` is ``(``, ``)`` or ``word``; ``text`` has quotes removed."""

    kind: str
    text: str
    pos: int
    raw: str
    quoted: bool = False


_QUOTES = "\"'"


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raises FilterError for an unterminated quote."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(Token(ch, ch, i + 1, ch))
            i += 1
        else:
            token, i = _word(text, i)
            tokens.append(token)
    return tokens


def _word(text: str, start: int) -> tuple[Token, int]:
    """Read one word token starting at ``start``; returns it and the index after it."""
    parts: list[str] = []
    quoted = False
    i, n = start, len(text)
    after_first_colon: int | None = None  # len(parts) right after the first ':' was read
    while i < n:
        ch = text[i]
        if ch.isspace() or ch in "()":
            break
        if ch in _QUOTES and (i == start or len(parts) == after_first_colon):
            value, i = _quoted(text, i)
            parts.append(value)
            quoted = True
            continue
        parts.append(ch)
        if ch == ":" and after_first_colon is None:
            after_first_colon = len(parts)
        i += 1
    return Token("word", "".join(parts), start + 1, text[start:i], quoted), i


def _quoted(text: str, start: int) -> tuple[str, int]:
    """Read a quoted run starting at the quote at ``start``; returns its content and the index after it."""
    quote = text[start]
    out: list[str] = []
    i, n = start + 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            out.append(text[i + 1])
            i += 2
            continue
        if ch == quote:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise FilterError(
        f"Unterminated quote {quote} at position {start + 1}: expected a closing {quote} before the end of the filter."
    )
