"""Filter terms: what one token means, compiled to a predicate factory.

Every term compiles to a :class:`Leaf` whose ``bind(ctx)`` returns a plain ``Task -> bool`` function with
all context-dependent values (relative dates, period boundaries, the blocking set) resolved once per
context, so evaluating a filter over many tasks costs one small function call per term per task.

Attribute semantics (taskwarrior 2.6 where the original is silent or wrong; see DIFFERENCES.md):

* ``attr:value`` — equality, case-sensitive; for ``project`` also its sub-projects (``project:web`` matches
  ``web`` and ``web.ui``); for dates the same local calendar day; for lists (tags, depends, annotations)
  membership; for ``uuid``/``parent`` a uuid prefix. An empty value means "not set".
* ``.is/.eq/.equals`` exact equality, ``.isnt/.ne`` its negation, ``.not`` the negation of ``attr:value``.
* ``.has/.contains``, ``.hasnt``, ``.startswith``, ``.endswith``, ``.word``, ``.noword`` — case-insensitive
  text tests (list fields: on any element).
* ``.before/.below/.under/.lt``, ``.after/.above/.over/.gt``, ``.by/.lte``, ``.gte`` — ordered
  comparisons: dates as instants, ``id``/``urgency`` and numeric attributes as numbers, ``priority`` as
  none < L < M < H (so ``priority.below:H`` includes tasks without a priority, as taskwarrior), other text
  lexicographically. A missing value never compares (except priority).
* ``.none``/``.any`` (value ignored), ``.exists:true|false``, ``.in``/``.nin`` (comma-separated),
  ``.regex``/``.match`` (Python regular expression, searched).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from backlog_git.model import Task
from backlog_git.query.context import QueryContext
from backlog_git.query.dates import DateError, local_midnight, resolve_date, to_local
from backlog_git.query.tokens import FilterError, Token

Pred = Callable[[Task], bool]
Binder = Callable[[QueryContext], Pred]
Getter = Callable[[QueryContext], Callable[[Task], Any]]
Op = Callable[[QueryContext], Callable[[Any], bool]]

# --- modifiers ---------------------------------------------------------------------------------------

MODIFIERS: dict[str, str] = {
    "is": "eq", "eq": "eq", "equals": "eq",
    "isnt": "ne", "ne": "ne",
    "not": "npartial",
    "has": "has", "contains": "has",
    "hasnt": "hasnt",
    "startswith": "startswith", "starts": "startswith", "left": "startswith",
    "endswith": "endswith", "ends": "endswith", "right": "endswith",
    "before": "lt", "below": "lt", "under": "lt", "lt": "lt",
    "after": "gt", "above": "gt", "over": "gt", "gt": "gt",
    "by": "lte", "lte": "lte",
    "gte": "gte",
    "none": "none", "any": "any", "exists": "exists",
    "in": "in", "nin": "nin",
    "regex": "regex", "match": "regex",
    "word": "word", "noword": "noword",
}  # fmt: skip
NEGATIONS = {"ne": "eq", "npartial": "partial", "hasnt": "has", "nin": "in", "noword": "word", "none": "any"}
VALID_MODIFIERS = ", ".join(sorted(MODIFIERS))

# --- fields ----------------------------------------------------------------------------------------

DATE_FIELDS = ("due", "wait", "scheduled", "until", "start", "end", "entry", "modified")
FIELD_KINDS: dict[str, str] = {
    "description": "text", "agent": "text", "recur": "text",
    "project": "project", "status": "status", "priority": "priority",
    "uuid": "uuid", "parent": "uuid", "id": "number", "urgency": "number",
    "tags": "list", "depends": "depends", "annotations": "list",
    "has_doc": "bool",
    **dict.fromkeys(DATE_FIELDS, "date"),
}  # fmt: skip
FIELD_ALIASES = {"tag": "tags", "_id": "uuid", "annotation": "annotations"}
STATUS_VALUES = ("pending", "waiting", "completed", "deleted", "recurring")
PRIORITY_RANK = {None: 0, "L": 1, "M": 2, "H": 3}
TRUE_WORDS = frozenset({"true", "yes", "1", "on", "y"})
FALSE_WORDS = frozenset({"false", "no", "0", "off", "n"})
MAX_REGEX = 200


def canonical_field(name: str) -> str | None:
    """The core field ``name`` denotes (exact, alias, or a unique prefix of ≥ 3 letters), else None."""
    low = name.lower()
    if low in FIELD_KINDS:
        return low
    if low in FIELD_ALIASES:
        return FIELD_ALIASES[low]
    if len(low) >= 3:
        matches = [f for f in FIELD_KINDS if f.startswith(low)]
        if len(matches) == 1:
            return matches[0]
    return None


@dataclass(slots=True)
class Leaf:
    """A compiled term. ``hint`` lets Filter.select narrow candidates with the index (see filter.py)."""

    bind: Binder
    text: str
    pos: int
    hint: tuple[str, Any] | None = None
    mentions_status: bool = False
    children: tuple[Any, ...] = field(default=())


def _error(token: Token, what: str) -> FilterError:
    return FilterError(f"Invalid filter term '{token.raw}' at position {token.pos}: {what}")


# --- getters -----------------------------------------------------------------------------------------


def _attr(name: str) -> Getter:
    get = attrgetter(name)
    return lambda ctx: get


def _getter(name: str) -> Getter:
    """How to read field ``name`` from a task; empty lists and strings read as None (= not set)."""
    if name == "status":
        return lambda ctx: ctx.status_of
    if name == "urgency":
        return lambda ctx: ctx.urgency
    if name == "has_doc":  # True or None, so .any/.none/.exists read it like any other field
        return lambda ctx: lambda t: True if ctx.has_doc(t) else None
    if name in ("tags", "depends"):
        get = attrgetter(name)
        return lambda ctx: lambda t: get(t) or None
    if name == "annotations":
        return lambda ctx: lambda t: [a.description for a in t.annotations] or None
    if name in FIELD_KINDS:
        return _attr(name)

    def extra(ctx: QueryContext) -> Callable[[Task], Any]:
        def get(task: Task) -> Any:
            value = (task.model_extra or {}).get(name)
            return None if value in ("", [], None) else value

        return get

    return extra


# --- value operations by kind ------------------------------------------------------------------------


def _static(fn: Callable[[Any], bool]) -> Op:
    return lambda ctx: fn


def _text_op(mod: str, value: str, token: Token, compare: Callable[[str], Any] = str) -> Op:
    """Positive text operations (eq/partial, has, startswith…, comparisons) on a scalar string field."""
    low = value.lower()
    if mod in ("eq", "partial"):
        return _static((lambda v: v is None) if value == "" else (lambda v: v == value))
    if mod == "has":
        return _static(lambda v: v is not None and low in str(v).lower())
    if mod == "startswith":
        return _static(lambda v: v is not None and str(v).lower().startswith(low))
    if mod == "endswith":
        return _static(lambda v: v is not None and str(v).lower().endswith(low))
    if mod == "word":
        pattern = re.compile(r"(?<!\w)" + re.escape(low) + r"(?!\w)")
        return _static(lambda v: v is not None and pattern.search(str(v).lower()) is not None)
    if mod == "regex":
        regex = _regex(value, token)
        return _static(lambda v: v is not None and regex.search(str(v)) is not None)
    if mod == "in":
        items = frozenset(_items(value))
        return _static(lambda v: v in items)
    if mod in ("lt", "gt", "lte", "gte"):
        target = compare(value)
        cmp = _COMPARATORS[mod]
        return _static(lambda v: v is not None and cmp(compare(v), target))
    raise _error(token, f"the .{mod} test does not apply to this field.")


_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": lambda a, b: a < b,
    "gt": lambda a, b: a > b,
    "lte": lambda a, b: a <= b,
    "gte": lambda a, b: a >= b,
}


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _regex(value: str, token: Token) -> re.Pattern[str]:
    if len(value) > MAX_REGEX:
        raise _error(token, f"a regular expression may be at most {MAX_REGEX} characters long.")
    try:
        return re.compile(value)
    except re.error as error:
        raise _error(token, f"bad regular expression ({error}).") from None


def _project_op(mod: str, value: str, token: Token) -> Op:
    """``project:web`` matches ``web`` and its sub-projects ``web.*`` (taskwarrior's hierarchy)."""
    if mod == "partial" and value:
        prefix = value + "."
        return _static(lambda v: v is not None and (v == value or v.startswith(prefix)))
    return _text_op(mod, value, token)


def _status_op(mod: str, value: str, token: Token) -> Op:
    low = value.lower()
    if mod in ("eq", "partial", "in"):
        wanted = _items(low) if mod == "in" else [low]
        for item in wanted:
            if item not in STATUS_VALUES:
                raise _error(token, f"status must be one of: {', '.join(STATUS_VALUES)}.")
        if mod != "in":
            return _static(lambda v: v == low)
        allowed = frozenset(wanted)
        return _static(lambda v: v in allowed)
    return _text_op(mod, low, token)


def _priority_op(mod: str, value: str, token: Token) -> Op:
    upper = value.upper()
    if mod in ("lt", "gt", "lte", "gte", "eq", "partial"):
        if upper not in ("H", "M", "L", ""):
            raise _error(token, "priority must be H, M or L (or empty for none).")
        if mod in ("eq", "partial"):
            wanted = upper or None
            return _static(lambda v: v == wanted)
        target = PRIORITY_RANK[upper or None]
        cmp = _COMPARATORS[mod]
        return _static(lambda v: cmp(PRIORITY_RANK.get(v, 0), target))
    return _text_op(mod, upper if mod == "in" else value, token)


def _uuid_op(mod: str, value: str, token: Token) -> Op:
    """``uuid:``/``parent:`` accept a prefix (as a bare uuid prefix does); ``.is`` wants the full uuid."""
    low = value.lower()
    if mod == "partial" and low:
        return _static(lambda v: v is not None and v.startswith(low))
    return _text_op(mod, low, token)


def _number(value: str, token: Token) -> float:
    try:
        number = float(value)
    except ValueError:
        raise _error(token, f"expected a number, got '{value}'.") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise _error(token, f"expected a finite number, got '{value}'.")
    return number


def _number_op(mod: str, value: str, token: Token, name: str) -> Op:
    if mod in ("eq", "partial") and value == "":
        return _static(lambda v: v is None)
    if name == "id" and mod in ("eq", "partial", "in"):
        ranges = parse_id_list(value)
        if ranges is None:
            raise _error(token, "expected an id, a list of ids or a range like 1,3,5-7.")
        return _static(lambda v: v is not None and any(lo <= v <= hi for lo, hi in ranges))
    if mod in ("eq", "partial"):
        target = _number(value, token)
        return _static(lambda v: v is not None and v == target)
    if mod == "in":
        targets = frozenset(_number(item, token) for item in _items(value))
        return _static(lambda v: v in targets)
    if mod in _COMPARATORS:
        target = _number(value, token)
        cmp = _COMPARATORS[mod]
        return _static(lambda v: v is not None and cmp(v, target))
    return _text_op(mod, value, token)


def _bool_value(value: str, token: Token) -> bool:
    low = value.lower()
    if low in TRUE_WORDS:
        return True
    if low in FALSE_WORDS:
        return False
    raise _error(token, "expected true or false (also yes/no).")


def _bool_op(mod: str, value: str, token: Token) -> Op:
    if mod in ("eq", "partial"):
        wanted = _bool_value(value, token)
        return _static(lambda v: bool(v) is wanted)
    raise _error(token, "a yes/no field supports only field:true|false, .not, .any, .none.")


def _check_date(value: str, token: Token) -> None:
    """Reject a date value that can never resolve, at compile time (relative ones resolve per context)."""
    try:
        resolve_date(value)
    except DateError as error:
        raise _error(token, str(error)) from None


def _date_op(mod: str, value: str, token: Token) -> Op:
    """Date tests; the value is resolved against the context's ``now`` when the filter is bound."""
    if mod in ("eq", "partial") and value == "":
        return _static(lambda v: v is None)
    if mod in ("has", "startswith", "endswith", "word", "regex"):
        raise _error(token, "text tests do not apply to dates; use .before, .after, .by or field:DATE.")
    values = _items(value) if mod == "in" else [value]
    if not values:
        raise _error(token, "expected a date.")
    for item in values:
        _check_date(item, token)
    if mod == "partial":
        return lambda ctx: _same_day(ctx.date(value))
    if mod == "eq":
        return lambda ctx: _equals(ctx.date(value))
    if mod == "in":
        return lambda ctx: _member(frozenset(ctx.date(item) for item in values))
    cmp = _COMPARATORS[mod]
    return lambda ctx: _compare(cmp, ctx.date(value))


def _same_day(moment: datetime) -> Callable[[Any], bool]:
    start = local_midnight(to_local(moment).date())
    end = local_midnight(to_local(moment).date() + timedelta(days=1))
    return lambda v: v is not None and start <= v < end


def _equals(moment: datetime) -> Callable[[Any], bool]:
    return lambda v: v is not None and v == moment


def _member(moments: frozenset[datetime]) -> Callable[[Any], bool]:
    return lambda v: v in moments


def _compare(cmp: Callable[[Any, Any], bool], moment: datetime) -> Callable[[Any], bool]:
    return lambda v: v is not None and cmp(v, moment)


def _list_op(mod: str, value: str, token: Token, lower: bool = False) -> Op:
    """Tests on a list field: membership for ``:``/.is/.has, element-wise text tests otherwise."""
    key = value.lower() if lower else value
    if mod in ("eq", "partial") or (mod == "has" and not lower):
        if key == "":
            return _static(lambda v: v is None)
        return _static(lambda v: v is not None and key in v)
    if mod == "in":
        items = frozenset(_items(key))
        return _static(lambda v: v is not None and not items.isdisjoint(v))
    if mod in _COMPARATORS:
        raise _error(token, "ordered comparisons do not apply to lists; use :, .has, .hasnt, .any, .none.")
    element = _text_op(mod, value, token)(None)  # type: ignore[arg-type]
    return _static(lambda v: v is not None and any(element(item) for item in v))


def _annotation_op(mod: str, value: str, token: Token) -> Op:
    """Annotations: ``annotations:x`` is an exact annotation, ``.has``/``.contains`` a substring of one."""
    if mod == "has":
        low = value.lower()
        return _static(lambda v: v is not None and any(low in item.lower() for item in v))
    return _list_op(mod, value, token)


def _depends_op(mod: str, value: str, token: Token) -> Op:
    """``depends:`` takes uuids, uuid prefixes or numeric ids of the tasks depended on."""
    if mod not in ("eq", "partial", "has", "in"):
        return _list_op(mod, value.lower(), token)
    items = _items(value.lower())
    if not items:
        return _static(lambda v: v is None)

    def bind(ctx: QueryContext) -> Callable[[Any], bool]:
        wanted = _resolve_refs(items, ctx)
        return lambda v: v is not None and any(dep in wanted for dep in v)

    return bind


def _resolve_refs(items: list[str], ctx: QueryContext) -> frozenset[str]:
    """Uuids named by ``items`` (uuids, uuid prefixes ≥ 8, or numeric ids) in the context's tasks.

    Like the engine's id resolver, 8+ decimal digits that are no task's id are a uuid prefix
    ("26066905" of "26066905-…"): about one uuid in 40 starts with eight digits."""
    ids = {int(item) for item in items if item.isdigit()}
    taken = {task.id for task in ctx.tasks.values() if task.id in ids}
    prefixes = [item for item in items if not item.isdigit() or (len(item) >= 8 and int(item) not in taken)]
    found = set()
    for task in ctx.tasks.values():
        if task.id in ids or any(task.uuid.startswith(p) for p in prefixes):
            found.add(task.uuid)
    return frozenset(found | {p for p in prefixes if len(p) == 36})


def _extra_op(mod: str, value: str, token: Token) -> Op:
    """User-defined attributes have no declared type: test by the stored value's type at run time."""
    text_op = _text_op(mod if mod not in _COMPARATORS else "eq", value, token) if mod != "in" else None
    number = _try_float(value)
    boolean = value.lower() in TRUE_WORDS or (False if value.lower() in FALSE_WORDS else None)
    try:
        resolve_date(value)
        is_date = True
    except (DateError, ValueError):
        is_date = False

    def bind(ctx: QueryContext) -> Callable[[Any], bool]:
        moment = ctx.date(value) if is_date else None
        as_text = text_op(ctx) if text_op is not None else None
        items = frozenset(_items(value))

        def test(v: Any) -> bool:
            if v is None:
                return mod in ("eq", "partial") and value == ""
            if mod == "in":
                return str(v) in items
            if isinstance(v, bool):
                return mod in ("eq", "partial") and boolean is not None and v is bool(boolean)
            if isinstance(v, (int, float)) and number is not None:
                return _numeric(mod, float(v), number)
            if isinstance(v, datetime) and moment is not None:
                return _numeric(mod, v.timestamp(), moment.timestamp())
            if isinstance(v, list):
                return any(as_text(str(item)) for item in v) if as_text else False
            if mod in _COMPARATORS:
                return _COMPARATORS[mod](str(v), value)
            return as_text(str(v)) if as_text else False

        return test

    return bind


def _numeric(mod: str, a: float, b: float) -> bool:
    if mod in ("eq", "partial"):
        return a == b
    if mod in _COMPARATORS:
        return _COMPARATORS[mod](a, b)
    return False


def _try_float(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


# --- attribute terms -----------------------------------------------------------------------------


def attribute_term(token: Token, name: str, modifier: str | None, value: str) -> Leaf:
    """Compile ``name[.modifier]:value``; ``name`` is a core field or a user-defined attribute."""
    mod = "partial" if modifier is None else MODIFIERS[modifier.lower()]
    negate = mod in NEGATIONS
    positive = NEGATIONS.get(mod, mod)
    core = canonical_field(name)
    field_name = core or name
    get = _getter(field_name)
    if positive == "any":
        op: Op = _static(lambda v: v is not None)
    elif positive == "exists":
        wanted = _bool_value(value or "true", token)
        op = _static((lambda v: v is not None) if wanted else (lambda v: v is None))
    else:
        op = _kind_op(core, positive, value, token)
    bind = _bind(get, op, negate)
    hint = _hint(core, mod, value)
    return Leaf(bind, token.raw, token.pos, hint=hint, mentions_status=core == "status")


def _kind_op(core: str | None, mod: str, value: str, token: Token) -> Op:
    if core is None:
        return _extra_op(mod, value, token)
    kind = FIELD_KINDS[core]
    if kind == "number":
        return _number_op(mod, value, token, core)
    if core == "annotations":
        return _annotation_op(mod, value, token)
    return _OPS_BY_KIND.get(kind, _list_op)(mod, value, token)


_OPS_BY_KIND: dict[str, Callable[[str, str, Token], Op]] = {
    "text": _text_op,
    "project": _project_op,
    "status": _status_op,
    "priority": _priority_op,
    "uuid": _uuid_op,
    "bool": _bool_op,
    "date": _date_op,
    "depends": _depends_op,
}


def _bind(get: Getter, op: Op, negate: bool) -> Binder:
    def bind(ctx: QueryContext) -> Pred:
        read = get(ctx)
        test = op(ctx)
        if negate:
            return lambda t: not test(read(t))
        return lambda t: test(read(t))

    return bind


def _hint(core: str | None, mod: str, value: str) -> tuple[str, Any] | None:
    """What the index can pre-select for this term when it is a top-level conjunct."""
    if mod not in ("partial", "eq") or not value:
        return None
    if core == "status" and value.lower() in STATUS_VALUES:
        return ("status", value.lower())
    if core == "project":
        return ("project", value) if mod == "partial" else ("project_exact", value)
    if core == "priority" and value.upper() in ("H", "M", "L"):
        return ("priority", value.upper())
    if core == "tags":
        return ("tag", value)
    if core == "id":
        ranges = parse_id_list(value)
        return ("ids", ranges) if ranges else None
    if core == "uuid":
        return ("uuid", value.lower())
    return None


# --- ids, uuids, text --------------------------------------------------------------------------------

_ID_ITEM = re.compile(r"^(\d{1,7})(?:-(\d{1,7}))?$")
_UUID_ITEM = re.compile(r"^[0-9a-f]{8}(?:-[0-9a-f]{0,4}){0,4}[0-9a-f]*$")


def parse_id_list(text: str) -> list[tuple[int, int]] | None:
    """``1,3,5-7`` → [(1,1), (3,3), (5,7)]; None when ``text`` is not such a list."""
    ranges = []
    for item in text.split(","):
        match = _ID_ITEM.match(item)
        if not match:
            return None
        low = int(match.group(1))
        high = int(match.group(2) or low)
        ranges.append((min(low, high), max(low, high)))
    return ranges or None


def id_uuid_term(token: Token) -> Leaf | None:
    """A bare id / id list / range / uuid / uuid prefix (≥ 8 hex) or a comma-separated mix; else None."""
    items = token.text.lower().split(",")
    ranges: list[tuple[int, int]] = []
    prefixes: list[str] = []
    for item in items:
        if _ID_ITEM.match(item):
            ranges.extend(parse_id_list(item) or [])
        elif _UUID_ITEM.match(item) and len(item) <= 36:
            prefixes.append(item)
        else:
            return None
    if not prefixes:
        hint: tuple[str, Any] | None = ("ids", ranges)
    elif not ranges and len(prefixes) == 1:
        hint = ("uuid", prefixes[0])
    else:
        hint = None
    uuid_prefixes = tuple(prefixes)

    def bind(ctx: QueryContext) -> Pred:
        def test(task: Task) -> bool:
            task_id = task.id
            for low, high in ranges:
                if low <= task_id <= high:
                    return True
            return task.uuid.startswith(uuid_prefixes) if uuid_prefixes else False

        return test

    return Leaf(bind, token.raw, token.pos, hint=hint)


def text_term(token: Token) -> Leaf:
    """A bare word: case-insensitive substring of the description or of any annotation."""
    needle = token.text.lower()

    def bind(ctx: QueryContext) -> Pred:
        def test(task: Task) -> bool:
            if needle in task.description.lower():
                return True
            return any(needle in a.description.lower() for a in task.annotations)

        return test

    return Leaf(bind, token.raw, token.pos)


def pattern_term(token: Token) -> Leaf:
    """``/regex/``: a case-insensitive regular-expression search over description and annotations."""
    regex = _regex(token.text[1:-1], token)
    regex = re.compile(regex.pattern, re.IGNORECASE)

    def bind(ctx: QueryContext) -> Pred:
        def test(task: Task) -> bool:
            if regex.search(task.description):
                return True
            return any(regex.search(a.description) for a in task.annotations)

        return test

    return Leaf(bind, token.raw, token.pos)




DOC_TAG = "doc"
"""``+doc`` means "has a doc": the task's body, the one definition ``has_doc`` uses too."""


def tag_term(token: Token, tag: str, negate: bool) -> Leaf:
    """``+tag`` / ``-tag`` (exact, case-sensitive tag names); ``+doc`` / ``-doc`` ask for the doc itself."""
    if tag == DOC_TAG:

        def bind_doc(ctx: QueryContext) -> Pred:
            if not ctx.knows_docs:  # tasks without their files: only the tag can say
                return (lambda t: DOC_TAG not in t.tags) if negate else (lambda t: DOC_TAG in t.tags)
            if negate:
                return lambda t: not ctx.has_doc(t)
            return ctx.has_doc

        return Leaf(bind_doc, token.raw, token.pos)

    def bind(ctx: QueryContext) -> Pred:
        if negate:
            return lambda t: tag not in t.tags
        return lambda t: tag in t.tags

    return Leaf(bind, token.raw, token.pos, hint=None if negate else ("tag", tag))
