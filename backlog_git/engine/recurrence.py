"""Recurring templates and their instances, created only by mutations (never by a read)."""

from __future__ import annotations

import uuid as uuidlib
from datetime import datetime

from ..errors import InvalidInput
from ..model import Task
from ..query import plan_instances
from .state import StoreState
from .transaction import Build, Change, next_id, write_task


def spawn_instances(state: StoreState, change: Change, template: Task, now: datetime) -> None:
    """Write the instances ``template`` is owed at ``now`` into ``change``."""
    if template.status != "recurring" or not template.recur or template.due is None:
        return
    children = {e.task.uuid: e.task for e in state.view.by_uuid.values() if e.task.parent == template.uuid}
    children.update({t.uuid: t for t in change.touched.values() if t.parent == template.uuid})
    try:
        dues = plan_instances(template, list(children.values()), now)
    except ValueError as exc:  # a hand-edited template with a pattern that does not parse
        raise InvalidInput(f"Task {template.id} (recurring template): {exc}") from None
    for due in dues:
        instance = Task(
            uuid=str(uuidlib.uuid4()),
            id=next_id(state, change),
            description=template.description,
            status="pending",
            project=template.project,
            priority=template.priority,
            tags=list(template.tags),
            agent=template.agent,
            due=due,
            parent=template.uuid,
            entry=now,
            modified=now,
        )
        write_task(state, change, instance, "")


def spawn_for_parent(state: StoreState, change: Change, instance: Task, now: datetime) -> None:
    """A completed instance: its template may now owe the next one."""
    parent = state.view.by_uuid.get(instance.parent or "")
    if parent is not None and parent.file is not None:
        spawn_instances(state, change, parent.task, now)


def catch_up(state: StoreState) -> Build:
    """Create the instances every recurring template is owed now (one commit, or none)."""

    def build(change: Change, now: datetime) -> str:
        for entry in list(state.view.by_uuid.values()):
            if entry.task.status == "recurring":
                spawn_instances(state, change, entry.task, now)
        created = [t for t in change.touched.values() if t.parent]
        return f"Created {len(created)} recurring instance(s)." if created else "No instances due."

    return build
