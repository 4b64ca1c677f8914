"""Parsing of the loose text inputs that agents and humans type: tags, tag edits, ``extra``, numbers.

Pure functions with no I/O, shared by the MCP server and the CLI. Each accepts the forms clients
actually send (a comma string, a JSON array in a string, a real list, a number as text) and raises
:class:`~backlog_git.errors.InvalidInput` with a message that says what to type instead.

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
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidInput

DEFAULT_LIST_FILTER = "status:pending"

# Fields a ``key:value`` token in ``extra`` may set, besides user-defined attributes.
EXTRA_FIELDS = (
    "description",
    "project",
    "priority",
    "due",
    "wait",
    "scheduled",
    "recur",
    "until",
    "agent",
    "depends",
)
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


def to_text(value: Any) -> Any:
    """Coerce what a client sent for a string parameter: numbers become their text, a list becomes
    JSON text (later parsed by the list helpers), None and strings pass through. Other values are
    returned unchanged so that schema validation reports them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return json.dumps(list(value), ensure_ascii=False)
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
            raise InvalidInput(f"{name}: expected a comma-separated list or a JSON array, got {text!r}.")
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                inner = text[1:-1] if text.endswith("]") else text[1:]
                items: Iterable[Any] = (part.strip().strip("'\"") for part in inner.split(","))
            else:
                if not isinstance(parsed, list):
                    raise InvalidInput(f"{name}: expected a list, got {text!r}.")
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
            raise InvalidInput(f"{name}: each item must be a word, got {json.dumps(item)}.")
        word = str(item).strip()
        if word:
            result.append(word)
    return result


def parse_tags(value: str | Iterable[Any] | None) -> list[str]:
    """Tags for a new task: ``"bug,urgent"``, ``'["bug", "urgent"]'`` or ``["bug", "urgent"]``.

    A leading ``+`` is accepted and dropped (``"+bug"`` is the tag ``bug``); duplicates are removed."""
    tags: list[str] = []
    for word in split_list(value, "tags"):
        tag = word[1:] if word.startswith("+") else word
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def parse_tag_edits(value: str | Iterable[Any] | None) -> tuple[list[str], list[str]]:
    """Tag edits for an existing task: ``"+a,-b,c"`` adds a and c and removes b."""
    add: list[str] = []
    remove: list[str] = []
    for word in split_list(value, "tags"):
        if word.startswith("-"):
            target, other = remove, add
        else:
            target, other = add, remove
        tag = word[1:] if word[0] in "+-" else word
        if not tag:
            continue
        if tag in other:
            other.remove(tag)
        if tag not in target:
            target.append(tag)
    return add, remove


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
        raise InvalidInput(f"{name} must be a whole number, got {value!r}.")
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidInput(f"{name} must be a whole number, got {value!r}.")
        number = int(value)
    elif isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not text:
            return None
        if not _INT_RE.match(text):
            raise InvalidInput(f"{name} must be a whole number, got {value!r}.")
        number = int(text)
    if minimum is not None and number < minimum:
        raise InvalidInput(f"{name} must be at least {minimum}, got {number}.")
    return number


def list_filter(value: str | None) -> str:
    """The filter of task_list/task_count: an empty (or blank) filter means the pending tasks."""
    text = (value or "").strip()
    return text or DEFAULT_LIST_FILTER


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


def _tokens(text: str) -> list[str]:
    try:
        return shlex.split(text, posix=True)
    except ValueError:
        return text.split()


def parse_extra(value: str | None) -> Extra:
    """Read an ``extra`` string: ``"+urgent -old due:friday estimate:3h note:'two words'"``."""
    extra = Extra()
    if not value or not str(value).strip():
        return extra
    for token in _tokens(str(value)):
        if not token:
            continue
        if token[0] in "+-" and ":" not in token:
            tag = token[1:]
            if not tag:
                extra.ignored.append(token)
            elif token[0] == "+":
                if tag in extra.remove_tags:
                    extra.remove_tags.remove(tag)
                if tag not in extra.add_tags:
                    extra.add_tags.append(tag)
            else:
                if tag in extra.add_tags:
                    extra.add_tags.remove(tag)
                if tag not in extra.remove_tags:
                    extra.remove_tags.append(tag)
            continue
        key, sep, val = token.partition(":")
        if not sep or not key:
            extra.ignored.append(token)
            continue
        lowered = key.lower()
        if lowered in _RESERVED:
            raise InvalidInput(f"extra: {key!r} cannot be set this way: {_RESERVED[lowered]}.")
        if lowered in EXTRA_FIELDS:
            extra.fields[lowered] = val
        elif _ATTR_KEY_RE.match(key):
            extra.attributes[key] = val
        else:
            raise InvalidInput(
                f"extra: {key!r} is not a valid attribute name; use letters, digits, '_', '-' or '.', "
                "starting with a letter."
            )
    return extra
