"""Rules 2 and 3: every single value of a task (scalar fields and user attributes), merged on its own.

A one-sided change wins; a real clash goes to the field's rule (``_rank``) and the losing value becomes a
conflict, which ``_conflict_note`` turns into the annotation that keeps it. ``modified`` is bookkeeping
and merges apart from the others.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from .. import taskfile
from ..model import Annotation, Task
from .result import Conflict
from .sides import _get, _Side
from .values import ABSENT, _private, canonical, show

STATUS_RANK = {"deleted": 0, "completed": 1, "recurring": 2, "pending": 3}
SINGLE_FIELDS = tuple(
    name
    for name in taskfile.FIELD_ORDER
    if name not in ("uuid", "tags", "depends", "annotations", "modified")
)


def _merge_singles(base: Task | None, a: _Side, b: _Side) -> tuple[dict[str, Any], list[Conflict]]:
    values: dict[str, Any] = {}
    conflicts: list[Conflict] = []
    for name in SINGLE_FIELDS:
        value, conflict = _merge_value(
            name, _get(base, name), getattr(a.task, name), getattr(b.task, name), a, b, values
        )
        values[name] = value
        if conflict is not None:
            conflicts.append(conflict)
    return values, conflicts


def _merge_extras(base: Task | None, a: _Side, b: _Side) -> tuple[dict[str, Any], list[Conflict]]:
    base_extras = base.extras if base is not None else {}
    a_extras, b_extras = a.task.extras, b.task.extras
    merged: dict[str, Any] = {}
    conflicts: list[Conflict] = []
    for key in sorted(set(base_extras) | set(a_extras) | set(b_extras)):
        value, conflict = _merge_value(
            key, base_extras.get(key, ABSENT), a_extras.get(key, ABSENT), b_extras.get(key, ABSENT), a, b, {}
        )
        if value is not ABSENT:
            merged[key] = _private(value)
        if conflict is not None:
            conflicts.append(conflict)
    return merged, conflicts


def _merge_value(
    name: str, base: Any, ours: Any, theirs: Any, a: _Side, b: _Side, merged: dict[str, Any]
) -> tuple[Any, Conflict | None]:
    """Rule 2 and 3: one-sided changes win; a real clash goes to the field's rule, the loser is recorded."""
    key_a, key_b = canonical(ours), canonical(theirs)
    if key_a == key_b:
        return ours, None
    key_base = canonical(base)
    if key_a == key_base:
        return theirs, None
    if key_b == key_base:
        return ours, None
    rank_a = (_rank(name, ours, a, merged), key_a)
    rank_b = (_rank(name, theirs, b, merged), key_b)
    if rank_a > rank_b:
        return ours, Conflict(name, ours, theirs, a.label, b.label)
    return theirs, Conflict(name, theirs, ours, b.label, a.label)


def _rank(name: str, value: Any, side: _Side, merged: dict[str, Any]) -> tuple[Any, ...]:
    """The per-field winner rule: the larger rank wins (ties fall to the canonical value)."""
    if name == "id":
        return (-value,)
    if name == "status":
        return (STATUS_RANK[value],)
    if name == "entry":
        return (-value.timestamp(),)
    if name == "start":
        return (_time(value),)
    if name == "end":
        return (side.task.status == merged.get("status"), _time(value))
    return (side.recency,)


def _time(value: datetime | None) -> float:
    return -math.inf if value is None else value.timestamp()


def _merge_modified(base: Task | None, a: _Side, b: _Side) -> datetime:
    ours, theirs = a.task.modified, b.task.modified
    if base is not None and ours == base.modified:
        return theirs
    if base is not None and theirs == base.modified:
        return ours
    return max(ours, theirs)


def _conflict_note(conflict: Conflict, when: datetime) -> tuple[str, Annotation]:
    """The annotation recording a lost value, and its prefix naming the loss (field, value, loser)."""
    known = conflict.field in Task.model_fields
    kept = "unset" if known and conflict.kept is None else show(conflict.kept)
    lost = "unset" if known and conflict.other is None else show(conflict.other)
    prefix = f"merge: {conflict.field} was {lost} ({_flat(conflict.other_label)}), kept "
    return prefix, Annotation(entry=when, description=f"{prefix}{kept} ({_flat(conflict.kept_label)})")


def _flat(text: str) -> str:
    return " ".join(text.split())
