"""Operations that change existing tasks: modify, the lifecycle transitions, annotations, purge, docs.
Each returns a builder of new file contents for the write transaction; none touches git."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..errors import InvalidInput, NotFound, WrongState
from ..model import UUID_RE, Annotation, Task
from ..view import Entry
from . import validate
from .claims import holder, publish_release, refuse_if_held_by_other, renewed
from .recurrence import spawn_for_parent
from .state import StoreState, empty_if_blank
from .transaction import Build, Change, write_task

Apply = Callable[[Task, datetime], Task]
ENDS_CLAIM = ("done", "stop", "delete")


def modify(
    state: StoreState,
    filter: str,
    *,
    changes: Mapping[str, Any] | None,
    add_tags: Sequence[str],
    remove_tags: Sequence[str],
) -> Build:
    if not empty_if_blank(filter).strip():
        raise InvalidInput(
            "task_modify needs a filter naming the tasks to change (an id, a uuid, or e.g. project:web); "
            "an empty filter would change every task."
        )

    def build(change: Change, now: datetime) -> str:
        targets = _modify_targets(state, filter)
        for entry in targets:
            refuse_if_held_by_other(state, entry.task, now)
            resolve = _uuid_resolver(state)
            task = validate.apply_changes(entry.task, changes or {}, add_tags, remove_tags, now, resolve)
            assert entry.file is not None
            if task != entry.task:
                task = renewed(state, task, now).model_copy(update={"modified": now})
                write_task(state, change, task, entry.file.body)
        if not change.files:
            return f"No change: the {len(targets)} matching task(s) already have these values."
        return f"Modified {len(change.touched)} task(s)."

    return build


def _uuid_resolver(state: StoreState) -> validate.Resolver:
    return lambda text: state.resolve(text).uuid


def _modify_targets(state: StoreState, text: str) -> list[Entry]:
    stripped = text.strip()
    if stripped.isdigit() or UUID_RE.match(stripped.lower()):
        return [state.editable(stripped)]
    matches = state.select(text, state.context())
    if not matches:
        raise NotFound("No matching tasks. Check the filter with task_list first.")
    return [state.view.by_uuid[t.uuid] for t in matches]


def transition(state: StoreState, op: str, ref: str, apply: Apply, message: str) -> Build:
    """One task, one change of its fields; completing a recurring instance may owe the next one."""

    def build(change: Change, now: datetime) -> str:
        entry = state.editable(ref)
        assert entry.file is not None
        if op != "annotate":  # a note on a task someone else holds is welcome; other changes are theirs
            refuse_if_held_by_other(state, entry.task, now)
        task = apply(entry.task, now).model_copy(update={"modified": now})
        ended = holder(entry.task, now) if op in ENDS_CLAIM else None
        task = task.model_copy(update={"lease": None}) if op in ENDS_CLAIM else renewed(state, task, now)
        write_task(state, change, task, entry.file.body)
        if op == "done" and task.parent:
            spawn_for_parent(state, change, task, now)
        unpublished = publish_release(state, task, ended, now) if ended is not None else ""
        return message.format(id=task.id, uuid=task.uuid) + unpublished

    return build


def complete(task: Task, now: datetime) -> Task:
    if task.status == "completed":
        when = f" (at {task.end:%Y-%m-%d %H:%M} UTC)" if task.end else ""
        raise WrongState(f"Task {task.id} is already completed{when}.")
    if task.status == "deleted":
        raise WrongState(f"Task {task.id} is deleted; restore it with task_undo before completing it.")
    return task.model_copy(update={"status": "completed", "end": now, "start": None})


def delete(task: Task, now: datetime) -> Task:
    if task.status == "deleted":
        raise WrongState(f"Task {task.id} is already deleted; task_purge removes it for good.")
    return task.model_copy(update={"status": "deleted", "end": now, "start": None})


def start(task: Task, now: datetime) -> Task:
    if task.status != "pending":
        raise WrongState(f"Task {task.id} is {task.status}; only pending tasks can be started.")
    if task.start is not None:
        raise WrongState(f"Task {task.id} is already started (since {task.start:%Y-%m-%d %H:%M} UTC).")
    return task.model_copy(update={"start": now})


def stop(task: Task, now: datetime) -> Task:
    if task.start is None:
        raise WrongState(f"Task {task.id} is not started, so there is nothing to stop.")
    return task.model_copy(update={"start": None})


def annotation(text: str) -> Apply:
    def apply(task: Task, now: datetime) -> Task:
        note = Annotation(entry=now, description=str(text))
        return task.model_copy(update={"annotations": [*task.annotations, note]})

    return apply


def removal_of_annotation(text: str) -> Apply:
    def apply(task: Task, now: datetime) -> Task:
        notes = list(task.annotations)
        for position, note in enumerate(notes):
            if note.description == text:
                del notes[position]
                return task.model_copy(update={"annotations": notes})
        existing = "; ".join(repr(n.description) for n in notes) or "none"
        raise NotFound(f"Task {task.id} has no annotation with exactly that text. Its annotations: {existing}.")

    return apply


def purge(state: StoreState, ref: str) -> Build:
    def build(change: Change, now: datetime) -> str:
        entry = state.editable(ref)
        refuse_if_held_by_other(state, entry.task, now)
        if entry.task.status != "deleted":
            raise WrongState(
                f"Can only purge deleted tasks: task {entry.task.id} is {entry.task.status}. "
                "Delete it first (task_delete)."
            )
        change.files[entry.path] = None
        change.touch(entry.task)
        return f"Task {entry.uuid} purged."

    return build


def doc_write(state: StoreState, ref: str, content: str) -> Build:
    def build(change: Change, now: datetime) -> str:
        entry = state.editable(ref)
        refuse_if_held_by_other(state, entry.task, now)
        tags = entry.task.tags if "doc" in entry.task.tags else [*entry.task.tags, "doc"]
        task = entry.task.model_copy(update={"tags": tags, "modified": now})
        write_task(state, change, task, str(content))
        return f"Doc written for task {task.uuid}."

    return build


def doc_delete(state: StoreState, ref: str) -> Build:
    def build(change: Change, now: datetime) -> str:
        entry = state.editable(ref)
        refuse_if_held_by_other(state, entry.task, now)
        assert entry.file is not None
        if not entry.file.body and "doc" not in entry.task.tags:
            raise NotFound(f"No doc attached to this task (task {entry.task.id}); nothing to delete.")
        tags = [t for t in entry.task.tags if t != "doc"]
        task = entry.task.model_copy(update={"tags": tags, "modified": now})
        write_task(state, change, task, "")
        return f"Doc deleted for task {task.uuid}."

    return build
