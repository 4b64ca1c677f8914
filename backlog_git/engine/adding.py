"""Operations that create tasks: add, log, import, duplicate. Each returns a builder of new file
contents for the write transaction; none touches git."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..errors import BacklogError, InvalidInput
from ..layout import uuid_of
from ..model import UUID_RE, Task
from . import validate
from .archive import archive_files
from .recurrence import spawn_instances
from .similar import hint
from .state import StoreState
from .transaction import Build, Change, next_id, write_task


def _uuid_of_ref(state: StoreState) -> validate.Resolver:
    return lambda text: state.resolve(text).uuid


def add(
    state: StoreState,
    description: str,
    *,
    project: str | None,
    tags: Sequence[str],
    priority: str | None,
    due: Any,
    depends: Any,
    wait: Any,
    scheduled: Any,
    recur: str | None,
    until: Any,
    agent: str | None,
    attributes: Mapping[str, Any] | None,
) -> Build:
    def build(change: Change, now: datetime) -> str:
        data: dict[str, Any] = {
            "uuid": str(uuidlib.uuid4()),
            "description": description,
            "status": "recurring" if recur else "pending",
            "project": project or None,
            "priority": priority or None,
            "tags": list(tags),
            "due": validate.date("due", due, now),
            "wait": validate.date("wait", wait, now),
            "scheduled": validate.date("scheduled", scheduled, now),
            "recur": recur or None,
            "until": validate.date("until", until, now),
            "depends": validate.depends(depends, _uuid_of_ref(state)),
            "agent": agent or None,
            "entry": now,
            "modified": now,
            **validate.attributes(attributes),
        }
        validate.check_recurrence(data)
        validate.check_description(description)
        data["id"] = next_id(state, change)
        task = validate.validated(data)
        write_task(state, change, task, "")
        spawn_instances(state, change, task, now)
        similar = hint(state.similar_open, state.index.tasks, task)
        return f"Created task {task.uuid} (id {task.id}).{similar}"

    return build


def log(
    state: StoreState,
    description: str,
    *,
    project: str | None,
    tags: Sequence[str],
    priority: str | None,
    agent: str | None,
    attributes: Mapping[str, Any] | None,
) -> Build:
    def build(change: Change, now: datetime) -> str:
        validate.check_description(description)
        data = {
            "uuid": str(uuidlib.uuid4()),
            "description": description,
            "status": "completed",
            "project": project or None,
            "priority": priority or None,
            "tags": list(tags),
            "agent": agent or None,
            "entry": now,
            "modified": now,
            "end": now,
            **validate.attributes(attributes),
        }
        data["id"] = next_id(state, change)
        task = validate.validated(data)
        write_task(state, change, task, "")
        return f"Task logged as {task.uuid} (id {task.id})."

    return build


def import_tasks(state: StoreState, items: list[Any]) -> Build:
    """Many tasks in one commit; all are validated first, and one bad item writes nothing."""
    if not isinstance(items, list):
        raise InvalidInput("tasks must be a JSON array of task objects, e.g. [{\"description\": \"…\"}].")

    def build(change: Change, now: datetime) -> str:
        # uuids taken: the archived tasks' too (an import must not resurrect a second copy)
        taken = {uuid_of(p) for files in archive_files(state).values() for p in files}
        for number, item in enumerate(items, start=1):
            try:
                task, body = _import_one(state, item, change, now, taken)
            except BacklogError as exc:
                reason = str(exc).rstrip()
                reason += "" if reason.endswith((".", "!", "?")) else "."
                raise type(exc)(f"Task {number} of the import: {reason} Nothing was imported.") from None
            write_task(state, change, task, body)
        return f"Imported {len(items)} task(s)."

    return build


def _import_one(state: StoreState, item: Any, change: Change, now: datetime, taken: set[str]) -> tuple[Task, str]:
    if not isinstance(item, dict):
        raise InvalidInput(f"each task must be a JSON object, got {item!r}.")
    data: dict[str, Any] = {}
    for key, value in item.items():
        if key in ("id", "urgency", "has_doc", "doc"):
            continue
        if key not in validate.IMPORT_FIELDS:
            validate.attributes({key: value})
        data[key] = value
    if not isinstance(data.get("description"), str) or not data["description"].strip():
        raise InvalidInput("Imported task description cannot be empty.")
    data["uuid"] = _fresh_uuid(state, data.get("uuid"), taken)
    for name in validate.DATE_INPUT_FIELDS:
        if name in data:
            data[name] = validate.date(name, data[name], now)
    data.setdefault("entry", now)
    data["modified"] = data.get("modified") or now
    if "depends" in data:
        data["depends"] = validate.depends(data["depends"], _uuid_of_ref(state))
    if data.get("recur") and "status" not in data:
        data["status"] = "recurring"
    if data.get("status") in ("completed", "deleted") and not data.get("end"):
        data["end"] = now
    if data.get("recur"):
        validate.check_recurrence(data)
    data["id"] = next_id(state, change)
    return validate.validated(data), str(item.get("doc") or "")


def _fresh_uuid(state: StoreState, given: Any, taken: set[str]) -> str:
    """The imported task's uuid (given or new), refused when any task, archived or not, has it."""
    task_uuid = str(given or uuidlib.uuid4()).lower()
    if not UUID_RE.match(task_uuid):
        raise InvalidInput(f"uuid {given!r} is not a uuid.")
    exists_on_disk = (state.git.workdir / state.layout.task(task_uuid)).exists()
    if task_uuid in state.view.by_uuid or task_uuid in taken or exists_on_disk:
        raise InvalidInput(f"a task with uuid {task_uuid} already exists; remove the uuid to import a copy.")
    taken.add(task_uuid)
    return task_uuid


def duplicate(
    state: StoreState,
    ref: str,
    *,
    changes: Mapping[str, Any] | None,
    add_tags: Sequence[str],
    remove_tags: Sequence[str],
) -> Build:
    def build(change: Change, now: datetime) -> str:
        source = state.editable(ref).task
        copy = source.model_copy(
            update={
                "uuid": str(uuidlib.uuid4()),
                "status": "recurring" if source.recur else "pending",
                "start": None,
                "end": None,
                "parent": None,
                "entry": now,
                "modified": now,
                "tags": [t for t in source.tags if t != "doc"],
            },
            deep=True,
        )
        task = validate.apply_changes(copy, changes or {}, add_tags, remove_tags, now, _uuid_of_ref(state))
        task = task.model_copy(update={"id": next_id(state, change)})
        write_task(state, change, task, "")
        return f"Task duplicated as {task.uuid} (id {task.id})."

    return build
