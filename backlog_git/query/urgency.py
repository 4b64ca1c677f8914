"""Urgency: one number per task for ordering, from the original's coefficients (seed contract §1.3).

Terms (added): priority H 6.0 / M 3.9 / L 1.8; started +4.0; project +1.0; tags min(n,3)/3;
annotations min(n,3) × 0.3; blocked −5.0 and blocking +8.0, using exactly the +BLOCKED / +BLOCKING
definitions of the filter language (so the two never disagree); age min(days,365)/365 × 2.0; and due.

The due term replaces the original's non-monotonic curve (BUG U1) with taskwarrior's ramp: a factor of
0.2 when due is 14 or more days away, rising linearly to 1.0 at 7 days overdue and staying there, times
the coefficient 12. It therefore never decreases as the due date approaches and passes. No due → 0.
The result is rounded half-up to 4 decimals, as the original's ``Math.round(u * 10000) / 10000``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from backlog_git.model import Task

if TYPE_CHECKING:
    from backlog_git.query.context import QueryContext

__all__ = ["DUE_COEFFICIENT", "due_factor", "urgency"]

PRIORITY = {"H": 6.0, "M": 3.9, "L": 1.8}
STARTED = 4.0
PROJECT = 1.0
TAGS = 1.0
ANNOTATION = 0.3
BLOCKED = -5.0
BLOCKING = 8.0
AGE = 2.0
AGE_MAX_DAYS = 365.0
DUE_COEFFICIENT = 12.0
DAY = 86_400.0


def due_factor(days_overdue: float) -> float:
    """Taskwarrior's ramp: 0.2 at ≥ 14 days before due, 1.0 at ≥ 7 days after, linear in between."""
    if days_overdue >= 7.0:
        return 1.0
    if days_overdue >= -14.0:
        return (days_overdue + 14.0) * 0.8 / 21.0 + 0.2
    return 0.2


def compute_urgency(task: Task, ctx: QueryContext) -> float:
    """The urgency of ``task`` in ``ctx`` (uncached; use :func:`urgency` or ``ctx.urgency``)."""
    now = ctx.now
    value = PRIORITY[task.priority] if task.priority else 0.0
    if task.start is not None:
        value += STARTED
    if task.project:
        value += PROJECT
    if task.tags:
        value += TAGS * min(len(task.tags), 3) / 3.0
    if task.annotations:
        value += ANNOTATION * min(len(task.annotations), 3)
    if task.depends and ctx.is_blocked(task):
        value += BLOCKED
    if task.uuid in ctx.blocking_uuids and ctx.is_blocking(task):
        value += BLOCKING
    if task.due is not None:
        value += DUE_COEFFICIENT * due_factor((now - task.due).total_seconds() / DAY)
    age_days = max((now - task.entry).total_seconds() / DAY, 0.0)
    value += AGE * min(age_days, AGE_MAX_DAYS) / AGE_MAX_DAYS
    return math.floor(value * 10_000 + 0.5) / 10_000


def urgency(task: Task, ctx: QueryContext) -> float:
    """The urgency of ``task``, rounded to 4 decimals; cached in the context by uuid."""
    return ctx.urgency(task)
