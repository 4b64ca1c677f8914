"""Date resolution: every form of contract §7, the E108–E122 group, and the one time-zone rule."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from backlog_git.query import DateError, resolve_date

NOW = datetime(2026, 6, 10, 15, 30, 45, tzinfo=UTC)  # Wednesday


@pytest.fixture
def tz() -> Iterator[callable]:  # type: ignore[valid-type]
    """Switch the process time zone for one test and restore it afterwards."""
    saved = os.environ.get("TZ")

    def use(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield use
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


def r(text: str, now: datetime = NOW) -> datetime:
    return resolve_date(text, now)


@pytest.fixture(autouse=True)
def utc(tz) -> None:  # type: ignore[no-untyped-def]
    tz("UTC")


# --- E108–E122 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["2025-13-01", "2025-01-32", "2025-02-30", "2026-02-29"])
def test_invalid_calendar_dates_are_rejected(bad: str) -> None:  # E108, E109, contract §7 rule 1
    with pytest.raises(DateError, match="Invalid date") as error:
        r(bad)
    assert bad in str(error.value)


def test_iso_date() -> None:  # E110
    assert r("2025-06-15") == datetime(2025, 6, 15, tzinfo=UTC)


def test_now_minus_days() -> None:  # E111
    assert r("now-7d") == NOW - timedelta(days=7)


def test_today_plus_weeks() -> None:  # E112
    assert r("today+2w") == datetime(2026, 6, 24, tzinfo=UTC)


def test_tomorrow_yesterday_eow() -> None:  # E113
    assert r("tomorrow") == datetime(2026, 6, 11, tzinfo=UTC)
    assert r("yesterday") == datetime(2026, 6, 9, tzinfo=UTC)
    assert r("eow") == datetime(2026, 6, 14, 23, 59, 59, tzinfo=UTC)


def test_eom() -> None:  # E114
    assert r("eom") == datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "day"),
    [("monday", 15), ("tuesday", 16), ("wednesday", 17), ("thursday", 11), ("friday", 12), ("saturday", 13),
     ("sunday", 14), ("mon", 15), ("fri", 12), ("next friday", 12), ("Next Wednesday", 17)],
)  # fmt: skip
def test_weekdays_are_the_next_such_day_strictly_after_today(name: str, day: int) -> None:  # E115
    assert r(name) == datetime(2026, 6, day, tzinfo=UTC)


def test_relative_forms() -> None:  # E116, E117, E118
    assert r("3d") == NOW + timedelta(days=3)
    assert r("2w") == NOW + timedelta(days=14)
    assert r("1m") == NOW.replace(month=7)
    assert r("4h") == NOW + timedelta(hours=4)
    assert r("30min") == NOW + timedelta(minutes=30)
    assert r("1q") == NOW.replace(month=9)
    assert r("1y") == NOW.replace(year=2027)
    assert r("2 weeks") == NOW + timedelta(days=14)
    assert r("3days") == NOW + timedelta(days=3)


def test_today_and_now() -> None:  # E119, E120
    assert r("today") == datetime(2026, 6, 10, tzinfo=UTC)
    assert r("sod") == datetime(2026, 6, 10, tzinfo=UTC)
    assert r("eod") == datetime(2026, 6, 10, 23, 59, 59, tzinfo=UTC)
    assert r("now") == NOW
    assert abs(resolve_date("now") - datetime.now(UTC)) < timedelta(seconds=5)


def test_compound_with_named_base() -> None:  # E121
    assert r("eow-1d") == r("eow") - timedelta(days=1)
    assert r("friday+1w") == datetime(2026, 6, 19, tzinfo=UTC)
    assert r("2026-01-31+1m") == datetime(2026, 2, 28, tzinfo=UTC)
    assert r("eod+1h") == datetime(2026, 6, 11, 0, 59, 59, tzinfo=UTC)
    assert r("now + 3d") == NOW + timedelta(days=3)


@pytest.mark.parametrize("bad", ["not-a-date-xyz", "", "   ", "-3d", "next foo", "now+3x", "foo+1d", "13th month"])
def test_unreadable_values_name_the_value_and_the_forms(bad: str) -> None:  # E122
    with pytest.raises(DateError) as error:
        r(bad)
    message = str(error.value)
    assert "Accepted forms" in message
    if bad.strip():
        assert bad.split("+")[0].strip() in message


def test_date_error_is_a_value_error() -> None:
    assert issubclass(DateError, ValueError)


# --- the other §7 forms ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sow", datetime(2026, 6, 8)), ("soww", datetime(2026, 6, 8)), ("socw", datetime(2026, 6, 8)),
        ("eoww", datetime(2026, 6, 12, 23, 59, 59)), ("som", datetime(2026, 6, 1)),
        ("soq", datetime(2026, 4, 1)), ("eoq", datetime(2026, 6, 30, 23, 59, 59)),
        ("soy", datetime(2026, 1, 1)), ("eoy", datetime(2026, 12, 31, 23, 59, 59)),
        ("sonw", datetime(2026, 6, 15)), ("eopm", datetime(2026, 5, 31, 23, 59, 59)),
        ("later", datetime(9999, 12, 30, 23, 59, 59)), ("someday", datetime(9999, 12, 30, 23, 59, 59)),
        ("2026-03-15T10:00", datetime(2026, 3, 15, 10)), ("2026-03-15T10:00:30Z", datetime(2026, 3, 15, 10, 0, 30)),
        ("2026-03-15T10:00+02:00", datetime(2026, 3, 15, 8)), ("2026-03-15 10:00", datetime(2026, 3, 15, 10)),
        ("2026/01/02", datetime(2026, 1, 2)), ("Dec 25 2026", datetime(2026, 12, 25)),
        ("15th", datetime(2026, 6, 15)), ("jan", datetime(2027, 1, 1)), ("TODAY", datetime(2026, 6, 10)),
    ],
)  # fmt: skip
def test_named_and_absolute_forms(text: str, expected: datetime) -> None:
    assert r(text) == expected.replace(tzinfo=UTC)


def test_results_are_aware_utc_with_whole_seconds() -> None:
    value = resolve_date("now", datetime(2026, 1, 1, 12, 0, 0, 987654, tzinfo=UTC))
    assert value.tzinfo is UTC and value.microsecond == 0
    assert resolve_date("2026-03-15T10:00:00.75Z").microsecond == 0


def test_sunday_belongs_to_the_week_that_started_on_monday() -> None:
    sunday = datetime(2026, 6, 14, 12, tzinfo=UTC)
    assert r("sow", sunday) == datetime(2026, 6, 8, tzinfo=UTC)
    assert r("eow", sunday) == datetime(2026, 6, 14, 23, 59, 59, tzinfo=UTC)


def test_overflowing_values_are_date_errors() -> None:
    with pytest.raises(DateError):
        r("later+1y")
    with pytest.raises(DateError):
        r("now+999999y")


# --- the time-zone rule --------------------------------------------------------------------------


def test_named_days_and_iso_dates_are_local_midnight(tz) -> None:  # type: ignore[no-untyped-def]
    tz("America/New_York")  # UTC-4 in June
    assert r("today") == datetime(2026, 6, 10, 4, tzinfo=UTC)
    assert r("2026-06-10") == r("today")  # one rule for both (the original mixed UTC and local)
    assert r("tomorrow") == datetime(2026, 6, 11, 4, tzinfo=UTC)
    assert r("2026-06-10T09:00") == datetime(2026, 6, 10, 13, tzinfo=UTC)
    assert r("2026-06-10T09:00Z") == datetime(2026, 6, 10, 9, tzinfo=UTC)


def test_local_date_decides_today_near_midnight(tz) -> None:  # type: ignore[no-untyped-def]
    tz("Asia/Tokyo")  # UTC+9: 20:00 UTC on the 10th is already the 11th in Tokyo
    late = datetime(2026, 6, 10, 20, 0, tzinfo=UTC)
    assert r("today", late) == datetime(2026, 6, 10, 15, tzinfo=UTC)


def test_day_steps_keep_wall_clock_across_dst(tz) -> None:  # type: ignore[no-untyped-def]
    tz("Europe/Berlin")  # DST starts 2026-03-29
    before = datetime(2026, 3, 28, 8, tzinfo=UTC)  # 09:00 local
    assert r("1d", before) == datetime(2026, 3, 29, 7, tzinfo=UTC)  # 09:00 local again
    assert r("24h", before) == datetime(2026, 3, 29, 8, tzinfo=UTC)
