"""Parsing of the loose text inputs that agents and humans type: tags, tag edits, ``extra``, numbers,
ids, filters, priorities, the JSON of an import and archive segment names.

Pure functions with no I/O: the one input layer of the CLI and the MCP server alike, so both surfaces
accept and refuse the same inputs with the same messages. Each accepts the forms clients actually send
(a comma string, a JSON array in a string, a real list, a number as text) and raises
:class:`~backlog_git.errors.InvalidInput` with a message that says what to type instead.

:func:`new_task`, :func:`logged_task` and :func:`task_edit` hold the policy of how a call's explicit
parameters combine with ``extra``: explicit parameters win, empty values mean absent on a new task and
"clear" on an existing one.

``extra`` (the original server's catch-all parameter) is honoured here rather than ignored:

* ``+tag`` adds a tag, ``-tag`` removes one (on a new task there is nothing to remove, so it is dropped);
* ``key:value`` sets a field (``due:friday``, ``priority:H``, ``depends:<uuid>,<uuid>``) or a
  user-defined attribute (``estimate:3h``); ``key:`` with no value clears it on modify;
* fields that only their own tools change (``status``, ``start``, ``end``, ``annotations``...) are refused;
* anything else (a bare word) is returned in :attr:`Extra.ignored` so the caller can say it was skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidInput

DEFAULT_LIST_FILTER = "status:pending"

NEW_TASK_OPTIONS = ("project", "priority", "due", "wait", "scheduled", "recur", "until", "agent", "depends")
"""Keyword arguments of ``Backlog.add`` besides description, tags and attributes."""
# Fields a ``key:value`` token in ``extra`` may set, besides user-defined attributes.
EXTRA_FIELDS = ("description", *NEW_TASK_OPTIONS)
# Fields that only their own tools change; ``extra`` refuses them with a hint.
_RESERVED = {
    "status": "use task_done, task_delete or task_log to change a task's status",
    "start": "use task_start / task_stop",
    "end": "it is set when a task is completed or deleted",
    "entry": "it is set when the task is created",
    "modified": "it is set on every change",
    "uuid": "a task's uuid never changes",
    "id": "a task's numeric id is assigned by the store",
    "annotations": "use task_annotate / task_denotate",
    "annotation": "use task_annotate / task_denotate",
    "parent": "it links a recurrence instance to its template",
    "urgency": "it is computed",
    "has_doc": "use task_doc_write / task_doc_delete",
    "tags": "use +tag / -tag",
    "tag": "use +tag / -tag",
}
_ATTR_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_FIELD_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_INT_RE = re.compile(r"^[+-]?\d+$")
_MAX_DIGITS = 1000  # more than any count or age means; Python refuses to convert past 4300 digits
SEGMENT_RE = re.compile(r"^\d{4}-Q[1-4]$")
_SEGMENT_PREFIXES = ("archive/archive-", "archive/", "archive-")
MAX_IMPORT_DEPTH = 24
"""How deeply an import's JSON may nest: an array of task objects (2 levels) whose values may nest as
deeply as the model allows a custom attribute (``model.MAX_ATTRIBUTE_DEPTH`` = 20), with room to spare.
Deeper input is refused before anything recurses into it."""


def shorten(value: Any, limit: int = 60) -> str:
    """``repr`` of a value someone typed, cut to ``limit`` characters: messages quote what was given,
    never a megabyte of it."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def nesting_depth(value: Any, limit: int) -> int:
    """How deeply lists and mappings nest inside ``value`` (a scalar is 0), counted without recursion
    and only up to ``limit + 1``: deep input can neither exhaust the stack nor cost more than one pass."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth) for child in children)
    return deepest


def to_text(value: Any) -> Any:
    """Coerce what a client sent for a string parameter: numbers become their text, a list becomes
    JSON text (later parsed by the list helpers), None and strings pass through. Other values are
    returned unchanged so that schema validation reports them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        try:
            return str(value)
        except ValueError:  # an integer of more digits than Python converts: left for the check to refuse
            return value
    if isinstance(value, list | tuple):
        try:
            return json.dumps(list(value), ensure_ascii=False)
        except (ValueError, TypeError, RecursionError):
            return value  # nested too deeply (or not JSON): left for the caller's check to refuse
    return value


