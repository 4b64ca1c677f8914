"""Recurrence: pattern validation (BUG R2), planning rules, until, catch-up; E59–E62, E88–E91, E137–E142."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from backlog_git.query import RecurError, parse_recur, plan_instances

from .conftest import NOW, make_task

TOMORROW = datetime(2026, 6, 11, tzinfo=UTC)


def template(recur: str = "daily", due: datetime = TOMORROW, **fields):  # type: ignore[no-untyped-def]
    return make_task("Daily standup", status="recurring", recur=recur, due=due, **fields)


def child(parent, due: datetime, status: str = "pending"):  # type: ignore[no-untyped-def]
    end = NOW if status != "pending" else None
    return make_task(parent.description, parent=parent.uuid, due=due, status=status, end=end)


@pytest.mark.parametrize(
    ("pattern", "count", "unit"),
    [("daily", 1, "d"), ("weekly", 1, "w"), ("weekdays", 1, "weekdays"), ("biweekly", 2, "w"),
     ("fortnight", 2, "w"), ("monthly", 1, "m"), ("bimonthly", 2, "m"), ("quarterly", 3, "m"),
     ("semiannual", 6, "m"), ("biannual", 6, "m"), ("annual", 12, "m"), ("yearly", 12, "m"),
     ("biyearly", 24, "m"), ("3d", 3, "d"), ("2 weeks", 2, "w"), ("week", 1, "w"), ("6m", 6, "m"),
     ("2q", 6, "m"), ("1y", 12, "m"), ("Monthly", 1, "m"), ("10 days", 10, "d")],
)  # fmt: skip
def test_patterns(pattern: str, count: int, unit: str) -> None:
    period = parse_recur(pattern)
    assert (period.count, period.unit) == (count, unit)


@pytest.mark.parametrize("pattern", ["fortnightly", "every monday", "0d", "", "3x", "daily2", "weekly 2"])
def test_unknown_patterns_are_errors(pattern: str) -> None:  # BUG R2
    with pytest.raises(RecurError) as error:
        parse_recur(pattern)
    assert "daily" in str(error.value) and "biyearly" in str(error.value)
    assert isinstance(error.value, ValueError)


def test_e60_first_instance_is_template_due() -> None:
    planned = plan_instances(template(), [], NOW)
    assert planned[0] == TOMORROW
    assert planned == [TOMORROW, TOMORROW + timedelta(days=1), TOMORROW + timedelta(days=2)]


def test_e61_at_most_three_pending_instances() -> None:
    tpl = template("weekly")
    planned = plan_instances(tpl, [], NOW)
    assert len(planned) == 3
    children = [child(tpl, due) for due in planned]
    assert plan_instances(tpl, children, NOW) == []


def test_e62_completing_an_instance_frees_a_slot() -> None:
    tpl = template()
    first, second, third = plan_instances(tpl, [], NOW)
    children = [child(tpl, first, "completed"), child(tpl, second), child(tpl, third)]
    assert plan_instances(tpl, children, NOW) == [third + timedelta(days=1)]


def test_e88_e91_until_is_respected() -> None:
    today = datetime(2026, 6, 10, tzinfo=UTC)
    tpl = template(due=today + timedelta(days=5), until=today + timedelta(days=7))
    planned = plan_instances(tpl, [], NOW)
    assert len(planned) == 3
    assert all(due.date() <= (today + timedelta(days=7)).date() for due in planned)
    tpl = template(due=today + timedelta(days=5), until=today + timedelta(days=6))
    assert len(plan_instances(tpl, [], NOW)) == 2


def test_e137_weekly_instances_are_seven_days_apart() -> None:
    planned = plan_instances(template("weekly"), [], NOW)
    assert [b - a for a, b in itertools.pairwise(planned)] == [timedelta(days=7)] * 2


@pytest.mark.parametrize("pattern", ["monthly", "biweekly", "3d", "yearly", "quarterly"])
def test_e138_to_e142_patterns_make_instances(pattern: str) -> None:
    assert len(plan_instances(template(pattern), [], NOW)) >= 1


def test_monthly_from_the_31st_does_not_drift() -> None:
    tpl = template("monthly", due=datetime(2026, 1, 31, 9, tzinfo=UTC))
    planned = plan_instances(tpl, [], datetime(2026, 1, 1, tzinfo=UTC))
    assert [d.date().isoformat() for d in planned] == ["2026-01-31", "2026-02-28", "2026-03-31"]


def test_weekdays_skip_the_weekend() -> None:
    friday = datetime(2026, 6, 12, 9, tzinfo=UTC)
    planned = plan_instances(template("weekdays", due=friday), [], NOW)
    assert [d.strftime("%a") for d in planned] == ["Fri", "Mon", "Tue"]


def test_catch_up_skips_missed_occurrences() -> None:
    tpl = template(due=NOW - timedelta(days=30, hours=1))
    planned = plan_instances(tpl, [], NOW)
    assert planned[0] == NOW - timedelta(hours=1)  # the latest missed one, not a 30-day trail
    assert planned[1:] == [NOW + timedelta(hours=23), NOW + timedelta(hours=47)]
    old = child(tpl, tpl.due, "completed")
    assert plan_instances(tpl, [old], NOW)[0] == NOW - timedelta(hours=1)


def test_continues_after_the_latest_child() -> None:
    tpl = template()
    children = [child(tpl, TOMORROW + timedelta(days=4), "deleted")]
    assert plan_instances(tpl, children, NOW)[0] == TOMORROW + timedelta(days=5)


def test_not_a_live_template() -> None:
    assert plan_instances(make_task("plain", due=NOW), [], NOW) == []
    assert plan_instances(template().model_copy(update={"status": "completed"}), [], NOW) == []
    assert plan_instances(template().model_copy(update={"due": None}), [], NOW) == []
    with pytest.raises(RecurError):
        plan_instances(template("fortnightly"), [], NOW)


def test_far_future_does_not_overflow() -> None:
    tpl = template("yearly", due=datetime(9998, 1, 1, tzinfo=UTC))
    assert plan_instances(tpl, [], NOW) == [datetime(9998, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)]
