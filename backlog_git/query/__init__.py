"""The query language: filters, dates, virtual tags, urgency, recurrence and ordering (issue 3).

Everything here is pure: it reads :class:`~backlog_git.model.Task` objects and never touches the store.
Deliberate differences from the original server and from taskwarrior 2.6 are listed in DIFFERENCES.md.
"""

from backlog_git.query.context import QueryContext
from backlog_git.query.dates import DateError, resolve_date
from backlog_git.query.filter import Filter, FilterError, compile_filter
from backlog_git.query.index import TaskIndex
from backlog_git.query.order import SortError, sort_tasks
from backlog_git.query.recur import Period, RecurError, parse_recur, plan_instances
from backlog_git.query.urgency import urgency

__all__ = [
    "DateError",
    "Filter",
    "FilterError",
    "Period",
    "QueryContext",
    "RecurError",
    "SortError",
    "TaskIndex",
    "compile_filter",
    "parse_recur",
    "plan_instances",
    "resolve_date",
    "sort_tasks",
    "urgency",
]