def split_list(value: str | Iterable[Any] | None, name: str = "value") -> list[str]:
    """A list of words from a comma string, a JSON array string, or a real list; trimmed, no empties.

    ``"[a, b]"`` that is not valid JSON is read as a comma list inside brackets."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("{"):
            raise InvalidInput(f"{name}: expected a comma-separated list or a JSON array, got {shorten(text)}.")
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except RecursionError:
                raise InvalidInput(f"{name}: the list is nested too deeply; give a flat list of words.") from None
            except ValueError:
                inner = text[1:-1] if text.endswith("]") else text[1:]
                items: Iterable[Any] = (part.strip().strip("'\"") for part in inner.split(","))
            else:
                if not isinstance(parsed, list):
                    raise InvalidInput(f"{name}: expected a list, got {shorten(text)}.")
                items = parsed
        else:
            items = text.split(",")
    else:
        items = value
    result: list[str] = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, dict | list):
            raise InvalidInput(f"{name}: each item must be a word, got {_json_short(item)}.")
        word = str(item).strip()
        if word:
            result.append(word)
    return result


def _json_short(item: Any, limit: int = 60) -> str:
    try:
        text = json.dumps(item)
    except (ValueError, TypeError, RecursionError):
        return "a nested value"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_tags(value: str | Iterable[Any] | None) -> list[str]:
    """Tags for a new task: ``"bug,urgent"``, ``'["bug", "urgent"]'`` or ``["bug", "urgent"]``.

    A leading ``+`` is accepted and dropped (``"+bug"`` is the tag ``bug``); duplicates are removed."""
    tags: dict[str, None] = {}  # ordered and de-duplicated in linear time
    for word in split_list(value, "tags"):
        tag = word[1:] if word.startswith("+") else word
        if tag:
            tags.setdefault(tag)
    return list(tags)


def parse_tag_edits(value: str | Iterable[Any] | None) -> tuple[list[str], list[str]]:
    """Tag edits for an existing task: ``"+a,-b,c"`` adds a and c and removes b."""
    add: dict[str, None] = {}  # ordered sets: linear in the number of tags
    remove: dict[str, None] = {}
    for word in split_list(value, "tags"):
        target, other = (remove, add) if word.startswith("-") else (add, remove)
        tag = word[1:] if word[0] in "+-" else word
        if not tag:
            continue
        other.pop(tag, None)
        target.setdefault(tag)
    return list(add), list(remove)


def parse_depends(value: str | Iterable[Any] | None) -> list[str]:
    """Dependencies: uuids (or other task references) as a comma string, JSON array or list."""
    return split_list(value, "depends")


def parse_fields(value: str | Iterable[Any] | None) -> list[str] | None:
    """The ``fields`` selection of ``task_list``: ``"id,description,status"`` or a list. None = all."""
    names = split_list(value, "fields")
    if not names:
        return None
    for name in names:
        if not _FIELD_NAME_RE.match(name):
            raise InvalidInput(
                f"fields: {name!r} is not a field name; give a comma list such as 'id,description,status,due'."
            )
    return list(dict.fromkeys(names))


def parse_int(value: str | int | float | None, name: str, *, minimum: int | None = None) -> int | None:
    """A whole number given as a number or as text (``"90"``, ``" 7 "``). None/empty → None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{name} must be a whole number, got {shorten(value)}.")
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidInput(f"{name} must be a whole number, got {shorten(value)}.")
        number = int(value)
    elif isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not text:
            return None
        if not _INT_RE.match(text) or len(text) > _MAX_DIGITS:
            raise InvalidInput(f"{name} must be a whole number, got {shorten(value)}.")
        number = int(text)
    if minimum is not None and number < minimum:
        raise InvalidInput(f"{name} must be at least {minimum}, got {number}.")
    return number


def list_filter(value: str | None) -> str:
    """The filter of task_list/task_count: an empty (or blank) filter means the pending tasks."""
    text = (value or "").strip()
    return text or DEFAULT_LIST_FILTER


