"""Date resolution: turn what a user types (``friday``, ``now-7d``, ``2026-03-15``) into an aware UTC instant.

One time-zone rule, used everywhere (add, modify, import and inside filters):

    Anything that names a *day* or a *wall-clock time without a zone* is read in the process's local time
    zone (``TZ``) and stored in UTC. That covers ISO date-only values (``2026-03-15`` = local midnight),
    ISO date-times without an offset, ``today``/``tomorrow``/weekday names (local midnight) and the period
    boundaries (``sow``, ``eom``…). Values with ``Z`` or an offset are taken as given.

The original used UTC midnight for ISO date-only input but local midnight for ``today``; with one rule
``due:2026-03-15`` and ``due:today`` agree when today is the 15th.

Arithmetic: ``d w m q y`` offsets are calendar arithmetic on the local wall clock (``today+2w`` is local
midnight 14 days later, also across a DST change); a month step that lands past the end of a month is
clamped to its last day (Jan 31 + 1m = Feb 28/29, where JS and taskwarrior overflow into March).
``h``/``min``/``s`` offsets are exact durations. Results have whole-second precision.
"""

from __future__ import annotations

import calendar
import os
import re
import time as _time
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from backlog_git.errors import InvalidInput

__all__ = ["ACCEPTED_FORMS", "DateError", "add_months", "local_midnight", "resolve_date", "to_local"]

ACCEPTED_FORMS = (
    "ISO 2026-03-15 or 2026-03-15T10:00[Z|+02:00]; now, today, yesterday, tomorrow, later/someday; "
    "monday..sunday, next friday; sod/eod, sow/eow, soww/eoww, som/eom, soq/eoq, soy/eoy (also socw, sonw, "
    "sopw…); relative 3d, 2w, 1m (month), 1q, 1y, 4h, 30min; BASE±N UNIT like now+3d, eow-1d, friday+1w"
)

FAR_FUTURE = datetime(9999, 12, 30, 23, 59, 59, tzinfo=UTC)


class DateError(InvalidInput):
    """A date value that none of the accepted forms reads; the message names the value and the forms."""


# ---------------------------------------------------------------------------------------------------------
# Local-time helpers (naive datetimes below are local wall-clock times)


def to_local(moment: datetime) -> datetime:
    """The local wall-clock time (naive) of an aware instant."""
    return moment.astimezone().replace(tzinfo=None)


def _to_utc(local: datetime) -> datetime:
    """An aware UTC instant from a naive local wall-clock time (Python reads naive values as local)."""
    return local.astimezone(UTC).replace(microsecond=0)


def local_midnight(day: date) -> datetime:
    """The UTC instant of 00:00 local time on ``day``."""
    return _to_utc(datetime.combine(day, time()))


def add_months(local: datetime, months: int) -> datetime:
    """Calendar month arithmetic on a wall-clock time, clamping the day to the target month's length."""
    index = local.year * 12 + (local.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise OverflowError("year out of range")
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


# ---------------------------------------------------------------------------------------------------------
# Named dates

_END = timedelta(seconds=1)  # end-of-period = start of the next period minus one second


def _period_start(local: datetime, period: str) -> datetime:
    """Local start (naive) of the day/week/month/quarter/year containing ``local``; weeks start Monday."""
    day = datetime.combine(local.date(), time())
    if period == "d":
        return day
    if period == "w":
        return day - timedelta(days=day.weekday())
    if period == "m":
        return day.replace(day=1)
    if period == "q":
        return day.replace(day=1, month=(day.month - 1) // 3 * 3 + 1)
    return day.replace(day=1, month=1)


def _period_shift(start: datetime, period: str, count: int) -> datetime:
    if period == "d":
        return start + timedelta(days=count)
    if period == "w":
        return start + timedelta(weeks=count)
    return add_months(start, count * {"m": 1, "q": 3, "y": 12}[period])


def _boundary(now_local: datetime, edge: str, which: int, period: str) -> datetime:
    """Start (``edge == 's'``) or end of the period ``which`` steps from the current one."""
    start = _period_shift(_period_start(now_local, period), period, which)
    if edge == "s":
        return _to_utc(start)
    return _to_utc(_period_shift(start, period, 1)) - _END


def _named_boundaries() -> dict[str, tuple[str, int, str]]:
    """``sow``, ``eocm``, ``sonq``… → (edge, offset, period). ``sow``-style names mean the current period."""
    names: dict[str, tuple[str, int, str]] = {}
    for period in "dwmqy":
        for edge in "se":
            names[f"{edge}o{period}"] = (edge, 0, period)
            names[f"{edge}oc{period}"] = (edge, 0, period)
            names[f"{edge}on{period}"] = (edge, 1, period)
            names[f"{edge}op{period}"] = (edge, -1, period)
    return names


_BOUNDARIES = _named_boundaries()

WEEKDAYS = {
    name: index
    for index, names in enumerate(
        (
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        )
    )
    for name in names
}

MONTHS = {name.lower(): index for index, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): index for index, name in enumerate(calendar.month_abbr) if name})


