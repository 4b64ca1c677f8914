"""What a task is: the pydantic models for Task and Annotation, and their validation rules.

Timestamps are timezone-aware UTC datetimes in memory and ``YYYY-MM-DDTHH:MM:SSZ`` on disk and in
JSON. Unknown keys (user-defined attributes) are kept in ``model_extra`` and round-tripped.

Sizes are bounded (``MAX_*`` below) so that one task can never make every read slow or break it:
each check is linear and stops as soon as a limit is crossed.
"""

from __future__ import annotations

import math
import re
import reprlib
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator, model_validator
from pydantic_core import PydanticCustomError, TzInfo

STATUSES = ("pending", "completed", "deleted", "recurring")
PRIORITIES = ("H", "M", "L")
DATE_FIELDS = ("due", "wait", "scheduled", "until", "start", "end", "entry", "modified")
USER_DATE_FIELDS = ("due", "wait", "scheduled", "until")
MAX_DESCRIPTION = 500
MAX_TAGS = 1000
"""Tags on one task (after removing duplicates)."""
MAX_TAG_LENGTH = 100
"""Characters in one tag."""
MAX_ATTRIBUTE_SIZE = 10_000
"""Characters in one user-defined attribute's value: its text and numbers, plus one for each list
item and the length (at least one) of each mapping key."""
MAX_ATTRIBUTE_DEPTH = 20
"""Levels of lists and mappings nested in one user-defined attribute's value (a plain value is 0)."""

# ``\Z``, not ``$``: ``$`` also matches before a trailing newline, which would let "<uuid>\n" through.
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
# Dots separate levels of a hierarchical project (``web.frontend``), as in taskwarrior.
PROJECT_RE = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\Z")
EXTRA_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*\Z")

Status = Literal["pending", "completed", "deleted", "recurring"]
Priority = Literal["H", "M", "L"]

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_now() -> datetime:
    """Now, in UTC, truncated to whole seconds (the stored precision)."""
    return datetime.now(UTC).replace(microsecond=0)


def format_timestamp(value: datetime) -> str:
    if value.tzinfo is UTC and not value.microsecond and value.year >= 1000:  # (what validation makes)
        return value.isoformat()[:-6] + "Z"  # the same text as below, in half the time
    return value.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(value: Any, field: str = "timestamp") -> datetime:
    """Read a stored timestamp (a datetime, a date, or an ISO-8601 string) as aware UTC."""
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            result = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{field} must be an ISO-8601 UTC timestamp like 2026-01-31T09:00:00Z, got {value!r}"
            ) from None
    else:
        raise ValueError(f"{field} must be a timestamp like 2026-01-31T09:00:00Z, got {value!r}")
    if result.tzinfo is None:
        result = result.replace(tzinfo=UTC)
    return result.astimezone(UTC).replace(microsecond=0)


