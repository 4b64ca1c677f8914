"""Urgency: the original's coefficients (§1.3), a monotonic due ramp (BUG U1), E71–E72."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backlog_git.query import urgency
from backlog_git.query.urgency import due_factor

from .conftest import NOW, context, make_task


def u(task, *others):  # type: ignore[no-untyped-def]
    return urgency(task, context([task, *others]))


def fresh(**fields):  # type: ignore[no-untyped-def]
    return make_task("t", entry=NOW, **fields)


def test_e71_priority_gives_positive_urgency() -> None:
    assert u(fresh(priority="H")) > 0


def test_e72_high_beats_low() -> None:
    assert u(fresh(priority="H")) > u(fresh(priority="L"))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, 0.0),
        ({"priority": "H"}, 6.0),
        ({"priority": "M"}, 3.9),
        ({"priority": "L"}, 1.8),
        ({"start": NOW}, 4.0),
        ({"project": "web"}, 1.0),
        ({"tags": ["a"]}, 0.3333),
        ({"tags": ["a", "b"]}, 0.6667),
        ({"tags": ["a", "b", "c", "d"]}, 1.0),
        ({"annotations": ["x"]}, 0.3),
        ({"annotations": ["x", "y", "z", "w"]}, 0.9),
        ({"due": NOW + timedelta(days=30)}, 2.4),
        ({"due": NOW}, 8.8),
        ({"due": NOW - timedelta(days=7)}, 12.0),
        ({"due": NOW - timedelta(days=70)}, 12.0),
    ],
)
def test_terms(fields: dict, expected: float) -> None:  # type: ignore[type-arg]
    assert u(fresh(**fields)) == expected


def test_age_term() -> None:
    assert u(make_task("t", entry=NOW - timedelta(days=365))) == 2.0
    assert u(make_task("t", entry=NOW - timedelta(days=800))) == 2.0
    assert u(make_task("t", entry=NOW - timedelta(days=73))) == 0.4


def test_blocked_and_blocking_match_the_virtual_tags() -> None:
    blocker = fresh()
    blocked = make_task("b", entry=NOW, depends=[blocker.uuid])
    assert u(blocked, blocker) == -5.0
    assert u(blocker, blocked) == 8.0
    done = blocker.model_copy(update={"status": "completed", "end": NOW})
    assert u(blocked, done) == 0.0
    assert u(done, blocked) == 0.0
    orphan = make_task("o", entry=NOW, depends=["0f8fad5b-d9cb-469f-a165-70867728950e"])
    assert u(orphan) == 0.0  # a missing dependency blocks nothing, as in +BLOCKED


def test_due_term_is_monotonic() -> None:  # BUG U1
    values = [u(fresh(due=NOW + timedelta(hours=h))) for h in range(24 * 30, -24 * 30, -6)]
    assert values == sorted(values)
    assert values[0] == 2.4 and values[-1] == 12.0
    assert u(fresh(due=NOW - timedelta(days=1))) < u(fresh(due=NOW - timedelta(days=6)))


def test_due_factor_ramp() -> None:
    assert due_factor(-20) == 0.2
    assert due_factor(-14) == pytest.approx(0.2)
    assert due_factor(7) == 1.0
    assert due_factor(0) == pytest.approx(14 * 0.8 / 21 + 0.2)


def test_rounded_to_four_decimals_and_cached() -> None:
    task = make_task("t", entry=NOW - timedelta(days=1), tags=["a"])
    ctx = context([task])
    value = urgency(task, ctx)
    assert value == round(value, 4)
    assert ctx.urgency(task) is value or ctx.urgency(task) == value
