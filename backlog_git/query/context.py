"""The evaluation context of one read: "now", the active tasks, and what predicates derive from them.

A context is cheap to build (it stores references only). Everything that needs a pass over all tasks
(the blocking set) or repeated work (urgency, resolved relative dates, period boundaries) is computed on
first use and cached for the context's life, so a filter or sort over n tasks does that work once.
The engine builds one context per read, or keeps one while the task set is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from backlog_git.model import Task
from backlog_git.query.dates import local_midnight, resolve_date, to_local

if TYPE_CHECKING:
    from backlog_git.query.index import TaskIndex

__all__ = ["OPEN_STATUSES", "QueryContext"]

# A dependency blocks while its status is one of these; completed and deleted dependencies (and ones no
# longer in the active store, e.g. archived) do not block. This matches taskwarrior 2.6, whose pending
# file holds the pending, waiting and recurring tasks.
OPEN_STATUSES = frozenset({"pending", "recurring"})

HasDoc = Callable[[Task], bool] | Collection[str] | None


class QueryContext:
    """What a filter, urgency or sort needs besides the task itself; see the module docstring."""

    __slots__ = (
        "_blocking",
        "_bound",
        "_has_doc",
        "_periods",
        "_urgency",
        "claimant",
        "index",
        "now",
        "tasks",
    )

    def __init__(
        self,
        now: datetime,
        tasks: Mapping[str, Task],
        has_doc: HasDoc = None,
        index: TaskIndex | None = None,
        claimant: str | None = None,
    ) -> None:
        """``has_doc`` says which tasks have a doc: a predicate, or a collection of uuids (the doc lives in
        the task file's body, which the Task model does not carry). ``index``, when given, must describe
        ``tasks``; it lets the blocking set be computed from the tasks with dependencies only."""
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        self.now = now.astimezone(UTC).replace(microsecond=0)
        self.tasks = tasks
        self.index = index
        self.claimant = claimant
        """Who is asking (an agent id or writer): a task it holds is still ``+READY`` for it."""
        self._has_doc = has_doc
        self._blocking: frozenset[str] | None = None
        self._urgency: dict[str, float] = {}
        self._periods: dict[str, tuple[datetime, datetime]] = {}
        self._bound: dict[object, Any] = {}

    # --- status -------------------------------------------------------------------------------------

    def is_held(self, task: Task) -> bool:
        """Claimed and the lease not yet expired."""
        return task.agent is not None and task.lease is not None and task.lease > self.now

    def held_by_other(self, task: Task) -> bool:
        return self.is_held(task) and task.agent != self.claimant

    def is_waiting(self, task: Task) -> bool:
        """Pending with a future ``wait``: shown as waiting, hidden from ``status:pending`` (taskwarrior 2.6)."""
        return task.status == "pending" and task.wait is not None and task.wait > self.now

    def status_of(self, task: Task) -> str:
        """The status a filter sees: the stored one, or ``waiting`` for a waiting pending task."""
        return "waiting" if self.is_waiting(task) else task.status

    # --- dependencies -------------------------------------------------------------------------------

    def is_blocked(self, task: Task) -> bool:
        """An open task with a dependency that is present in the active store and still open (taskwarrior)."""
        if task.status not in OPEN_STATUSES:
            return False
        tasks = self.tasks
        for dep in task.depends:
            other = tasks.get(dep)
            if other is not None and other.status in OPEN_STATUSES:
                return True
        return False

    @property
    def blocking_uuids(self) -> frozenset[str]:
        """Uuids that some pending (or waiting) task depends on; computed once per context."""
        if self._blocking is None:
            if self.index is not None:
                candidates = (self.tasks[u] for u in self.index.with_depends if u in self.tasks)
            else:
                candidates = (t for t in self.tasks.values() if t.depends)
            self._blocking = frozenset(dep for task in candidates if task.status == "pending" for dep in task.depends)
        return self._blocking

    def is_blocking(self, task: Task) -> bool:
        """An open task that a pending task depends on (taskwarrior's +BLOCKING)."""
        return task.status in OPEN_STATUSES and task.uuid in self.blocking_uuids

    # --- docs, urgency, dates -----------------------------------------------------------------------

    @property
    def knows_docs(self) -> bool:
        """Whether the context was told which tasks have a doc (a store always tells)."""
        return self._has_doc is not None

    def has_doc(self, task: Task) -> bool:
        source = self._has_doc
        if source is None:
            return False
        if callable(source):
            return bool(source(task))
        return task.uuid in source

    def urgency(self, task: Task) -> float:
        """The task's urgency, computed once per context (by uuid)."""
        value = self._urgency.get(task.uuid)
        if value is None:
            value = self._urgency[task.uuid] = compute_urgency(task, self)
        return value

    def date(self, text: str) -> datetime:
        """A date value resolved against this context's ``now`` (relative forms move with it)."""
        return resolve_date(text, self.now)

    def period(self, name: str) -> tuple[datetime, datetime]:
        """[start, end) of a named local period around now: day, tomorrow, yesterday, week, month…"""
        cached = self._periods.get(name)
        if cached is None:
            cached = self._periods[name] = _period(name, self.now)
        return cached

    def bound(self, key: object) -> Any:
        """Per-context cache of bound filters (a compiled filter binds once per context)."""
        return self._bound.get(key)

    def bind(self, key: object, value: Any) -> None:
        self._bound[key] = value


def _period(name: str, now: datetime) -> tuple[datetime, datetime]:
    """Local calendar periods used by the due-date virtual tags (weeks start on Monday)."""
    today = to_local(now).date()
    if name in ("today", "tomorrow", "yesterday"):
        day = today + timedelta(days={"today": 0, "tomorrow": 1, "yesterday": -1}[name])
        return local_midnight(day), local_midnight(day + timedelta(days=1))
    if name == "week":
        start = today - timedelta(days=today.weekday())
        return local_midnight(start), local_midnight(start + timedelta(days=7))
    if name == "month":
        start = today.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        return local_midnight(start), local_midnight(end)
    if name == "quarter":
        start = today.replace(day=1, month=(today.month - 1) // 3 * 3 + 1)
        end = start
        for _ in range(3):
            end = (end + timedelta(days=32)).replace(day=1)
        return local_midnight(start), local_midnight(end)
    if name == "year":
        start = today.replace(month=1, day=1)
        return local_midnight(start), local_midnight(start.replace(year=start.year + 1))
    raise KeyError(name)


from backlog_git.query.urgency import compute_urgency  # noqa: E402  (urgency needs QueryContext only for typing)
