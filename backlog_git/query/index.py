"""An incremental in-memory index over tasks, so selective filters look at a few candidates, not all.

It maps status, project, tag, priority and numeric id to sets of uuids, and keeps the set of tasks that
have dependencies (what the blocking set is computed from) and the set of pending tasks with a ``wait``
(the only ones whose waiting state changes with time). The engine keeps one per store and calls
:meth:`add` / :meth:`remove` as tasks change (``add`` of a changed task replaces the old entry).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from backlog_git.model import Task

__all__ = ["TaskIndex"]


class TaskIndex:
    """Sets of uuids by status, project, tag, priority and id; see the module docstring."""

    __slots__ = (
        "by_id", "by_priority", "by_project", "by_status", "by_tag", "clashing", "tasks", "waitable", "with_depends",
    )

    def __init__(self) -> None:
        self.tasks: dict[str, Task] = {}
        self.by_status: defaultdict[str, set[str]] = defaultdict(set)
        self.by_project: defaultdict[str, set[str]] = defaultdict(set)
        self.by_tag: defaultdict[str, set[str]] = defaultdict(set)
        self.by_priority: defaultdict[str, set[str]] = defaultdict(set)
        self.by_id: defaultdict[int, set[str]] = defaultdict(set)
        self.with_depends: set[str] = set()
        self.waitable: set[str] = set()
        self.clashing: set[int] = set()
        """Numeric ids that more than one task holds (two writers handed the same id out)."""

    @classmethod
    def build(cls, tasks: Iterable[Task]) -> TaskIndex:
        index = cls()
        for task in tasks:
            index.add(task)
        return index

    def __len__(self) -> int:
        return len(self.tasks)

    def __contains__(self, uuid: object) -> bool:
        return uuid in self.tasks

    def add(self, task: Task) -> None:
        """Index ``task``; a task already indexed under its uuid is replaced."""
        old = self.tasks.get(task.uuid)
        if old is not None:
            self.remove(old)
        uuid = task.uuid
        self.tasks[uuid] = task
        self.by_status[task.status].add(uuid)
        self.by_project[task.project or ""].add(uuid)
        self.by_priority[task.priority or ""].add(uuid)
        self.by_id[task.id].add(uuid)
        if len(self.by_id[task.id]) > 1:
            self.clashing.add(task.id)
        for tag in task.tags:
            self.by_tag[tag].add(uuid)
        if task.depends:
            self.with_depends.add(uuid)
        if task.wait is not None and task.status == "pending":
            self.waitable.add(uuid)

    def remove(self, task: Task) -> None:
        """Forget ``task`` (looked up by uuid, so the stored version is removed even if ``task`` changed)."""
        stored = self.tasks.pop(task.uuid, None)
        if stored is None:
            return
        uuid = stored.uuid
        _discard(self.by_status, stored.status, uuid)
        _discard(self.by_project, stored.project or "", uuid)
        _discard(self.by_priority, stored.priority or "", uuid)
        _discard(self.by_id, stored.id, uuid)
        if len(self.by_id.get(stored.id, ())) < 2:
            self.clashing.discard(stored.id)
        for tag in stored.tags:
            _discard(self.by_tag, tag, uuid)
        self.with_depends.discard(uuid)
        self.waitable.discard(uuid)

    def project_tree(self, project: str) -> set[str]:
        """Uuids whose project is ``project`` or one of its sub-projects (``web`` → ``web``, ``web.ui``)."""
        prefix = project + "."
        result: set[str] = set()
        for name, uuids in self.by_project.items():
            if name == project or name.startswith(prefix):
                result |= uuids
        return result


def _discard(mapping: defaultdict[Any, set[str]], key: object, uuid: str) -> None:
    bucket = mapping.get(key)
    if bucket is not None:
        bucket.discard(uuid)
        if not bucket:
            del mapping[key]
