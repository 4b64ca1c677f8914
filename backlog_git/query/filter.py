"""The filter language: parse a filter string once into an AST of terms, then evaluate it per context.

Grammar (precedence from tightest: ``not``/``!``/``-VIRTUAL``, implicit and (adjacency), ``and``, ``xor``,
``or``; parentheses group, also when glued to a word)::

    filter   := or_expr
    or_expr  := xor_expr ("or" xor_expr)*
    xor_expr := and_expr ("xor" and_expr)*
    and_expr := implicit ("and" implicit)*
    implicit := unary unary*
    unary    := ("not" | "!") unary | primary
    primary  := "(" or_expr ")" | term

A term is (first rule that applies): ``+tag``/``-tag`` (``+UPPER`` names a virtual tag, see virtual.py);
``name[.modifier]:value`` (see terms.py); an id, id list or range (``1,3,5-7``), a uuid or uuid prefix of at
least 8 hex digits (taskwarrior's rules, anywhere in the filter); ``/regex/``; anything else is a word
searched case-insensitively in the description and annotations.

The empty filter means ``status:pending`` (waiting tasks hidden). A non-empty filter without a status term
matches every status, as the original and ``task … export`` do.

Caching: :func:`compile_filter` caches compiled filters by their text. Nothing "now"-dependent is
resolved at compile time (a relative date is only checked for validity there): ``Filter.bind`` resolves
``eow``, ``today``… against the context's ``now``, once per context, so a cached filter never goes stale.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from typing import Any

from backlog_git.model import Task
from backlog_git.query.context import QueryContext
from backlog_git.query.index import TaskIndex
from backlog_git.query.terms import (
    MODIFIERS,
    VALID_MODIFIERS,
    Leaf,
    Pred,
    attribute_term,
    canonical_field,
    id_uuid_term,
    pattern_term,
    tag_term,
    text_term,
)
from backlog_git.query.tokens import FilterError, Token, tokenize
from backlog_git.query.virtual import STATUS_OF_VIRTUAL, VIRTUAL_TAGS

__all__ = ["Filter", "FilterError", "compile_filter"]

MAX_DEPTH = 64
MAX_ID_SPAN = 10_000
EXPECTED_TERM = "expected a term (attr:value, +tag, a word, an id or '(')"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
MAX_TOKENS = 2000
_OPERATORS = {"and", "or", "xor"}
_NOT = {"not", "!"}


# --- AST --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class And:
    items: list[Any]


@dataclass(slots=True)
class Or:
    items: list[Any]


@dataclass(slots=True)
class Xor:
    left: Any
    right: Any


@dataclass(slots=True)
class Not:
    item: Any


Node = And | Or | Xor | Not | Leaf


def _bind(node: Node, ctx: QueryContext) -> Pred:
    """Turn an AST node into a ``Task -> bool`` function with context values resolved."""
    if isinstance(node, Leaf):
        return node.bind(ctx)
    if isinstance(node, Not):
        inner = _bind(node.item, ctx)
        return lambda t: not inner(t)
    if isinstance(node, Xor):
        left, right = _bind(node.left, ctx), _bind(node.right, ctx)
        return lambda t: left(t) != right(t)
    preds = [_bind(item, ctx) for item in node.items]
    return _all(preds) if isinstance(node, And) else _any(preds)


def _all(preds: list[Pred]) -> Pred:
    # Flat, not nested closures: a filter of a thousand terms must not recurse a thousand deep.
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        first, second = preds
        return lambda t: first(t) and second(t)
    return lambda t: all(pred(t) for pred in preds)


def _any(preds: list[Pred]) -> Pred:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        first, second = preds
        return lambda t: first(t) or second(t)
    return lambda t: any(pred(t) for pred in preds)


def _walk(node: Node) -> Iterable[Leaf]:
    if isinstance(node, Leaf):
        yield node
    elif isinstance(node, Not):
        yield from _walk(node.item)
    elif isinstance(node, Xor):
        yield from _walk(node.left)
        yield from _walk(node.right)
    else:
        for item in node.items:
            yield from _walk(item)


# --- parser -----------------------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the token list; every error names the token, its position and the expectation."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def is_op(self, token: Token | None, names: set[str]) -> bool:
        return token is not None and token.kind == "word" and not token.quoted and token.text.lower() in names

    def parse(self) -> Node:
        node = self.or_expr()
        token = self.peek()
        if token is not None:  # only a stray ')' can stop the top level early
            raise FilterError(
                f"Unexpected ')' at position {token.pos}: no '(' is open; expected 'and', 'or', a term or "
                "the end of the filter."
            )
        return node

    def or_expr(self) -> Node:
        items = [self.xor_expr()]
        while self.is_op(self.peek(), {"or"}):
            self.i += 1
            items.append(self.xor_expr())
        return items[0] if len(items) == 1 else Or(items)

    def xor_expr(self) -> Node:
        node = self.and_expr()
        while self.is_op(self.peek(), {"xor"}):
            self.i += 1
            node = Xor(node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        items = [self.implicit()]
        while self.is_op(self.peek(), {"and"}):
            self.i += 1
            items.append(self.implicit())
        return _flatten(items)

    def implicit(self) -> Node:
        items = [self.unary()]
        while True:
            token = self.peek()
            if token is None or token.kind == ")" or self.is_op(token, _OPERATORS):
                break
            items.append(self.unary())
        return _flatten(items)

    def unary(self) -> Node:
        token = self.peek()
        if self.is_op(token, _NOT):
            self.i += 1
            self._enter(token)  # type: ignore[arg-type]
            node = Not(self.unary())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        token = self.peek()
        if token is None:
            previous = self.tokens[self.i - 1] if self.i else None
            after = f" after '{previous.raw}' at position {previous.pos}" if previous else ""
            raise FilterError(f"Unexpected end of filter{after}: {EXPECTED_TERM}.")
        if token.kind == ")":
            raise FilterError(f"Unexpected ')' at position {token.pos}: {EXPECTED_TERM}.")
        if self.is_op(token, _OPERATORS):
            raise FilterError(f"Unexpected '{token.text}' at position {token.pos}: {EXPECTED_TERM}.")
        self.i += 1
        if token.kind == "(":
            self._enter(token)
            node = self.or_expr()
            closing = self.peek()
            if closing is None or closing.kind != ")":
                raise FilterError(f"Unmatched '(' at position {token.pos}: expected ')' before the end of the filter.")
            self.i += 1
            self.depth -= 1
            return node
        return term(token)

    def _enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterError(f"Filter nested too deeply at position {token.pos}: at most {MAX_DEPTH} levels.")


def _flatten(items: list[Node]) -> Node:
    if len(items) == 1:
        return items[0]
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, And) else [item])
    return And(flat)


def term(token: Token) -> Leaf:
    """Classify one word token (see the module docstring for the order of the rules)."""
    text = token.text
    if not token.quoted and len(text) > 1 and text[0] in "+-" and ":" not in text and not text[1].isspace():
        name = text[1:]
        if name in VIRTUAL_TAGS:
            return _virtual(token, name, negate=text[0] == "-")
        return tag_term(token, name, negate=text[0] == "-")
    if ":" in text:
        left, value = text.split(":", 1)
        if _NAME.match(left):
            return _attribute(token, left, value)
    if not token.quoted:
        leaf = id_uuid_term(token)
        if leaf is not None:
            return leaf
        if len(text) > 2 and text[0] == "/" and text[-1] == "/":
            return pattern_term(token)
    if not text:
        return Leaf(lambda ctx: lambda t: True, token.raw, token.pos)
    return text_term(token)


def _attribute(token: Token, left: str, value: str) -> Leaf:
    if "." in left:
        base, modifier = left.rsplit(".", 1)
        if modifier.lower() in MODIFIERS:
            return attribute_term(token, base, modifier, value)
        if canonical_field(base) is not None:
            raise FilterError(
                f"Unknown modifier '.{modifier}' in '{token.raw}' at position {token.pos}; valid modifiers: "
                f"{VALID_MODIFIERS}."
            )
    return attribute_term(token, left, None, value)


def _virtual(token: Token, name: str, negate: bool) -> Leaf:
    factory = VIRTUAL_TAGS[name]
    bind: Callable[[QueryContext], Pred]
    if negate:

        def negated(ctx: QueryContext) -> Pred:
            inner = factory(ctx)
            return lambda t: not inner(t)

        bind = negated
        hint = None
    else:
        bind = factory
        status = STATUS_OF_VIRTUAL.get(name)
        hint = ("status", status) if status else None
    return Leaf(bind, token.raw, token.pos, hint=hint, mentions_status=name in STATUS_OF_VIRTUAL)


# --- the compiled filter -------------------------------------------------------------------------------


class Filter:
    """A compiled filter. ``matches`` tests one task; ``select`` returns all matches among a context's tasks."""

    __slots__ = ("__weakref__", "hints", "mentions_status", "root", "text")

    def __init__(self, text: str, root: Node) -> None:
        self.text = text
        self.root = root
        self.mentions_status = any(leaf.mentions_status for leaf in _walk(root))
        top = root.items if isinstance(root, And) else [root]
        self.hints = [item.hint for item in top if isinstance(item, Leaf) and item.hint is not None]

    def __repr__(self) -> str:
        return f"Filter({self.text!r})"

    def bind(self, ctx: QueryContext) -> Pred:
        """The filter as a ``Task -> bool`` function for this context (built once per context)."""
        pred = ctx.bound(self)
        if pred is None:
            pred = _bind(self.root, ctx)
            ctx.bind(self, pred)
        return pred

    def matches(self, task: Task, ctx: QueryContext) -> bool:
        return self.bind(ctx)(task)

    def select(self, ctx: QueryContext, index: TaskIndex | None = None) -> list[Task]:
        """Matching tasks of ``ctx.tasks`` in id order; the index (or ``ctx.index``) narrows candidates."""
        pred = self.bind(ctx)
        index = index if index is not None else ctx.index
        uuids = self._candidates(index) if index is not None else None
        if uuids is None or len(uuids) * 3 > len(ctx.tasks):  # a plain scan is faster for big sets
            result = [task for task in ctx.tasks.values() if pred(task)]
        else:
            tasks = ctx.tasks
            result = []
            for uuid in uuids:
                task = tasks.get(uuid)
                if task is not None and pred(task):
                    result.append(task)
        result.sort(key=_ID)
        return result

    def _candidates(self, index: TaskIndex) -> set[str] | None:
        """The smallest uuid set that a top-level conjunct pins, or None when nothing narrows."""
        best: set[str] | None = None
        for kind, value in self.hints:
            found = _hint_set(index, kind, value)
            if found is not None and (best is None or len(found) < len(best)):
                best = found
        return best


