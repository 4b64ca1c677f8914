"""Values of any YAML type as the merge sees them: compared (``canonical``), shown in a note (``show``), copied.

Every field rule compares values through ``canonical``, so ``1`` and ``true`` differ and ties break the
same way whichever side a value came from. ``ABSENT`` is a user attribute a version does not have.
"""

from __future__ import annotations

import copy
import json
from datetime import date, datetime
from typing import Any

from ..model import Annotation, Task, format_timestamp


class _Absent:
    """An attribute that a version does not have (distinct from an explicit ``null``)."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Any = _Absent()


def canonical(value: Any) -> str:
    """A deterministic text for comparing and ordering values of any YAML type."""
    if value is ABSENT:
        return "\x00absent"
    if isinstance(value, datetime):
        return "t:" + format_timestamp(value)
    if isinstance(value, date):
        return "d:" + value.isoformat()
    if isinstance(value, dict):
        items = sorted((canonical(k), canonical(v)) for k, v in value.items())
        return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    if isinstance(value, Annotation):
        return canonical([value.entry, value.description])
    return f"{type(value).__name__}:{value!r}"


def show(value: Any) -> str:
    """A value as people read it in a conflict annotation."""
    if value is ABSENT:
        return "unset"
    if value is None:
        return "null"
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return canonical(value)


def _rebuilt(task: Task, **changes: Any) -> Task:
    """A copy of the task with changes, sharing no list or dict between attributes (see ``_private``)."""
    data = {name: getattr(task, name) for name in Task.model_fields}
    data.update({key: _private(value) for key, value in task.extras.items()})
    data.update(changes)
    return Task.model_validate(data)


def _private(value: Any) -> Any:
    """A private copy of a list or dict: values shared between keys would be dumped as YAML aliases."""
    return copy.deepcopy(value) if isinstance(value, (dict, list)) else value