def _named(word: str, now: datetime) -> datetime | None:
    """Resolve a single named date word, or None when the word is not one."""
    if word == "now":
        return now
    if word in ("later", "someday"):
        return FAR_FUTURE
    local = to_local(now)
    today = local.date()
    if word in ("today", "yesterday", "tomorrow"):
        shift = {"today": 0, "yesterday": -1, "tomorrow": 1}[word]
        return local_midnight(today + timedelta(days=shift))
    if word == "soww":
        return _boundary(local, "s", 0, "w")
    if word == "eoww":  # end of the work week: Friday 23:59:59, as taskwarrior
        return local_midnight(today - timedelta(days=today.weekday()) + timedelta(days=5)) - _END
    if word in _BOUNDARIES:
        edge, which, period = _BOUNDARIES[word]
        return _boundary(local, edge, which, period)
    if word in WEEKDAYS:  # the next such day strictly after today
        ahead = (WEEKDAYS[word] - today.weekday() - 1) % 7 + 1
        return local_midnight(today + timedelta(days=ahead))
    if word in MONTHS:  # the 1st of the next such month strictly after this one
        first = today.replace(day=1)
        ahead = (MONTHS[word] - first.month - 1) % 12 + 1
        return local_midnight(add_months(datetime.combine(first, time()), ahead).date())
    return _ordinal(word, today)


_ORDINAL = re.compile(r"^(\d{1,2})(st|nd|rd|th)$")


def _ordinal(word: str, today: date) -> datetime | None:
    """``15th``: local midnight of the next 15th strictly after today (skipping months too short)."""
    match = _ORDINAL.match(word)
    if not match:
        return None
    wanted = int(match.group(1))
    if not 1 <= wanted <= 31:
        return None
    month_start = today.replace(day=1)
    for ahead in range(0, 13):
        candidate_month = add_months(datetime.combine(month_start, time()), ahead).date()
        if wanted <= calendar.monthrange(candidate_month.year, candidate_month.month)[1]:
            candidate = candidate_month.replace(day=wanted)
            if candidate > today:
                return local_midnight(candidate)
    return None


# ---------------------------------------------------------------------------------------------------------
# Relative offsets

_UNITS = {
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "min": "min", "mins": "min", "minute": "min", "minutes": "min",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "d": "d", "da": "d", "day": "d", "days": "d",
    "w": "w", "wk": "w", "wks": "w", "week": "w", "weeks": "w",
    "m": "m", "mo": "m", "mos": "m", "month": "m", "months": "m",
    "q": "q", "qtr": "q", "qtrs": "q", "quarter": "q", "quarters": "q",
    "y": "y", "yr": "y", "yrs": "y", "year": "y", "years": "y",
}  # fmt: skip

_RELATIVE = re.compile(r"^(\d{1,6})\s*([a-z]+)$")
_COMPOUND = re.compile(r"^(.+?)\s*([+-])\s*(\d{1,6})\s*([a-z]+)$")


def shift(moment: datetime, count: int, unit: str) -> datetime:
    """Move an instant by ``count`` units (a canonical unit of ``_UNITS``); see the module docstring."""
    if unit in ("s", "min", "h"):
        seconds = {"s": 1, "min": 60, "h": 3600}[unit]
        return moment + timedelta(seconds=count * seconds)
    local = to_local(moment)
    if unit in ("d", "w"):
        local = local + timedelta(days=count * (7 if unit == "w" else 1))
    else:
        local = add_months(local, count * {"m": 1, "q": 3, "y": 12}[unit])
    return _to_utc(local)


