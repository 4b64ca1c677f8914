"""A task file as a flat mapping of fields (every field, every extra attribute, the body as ``doc``),
and the changes between two versions: what history shows and what undo reverts."""

from __future__ import annotations

from typing import Any

from ..taskfile import TaskFile, TaskFileError, parse


def parse_or_none(data: bytes | None, path: str) -> TaskFile | None:
    if data is None:
        return None
    try:
        return parse(data, path)
    except TaskFileError:
        return None


def fields_of(file: TaskFile) -> dict[str, Any]:
    """A task file as one flat mapping: every field, every extra attribute, and the body as ``doc``."""
    data = file.task.model_dump(mode="json")
    data.update(file.task.extras)
    data["doc"] = file.body
    return data


def field_changes(before: bytes | None, after: bytes | None) -> dict[str, list[Any]]:
    return changes_between(parse_or_none(before, "before"), parse_or_none(after, "after"))


def changes_between(old: TaskFile | None, new: TaskFile | None) -> dict[str, list[Any]]:
    """The fields two parsed versions differ in, old → new (for callers that already parsed them)."""
    old_fields = fields_of(old) if old else {}
    new_fields = fields_of(new) if new else {}
    changes = {}
    for key in sorted(set(old_fields) | set(new_fields)):
        a, b = old_fields.get(key), new_fields.get(key)
        if a != b and not (a in (None, [], "") and b in (None, [], "")):
            changes[key] = [a, b]
    return changes
