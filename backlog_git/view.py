"""The working-tree view of one namespace: every task file, parsed once and re-read when it changes.

Reads see the working tree as it is, so a hand edit is picked up at the next call: each refresh
stats the task files and re-parses only those whose (mtime, size, inode) changed. A file that does
not parse is kept as an error entry, reported by path and line, and never hides the other tasks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import UUID_RE, Task
from .taskfile import TaskFile, TaskFileError, parse

SHARD_RE = re.compile(r"^[0-9a-f]{2}$")
ID_LINE_RE = re.compile(rb"^id:\s*(\d+)\s*$", re.MULTILINE)


@dataclass
class Entry:
    """One task file as last read: its repository-relative path, stat key, bytes and parse result."""

    path: str
    key: tuple[int, int, int]
    raw: bytes
    file: TaskFile | None = None
    error: TaskFileError | None = None
    _record: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def task(self) -> Task:
        assert self.file is not None
        return self.file.task

    @property
    def uuid(self) -> str:
        """The uuid the file name claims (also for a broken file)."""
        return os.path.basename(self.path)[: -len(".md")]

    def claimed_id(self) -> int | None:
        """For a broken file: the numeric id written in it, if one can be read."""
        match = ID_LINE_RE.search(self.raw)
        return int(match.group(1)) if match else None

    def record(self) -> dict[str, Any]:
        """The task as JSON-ready data (cached until the file changes), plus has_doc."""
        if self._record is None:
            record = self.task.to_record()
            if self.has_doc:
                record["has_doc"] = True
            self._record = record
        return self._record

    @property
    def has_doc(self) -> bool:
        return bool(self.file is not None and self.file.body.strip())


def read_entry(root: Path, path: str) -> Entry | None:
    """Read and parse one task file; None when it does not exist."""
    full = root / path
    try:
        with open(full, "rb") as handle:
            stat = os.fstat(handle.fileno())
            raw = handle.read()
    except FileNotFoundError:
        return None
    entry = Entry(path, (stat.st_mtime_ns, stat.st_size, stat.st_ino), raw)
    _parse_into(entry)
    return entry


def parse_entry(path: str, raw: bytes) -> Entry:
    """An entry for contents that are not a working-tree file (e.g. merged from agent branches)."""
    entry = Entry(path, (0, len(raw), 0), raw)
    _parse_into(entry)
    return entry


def _parse_into(entry: Entry) -> None:
    try:
        entry.file = parse(entry.raw, entry.path)
    except TaskFileError as exc:
        entry.error = exc
        return
    if entry.file.task.uuid != entry.uuid:
        entry.error = TaskFileError(
            entry.path,
            2,
            f"the uuid field ({entry.file.task.uuid}) does not match the file name; "
            "a task file is named after its uuid",
        )
        entry.file = None


class WorkingView:
    """All task files of one namespace directory, kept in step with the working tree."""

    def __init__(self, root: Path, ns_dir: str) -> None:
        self.root = root
        self.ns_dir = ns_dir
        self.entries: dict[str, Entry] = {}
        self.by_uuid: dict[str, Entry] = {}
        self.generation = 0

    def refresh(self) -> tuple[list[Entry], list[Entry]]:
        """Re-read what changed on disk; return (removed entries, added-or-changed entries)."""
        seen: set[str] = set()
        changed: list[Entry] = []
        base = self.root / self.ns_dir
        for shard, shard_path in self._shards(base):
            try:
                scan = os.scandir(shard_path)
            except FileNotFoundError:
                continue
            with scan:
                for item in scan:
                    if not item.name.endswith(".md") or not UUID_RE.match(item.name[:-3]):
                        continue
                    path = f"{self.ns_dir}/{shard}/{item.name}"
                    seen.add(path)
                    try:
                        stat = item.stat()
                    except FileNotFoundError:
                        seen.discard(path)
                        continue
                    key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
                    old = self.entries.get(path)
                    if old is not None and old.key == key:
                        continue
                    entry = read_entry(self.root, path)
                    if entry is not None:
                        changed.append(entry)
        removed = [self.entries[p] for p in self.entries if p not in seen]
        self._apply(removed, changed)
        return removed, changed

    @staticmethod
    def _shards(base: Path) -> Iterator[tuple[str, str]]:
        try:
            scan = os.scandir(base)
        except FileNotFoundError:
            return
        with scan:
            for item in scan:
                if SHARD_RE.match(item.name) and item.is_dir():
                    yield item.name, item.path

    def _apply(self, removed: list[Entry], changed: list[Entry]) -> None:
        if not removed and not changed:
            return
        self.generation += 1
        for entry in removed:
            del self.entries[entry.path]
            if self.by_uuid.get(entry.uuid) is entry:
                del self.by_uuid[entry.uuid]
        for entry in changed:
            old = self.entries.get(entry.path)
            if old is not None and self.by_uuid.get(old.uuid) is old:
                del self.by_uuid[old.uuid]
            self.entries[entry.path] = entry
            if entry.file is not None:
                self.by_uuid[entry.uuid] = entry

    def broken(self) -> list[Entry]:
        return sorted((e for e in self.entries.values() if e.error is not None), key=lambda e: e.path)

    def tasks(self) -> dict[str, Task]:
        return {uuid: entry.task for uuid, entry in self.by_uuid.items()}