def _relative(text: str, now: datetime) -> datetime | None:
    match = _RELATIVE.match(text)
    if not match or match.group(2) not in _UNITS:
        return None
    return shift(now, int(match.group(1)), _UNITS[match.group(2)])


def _compound(text: str, now: datetime) -> datetime | None:
    match = _COMPOUND.match(text)
    if not match or match.group(4) not in _UNITS:
        return None
    base = _resolve(match.group(1), now)
    count = int(match.group(3)) * (1 if match.group(2) == "+" else -1)
    return shift(base, count, _UNITS[match.group(4)])


# ---------------------------------------------------------------------------------------------------------
# Absolute forms

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ISO_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:z|[+-]\d{2}:?\d{2})?)?$")
_OTHER_FORMATS = ("%Y/%m/%d", "%m/%d/%Y", "%b %d %Y", "%d %b %Y", "%B %d %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y")


def _iso(text: str, original: str) -> datetime:
    """An ISO date or date-time; a date without a time is local midnight, a time without a zone is local."""
    match = _ISO_DATE.match(text)
    try:
        if match:
            return local_midnight(date(int(match.group(1)), int(match.group(2)), int(match.group(3))))
        value = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise DateError(f'Invalid date: "{original}" (no such calendar date or time).') from None
    if value.tzinfo is None:
        return _to_utc(value)
    return value.astimezone(UTC).replace(microsecond=0)


def _other_formats(text: str) -> datetime | None:
    """A few unambiguous spelled-out forms (``2026/01/02``, ``Dec 25 2026``), read as local midnight."""
    for fmt in _OTHER_FORMATS:
        try:
            return local_midnight(datetime.strptime(text, fmt).date())
        except ValueError:
            continue
    return None


def _resolve(text: str, now: datetime) -> datetime:
    """Resolve lower-cased, whitespace-collapsed ``text``; raises DateError when nothing reads it."""
    if _ISO_PREFIX.match(text):
        return _iso(text, text)
    if text.startswith("next "):
        rest = text[5:].strip()
        if rest in WEEKDAYS:
            return _named(rest, now)  # type: ignore[return-value]
        if rest in ("week", "month", "quarter", "year"):
            return _boundary(to_local(now), "s", 1, rest[0])
        raise _cannot(text)
    for attempt in (_named, _relative, _compound):
        result = attempt(text, now)
        if result is not None:
            return result
    result = _other_formats(text)
    if result is not None:
        return result
    raise _cannot(text)


def _cannot(text: str) -> DateError:
    return DateError(f"Cannot parse date: '{text}'. Accepted forms: {ACCEPTED_FORMS}.")


def resolve_date(text: str, now: datetime | None = None) -> datetime:
    """Resolve a user-typed date to an aware UTC datetime with whole seconds (see the module docstring).

    ``now`` (aware) is the reference instant for relative forms; it defaults to the current time.
    Raises :class:`DateError` naming the value and listing the accepted forms.
    """
    if not isinstance(text, str):
        raise DateError(f"Cannot parse date: {text!r} is not text. Accepted forms: {ACCEPTED_FORMS}.")
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    now = now.astimezone(UTC).replace(microsecond=0)
    cleaned = " ".join(text.strip().lower().split())
    if not cleaned:
        raise DateError(f"Cannot parse date: an empty value. Accepted forms: {ACCEPTED_FORMS}.")
    try:
        return _cached(cleaned, now, _tz_key())
    except DateError as error:
        if cleaned != text:
            raise DateError(str(error).replace(f"'{cleaned}'", f"'{text}'", 1)) from None
        raise
    except (OverflowError, ValueError):
        raise DateError(f'Invalid date: "{text}" is out of range. Accepted forms: {ACCEPTED_FORMS}.') from None


def _tz_key() -> tuple[object, ...]:
    """What identifies the process time zone, so a cached resolution never outlives a ``TZ`` change."""
    return (os.environ.get("TZ"), _time.tzname, _time.timezone)


@lru_cache(maxsize=4096)
def _cached(cleaned: str, now: datetime, tz_key: tuple[object, ...]) -> datetime:
    """Resolutions are pure functions of (text, now, TZ); a filter evaluated at one instant hits this cache."""
    del tz_key
    return _resolve(cleaned, now)
