"""Shared helpers for the query-language tests: build Task objects and contexts tersely."""

from __future__ import annotations

import itertools
import uuid as uuidlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backlog_git.model import Annotation, Task
from backlog_git.query import QueryContext, TaskIndex, compile_filter

NOW = datetime(2026, 6, 10, 15, 30, 0, tzinfo=UTC)  # a Wednesday
_counter = itertools.count(1)


def make_task(description: str = "task", **fields: Any) -> Task:
    """A valid Task with sensible defaults; ``annotations`` may be given as plain strings."""
    number = fields.pop("id", None) or next(_counter)
    notes = fields.pop("annotations", [])
    fields.setdefault("uuid", str(uuidlib.uuid4()))
    fields.setdefault("entry", NOW - timedelta(days=1))
    fields.setdefault("modified", NOW - timedelta(days=1))
    annotations = [Annotation(entry=NOW, description=note) if isinstance(note, str) else note for note in notes]
    return Task(id=number, description=description, annotations=annotations, **fields)


def context(tasks: Iterable[Task], now: datetime = NOW, **kwargs: Any) -> QueryContext:
    return QueryContext(now, {t.uuid: t for t in tasks}, **kwargs)


def select(text: str, tasks: list[Task], now: datetime = NOW, **kwargs: Any) -> list[str]:
    """Descriptions matched by ``text``, checked to be the same with and without the index."""
    ctx = context(tasks, now, **kwargs)
    compiled = compile_filter(text)
    plain = compiled.select(ctx)
    indexed = compiled.select(context(tasks, now, **kwargs), TaskIndex.build(tasks))
    assert [t.uuid for t in plain] == [t.uuid for t in indexed], text
    assert [t.uuid for t in plain] == [t.uuid for t in tasks if compiled.matches(t, ctx)] or sorted(
        t.uuid for t in plain
    ) == sorted(t.uuid for t in tasks if compiled.matches(t, ctx))
    return [t.description for t in plain]


@pytest.fixture
def fixture_tasks() -> list[Task]:
    """The original's filter fixture (E15–E22): three tasks over two projects."""
    return [
        make_task("Frontend task", id=1, project="web", priority="H", tags=["frontend"]),
        make_task("Backend task", id=2, project="api", priority="M", tags=["backend"]),
        make_task("Docs task", id=3, project="web", priority="L", tags=["docs"]),
    ]