_ID = attrgetter("id")


def _hint_set(index: TaskIndex, kind: str, value: Any) -> set[str] | None:
    if kind == "status":
        if value == "waiting":
            return index.waitable
        return index.by_status.get("pending" if value == "pending_any" else value, set())
    if kind == "project":
        return index.project_tree(value)
    if kind == "project_exact":
        return index.by_project.get(value, set())
    if kind == "priority":
        return index.by_priority.get(value, set())
    if kind == "tag":
        return index.by_tag.get(value, set())
    if kind == "ids":
        if sum(high - low + 1 for low, high in value) > MAX_ID_SPAN:
            return None
        found: set[str] = set()
        for low, high in value:
            for number in range(low, high + 1):
                found |= index.by_id.get(number, set())
        return found
    if kind == "uuid":
        if len(value) == 36:
            return {value} if value in index.tasks else set()
        return {uuid for uuid in index.tasks if uuid.startswith(value)}
    return None


@lru_cache(maxsize=2048)
def _compile(text: str) -> Filter:
    stripped = text.strip()
    source = stripped if stripped else "status:pending"
    tokens = tokenize(source)
    if len(tokens) > MAX_TOKENS:
        raise FilterError(
            f"This filter has {len(tokens)} words and operators; at most {MAX_TOKENS} are allowed. "
            "Split it into several calls, or select by project or tag instead of listing ids."
        )
    return Filter(text, _Parser(tokens).parse())


def compile_filter(text: str) -> Filter:
    """Compile a filter string (cached by text); raises FilterError — and nothing else — when it is malformed.

    The empty (or all-whitespace) filter means ``status:pending``, which hides waiting tasks.
    """
    if not isinstance(text, str):
        raise FilterError(f"A filter must be text, got {type(text).__name__}.")
    try:
        return _compile(text)
    except FilterError:
        raise
    except (RecursionError, ValueError, TypeError, OverflowError) as error:  # a safety net, never expected
        raise FilterError(f"Invalid filter {text!r}: {error}") from None


compile_filter.cache_clear = _compile.cache_clear  # type: ignore[attr-defined]  # for benchmarks and tests
