"""Archiving: closed tasks move to quarterly segments under ``archive/``; segments are read-only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..errors import BrokenTaskFile, InvalidInput, NotFound
from ..layout import ARCHIVE_DIR, KEEPER_TEXT, SEGMENT_RE, quarter
from ..layout import shard_dir_of as layout_shard
from ..view import parse_entry
from .state import StoreState, read_current
from .transaction import Build, Change


def parse_days(older_than_days: int | str) -> int:
    try:
        days = int(str(older_than_days).strip())
    except ValueError:
        raise InvalidInput(f"older_than_days must be a whole number of days, got {older_than_days!r}.") from None
    if days < 0:
        raise InvalidInput("older_than_days cannot be negative.")
    if days > 999_999_999:
        raise InvalidInput("older_than_days is at most 999999999 (days).")
    return days


def archive(state: StoreState, days: int) -> Build:
    def build(change: Change, now: datetime) -> str:
        try:
            cutoff = now - timedelta(days=days)
        except OverflowError:  # older than the calendar goes back: nothing is that old
            return "No tasks to archive."
        for entry in sorted(state.view.by_uuid.values(), key=lambda e: e.task.id):
            task = entry.task
            if task.status in ("completed", "deleted") and task.end is not None and task.end <= cutoff:
                change.files[entry.path] = None
                change.files[state.layout.archived(quarter(task.end), task.uuid)] = entry.raw
                change.touch(task)
        if not change.touched:
            return "No tasks to archive."
        _keep_emptied_shards(state, change)
        return f"Archived {len(change.touched)} task(s) older than {days} days."

    return build


def _keep_emptied_shards(state: StoreState, change: Change) -> None:
    """A shard directory the archive empties keeps a marker file. Otherwise git's directory-rename
    detection sees ``<ns>/ab/`` renamed into the archive, and a merge moves a task another writer
    added to ``ab/`` meanwhile into the archive with it."""
    leaving = {path for path, data in change.files.items() if data is None}
    remaining = {layout_shard(path) for path in state.view.entries if path not in leaving}
    for path in leaving:
        shard = layout_shard(path)
        if shard not in remaining:
            change.files[state.layout.shard_keeper(shard)] = KEEPER_TEXT
            remaining.add(shard)


def segment_names(state: StoreState) -> list[str]:
    """Archive segments (quarters), from the working tree and the unmerged agent branches."""
    return sorted(f"{ARCHIVE_DIR}/{name}" for name in archive_files(state))


def archive_files(state: StoreState) -> dict[str, dict[str, bytes]]:
    """Archived task files by segment: the working tree's, overlaid by the agent branches'."""
    layout = state.layout
    workdir = state.git.workdir
    root = workdir / layout.archive_dir
    merged = state.view.merged_all
    files: dict[str, bytes | None] = {}
    if root.is_dir():
        for found in root.glob("*/*/*.md"):
            files[str(found.relative_to(workdir))] = None  # read lazily below
    files.update({p: d for p, d in merged.items() if layout.segment_of(p) is not None})
    segments: dict[str, dict[str, bytes]] = {}
    for path, data in files.items():
        segment = layout.segment_of(path)
        if segment is None:
            continue
        if data is None and path not in merged:
            data = read_current(workdir / path)
        if data is not None:
            segments.setdefault(segment, {})[path] = data
    return segments


def load(state: StoreState, segment: str) -> list[dict[str, Any]]:
    """The tasks of one segment, named as ``segment_names`` lists it (``archive/2026-Q1``) or by its
    quarter (``2026-Q1``), by id. The original server's other spellings are the adapters' to accept."""
    name = str(segment).strip().removeprefix(f"{ARCHIVE_DIR}/")
    if not SEGMENT_RE.match(name):
        raise InvalidInput(
            f"Invalid archive segment name '{segment}'. Use a quarter like 2026-Q1 (see task_archive_list)."
        )
    segments = archive_files(state)
    if name not in segments:
        available = ", ".join(f"{ARCHIVE_DIR}/{s}" for s in sorted(segments)) or "none"
        raise NotFound(f"Archive segment '{segment}' not found. Available: {available}.")
    records = []
    for path, data in sorted(segments[name].items()):
        entry = parse_entry(path, data)
        if entry.error is not None:
            raise BrokenTaskFile(str(entry.error))
        records.append(entry.record())
    return sorted(records, key=lambda r: r["id"])
