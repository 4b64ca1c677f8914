"""Ordering: urgency descending then id by default; sort specs; missing values last; bad specs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backlog_git.query import SortError, sort_tasks

from .conftest import NOW, context, make_task


@pytest.fixture
def tasks() -> list:  # type: ignore[type-arg]
    return [
        make_task("low", id=1, entry=NOW),
        make_task("high", id=2, entry=NOW, priority="H", due=NOW + timedelta(days=1)),
        make_task("mid", id=3, entry=NOW, priority="M"),
        make_task("low too", id=4, entry=NOW, due=NOW + timedelta(days=40)),
        make_task("tie", id=5, entry=NOW),
    ]


def names(result: list) -> list[str]:  # type: ignore[type-arg]
    return [t.description for t in result]


def test_default_is_urgency_then_id(tasks) -> None:  # type: ignore[no-untyped-def]
    ordered = sort_tasks(tasks, context(tasks))
    assert names(ordered) == ["high", "mid", "low too", "low", "tie"]
    assert sort_tasks(list(reversed(tasks)), context(tasks)) == ordered


def test_spec_with_missing_values_last(tasks) -> None:  # type: ignore[no-untyped-def]
    ctx = context(tasks)
    assert names(sort_tasks(tasks, ctx, "due+")) == ["high", "low too", "low", "mid", "tie"]
    assert names(sort_tasks(tasks, ctx, "due-")) == ["low too", "high", "low", "mid", "tie"]
    assert names(sort_tasks(tasks, ctx, "id-")) == ["tie", "low too", "mid", "high", "low"]
    assert names(sort_tasks(tasks, ctx, "priority-,id-")) == ["high", "mid", "tie", "low too", "low"]
    assert names(sort_tasks(tasks, ctx, "due+, id-")) == ["high", "low too", "tie", "mid", "low"]
    assert names(sort_tasks(tasks, ctx, "description")) == ["high", "low", "low too", "mid", "tie"]
    assert names(sort_tasks(tasks, ctx, "urgency-")) == names(sort_tasks(tasks, ctx))


def test_user_attribute_sort_with_mixed_types() -> None:
    tasks = [make_task("a", id=1, size="big"), make_task("b", id=2, size=3), make_task("c", id=3)]
    assert names(sort_tasks(tasks, context(tasks), "size+")) == ["b", "a", "c"]


@pytest.mark.parametrize("spec", ["due+-", "+due", "due,,id", "due*", "1due"])
def test_bad_specs(tasks, spec: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SortError) as error:
        sort_tasks(tasks, context(tasks), spec)
    assert "due+,id-" in str(error.value)
    assert isinstance(error.value, ValueError)