def parse_ref(value: str | int | None) -> str:
    """A task reference (numeric id, uuid, uuid prefix; a filter where one is allowed), trimmed.
    What it names is resolved by the engine's one resolver."""
    return "" if value is None else str(value).strip()


def parse_optional(value: str | None) -> str | None:
    """An optional word (sort keys such as ``"due+,id-"``, a remote's name), trimmed; blank means none."""
    return (value or "").strip() or None


def parse_priority(value: Any) -> Any:
    """A priority as typed: trimmed and upper-cased (``" h"`` → ``"H"``); other values pass unchanged
    so that the caller's own check (the MCP schema's enum, the CLI's choices) reports them."""
    value = to_text(value)
    return value.strip().upper() if isinstance(value, str) else value


def parse_import(value: str | list[Any]) -> list[Any]:
    """The tasks of an import: a JSON array (of task objects, each checked by the engine).

    JSON nested more than :data:`MAX_IMPORT_DEPTH` levels is refused here, before the engine (or the JSON
    parser's own recursion) goes into it."""
    if isinstance(value, list):
        items: Any = value
    else:
        try:
            items = json.loads(value)
        except RecursionError:
            raise _too_deep() from None
        except ValueError as exc:  # not JSON, or an integer of more digits than Python converts
            raise InvalidInput(f"tasks must be a JSON array of task objects: {exc}") from None
    if not isinstance(items, list):
        raise InvalidInput('tasks must be a JSON array of task objects, e.g. [{"description": "…"}].')
    if nesting_depth(items, MAX_IMPORT_DEPTH) > MAX_IMPORT_DEPTH:
        raise _too_deep()
    return items


def _too_deep() -> InvalidInput:
    return InvalidInput(
        f"tasks: the JSON is nested more than {MAX_IMPORT_DEPTH} levels deep (lists or objects inside each "
        "other); nothing was imported. Flatten the values (a custom attribute nests at most 20 levels)."
    )


def archive_segment(value: str) -> str:
    """An archive segment's quarter from any name it is known by: ``2026-Q1``, ``archive/2026-Q1``,
    ``archive-2026-Q1``, ``archive/archive-2026-Q1.json``."""
    text = str(value).strip()
    name = text
    for prefix in _SEGMENT_PREFIXES:
        name = name.removeprefix(prefix)
    name = name.removesuffix(".json")
    if not SEGMENT_RE.match(name):
        raise InvalidInput(
            f"Invalid archive segment name '{text}'. Use a quarter like 2026-Q1 (see task_archive_list)."
        )
    return name


