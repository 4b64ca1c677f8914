"""One side of a merge: its task, body, the label that names it in notes and markers, and its recency.

A side's recency is the later of its ``modified`` and the base's, so a clock that went backwards does not
make an edit older than the ancestor (rule 3's "edited last wins").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..model import Task, format_timestamp
from ..taskfile import TaskFile


@dataclass(frozen=True)
class _Side:
    task: Task
    body: str
    label: str
    recency: datetime


def _side(tf: TaskFile, label: str | None, base: TaskFile | None) -> _Side:
    modified = tf.task.modified
    recency = max(modified, base.task.modified) if base is not None else modified
    name = label if label is not None else f"modified {format_timestamp(modified)}"
    return _Side(tf.task, tf.body, name, recency)


def _get(task: Task | None, name: str, default: Any = None) -> Any:
    return default if task is None else getattr(task, name)
