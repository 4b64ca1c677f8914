"""Text for people: task tables that fit the terminal, a readable ``info``, history, colour.

Plain string work, no terminal library: ``backlog-git list`` at 10,000 tasks has a 0.4 s budget, and
6,000 rows take about 40 ms here, column by column with str methods (a ``rich`` table of the same rows
took 4 s).
Colour is ANSI SGR, used only on a terminal (never with ``NO_COLOR`` set, ``TERM=dumb``, or through a
pipe) unless ``--color always``; without colour the same facts are shown as flag letters.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from .words import cli_words

ELLIPSIS = "…"

# SGR codes per row kind; the order is the precedence when a row is several things at once.
STYLES = {
    "active": "1;32",
    "overdue": "31",
    "blocked": "2",
    "recurring": "35",
    "closed": "2",
}
FLAGS = {"active": "A", "overdue": "O", "blocked": "B", "recurring": "R"}
LEGEND = {"active": "active", "overdue": "overdue", "blocked": "blocked", "recurring": "recurring template"}
HEADER_STYLE = "4"


@dataclass(frozen=True)
class Terminal:
    """Where text goes: whether to colour it and how wide a row may be (None: no limit)."""

    colour: bool = False
    width: int | None = None

    @classmethod
    def detect(cls, stream: TextIO, mode: str = "auto", env: Mapping[str, str] | None = None) -> Terminal:
        env = os.environ if env is None else env
        tty = _isatty(stream)
        if mode == "always":
            colour = True
        elif mode == "never" or env.get("NO_COLOR") or env.get("TERM") == "dumb":
            colour = False
        else:
            colour = tty
        width = None
        if tty:
            try:
                width = int(env["COLUMNS"]) if env.get("COLUMNS", "").isdigit() else os.get_terminal_size(
                    stream.fileno()).columns
            except (OSError, ValueError):
                width = 0
            width = max(width or 80, 20)  # a terminal that reports no size: 80 columns
        return cls(colour, width)

    def style(self, text: str, code: str | None) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour and code else text


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# ------------------------------------------------------------------ cells
_CONTROL = {c: " " for c in range(32)} | {127: " "}


def clean(text: str) -> str:
    """One line of text a terminal shows as it is: newlines, tabs and control characters as spaces
    (a description cannot move the cursor, ring the bell or set colours)."""
    if text.isprintable():
        return text
    text = text.translate(_CONTROL)
    return "".join(c if c.isprintable() or c == " " else " " for c in text)


def width_of(text: str) -> int:
    """Terminal cells of clean text: wide (East Asian) characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def truncate(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells, ending in an ellipsis when cut."""
    if width_of(text) <= width:
        return text
    if width <= 0:
        return ""
    if text.isascii():
        return text[: width - 1] + ELLIPSIS
    used, kept = 0, []
    for char in text:
        cells = 0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
        if used + cells > width - 1:
            break
        kept.append(char)
        used += cells
    return "".join(kept) + ELLIPSIS


def pad(text: str, width: int, right: bool = False) -> str:
    gap = width - width_of(text)
    if gap <= 0:
        return text
    return " " * gap + text if right else text + " " * gap


# ------------------------------------------------------------------ dates
_LOCAL_CACHE: dict[str, str] = {}


def parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None


def short_date(text: Any) -> str:
    """A stored UTC timestamp as local time: ``2026-11-27`` for a local midnight, else ``2026-11-27 14:30``."""
    if not isinstance(text, str):
        return "" if text is None else str(text)
    cached = _LOCAL_CACHE.get(text)
    if cached is None:
        moment = parse_time(text)
        if moment is None:
            cached = text
        else:
            local = moment.astimezone()
            cached = local.strftime("%Y-%m-%d") if (local.hour, local.minute, local.second) == (0, 0, 0) else (
                local.strftime("%Y-%m-%d %H:%M"))
        _LOCAL_CACHE[text] = cached
    return cached


def relative(text: Any, now: datetime) -> str:
    """``in 3 days`` / ``2 hours ago`` for a stored timestamp ('' when it is not one)."""
    moment = parse_time(text) if isinstance(text, str) else None
    if moment is None:
        return ""
    seconds = (moment - now).total_seconds()
    span = abs(seconds)
    for unit, size in (("year", 365 * 86400), ("month", 30 * 86400), ("week", 7 * 86400), ("day", 86400),
                       ("hour", 3600), ("minute", 60)):
        if span >= size:
            count = int(span // size)
            amount = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {amount}" if seconds > 0 else f"{amount} ago"
    return "now"


def utc_stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------ task tables
@dataclass(frozen=True)
class Column:
    key: str
    header: str
    right: bool = False
    minimum: int | None = None
    """None: never shrunk; else the narrowest the column may get when the terminal is too narrow."""


ID = Column("id", "ID", right=True)
STATUS = Column("status", "Status")
FLAGS_COLUMN = Column("flags", "Flags")
PRIORITY = Column("priority", "P")
PROJECT = Column("project", "Project", minimum=7)
TAGS = Column("tags", "Tags", minimum=4)
DUE = Column("due", "Due")
DESCRIPTION = Column("description", "Description", minimum=10)
URGENCY = Column("urgency", "Urg", right=True)
SHRINK_ORDER = ("description", "tags", "project")
DROP_ORDER = ("urgency", "tags", "project")
"""Columns left out, in this order, when a terminal is too narrow for every column at its narrowest."""


def kinds(task: Mapping[str, Any], now: str, blocked: frozenset[str]) -> list[str]:
    """What a row is, most important first: active, overdue, blocked, a recurring template, closed."""
    status = task.get("status")
    found = []
    if status == "pending":
        if task.get("start"):
            found.append("active")
        due = task.get("due")
        if isinstance(due, str) and due < now:
            found.append("overdue")
        if task.get("uuid") in blocked:
            found.append("blocked")
    elif status == "recurring":
        found.append("recurring")
    elif status in ("completed", "deleted"):
        found.append("closed")
    return found


def status_word(task: Mapping[str, Any], now: str) -> str:
    status = str(task.get("status", ""))
    wait = task.get("wait")
    if status == "pending" and isinstance(wait, str) and wait > now:
        return "waiting"
    return status


def task_table(
    tasks: Sequence[Mapping[str, Any]],
    term: Terminal,
    *,
    show_status: bool = False,
    blocked: Iterable[str] = (),
    now: datetime | None = None,
) -> str:
    """The rows of ``list``: one line per task, never wrapped, the description cut to fit.

    Built column by column with str methods (thousands of rows stay a few milliseconds)."""
    if not tasks:
        return "No matching tasks."
    stamp = utc_stamp(now or datetime.now(UTC))
    blocked_set = frozenset(blocked)
    row_kinds = [kinds(t, stamp, blocked_set) for t in tasks]
    flagged = not term.colour and any(k and k[0] != "closed" for k in row_kinds)
    columns: list[Column] = [ID, *([STATUS] if show_status else []), *([FLAGS_COLUMN] if flagged else []),
                             PRIORITY, PROJECT, TAGS, DUE, DESCRIPTION, URGENCY]
    cells = [_column(column, tasks, row_kinds, stamp) for column in columns]
    ascii_only = [all(map(str.isascii, column_cells)) for column_cells in cells]
    natural = [
        max(len(c.header), max(map(len, column_cells)) if plain else max(map(width_of, column_cells)))
        for c, column_cells, plain in zip(columns, cells, ascii_only, strict=True)
    ]
    widths = list(natural)
    total = sum(widths) + 2 * (len(widths) - 1)
    if term.width is not None and total > term.width:
        _fit(columns, widths, term.width)
        for key in DROP_ORDER:  # still too wide with every column at its narrowest: leave some out
            if sum(widths) + 2 * (len(widths) - 1) <= term.width:
                break
            index = next(i for i, c in enumerate(columns) if c.key == key)
            del columns[index], cells[index], ascii_only[index], natural[index]
            widths = list(natural)
            _fit(columns, widths, term.width)
        total = sum(widths) + 2 * (len(widths) - 1)
    clip = term.width if term.width is not None and total > term.width else None
    padded = [_pad_column(column_cells, c, w, plain)
              for column_cells, c, w, plain in zip(cells, columns, widths, ascii_only, strict=True)]
    header = _clip("  ".join(_pad_column([c.header], c, w, True)[0] for c, w in zip(columns, widths, strict=True))
                   .rstrip(), clip)
    lines = [term.style(header, HEADER_STYLE) if term.colour else header]
    if not term.colour:
        lines.append(_clip("  ".join("-" * w for w in widths), clip))
    rows = ["  ".join(parts).rstrip() for parts in zip(*padded, strict=True)]
    if clip is not None:
        rows = [_clip(row, clip) for row in rows]
    if term.colour:
        rows = [term.style(row, STYLES[found[0]]) if found else row for row, found in zip(rows, row_kinds, strict=True)]
    lines += rows
    lines.append("")
    lines.append(_footer(len(tasks), row_kinds, term, flagged))
    return "\n".join(lines)


def _column(column: Column, tasks: Sequence[Mapping[str, Any]], row_kinds: Sequence[Sequence[str]],
            stamp: str) -> list[str]:
    """One column's cells, as text a terminal shows as it is."""
    key = column.key
    if column is STATUS:
        return [status_word(t, stamp) for t in tasks]
    if column is FLAGS_COLUMN:
        return ["".join(FLAGS[k] for k in found if k in FLAGS) for found in row_kinds]
    if key == "id":
        return [str(t.get("id", "")) for t in tasks]
    if key == "urgency":
        return [f"{u:.1f}" if isinstance(u := t.get("urgency"), int | float) else "" for t in tasks]
    if key == "due":
        return [short_date(d) if (d := t.get("due")) else "" for t in tasks]
    if key == "tags":
        values = [",".join(t["tags"]) if t.get("tags") else "" for t in tasks]
    else:
        values = [v if isinstance(v := t.get(key), str) else "" if v is None else str(v) for t in tasks]
    return [v if v.isprintable() else clean(v) for v in values]


def _pad_column(cells: list[str], column: Column, width: int, ascii_only: bool) -> list[str]:
    """Cells cut to ``width`` cells (with an ellipsis) and padded to it."""
    if ascii_only:
        cut = [c if len(c) <= width else c[: width - 1] + ELLIPSIS for c in cells]
        return [c.rjust(width) for c in cut] if column.right else [c.ljust(width) for c in cut]
    cut = [truncate(c, width) for c in cells]
    return [pad(c, width, column.right) for c in cut]


def _fit(columns: Sequence[Column], widths: list[int], limit: int) -> None:
    """Narrow the shrinkable columns (description first) until the row fits ``limit`` cells."""
    over = sum(widths) + 2 * (len(widths) - 1) - limit
    for key in SHRINK_ORDER:
        if over <= 0:
            return
        index = next((i for i, c in enumerate(columns) if c.key == key), None)
        if index is None:
            continue
        minimum = max(columns[index].minimum or 0, width_of(columns[index].header))
        cut = min(over, max(widths[index] - minimum, 0))
        widths[index] -= cut
        over -= cut


def _clip(line: str, limit: int | None) -> str:
    return line if limit is None or width_of(line) <= limit else truncate(line, limit)


def _footer(count: int, row_kinds: Sequence[Sequence[str]], term: Terminal, flagged: bool) -> str:
    text = f"{count} task(s)"
    counts: dict[str, int] = {}
    for found in row_kinds:
        for kind in found:
            counts[kind] = counts.get(kind, 0) + 1
    shown = [kind for kind in FLAGS if counts.get(kind)]
    if not shown:
        return text
    if term.colour:
        parts = [term.style(f"{counts[k]} {LEGEND[k]}", STYLES[k]) for k in shown]
        return f"{text}: " + ", ".join(parts)
    if flagged:
        parts = [f"{FLAGS[k]} {LEGEND[k]} ({counts[k]})" for k in shown]
        return f"{text}; flags: " + ", ".join(parts)
    return text


# ------------------------------------------------------------------ one task
INFO_ORDER = ("id", "description", "status", "project", "priority", "tags", "due", "wait", "scheduled", "until",
              "recur", "parent", "start", "end", "entry", "modified", "agent", "lease", "depends", "has_doc",
              "urgency", "uuid")
DATE_FIELDS = {"due", "wait", "scheduled", "until", "start", "end", "entry", "modified"}
LISTED_APART = frozenset({"annotations", "not_ready"})
"""Keys of an info record shown as rows of their own, one per item, rather than as one value."""


def info_text(
    task: Mapping[str, Any],
    *,
    path: str,
    related: Mapping[str, Mapping[str, Any]],
    blocking: Sequence[Mapping[str, Any]],
    term: Terminal,
    now: datetime | None = None,
) -> str:
    """A task as Name/Value lines: field names as the filter language spells them, values readable."""
    moment = now or datetime.now(UTC)
    rows: list[tuple[str, str]] = []
    keys = [k for k in INFO_ORDER if k in task] + [k for k in task if k not in INFO_ORDER and k not in LISTED_APART]
    if "has_doc" not in task:
        keys.insert(keys.index("urgency") if "urgency" in keys else len(keys), "has_doc")
    for key in keys:
        value = task.get(key)
        if key == "has_doc":
            rows.append((key, "yes" if value else "no"))
        elif key in ("depends", "parent"):
            uuids = value if isinstance(value, list) else [value]
            for number, uuid in enumerate(uuids):
                rows.append((key if number == 0 else "", _named(str(uuid), related)))
        else:
            rows.append((key, _value(key, value, moment)))
        if key == "status":  # right under the status: what keeps a pending task out of +READY
            rows += [("not ready" if number == 0 else "", clean(str(reason)))
                     for number, reason in enumerate(task.get("not_ready") or [])]
    for number, other in enumerate(blocking):
        rows.append(("blocking" if number == 0 else "", _named(str(other.get("uuid")), {other["uuid"]: other})))
    for number, note in enumerate(task.get("annotations") or []):
        rows.append(("annotations" if number == 0 else "",
                     f"{short_date(note.get('entry'))}  {clean(str(note.get('description', '')))}"))
    rows.append(("file", path))
    return _pairs(rows, term)


def _named(uuid: str, related: Mapping[str, Mapping[str, Any]]) -> str:
    other = related.get(uuid)
    if other is None:
        return f"{uuid} (not found)"
    return f"{other.get('id')}  {clean(str(other.get('description', '')))} ({other.get('status')})"


def _value(key: str, value: Any, now: datetime) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    if key in DATE_FIELDS and isinstance(value, str):
        when = relative(value, now)
        return f"{short_date(value)} ({when})" if when else short_date(value)
    if key == "urgency" and isinstance(value, int | float):
        return f"{round(value, 2):g}"
    if key == "tags" and isinstance(value, list):
        return clean(", ".join(str(v) for v in value))
    if isinstance(value, dict | list):
        return clean(json.dumps(value, ensure_ascii=False))
    return clean(str(value))


def _pairs(rows: Sequence[tuple[str, str]], term: Terminal) -> str:
    width = max(len("Name"), *(len(name) for name, _ in rows))
    head = f"{'Name'.ljust(width)}  Value"
    lines = [term.style(head, HEADER_STYLE) if term.colour else head]
    if not term.colour:
        lines.append(f"{'-' * width}  {'-' * 5}")
    room = None if term.width is None else max(term.width - width - 2, 20)
    for name, value in rows:
        parts = [value] if room is None or width_of(value) <= room else _wrap(value, room)
        for number, part in enumerate(parts):
            lines.append(f"{(name if number == 0 else '').ljust(width)}  {part}".rstrip())
    return "\n".join(lines)


def _wrap(text: str, room: int) -> list[str]:
    """A long value over several lines of ``room`` cells; a word longer than that (a path) stays whole,
    so it can still be copied."""
    import textwrap

    return textwrap.wrap(text, room, break_on_hyphens=False, break_long_words=False) or [text]


# ------------------------------------------------------------------ other reads
def history_text(entries: Sequence[Mapping[str, Any]], term: Terminal) -> str:
    if not entries:
        return "No history."
    lines = []
    for entry in entries:
        head = f"{entry['commit'][:10]}  {short_date(entry['time'])}  {clean(str(entry['writer']))}  {entry['op']}"
        lines.append(term.style(head, "33") if term.colour else head)
        for name, (old, new) in entry["changes"].items():
            lines.append(_clip(f"    {name}: {_short(old)} → {_short(new)}", term.width))
    return "\n".join(lines)


def _short(value: Any) -> str:
    text = "∅" if value in (None, "", []) else clean(json.dumps(value, ensure_ascii=False))
    return text if len(text) <= 80 else text[:79] + ELLIPSIS


def problem_line(problem: Mapping[str, Any]) -> str:
    """``path:line: reason`` (``path: reason`` when no line applies), in the CLI's words."""
    where = f"{problem['path']}:{problem['line']}" if problem.get("line") else str(problem["path"])
    return f"{where}: {cli_words(str(problem['reason']))}"