def parse_assignments(pairs: Sequence[str], option: str = "--attr") -> dict[str, str]:
    """``KEY=VALUE`` words (the CLI's ``--attr``) as a dict; ``KEY=`` is an empty value."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise InvalidInput(f"{option} takes KEY=VALUE, got {pair!r}.")
        result[key.strip()] = value
    return result


@dataclass
class Extra:
    """What an ``extra`` string asks for."""

    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    """Known fields (see :data:`EXTRA_FIELDS`) → raw text; ``""`` means clear."""
    attributes: dict[str, str] = field(default_factory=dict)
    """User-defined attributes → raw text; ``""`` means clear."""
    ignored: list[str] = field(default_factory=list)
    """Tokens that are neither a tag edit nor ``key:value``."""

    def note(self) -> str:
        """A sentence for the result message when tokens were skipped, else ``""``."""
        if not self.ignored:
            return ""
        words = ", ".join(repr(word) for word in self.ignored)
        return f" Ignored in extra: {words} (use +tag, -tag or key:value)."


# One piece of shell-like text (POSIX ``shlex.split`` rules, no comments): whitespace, a bare run, a
# single-quoted run, a double-quoted run (backslash escapes only " and \\ there) or a backslash escape.
_PIECE = re.compile(
    r"""(?P<space>[ \t\r\n]+)
      | (?P<bare>[^ \t\r\n'"\\]+)
      | '(?P<single>[^']*)'
      | "(?P<double>[^"\\]*(?:\\[\s\S][^"\\]*)*)"
      | \\(?P<escaped>[\s\S])""",
    re.VERBOSE,
)
_DOUBLE_ESCAPE = re.compile(r"\\([\s\S])")


def _unescape_double(match: re.Match[str]) -> str:
    char = match.group(1)
    return char if char in '"\\' else match.group(0)


def shell_words(text: str) -> list[str]:
    """Split ``text`` into words as ``shlex.split(text)`` does (quotes group, backslash escapes), in
    linear time: ``shlex`` builds each word a character at a time, which is quadratic in a word's
    length (a megabyte-long word took minutes). Raises ValueError on an unclosed quote or a trailing
    backslash, as ``shlex`` does."""
    words: list[str] = []
    current: list[str] | None = None  # None: between words
    position, end = 0, len(text)
    while position < end:
        match = _PIECE.match(text, position)
        if match is None:
            raise ValueError("unclosed quotation or escape")
        position = match.end()
        kind = match.lastgroup
        if kind == "space":
            if current is not None:
                words.append("".join(current))
                current = None
            continue
        if current is None:
            current = []
        piece = match.group(kind or "bare")
        current.append(_DOUBLE_ESCAPE.sub(_unescape_double, piece) if kind == "double" else piece)
    if current is not None:
        words.append("".join(current))
    return words


def _tokens(text: str) -> list[str]:
    try:
        return shell_words(text)
    except ValueError:
        return text.split()


def parse_extra(value: str | None) -> Extra:
    """Read an ``extra`` string: ``"+urgent -old due:friday estimate:3h note:'two words'"``.

    Linear in the length of the text (tag edits are kept in ordered sets)."""
    extra = Extra()
    if not value or not str(value).strip():
        return extra
    add: dict[str, None] = {}
    remove: dict[str, None] = {}
    for token in _tokens(str(value)):
        if not token:
            continue
        if token[0] in "+-" and ":" not in token:
            tag = token[1:]
            if not tag:
                extra.ignored.append(token)
            elif token[0] == "+":
                remove.pop(tag, None)
                add.setdefault(tag)
            else:
                add.pop(tag, None)
                remove.setdefault(tag)
            continue
        key, sep, val = token.partition(":")
        if not sep or not key:
            extra.ignored.append(token)
            continue
        lowered = key.lower()
        if lowered in _RESERVED:
            raise InvalidInput(f"extra: {shorten(key)} cannot be set this way: {_RESERVED[lowered]}.")
        if lowered in EXTRA_FIELDS:
            extra.fields[lowered] = val
        elif _ATTR_KEY_RE.match(key):
            extra.attributes[key] = val
        else:
            raise InvalidInput(
                f"extra: {shorten(key)} is not a valid attribute name; use letters, digits, '_', '-' or '.', "
                "starting with a letter."
            )
    extra.add_tags = list(add)
    extra.remove_tags = list(remove)
    return extra


# ------------------------------------------------------------------ one engine call's arguments
# The policy of how explicit parameters and ``extra`` combine, the same for every adapter.

_NOT_LOGGED = ("due", "wait", "scheduled", "recur", "until", "depends")


@dataclass
class Request:
    """The arguments of one engine call, and a note for its result message (words it skipped)."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    note: str = ""


def new_task(
    description: str | None,
    options: Mapping[str, str | None],
    tags: str | Iterable[Any] | None = None,
    extra: str | None = None,
    attributes: Mapping[str, str] | None = None,
) -> Request:
    """``Backlog.add``'s arguments: ``options`` (see :data:`NEW_TASK_OPTIONS`) win over ``extra``'s
    ``key:value``; ``+tag`` in ``extra`` adds a tag (``-tag`` has nothing to remove); empty values are absent."""
    ex = parse_extra(extra)
    values = _merge_new(options, ex.fields)
    kwargs: dict[str, Any] = {key: values.get(key) for key in NEW_TASK_OPTIONS}
    kwargs["tags"] = _new_tags(tags, ex.add_tags)
    kwargs["depends"] = parse_depends(values.get("depends"))
    kwargs["attributes"] = _new_attributes(ex.attributes, attributes)
    return Request((_description(description, ex.fields),), kwargs, ex.note())


def logged_task(
    description: str | None,
    options: Mapping[str, str | None],
    tags: str | Iterable[Any] | None = None,
    extra: str | None = None,
    attributes: Mapping[str, str] | None = None,
) -> Request:
    """``Backlog.log``'s arguments (project, priority, agent): as :func:`new_task`, but a finished task
    has no use for dates, recurrence or dependencies, so those words are named as skipped."""
    ex = parse_extra(extra)
    values = _merge_new(options, ex.fields)
    new_attributes = _new_attributes(ex.attributes, attributes)
    for key in _NOT_LOGGED:
        if key in values:
            ex.ignored.append(f"{key}:{values[key]}")
    kwargs: dict[str, Any] = {key: values.get(key) for key in ("project", "priority", "agent")}
    kwargs["tags"] = _new_tags(tags, ex.add_tags)
    kwargs["attributes"] = new_attributes
    return Request((_description(description, ex.fields),), kwargs, ex.note())


def task_edit(
    options: Mapping[str, str | None],
    tags: str | Iterable[Any] | None = None,
    extra: str | None = None,
    attributes: Mapping[str, str] | None = None,
) -> Request:
    """``Backlog.modify``/``duplicate``'s keyword arguments (changes, add_tags, remove_tags): an omitted
    option is untouched, ``""`` clears it; explicit options win over ``extra``, explicit tag edits over
    ``extra``'s."""
    ex = parse_extra(extra)
    changes = _changes(options, ex.fields, {**ex.attributes, **(attributes or {})})
    add, remove = _tag_edits(tags, ex.add_tags, ex.remove_tags)
    return Request((), {"changes": changes, "add_tags": add, "remove_tags": remove}, ex.note())


def _description(explicit: str | None, from_extra: Mapping[str, str]) -> str:
    if explicit is not None and explicit != "":
        return explicit
    return from_extra.get("description", explicit or "")


def _merge_new(explicit: Mapping[str, str | None], from_extra: Mapping[str, str]) -> dict[str, str]:
    """Values for a new task: explicit parameters win over ``extra``; empty values mean absent."""
    values = {key: value for key, value in from_extra.items() if value != "" and key != "description"}
    values.update({key: value for key, value in explicit.items() if value is not None and value != ""})
    return values


def _new_tags(tags: str | Iterable[Any] | None, from_extra: list[str]) -> list[str]:
    tag_list = parse_tags(tags)
    given = set(tag_list)
    return tag_list + [tag for tag in from_extra if tag not in given]


def _new_attributes(from_extra: Mapping[str, str], explicit: Mapping[str, str] | None) -> dict[str, str] | None:
    merged = {**from_extra, **(explicit or {})}
    return {key: value for key, value in merged.items() if value != ""} or None


def _changes(
    explicit: Mapping[str, str | None], ex_fields: Mapping[str, str], attributes: Mapping[str, str]
) -> dict[str, Any]:
    """Field changes for an existing task: omitted = untouched, "" = clear; explicit wins over extra."""
    changes: dict[str, Any] = {**attributes, **ex_fields}
    changes.update({key: value for key, value in explicit.items() if value is not None})
    if changes.get("description") == "":
        del changes["description"]  # a task always has a description: "" leaves it as it is
    if "depends" in changes and changes["depends"] != "":
        changes["depends"] = parse_depends(changes["depends"])
    return changes


def _tag_edits(
    tags: str | Iterable[Any] | None, add_extra: list[str], remove_extra: list[str]
) -> tuple[list[str], list[str]]:
    add, remove = parse_tag_edits(tags)
    seen = {*add, *remove}  # explicit edits win; a set keeps this linear in the number of tags
    for tag in add_extra:
        if tag not in seen:
            add.append(tag)
            seen.add(tag)
    for tag in remove_extra:
        if tag not in seen:
            remove.append(tag)
            seen.add(tag)
    return add, remove
