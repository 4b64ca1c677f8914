"""Recurrence: validate ``recur`` patterns and plan which instances of a template to create now.

Patterns (case-insensitive): ``daily``, ``weekdays``, ``weekly``, ``biweekly``/``fortnight``, ``monthly``,
``bimonthly`` (2 months), ``quarterly``, ``semiannual``/``biannual`` (6 months), ``annual``/``yearly``,
``biyearly`` (2 years), and ``[N] unit`` with unit d/day(s), w/wk(s)/week(s), m/mo/month(s),
q/qtr(s)/quarter(s), y/yr(s)/year(s) (``3d``, ``2 weeks``, ``month``). Anything else is an error (the
original silently recurred daily, BUG R2). ``biannual`` is read as twice a year, i.e. every 6 months (the
common English meaning and the seed contract's §15 reading); taskwarrior 2.6.2 itself maps it to 730 days
— see DIFFERENCES.md.

Arithmetic: instance k is due at the template's due + k periods, counted from the template's due on the
local calendar (so monthly from Jan 31 gives Feb 28, Mar 31, Apr 30 — no drift); ``weekdays`` steps over
Saturday and Sunday.

Planning (pure — the engine creates and commits the tasks):

* at most 3 pending instances per template; completed/deleted instances free their slot;
* the first instance is due at the template's due; later ones follow the latest existing instance's due;
* catch-up: occurrences that are already past and followed by another past occurrence are skipped, so a
  template that was idle for weeks yields one overdue instance (the latest missed one) and then upcoming
  ones — never a trail of stale instances;
* ``until`` is respected by local calendar date (an instance due on the until day is still created).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from backlog_git.errors import InvalidInput
from backlog_git.model import Task
from backlog_git.query.dates import shift, to_local

__all__ = ["MAX_PENDING_INSTANCES", "Period", "RecurError", "parse_recur", "plan_instances"]

MAX_PENDING_INSTANCES = 3

NAMED: dict[str, tuple[int, str]] = {
    "daily": (1, "d"),
    "weekdays": (1, "weekdays"),
    "weekly": (1, "w"),
    "biweekly": (2, "w"),
    "fortnight": (2, "w"),
    "monthly": (1, "m"),
    "bimonthly": (2, "m"),
    "quarterly": (3, "m"),
    "semiannual": (6, "m"),
    "biannual": (6, "m"),
    "annual": (12, "m"),
    "yearly": (12, "m"),
    "biyearly": (24, "m"),
}
_UNITS = {
    **dict.fromkeys(("d", "day", "days"), (1, "d")),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), (1, "w")),
    **dict.fromkeys(("m", "mo", "mos", "month", "months"), (1, "m")),
    **dict.fromkeys(("q", "qtr", "qtrs", "quarter", "quarters"), (3, "m")),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), (12, "m")),
}
_NUMERIC = re.compile(r"^(\d{1,4})?\s*([a-z]+)$")
ACCEPTED = (
    "daily, weekdays, weekly, biweekly, fortnight, monthly, bimonthly, quarterly, semiannual, biannual, "
    "annual, yearly, biyearly, or N units like 3d, 2w, 6m, 1q, 1y (units d, w, m, q, y)"
)


class RecurError(InvalidInput):
    """An unknown recurrence pattern; the message lists the accepted ones."""


@dataclass(frozen=True, slots=True)
class Period:
    """``count`` steps of ``unit`` (``d``, ``w``, ``m`` = months, or ``weekdays``)."""

    count: int
    unit: str
    text: str

    def occurrence(self, anchor: datetime, k: int) -> datetime:
        """The k-th occurrence (k ≥ 0) counted from ``anchor`` (occurrence 0 is the anchor)."""
        if k == 0:
            return anchor
        if self.unit == "weekdays":
            return _weekdays(anchor, k)
        return shift(anchor, k * self.count, self.unit)


def _weekdays(anchor: datetime, k: int) -> datetime:
    """``anchor`` moved by k working days (Mon–Fri, local calendar)."""
    weeks, rest = divmod(k, 5)
    moment = shift(anchor, weeks * 7, "d")
    while rest:
        moment = shift(moment, 1, "d")
        if to_local(moment).weekday() < 5:
            rest -= 1
    while to_local(moment).weekday() >= 5:
        moment = shift(moment, 1, "d")
    return moment


def parse_recur(pattern: str) -> Period:
    """Read a recurrence pattern (see the module docstring); raises RecurError for anything unknown."""
    text = " ".join(str(pattern).strip().lower().split())
    if text in NAMED:
        count, unit = NAMED[text]
        return Period(count, unit, text)
    match = _NUMERIC.match(text)
    if match and match.group(2) in _UNITS:
        number = int(match.group(1) or 1)
        per, unit = _UNITS[match.group(2)]
        if number >= 1:
            return Period(number * per, unit, text)
    raise RecurError(f"Unknown recurrence pattern '{pattern}'. Use one of: {ACCEPTED}.")


_END_OF_TIME = datetime.max.replace(tzinfo=UTC)


def _occurrence(period: Period, anchor: datetime, k: int) -> datetime:
    """Like Period.occurrence, but past year 9999 is "the end of time" instead of an OverflowError."""
    try:
        return period.occurrence(anchor, k)
    except (OverflowError, ValueError):
        return _END_OF_TIME


def _first_after(period: Period, anchor: datetime, moment: datetime) -> int:
    """The smallest k with occurrence(k) > moment (occurrences grow with k: exponential + binary search)."""
    if _occurrence(period, anchor, 0) > moment:
        return 0
    low, high = 0, 1
    while _occurrence(period, anchor, high) <= moment:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if _occurrence(period, anchor, middle) <= moment:
            low = middle
        else:
            high = middle
    return high


def plan_instances(template: Task, children: list[Task], now: datetime) -> list[datetime]:
    """Due dates of the instances of ``template`` to create now (see the module docstring for the rules).

    ``children`` are all tasks whose ``parent`` is the template (any status). Returns [] unless the
    template is a live recurring template (status ``recurring`` with ``recur`` and ``due``).
    Raises RecurError when the stored pattern is not valid.
    """
    if template.status != "recurring" or not template.recur or template.due is None:
        return []
    period = parse_recur(template.recur)
    slots = MAX_PENDING_INSTANCES - sum(1 for child in children if child.status == "pending")
    if slots <= 0:
        return []
    anchor = template.due
    dues = [child.due for child in children if child.due is not None]
    k = _first_after(period, anchor, max(dues)) if dues else 0
    latest_past = _first_after(period, anchor, now) - 1  # index of the last occurrence ≤ now
    k = max(k, latest_past)
    until_day = to_local(template.until).date() if template.until is not None else None
    planned: list[datetime] = []
    while len(planned) < slots:
        due = _occurrence(period, anchor, k)
        if due == _END_OF_TIME:
            break
        if until_day is not None and to_local(due).date() > until_day:
            break
        planned.append(due)
        k += 1
    return planned


def next_due(template: Task, after: datetime) -> datetime | None:
    """The template's first occurrence strictly after ``after`` (for callers that want one step)."""
    if not template.recur or template.due is None:
        return None
    period = parse_recur(template.recur)
    due = _occurrence(period, template.due, _first_after(period, template.due, after))
    return None if due == _END_OF_TIME else due
