"""Field validation: turning the values an operation was given into a valid ``Task`` or a clear error."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ..errors import InvalidInput
from ..model import UUID_RE, Task, validate_extra_key
from ..query import parse_recur, resolve_date
from .state import UUID_PREFIX_RE

DATE_INPUT_FIELDS = ("due", "wait", "scheduled", "until", "start", "end", "entry")
NOT_SETTABLE = ("uuid", "id", "status", "modified", "annotations", "tags", "has_doc", "urgency")
IMPORT_FIELDS = (
    "uuid", "description", "status", "project", "priority", "tags", "due", "wait", "scheduled", "recur",
    "until", "depends", "parent", "agent", "start", "end", "entry", "modified", "annotations",
)

Resolver = Callable[[str], str]
"""Turns a numeric id or uuid prefix into the full uuid of a task (the store's one resolver)."""


def date(name: str, value: Any, now: datetime) -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value
    try:
        return resolve_date(str(value), now)
    except ValueError as exc:
        raise InvalidInput(f"Invalid {name}: {exc}") from None


def validated(data: Mapping[str, Any]) -> Task:
    try:
        return Task.model_validate(dict(data))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = f"the field '{where}' is required"
        elif where and where not in message:
            message = f"{where}: {message}"
        raise InvalidInput(message) from None


def check_description(description: Any) -> None:
    if not isinstance(description, str) or not description.strip():
        raise InvalidInput("Description cannot be empty.")


def check_recurrence(data: Mapping[str, Any]) -> None:
    if not data.get("recur"):
        return
    try:
        parse_recur(str(data["recur"]))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if not data.get("due"):
        raise InvalidInput(
            f"A recurring task needs a due date: give `due` along with recur:{data['recur']} "
            "(instances are due one period apart starting there)."
        )


def recur_status(data: dict[str, Any]) -> None:
    """Setting recur makes a pending task a template; clearing it makes a template pending."""
    if data.get("recur"):
        check_recurrence(data)
        if data.get("status") == "pending":
            data["status"] = "recurring"
    elif data.get("status") == "recurring":
        data["status"] = "pending"


def depends(value: Any, resolve: Resolver) -> list[str]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    result = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if not UUID_RE.match(text.lower()):
            if text.isdigit() or UUID_PREFIX_RE.match(text.lower()):
                text = resolve(text)
            else:
                raise InvalidInput(f"Invalid dependency UUID: '{text}'")
        result.append(text.lower())
    return result


def attributes(given: Mapping[str, Any] | None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in (given or {}).items():
        if key in Task.model_fields or key in ("has_doc", "urgency"):
            raise InvalidInput(f"'{key}' is a built-in field; set it with its own parameter.")
        try:
            validate_extra_key(key)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        result[key] = value
    return result


def apply_changes(
    task: Task,
    changes: Mapping[str, Any],
    add_tags: Sequence[str],
    remove_tags: Sequence[str],
    now: datetime,
    resolve: Resolver,
) -> Task:
    """The task with ``changes`` (field → value; "" or None clears) and the tag edits applied."""
    data = task.model_dump()
    data.update(task.extras)
    for key, value in changes.items():
        _set_field(data, key, value, now, resolve)
    if task.uuid in (data.get("depends") or []):
        raise InvalidInput(f"Task {task.id} cannot depend on itself.")
    removed = set(remove_tags)
    tags = [t for t in data.get("tags") or [] if t not in removed]
    present = set(tags)
    for tag in add_tags:
        if tag not in present and tag not in removed:
            tags.append(tag)
            present.add(tag)
    data["tags"] = tags
    if "recur" in changes:
        recur_status(data)
    return validated(data)


def _set_field(data: dict[str, Any], key: str, value: Any, now: datetime, resolve: Resolver) -> None:
    if key in NOT_SETTABLE:
        raise InvalidInput(f"'{key}' cannot be set with modify; " + how_to_set(key))
    if key == "description":
        if value is not None and str(value).strip():
            data[key] = value
    elif key in DATE_INPUT_FIELDS:
        data[key] = date(key, value, now)
    elif key == "depends":
        data[key] = depends(value, resolve)
    elif key in Task.model_fields:
        data[key] = value if value not in ("", None) else None
    else:
        attributes({key: value})
        if value in ("", None):
            data.pop(key, None)
        else:
            data[key] = value


def how_to_set(key: str) -> str:
    return {
        "status": "use task_done, task_delete, task_start/stop or task_undo.",
        "tags": "use add_tags/remove_tags (+tag / -tag).",
        "annotations": "use task_annotate / task_denotate.",
    }.get(key, "it is managed by backlog-git.")
