"""The working-tree view of one namespace: every task file, parsed once and re-read when it changes.

Reads see the working tree as it is, so a hand edit is picked up at the next call: each refresh
stats the task files and re-parses only those whose (mtime, size, inode) changed. A file that does
not parse is kept as an error entry, reported by path and line, and never hides the other tasks.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .layout import SHARD_RE, is_task_name, shard_dir_of, uuid_of
from .model import Task
from .query.terms import DOC_TAG
from .taskfile import TaskFile, TaskFileError, parse

_CACHE_THRESHOLD = 200  # parse this many files in one scan and the parsed entries are cached


def _cache_tag(ns_dir: str) -> tuple[str, ...]:
    import pydantic

    from . import __version__

    return ("backlog-git view cache", __version__, pydantic.VERSION, ns_dir)
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

    task: Task = field(default=None, repr=False)  # type: ignore[assignment]  # set when the file parses
    uuid: str = field(init=False)
    """The uuid the file name claims (also for a broken file)."""

    def __post_init__(self) -> None:
        self.uuid = uuid_of(self.path)

    def claimed_id(self) -> int | None:
        """For a broken file: the numeric id written in it, if one can be read."""
        match = ID_LINE_RE.search(self.raw)
        return int(match.group(1)) if match else None

    def record(self) -> dict[str, Any]:
        """The task as JSON-ready data (cached until the file changes), plus has_doc. The ``doc`` tag
        follows the body (one definition of "has a doc"), whatever a hand edit left in ``tags``."""
        if self._record is None:
            record = self.task.to_record()
            tags = list(record.get("tags", []))
            if self.has_doc:
                record["has_doc"] = True
                if DOC_TAG not in tags:
                    tags.append(DOC_TAG)
            else:
                tags = [t for t in tags if t != DOC_TAG]
            if tags:
                record["tags"] = tags
            else:
                record.pop("tags", None)
            record["version"] = self.version
            self._record = record
        return self._record

    @property
    def version(self) -> str:
        """A short version of the task: the start of its git blob id (what ``expected_version`` names)."""
        return version_of(self.raw)

    @property
    def has_doc(self) -> bool:
        return bool(self.file is not None and self.file.body.strip())


VERSION_LENGTH = 10


def version_of(raw: bytes) -> str:
    """The first hex digits of the git blob id of ``raw``: the same for the same contents anywhere."""
    return hashlib.sha1(b"blob %d\x00" % len(raw) + raw).hexdigest()[:VERSION_LENGTH]


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
        entry.task = entry.file.task
    except TaskFileError as exc:
        entry.error = exc
        return
    shard = shard_dir_of(entry.path)
    if shard != entry.uuid[:2]:
        entry.error = TaskFileError(
            entry.path,
            None,
            f"the file is in the directory {shard}/ but a task file lives in {entry.uuid[:2]}/ "
            f"(the first two characters of its uuid); move it back with `git mv`",
        )
        entry.file = None
        entry.task = None  # type: ignore[assignment]
        return
    if entry.file.task.uuid != entry.uuid:
        entry.error = TaskFileError(
            entry.path,
            2,
            f"the uuid field ({entry.file.task.uuid}) does not match the file name; "
            "a task file is named after its uuid",
        )
        entry.file = None
        entry.task = None  # type: ignore[assignment]


class _Watcher:
    """A change feed for the namespace directory (Linux inotify), so a refresh need not stat every
    file. Without inotify (other systems, exhausted limits) the view falls back to a full scan."""

    _FILE_EVENTS = ("MODIFY", "CLOSE_WRITE", "MOVED_TO", "MOVED_FROM", "CREATE", "DELETE", "ATTRIB")
    _SELF_EVENTS = ("DELETE_SELF", "MOVE_SELF")

    def __init__(self, base: Path) -> None:
        import inotify_simple

        self.flags = inotify_simple.flags
        self.inotify = inotify_simple.INotify(nonblocking=True)
        self.base = base
        self.mask = 0
        for name in (*self._FILE_EVENTS, *self._SELF_EVENTS):
            self.mask |= getattr(self.flags, name)
        self.dirs: dict[int, str] = {}
        self.armed = False
        self.inode: int | None = None

    def arm(self) -> bool:
        """Watch the namespace directory and every shard; False if it does not exist yet."""
        self.close_watches()
        try:
            self.inode = os.stat(self.base).st_ino
            self.dirs[self.inotify.add_watch(str(self.base), self.mask)] = ""
            for item in os.scandir(self.base):
                if SHARD_RE.match(item.name) and item.is_dir():
                    self.watch_shard(item.name)
        except OSError:
            self.close_watches()
            return False
        self.armed = True
        return True

    def still_watching(self) -> bool:
        """The watched directory is still the one at the store's path (renaming a parent such as
        ``.backlog`` away sends the watch no event)."""
        try:
            return os.stat(self.base).st_ino == self.inode
        except OSError:
            return False

    def watch_shard(self, shard: str) -> None:
        self.dirs[self.inotify.add_watch(str(self.base / shard), self.mask)] = shard

    def close_watches(self) -> None:
        for wd in list(self.dirs):
            with contextlib.suppress(OSError):
                self.inotify.rm_watch(wd)
        self.dirs.clear()
        self.armed = False

    def changes(self) -> tuple[set[str], set[str]] | None:
        """(changed file paths 'shard/name', new shards) since the last call; None: rescan needed."""
        files: set[str] = set()
        shards: set[str] = set()
        for event in self.inotify.read(timeout=0):
            if event.mask & (self.flags.Q_OVERFLOW | self.flags.IGNORED) or event.mask & (
                self.flags.DELETE_SELF | self.flags.MOVE_SELF
            ):
                self.armed = False
                return None
            where = self.dirs.get(event.wd)
            if where is None:
                continue
            if where == "":
                if event.mask & self.flags.ISDIR and SHARD_RE.match(event.name):
                    shards.add(event.name)
                continue
            if event.name.endswith(".md"):
                files.add(f"{where}/{event.name}")
        return files, shards


class WorkingView:
    """All task files of one namespace directory, kept in step with the working tree."""

    def __init__(self, root: Path, ns_dir: str, cache_path: Path | None = None) -> None:
        self.root = root
        self.ns_dir = ns_dir
        self.cache_path = cache_path
        self.entries: dict[str, Entry] = {}
        self.by_uuid: dict[str, Entry] = {}
        self.broken_paths: set[str] = set()
        self.max_id = 0
        self.generation = 0
        try:
            self._watcher: _Watcher | None = _Watcher(root / ns_dir)
        except (ImportError, OSError):
            self._watcher = None

    def refresh(self) -> tuple[list[Entry], list[Entry]]:
        """Re-read what changed on disk; return (removed entries, added-or-changed entries)."""
        watcher = self._watcher
        if watcher is not None and watcher.armed and watcher.still_watching():
            found = watcher.changes()
            if found is not None:
                return self._refresh_paths(*found)
        if watcher is not None:
            watcher.arm()  # before the scan, so edits made during it are reported next time
        return self._full_scan()

    def _refresh_paths(self, files: set[str], shards: set[str]) -> tuple[list[Entry], list[Entry]]:
        """Re-read only the files the change feed named (and every file of a new shard)."""
        assert self._watcher is not None
        paths = {f"{self.ns_dir}/{name}" for name in files if is_task_name(name.rsplit("/", 1)[-1])}
        for shard in shards:
            with contextlib.suppress(OSError):
                self._watcher.watch_shard(shard)
                for item in os.scandir(self.root / self.ns_dir / shard):
                    if is_task_name(item.name):
                        paths.add(f"{self.ns_dir}/{shard}/{item.name}")
        removed: list[Entry] = []
        changed: list[Entry] = []
        for path in paths:
            entry = read_entry(self.root, path)
            old = self.entries.get(path)
            if entry is None:
                if old is not None:
                    removed.append(old)
            elif old is None or old.key != entry.key or old.raw != entry.raw:
                changed.append(entry)
        self._apply(removed, changed)
        return removed, changed

    def _full_scan(self) -> tuple[list[Entry], list[Entry]]:
        cached = self._load_cache() if not self.entries else {}
        seen: set[str] = set()
        changed: list[Entry] = []
        parsed = 0
        base = self.root / self.ns_dir
        for shard, shard_path in self._shards(base):
            try:
                scan = os.scandir(shard_path)
            except FileNotFoundError:
                continue
            with scan:
                for item in scan:
                    if not is_task_name(item.name):
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
                    entry = cached.get(path)
                    if entry is None or entry.key != key:
                        entry = read_entry(self.root, path)
                        parsed += 1
                    if entry is not None:
                        changed.append(entry)
        removed = [self.entries[p] for p in self.entries if p not in seen]
        self._apply(removed, changed)
        if parsed >= _CACHE_THRESHOLD:
            self._save_cache()
        return removed, changed

    # A one-shot process (the CLI, a hook) would parse every file on each run; a cache of parsed
    # entries in the git directory, trusted per file only while (mtime, size, inode) is unchanged,
    # spares that. It is never the truth: a missing or unreadable cache just means parsing.
    def _load_cache(self) -> dict[str, Entry]:
        if self.cache_path is None:
            return {}
        try:
            with open(self.cache_path, "rb") as handle:
                tag, entries = pickle.load(handle)
        except Exception:  # any unreadable cache is simply ignored
            return {}
        if tag != _cache_tag(self.ns_dir):
            return {}
        return {path: Entry(path, key, raw, file=file, task=file.task) for path, key, raw, file in entries}

    def _save_cache(self) -> None:
        if self.cache_path is None:
            return
        # Files changed within the last seconds may change again within one mtime tick: not cached.
        recent = (time.time() - 2) * 1e9
        entries = [
            (e.path, e.key, e.raw, e.file)
            for e in self.entries.values()
            if e.file is not None and e.key[0] < recent
        ]
        try:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_path.with_suffix(f".tmp{os.getpid()}")
            with open(tmp, "wb") as handle:
                pickle.dump((_cache_tag(self.ns_dir), entries), handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.cache_path)
        except OSError:
            pass

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
            self.broken_paths.discard(entry.path)
            if self.by_uuid.get(entry.uuid) is entry:
                del self.by_uuid[entry.uuid]
        for entry in changed:
            old = self.entries.get(entry.path)
            if old is not None and self.by_uuid.get(old.uuid) is old:
                del self.by_uuid[old.uuid]
            self.entries[entry.path] = entry
            if entry.file is not None:
                self.by_uuid[entry.uuid] = entry
                self.broken_paths.discard(entry.path)
                self.max_id = max(self.max_id, entry.task.id)
            else:
                self.broken_paths.add(entry.path)
                self.max_id = max(self.max_id, entry.claimed_id() or 0)

    def broken(self) -> list[Entry]:
        return sorted((self.entries[p] for p in self.broken_paths), key=lambda e: e.path)
