"""Virtual tags: ``+NAME`` tests computed from a task's fields and the context (taskwarrior 2.6 meanings).

They are ordinary terms of the grammar, so they combine with ``or``, ``not``/``-`` and parentheses
(``-BLOCKED`` negates). Names are upper case, as in taskwarrior; ``+active`` is the user tag ``active``.
"Open" below means not completed and not deleted. Due-period tags use local calendar periods.
"""

from __future__ import annotations

from collections.abc import Callable

from backlog_git.model import Task
from backlog_git.query.context import QueryContext

Pred = Callable[[Task], bool]

_CLOSED = frozenset({"completed", "deleted"})


def _status(value: str) -> Callable[[QueryContext], Pred]:
    return lambda ctx: lambda t: ctx.status_of(t) == value


def _active(ctx: QueryContext) -> Pred:
    return lambda t: t.start is not None and t.status == "pending"


def _overdue(ctx: QueryContext) -> Pred:
    now = ctx.now
    return lambda t: t.due is not None and t.due < now and t.status == "pending"


def _blocked(ctx: QueryContext) -> Pred:
    return ctx.is_blocked


def _unblocked(ctx: QueryContext) -> Pred:
    blocked = ctx.is_blocked
    return lambda t: not blocked(t)


def _blocking(ctx: QueryContext) -> Pred:
    return ctx.is_blocking


def _ready(ctx: QueryContext) -> Pred:
    """Actionable now: pending, not waiting, not blocked, and not scheduled for later."""
    now = ctx.now
    blocked = ctx.is_blocked

    def ready(task: Task) -> bool:
        if task.status != "pending":
            return False
        if task.wait is not None and task.wait > now:
            return False
        if task.scheduled is not None and task.scheduled > now:
            return False
        if task.lease is not None and ctx.held_by_other(task):
            return False
        return not (task.depends and blocked(task))

    return ready


def _claimed(ctx: QueryContext) -> Pred:
    return ctx.is_held


def _due_in(period: str) -> Callable[[QueryContext], Pred]:
    """Due within a local calendar period, for open tasks (taskwarrior ignores finished ones)."""

    def bind(ctx: QueryContext) -> Pred:
        start, end = ctx.period(period)
        return lambda t: t.due is not None and start <= t.due < end and t.status not in _CLOSED

    return bind


def _field_set(name: str) -> Callable[[QueryContext], Pred]:
    return lambda ctx: lambda t: bool(getattr(t, name))


def _uda(ctx: QueryContext) -> Pred:
    return lambda t: t.agent is not None or bool(t.model_extra)


VIRTUAL_TAGS: dict[str, Callable[[QueryContext], Pred]] = {
    "PENDING": _status("pending"),
    "WAITING": _status("waiting"),
    "COMPLETED": _status("completed"),
    "DELETED": _status("deleted"),
    "RECURRING": _status("recurring"),
    "ACTIVE": _active,
    "OVERDUE": _overdue,
    "BLOCKED": _blocked,
    "UNBLOCKED": _unblocked,
    "BLOCKING": _blocking,
    "READY": _ready,
    "CLAIMED": _claimed,
    "TAGGED": _field_set("tags"),
    "ANNOTATED": _field_set("annotations"),
    "PROJECT": _field_set("project"),
    "PRIORITY": _field_set("priority"),
    "DUE": _field_set("due"),
    "SCHEDULED": _field_set("scheduled"),
    "UNTIL": _field_set("until"),
    "TODAY": _due_in("today"),
    "DUETODAY": _due_in("today"),
    "TOMORROW": _due_in("tomorrow"),
    "YESTERDAY": _due_in("yesterday"),
    "WEEK": _due_in("week"),
    "MONTH": _due_in("month"),
    "QUARTER": _due_in("quarter"),
    "YEAR": _due_in("year"),
    "CHILD": _field_set("parent"),
    "INSTANCE": _field_set("parent"),
    "PARENT": _status("recurring"),
    "TEMPLATE": _status("recurring"),
    "UDA": _uda,
}

# Virtual tags whose truth implies a stored status, so the index can pre-select by status.
STATUS_OF_VIRTUAL = {
    "PENDING": "pending",
    "WAITING": "waiting",
    "COMPLETED": "completed",
    "DELETED": "deleted",
    "RECURRING": "recurring",
    "PARENT": "recurring",
    "TEMPLATE": "recurring",
    "ACTIVE": "pending_any",
    "OVERDUE": "pending_any",
    "READY": "pending",
}
