"""Commit messages: a subject for people, trailers for machines. The one place that names the trailers.

Every store commit carries ``Backlog-Op`` (what happened), ``Backlog-Namespace``, one ``Backlog-Task``
per task it wrote, and ``Backlog-Agent`` (the writer). Undo, history and sync read them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..gitstore import format_message
from ..model import Task

OP = "Backlog-Op"
NAMESPACE = "Backlog-Namespace"
TASK = "Backlog-Task"
AGENT = "Backlog-Agent"
UNDOES = "Backlog-Undoes"
MERGED = "Backlog-Merged"
MERGED_BY = "Backlog-Merged-By"
RENUMBER = "Backlog-Renumber"

NOT_UNDOABLE = (None, "sync", "init", "merge", "renumber", "hand-edit")
"""Operations undo never picks: bookkeeping commits, not a writer's own change."""


def label(task: Task) -> str:
    text = task.description.replace("\n", " ")
    return f"#{task.id}: {text[:72]}"


def subject_for(op: str, tasks: Sequence[Task]) -> str:
    if len(tasks) == 1:
        return f"{op} {label(tasks[0])}"
    ids = ", ".join(f"#{t.id}" for t in tasks[:10]) + (", …" if len(tasks) > 10 else "")
    return f"{op} {len(tasks)} tasks: {ids}"


def op_message(
    subject: str,
    op: str,
    namespace: str,
    writer: str,
    *,
    tasks: Iterable[str] = (),
    extra: Iterable[tuple[str, str]] = (),
    body: str = "",
) -> str:
    """The message of one store commit: subject, optional body, then the trailers in a fixed order."""
    trailers = [(OP, op), (NAMESPACE, namespace)]
    trailers += [(TASK, task_uuid) for task_uuid in tasks]
    trailers += list(extra)
    trailers.append((AGENT, writer))
    message = format_message(subject, trailers)
    if body:
        first, _, rest = message.partition("\n\n")
        message = f"{first}\n\n{body}\n\n{rest}"
    return message


def merge_message(names: str, into: str, writer: str, namespace: str) -> str:
    """The merge commit a writer records first when it read other agents' unmerged work."""
    return format_message(
        f"merge {names} into {into} (what {writer} read)",
        [(OP, "merge"), (NAMESPACE, namespace), (MERGED_BY, writer)],
    )
