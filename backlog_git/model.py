"""What a task is: the pydantic models for Task and Annotation, and their validation rules.

Timestamps are timezone-aware UTC datetimes in memory and ``YYYY-MM-DDTHH:MM:SSZ`` on disk and in
JSON. Unknown keys (user-defined attributes) are kept in ``model_extra`` and round-tripped.

Sizes are bounded (``MAX_*`` below) so that one task can never make every read slow or break it:
each check is linear and stops as soon as a limit is crossed.
"""

from __future__ import annotations

import re
import reprlib
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator, model_validator
from pydantic_core import PydanticCustomError

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

    model_config = ConfigDict(extra="forbid")

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

    model_config = ConfigDict(extra="allow", validate_assignment=False)

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
        data = self.model_dump(mode="json", exclude_none=True)
        for key in ("tags", "depends", "annotations"):
            if not data.get(key):
                data.pop(key, None)
        return data


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
