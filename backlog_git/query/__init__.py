"""The query language: filters, dates, virtual tags, urgency, recurrence and ordering (issue 3).

Everything here is pure: it reads :class:`~backlog_git.model.Task` objects and never touches the store.
"""

from backlog_git.query.dates import DateError, resolve_date

__all__ = ["DateError", "resolve_date"]
