"""Why a pending task is not ``+READY``: the blocking tasks, a wait, a schedule, another agent's claim.

The reasons mirror the ``+READY`` predicate of :mod:`backlog_git.query.virtual` condition by condition
(and use the same context), so ``task_info`` never gives a reason ``+READY`` does not apply, and a
task ``+READY`` leaves out always has at least one.
"""

from __future__ import annotations

from datetime import datetime

from ..model import Task
from ..query import QueryContext
from ..query.context import OPEN_STATUSES

MAX_DESCRIPTION = 60
"""Characters of a blocking task's description quoted in a reason (the id names it in full)."""


def not_ready(task: Task, ctx: QueryContext) -> list[str]:
    """Reasons a pending task is left out of ``+READY`` for whoever ``ctx`` reads for; [] when it is ready
    (or not pending: +READY is about pending work only)."""
    if task.status != "pending":
        return []
    now = ctx.now
    reasons = [f"blocked by {other.id} ({_short(other.description)})" for other in _open_dependencies(task, ctx)]
    if task.wait is not None and task.wait > now:
        reasons.append(f"waiting until {_when(task.wait)}")
    if task.scheduled is not None and task.scheduled > now:
        reasons.append(f"scheduled for {_when(task.scheduled)}")
    if task.lease is not None and ctx.held_by_other(task):
        reasons.append(f"held by {task.agent} until {_when(task.lease)}")
    return reasons


def _open_dependencies(task: Task, ctx: QueryContext) -> list[Task]:
    """The dependencies that block (as ``QueryContext.is_blocked`` counts them), in the order given."""
    found = []
    for dep in task.depends:
        other = ctx.tasks.get(dep)
        if other is not None and other.status in OPEN_STATUSES:
            found.append(other)
    return found


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_DESCRIPTION else line[: MAX_DESCRIPTION - 1] + "…"