class Annotation(BaseModel):
    """A timestamped note on a task."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    entry: datetime
    description: str

    @field_validator("entry", mode="before")
    @classmethod
    def _entry(cls, value: Any) -> datetime:
        return parse_timestamp(value, "annotation entry")

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, (int, float, bool)):
            return str(value)
        return value

    @field_serializer("entry", when_used="json")
    def _ser_entry(self, value: datetime) -> str:
        return format_timestamp(value)


class Task(BaseModel):
    """One task: the fields of the original server's model plus any user-defined attributes."""

    # defer_build: the validator and serializer are built on first use, so a process that only reads
    # cached tasks (view.py) and makes records directly (to_record) never builds them.
    model_config = ConfigDict(extra="allow", validate_assignment=False, defer_build=True)

    uuid: str
    id: int = Field(ge=1)
    description: str
    status: Status = "pending"
    project: str | None = None
    priority: Priority | None = None
    tags: list[str] = Field(default_factory=list)
    due: datetime | None = None
    wait: datetime | None = None
    scheduled: datetime | None = None
    recur: str | None = None
    until: datetime | None = None
    depends: list[str] = Field(default_factory=list)
    parent: str | None = None
    agent: str | None = None
    lease: datetime | None = None
    """While a claim holds: when it expires (``agent`` names the holder); see ``task_claim``."""
    start: datetime | None = None
    end: datetime | None = None
    entry: datetime
    modified: datetime
    annotations: list[Annotation] = Field(default_factory=list)

    @field_validator("uuid", mode="before")
    @classmethod
    def _uuid(cls, value: Any) -> str:
        if not isinstance(value, str) or not UUID_RE.match(value.lower()):
            raise ValueError(
                f"uuid must be a lowercase RFC 4122 uuid like 0f8fad5b-d9cb-469f-a165-70867728950e, got {value!r}"
            )
        return value.lower()

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and value.isdigit():
                return int(value)
            raise ValueError(f"id must be a whole number ≥ 1, got {value!r}")
        return value

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ValueError(f"description must be text, got {value!r}")
        if not value.strip():
            raise ValueError("Description cannot be empty.")
        if len(value) > MAX_DESCRIPTION:
            raise ValueError(
                f"Description must be at most {MAX_DESCRIPTION} characters (got {len(value)}); "
                "put long content in the task's doc (task_doc_write)."
            )
        return value

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> Any:
        if value not in STATUSES:
            raise ValueError(f"Invalid status: {value!r}. Must be one of: {', '.join(STATUSES)}")
        return value

    @field_validator("priority", mode="before")
    @classmethod
    def _priority(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        if value not in PRIORITIES:
            raise ValueError(f"Invalid priority: {value!r}. Must be one of: {', '.join(PRIORITIES)}")
        return value

    @field_validator("project", mode="before")
    @classmethod
    def _project(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        value = str(value)
        if not PROJECT_RE.match(value):
            raise ValueError(
                f"Invalid project {value!r}: use letters, digits, '_' and '-', with '.' between levels "
                "(e.g. web.frontend); no spaces."
            )
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError(f"tags must be a list of words, got {_short(value)}")
        tags: dict[str, None] = {}  # insertion-ordered set: linear de-duplication
        for tag in value:
            if isinstance(tag, (list, dict)):
                raise ValueError(f"Invalid tag {_short(tag)}: a tag is one word, not a list or a mapping.")
            text = str(tag)
            if len(text) > MAX_TAG_LENGTH:
                raise ValueError(
                    f"Invalid tag {_short(text)}: a tag is at most {MAX_TAG_LENGTH} characters "
                    f"(got {len(text)}); use a shorter word."
                )
            if not text or any(ch.isspace() for ch in text):
                raise ValueError(f"Invalid tag {text!r}: a tag is one word with no spaces.")
            if text.startswith(("+", "-")):
                raise ValueError(f"Invalid tag {text!r}: a tag cannot start with '+' or '-'.")
            tags[text] = None
        if len(tags) > MAX_TAGS:
            raise ValueError(
                f"Too many tags: {len(tags)} (a task has at most {MAX_TAGS}); group tasks with a project "
                "or an attribute instead."
            )
        return list(tags)

    @field_validator("depends", mode="before")
    @classmethod
    def _depends(cls, value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError(f"depends must be a list of task uuids, got {value!r}")
        result: dict[str, None] = {}  # insertion-ordered set: linear de-duplication
        for item in value:
            text = str(item).strip().lower()
            if not UUID_RE.match(text):
                raise ValueError(f"Invalid dependency UUID: {_short(str(item))}")
            result[text] = None
        return list(result)

    @field_validator("parent", mode="before")
    @classmethod
    def _parent(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        text = str(value).lower()
        if not UUID_RE.match(text):
            raise ValueError(f"parent must be a task uuid, got {value!r}")
        return text

    @field_validator("agent", "recur", mode="before")
    @classmethod
    def _optional_text(cls, value: Any) -> Any:
        if value in (None, ""):
            return None
        return str(value)

    @field_validator(*DATE_FIELDS, mode="before")
    @classmethod
    def _dates(cls, value: Any, info: Any) -> Any:
        if value in (None, ""):
            return None
        return parse_timestamp(value, info.field_name)

    @field_validator("annotations", mode="before")
    @classmethod
    def _annotations(cls, value: Any) -> Any:
        return [] if value is None else value

    @model_validator(mode="after")
    def _attributes(self) -> Task:
        for key, value in (self.model_extra or {}).items():
            problem = attribute_problem(key, value)
            if problem is not None:
                # ``attribute`` in the error's context lets a file reader point at the line.
                raise PydanticCustomError("attribute_limit", problem, {"attribute": key})
        return self

    @field_serializer(*DATE_FIELDS, when_used="json")
    def _ser_dates(self, value: datetime | None) -> str | None:
        return None if value is None else format_timestamp(value)

    @property
    def extras(self) -> dict[str, Any]:
        """User-defined attributes: front-matter keys this model does not define."""
        return dict(self.model_extra or {})

    def to_record(self) -> dict[str, Any]:
        """The task as plain JSON-able data, without empty fields (the wire form of the tools)."""
        data = _plain_record(self)
        if data is not None:
            return data
        data = self.model_dump(mode="json", exclude_none=True)
        for key in ("tags", "depends", "annotations"):
            if not data.get(key):
                data.pop(key, None)
        return data


def _plain_record(task: Task) -> dict[str, Any] | None:
    """What ``to_record`` makes with pydantic's JSON dump, made directly (five times faster, and without
    building the model's serializer in a process that only reads); None when an extra holds anything but
    text, whole numbers, finite floats, booleans, None, lists and text-keyed mappings (pydantic's JSON mode
    converts those: then it does the work). Containers are new, so a record never shares one with the task."""
    extra = task.__pydantic_extra__
    copied: dict[str, Any] | None = None
    if extra:
        copied = {}
        for key, value in extra.items():
            if value is not None:
                value = _json_copy(value)
                if value is _NOT_PLAIN:
                    return None
                copied[key] = value
    record: dict[str, Any] = {}
    for name, value in task.__dict__.items():
        if value is None:
            continue
        if name in _DATE_SET:
            value = format_timestamp(value)
        elif isinstance(value, datetime):  # a field pydantic validates itself (``lease``): as it writes it
            if value.utcoffset() or value.tzinfo is None or value.microsecond or value.year < 1000:
                return None
            value = value.strftime(TIMESTAMP_FORMAT)
        elif name in ("tags", "depends", "annotations"):
            if not value:
                continue
            if name == "annotations":
                value = [{"entry": format_timestamp(note.entry), "description": note.description} for note in value]
            else:
                value = list(value)
        record[name] = value
    if copied:
        record.update(copied)
    return record


_NOT_PLAIN = object()
_DATE_SET = frozenset(DATE_FIELDS)


def _json_copy(value: Any) -> Any:
    """A copy of a JSON value as pydantic's JSON mode gives it unchanged, or ``_NOT_PLAIN``. Nested at
    most ``MAX_ATTRIBUTE_DEPTH`` deep (validation refused deeper values)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return value if math.isfinite(value) else _NOT_PLAIN
    if kind is list:
        items = [_json_copy(item) for item in value]
        return _NOT_PLAIN if any(item is _NOT_PLAIN for item in items) else items
    if kind is dict:
        if not all(type(key) is str for key in value):
            return _NOT_PLAIN
        mapping = {key: _json_copy(item) for key, item in value.items()}
        return _NOT_PLAIN if any(item is _NOT_PLAIN for item in mapping.values()) else mapping
    return _NOT_PLAIN


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 40


def _short(value: Any) -> str:
    """A repr() of bounded length and cost (long text and big structures elided with '...'), for
    messages about oversized input."""
    return _SHORT_REPR.repr(value)


def attribute_problem(key: str, value: Any) -> str | None:
    """Why a user-defined attribute's value is refused (too deep, too large), or None if it is fine.

    Walks the value without recursion and stops at the first limit crossed, so a huge or
    self-referencing value costs at most ``MAX_ATTRIBUTE_SIZE`` steps."""
    size = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            depth += 1
            if depth > MAX_ATTRIBUTE_DEPTH:
                return (
                    f"Attribute {key!r} is nested more than {MAX_ATTRIBUTE_DEPTH} levels deep (lists or "
                    f"mappings inside each other); at most {MAX_ATTRIBUTE_DEPTH} are allowed: flatten the "
                    "value, or put structured content in the task's doc (task_doc_write)."
                )
            if isinstance(item, dict):
                for name, child in item.items():
                    size += max(1, len(str(name)))
                    if size > MAX_ATTRIBUTE_SIZE:
                        break
                    stack.append((child, depth))
            else:
                size += len(item)
                if size <= MAX_ATTRIBUTE_SIZE:
                    stack.extend((child, depth) for child in item)
        else:
            size += len(item) if isinstance(item, str) else len(str(item))
        if size > MAX_ATTRIBUTE_SIZE:
            return (
                f"Attribute {key!r} is too large: more than {MAX_ATTRIBUTE_SIZE} characters; keep "
                "attributes short and put long content in the task's doc (task_doc_write)."
            )
    return None


def validate_extra_key(key: str) -> None:
    if not EXTRA_KEY_RE.match(key):
        raise ValueError(f"Invalid attribute name {key!r}: use letters, digits, '_', '-' and '.'.")


# ---------------------------------------------------------------------------------------------
# A validated task as plain values, and back (the parse cache's form, see view.py)
#
# ``task_state`` turns a task that validation produced into plain values (dates as epoch seconds,
# annotations as pairs) that ``marshal`` can store; ``task_from_state`` rebuilds an equal task without
# validating again (pydantic's ``model_construct`` path, done directly: a hundred times faster than
# validating, and the instance holds the same ``__dict__``, extras and fields-set that validation
# gave). Only data this module produced from a validated task may be rebuilt this way.

TASK_FIELDS: tuple[str, ...] = tuple(Task.model_fields)
"""Task's fields in declaration order (the order validation fills ``__dict__`` in)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PYDANTIC_UTC = TzInfo(0)
"""The tzinfo pydantic gives a UTC timestamp it validates itself (``lease``; the ``DATE_FIELDS`` are
read by this module, as ``datetime.UTC``)."""
_ANNOTATION_FIELDS = frozenset(("entry", "description"))
_PLAIN_TYPES = (str, int, float, type(None))  # bool is an int
_SHARED_TEXTS = frozenset(("status", "project", "priority", "agent", "recur"))


def _seconds(value: Any, zone: Any = UTC) -> int | None:
    """Whole seconds since the epoch of a stored timestamp; None if it is not one (aware UTC, no
    microseconds: what validation makes), so the task is not put in this form. ``zone``: the type of
    tzinfo validation gives (UTC for the fields this module reads; pydantic's own for ``lease``)."""
    if not isinstance(value, datetime) or value.microsecond or value.fold:
        return None
    if zone is UTC:
        if value.tzinfo is not UTC:
            return None
    elif type(value.tzinfo) is not zone or value.utcoffset():
        return None
    delta = value - _EPOCH
    return delta.days * 86400 + delta.seconds


def _plain(value: Any) -> bool:
    """Is ``value`` made only of types ``marshal`` stores exactly (str, int, bool, float, None, list,
    dict, tuple)? Walks without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) in (list, tuple):
            stack.extend(item)
        elif type(item) is dict:
            stack.extend(item.keys())
            stack.extend(item.values())
        elif type(item) not in (*_PLAIN_TYPES, bool):
            return False
    return True


def task_state(task: Task, shared: dict[Any, Any] | None = None) -> tuple[Any, ...] | None:
    """``task`` as plain values for :func:`task_from_state`; None when it holds a value this form
    cannot carry exactly (the task is then simply not cached). States made with one ``shared`` hold one
    object for equal short texts and key lists (marshal then stores each once, and loads it once)."""
    shared = {} if shared is None else shared
    data = task.__dict__
    if list(data) != list(TASK_FIELDS) or task.__pydantic_private__ is not None:
        return None
    values: dict[str, Any] = {}
    dates: list[str] = []
    for name in TASK_FIELDS:
        value = data[name]
        if name in DATE_FIELDS:
            if value is not None:
                value = _seconds(value)
                if value is None:
                    return None
                dates.append(name)
        elif name == "annotations":
            notes = []
            for note in value:
                if type(note) is not Annotation or note.__pydantic_fields_set__ != _ANNOTATION_FIELDS:
                    return None
                seconds = _seconds(note.entry)
                if seconds is None or type(note.description) is not str:
                    return None
                notes.append((seconds, note.description))
            value = tuple(notes)
        elif isinstance(value, datetime):  # validated by pydantic itself (``lease``): its own UTC tzinfo
            value = _seconds(value, TzInfo)
            if value is None:
                return None
            dates.append(name)
        elif not _plain(value):
            return None
        elif name in _SHARED_TEXTS and value is not None:
            value = shared.setdefault(value, value)
        elif name == "tags":
            value = [shared.setdefault(tag, tag) for tag in value]
        values[name] = value
    extra = task.__pydantic_extra__
    if type(extra) is not dict or not _plain(extra):
        return None
    keys = tuple(sorted(task.__pydantic_fields_set__))
    return values, shared.setdefault(tuple(dates), tuple(dates)), extra, shared.setdefault(keys, keys)


def task_from_state(
    state: tuple[Any, ...], memo: dict[Any, Any] | None = None, *, _new: Any = object.__new__,
    _set: Any = object.__setattr__,
) -> Task:
    """The task :func:`task_state` described (equal to the validated original, never re-validated).
    Takes ownership of ``state``'s containers (a state is rebuilt once).

    Tasks rebuilt with one ``memo`` share immutable values: one datetime per distinct timestamp, and
    one fields-set per distinct set of keys (pydantic's record of the keys the file had, 700 bytes a
    task; read only by ``exclude_unset`` dumps, which this project never makes, and copied by
    ``model_copy``; nothing assigns to a task's attributes)."""
    values, dates, extra, fields_set = state
    if type(values) is not dict or tuple(values) != TASK_FIELDS or type(extra) is not dict:
        raise ValueError("not a task state")
    moments = {} if memo is None else memo
    for name in dates:
        seconds = values[name]
        moment = moments.get(seconds)
        if moment is None:
            moment = moments[seconds] = _EPOCH + timedelta(seconds=seconds)
        values[name] = moment if name in _DATE_SET else moment.replace(tzinfo=_PYDANTIC_UTC)
    notes = values["annotations"]
    if notes:
        built = []
        for seconds, text in notes:
            note = _new(Annotation)
            moment = moments.get(seconds)
            if moment is None:
                moment = moments[seconds] = _EPOCH + timedelta(seconds=seconds)
            _set(note, "__dict__", {"entry": moment, "description": text})
            _set(note, "__pydantic_extra__", None)
            _set(note, "__pydantic_fields_set__", set(_ANNOTATION_FIELDS))
            _set(note, "__pydantic_private__", None)
            built.append(note)
        values["annotations"] = built
    else:
        values["annotations"] = []
    task = _new(Task)
    _set(task, "__dict__", values)
    _set(task, "__pydantic_extra__", extra)
    shared = moments.get(fields_set)
    if shared is None:
        shared = moments[fields_set] = set(fields_set)
    _set(task, "__pydantic_fields_set__", shared)
    _set(task, "__pydantic_private__", None)
    return task
