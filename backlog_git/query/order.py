"""Deterministic ordering of task lists.

Default: urgency descending, then id ascending (then uuid, so equal ids from two writers still order the
same way everywhere). A sort spec is a comma-separated list of keys ``field[+|-]`` (``+`` ascending, the
default; ``-`` descending), e.g. ``"due+,id-"`` or ``"priority-,urgency-"``. Tasks missing a key's value
sort after the ones that have it, in either direction. Priority orders L < M < H; ``status`` sorts by the
status filters see (``waiting`` for waiting tasks); list fields sort by their comma-joined text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from backlog_git.errors import InvalidInput
from backlog_git.model import Task
from backlog_git.query.context import QueryContext
from backlog_git.query.terms import PRIORITY_RANK, canonical_field

__all__ = ["SortError", "parse_optional", "sort_tasks"]

_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*?)([+-]?)$")
FORM = "comma-separated field names, each optionally followed by + (ascending) or - (descending): due+,id-"


class SortError(InvalidInput):
    """A sort spec that cannot be read; the message names the bad key and shows the accepted form."""


def parse_optional(spec: str) -> list[tuple[str, bool]]:
    """``"due+,id-"`` → [("due", False), ("id", True)] (field, descending)."""
    keys: list[tuple[str, bool]] = []
    for raw in spec.split(","):
        item = raw.strip()
        match = _KEY.match(item)
        if not match:
            raise SortError(f"Invalid sort key {item!r} in {spec!r}: expected {FORM}.")
        name = canonical_field(match.group(1)) or match.group(1)
        keys.append((name, match.group(2) == "-"))
    return keys


def _reader(name: str, ctx: QueryContext) -> Callable[[Task], Any]:
    """How to read a sort value (None = missing) for field ``name``."""
    if name == "urgency":
        return ctx.urgency
    if name == "status":
        return ctx.status_of
    if name == "priority":
        return lambda t: PRIORITY_RANK[t.priority] if t.priority else None
    if name in ("tags", "depends"):
        return lambda t: ",".join(getattr(t, name)) or None
    if name == "annotations":
        return lambda t: len(t.annotations) or None
    if name == "has_doc":
        return ctx.has_doc
    if name in Task.model_fields:
        return lambda t: getattr(t, name)
    return lambda t: _comparable((t.model_extra or {}).get(name))


def _comparable(value: Any) -> Any:
    """User-defined values of mixed types sort numbers first, then dates, then text."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return (0, float(value))
    if isinstance(value, (int, float)):
        return (0, float(value))
    if isinstance(value, datetime):
        return (1, value.timestamp())
    return (2, str(value))


def sort_tasks(tasks: list[Task], ctx: QueryContext, spec: str | None = None) -> list[Task]:
    """A new list of ``tasks`` in the order of ``spec`` (default: urgency descending, then id)."""
    if spec is None or not spec.strip():
        score = ctx.urgency
        return sorted(tasks, key=lambda t: (-score(t), t.id, t.uuid))
    keys = [*parse_optional(spec), ("id", False)]
    result = sorted(tasks, key=lambda t: t.uuid)
    for name, descending in reversed(keys):
        read = _reader(name, ctx)
        present: list[tuple[Any, Task]] = []
        missing: list[Task] = []
        for task in result:
            value = read(task)
            if value is None:
                missing.append(task)
            else:
                present.append((value, task))
        present.sort(key=lambda pair: pair[0], reverse=descending)
        result = [task for _, task in present]
        result.extend(missing)
    return result
