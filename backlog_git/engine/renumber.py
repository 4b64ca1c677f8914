"""Ids handed out twice: the deterministic rule that gives all but one a new id (the earliest entry
keeps it), used by sync and, after a plain git merge, by the first mutation that meets a clash."""

from __future__ import annotations

from ..layout import uuid_of as uuid_of_path
from ..merge import merge_counter
from ..model import Task
from ..taskfile import dump
from .fields import parse_or_none
from .state import StoreState, read_current


def renumber(state: StoreState, files: dict[str, bytes | None]) -> list[str]:
    """Give every task but one of a clashing numeric id a new id: the earliest entry keeps it."""
    layout = state.layout
    tasks: dict[str, Task] = {u: e.task for u, e in state.view.working.by_uuid.items()}
    for path, data in files.items():
        if layout.owns_active(path):
            parsed = parse_or_none(data, path)
            if parsed is None:
                tasks.pop(uuid_of_path(path), None)
            else:
                tasks[uuid_of_path(path)] = parsed.task
    by_id: dict[int, list[Task]] = {}
    for task in tasks.values():
        by_id.setdefault(task.id, []).append(task)
    clashes = {n: sorted(ts, key=lambda t: (t.entry, t.uuid)) for n, ts in by_id.items() if len(ts) > 1}
    if not clashes:
        return []
    counter = int(merge_counter(files.get(layout.counter), read_current(state.git.workdir / layout.counter)))
    number = max(counter, max(by_id) + 1)
    lines = []
    for old_id in sorted(clashes):
        for task in clashes[old_id][1:]:
            path = layout.task(task.uuid)
            parsed = parse_or_none(files.get(path) or read_current(state.git.workdir / path), path)
            if parsed is None:
                continue
            files[path] = dump(parsed.task.model_copy(update={"id": number}), parsed.body)
            lines.append(f"#{old_id} -> #{number} {task.uuid}")
            number += 1
    files[layout.counter] = f"{number}\n".encode()
    return lines
