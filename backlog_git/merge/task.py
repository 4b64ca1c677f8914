"""The field-by-field three-way merge of one parsed task (rules 1 to 6), put together from its parts.

Single values (``fields``), the list fields and annotations (``sets``) and the body (``body``) merge on
their own; this module pairs the sides, checks they are one task, and adds the conflict tag and notes.
"""

from __future__ import annotations

from ..model import Task
from ..taskfile import TaskFile
from .body import _merge_body
from .fields import _conflict_note, _merge_extras, _merge_modified, _merge_singles
from .markers import _has_blocks
from .result import CONFLICT_TAG, Conflict
from .sets import _add_annotations, _merge_annotations, _merge_set
from .sides import _get, _side


def merge_tasks(
    base: TaskFile | None,
    ours: TaskFile,
    theirs: TaskFile,
    *,
    ours_label: str | None = None,
    theirs_label: str | None = None,
) -> tuple[TaskFile, list[Conflict]]:
    """Merge three parsed versions of one task; returns the merged task file and the conflicts found."""
    _check_same_task(ours, theirs)
    if base is not None and base.task.uuid != ours.task.uuid:
        base = None
    a = _side(ours, ours_label, base)
    b = _side(theirs, theirs_label, base)
    base_task = base.task if base is not None else None
    values, conflicts = _merge_singles(base_task, a, b)
    modified = _merge_modified(base_task, a, b)
    extras, extra_conflicts = _merge_extras(base_task, a, b)
    conflicts += extra_conflicts
    body, body_conflicts = _merge_body(base.body if base is not None else "", a, b)
    extra_tags = (CONFLICT_TAG,) if body_conflicts or _has_blocks(body) else ()
    values["tags"] = _merge_set(_get(base_task, "tags", []), a.task.tags, b.task.tags, extra_tags)
    values["depends"] = _merge_set(_get(base_task, "depends", []), a.task.depends, b.task.depends)
    notes = [_conflict_note(conflict, modified) for conflict in conflicts]
    annotations = _merge_annotations(
        _get(base_task, "annotations", []), a.task.annotations, b.task.annotations
    )
    values["annotations"] = _add_annotations(annotations, notes)
    values.update(uuid=a.task.uuid, modified=modified)
    task = Task.model_validate({**values, **extras})
    return TaskFile(task, body), conflicts + body_conflicts


def _check_same_task(ours: TaskFile, theirs: TaskFile) -> None:
    if ours.task.uuid != theirs.task.uuid:
        raise ValueError(
            f"cannot merge two different tasks: uuid {ours.task.uuid} and uuid {theirs.task.uuid} "
            "(one path always holds one task; this is a bug in whatever paired these files)"
        )
