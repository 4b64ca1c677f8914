"""The working-tree view of one namespace: every task file, parsed once and re-read when it changes.

Reads see the working tree as it is, so a hand edit is picked up at the next call: each refresh
stats the task files and re-parses only those whose (mtime, ctime, size, inode) changed. A file that does
not parse is kept as an error entry, reported by path and line, and never hides the other tasks.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import marshal
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cachefile
from .layout import SHARD_RE, is_task_name, shard_dir_of, uuid_of
from .model import Task, task_from_state, task_state
from .query.terms import DOC_TAG
from .taskfile import TaskFile, TaskFileError, parse

_CACHE_THRESHOLD = 64
"""A scan that parsed at least this many files rewrites the parse cache (so a one-shot process
re-parses at most about this many files that changed since the cache was written)."""
_RECORDS_FORMAT = "view records 2"
"""The shape of a cache record (see _cached_entry); part of the tag a cache must carry."""
_RACY_NS = 2_000_000_000
"""Files written this recently (nanoseconds) are not cached: see _save_cache."""


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a scan builds thousands of objects that all stay alive (the
    collector would walk the growing heap again and again: most of a cold start's time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@functools.cache
def _code_tag() -> tuple[Any, ...]:
    """What a cache must have been written by: this version of the code that parses task files (its
    source, hashed, so an edited parser never trusts entries the old one made), this Python (marshal's
    format) and pydantic."""
    import pydantic

    from . import __version__, model, taskfile

    digest = hashlib.sha1()
    for module in (model, taskfile, sys.modules[__name__]):
        try:
            digest.update(Path(module.__file__ or "").read_bytes())
        except OSError:
            digest.update(b"unreadable " + (module.__file__ or "").encode())
    return (_RECORDS_FORMAT, __version__, pydantic.VERSION, sys.version, marshal.version, digest.hexdigest())


def _cached_entry(path: str, key: StatKey, record: Any, memo: dict[Any, Any]) -> Entry | None:
    """The entry a cache record holds, if it may be trusted: the file's stat key is the one the record
    was made from (a file written since has another mtime or ctime, size or inode); else None. The
    record was made from this path's bytes, which passed every check of ``_parse_into``."""
    try:
        cached_key, raw, body, state = record
        if tuple(cached_key) != key or type(raw) is not bytes or type(body) is not str:
            return None
        task = task_from_state(state, memo)
    except Exception:  # a record this code cannot read: the file is parsed instead
        return None
    if not path.endswith(f"/{task.uuid}.md"):
        return None
    entry = _new_entry(Entry)  # what Entry(path, key, raw, file=..., task=...) makes, for 10,000s of them
    entry.path, entry.key, entry.raw, entry.uuid = path, key, raw, task.uuid
    entry.file, entry.task, entry.error, entry._record = TaskFile(task, body), task, None, None
    return entry


_new_entry = object.__new__
_RECORD_SHAPES: dict[tuple[str, ...], tuple[str, ...]] = {}
"""One tuple per distinct sequence of record keys (see Entry.record)."""
ID_LINE_RE = re.compile(rb"^id:\s*(\d+)\s*$", re.MULTILINE)


StatKey = tuple[int, int, int, int]
"""(mtime, ctime, size, inode) of a task file: a file whose key is unchanged has not been written. The
ctime is set by the kernel on every write and cannot be set back (``touch -d``, ``cp -p``, ``rsync -t``
restore the mtime only), so a same-size edit that restores the mtime still changes the key."""


def stat_key(stat: os.stat_result) -> StatKey:
    mtime, ctime = stat.st_mtime_ns, stat.st_ctime_ns
    return (mtime, mtime if ctime == mtime else ctime, stat.st_size, stat.st_ino)  # (one int object, usually)


@dataclass(slots=True)
class Entry:
    """One task file as last read: its repository-relative path, stat key, bytes and parse result."""

    path: str
    key: StatKey
    raw: bytes
    file: TaskFile | None = None
    error: TaskFileError | None = None
    _record: tuple[tuple[str, ...], tuple[Any, ...]] | None = field(default=None, repr=False)

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
        """The task as JSON-ready data, plus has_doc: a new dict each call, made from a compact copy kept
        until the file changes (its keys, shared by every record of the same shape, and its values: a
        third of the memory of a kept dict). The ``doc`` tag follows the body (one definition of "has a
        doc"), whatever a hand edit left in ``tags``."""
        kept = self._record
        if kept is None:
            record = self.task.to_record()
            tags = record.get("tags") or []  # (to_record's own new list)
            if self.has_doc:
                record["has_doc"] = True
                if DOC_TAG not in tags:
                    tags.append(DOC_TAG)
            elif DOC_TAG in tags:
                tags = [t for t in tags if t != DOC_TAG]
            if tags:
                record["tags"] = tags
            else:
                record.pop("tags", None)
            record["version"] = self.version
            keys = tuple(record)
            kept = self._record = (_RECORD_SHAPES.setdefault(keys, keys), tuple(record.values()))
        return dict(zip(*kept, strict=True))

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
    entry = Entry(path, stat_key(stat), raw)
    _parse_into(entry)
    return entry


def parse_entry(path: str, raw: bytes) -> Entry:
    """An entry for contents that are not a working-tree file (e.g. merged from agent branches)."""
    entry = Entry(path, (0, 0, len(raw), 0), raw)
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
        return
    entry.uuid = entry.file.task.uuid  # the same text, held once


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
        with gc_paused():
            return self._scan_all()

    def _scan_all(self) -> tuple[list[Entry], list[Entry]]:
        cold = not self.entries
        cached = self._load_cache() if cold else {}
        delta = self._read_cache(self._delta_path()) if cold else {}
        memo: dict[Any, Any] = {}  # values the cached tasks share (see task_from_state)
        seen: set[str] = set()
        changed: list[Entry] = []
        outside: list[Entry] = []  # entries the main cache did not give: what the delta holds
        parsed = 0
        base = self.root / self.ns_dir
        known = self.entries.get
        for shard, shard_path in self._shards(base):
            try:
                scan = os.scandir(shard_path)
            except FileNotFoundError:
                continue
            prefix = f"{self.ns_dir}/{shard}/"
            with scan:
                for item in scan:
                    path = prefix + item.name
                    record = cached.get(path)  # (a path a cache holds has a task file's name)
                    recent = delta.get(path) if delta else None
                    if record is None and recent is None and not is_task_name(item.name):
                        continue
                    seen.add(path)
                    try:
                        stat = item.stat()
                    except FileNotFoundError:
                        seen.discard(path)
                        continue
                    key = stat_key(stat)
                    old = known(path)
                    if old is not None and old.key == key:
                        continue
                    entry = None if recent is None else _cached_entry(path, key, recent, memo)
                    if entry is None and record is not None:
                        entry = _cached_entry(path, key, record, memo)
                    elif entry is not None:
                        outside.append(entry)
                    if entry is None:
                        entry = read_entry(self.root, path)
                        parsed += 1
                        if entry is not None:
                            outside.append(entry)
                    if entry is not None:
                        changed.append(entry)
        removed = [self.entries[p] for p in self.entries if p not in seen]
        self._apply(removed, changed)
        if parsed >= _CACHE_THRESHOLD or (cold and len(outside) >= _CACHE_THRESHOLD):
            self._save_cache()
        elif cold and parsed:
            self._write_cache(self._delta_path(), outside)
        return removed, changed

    # A one-shot process (the CLI, a hook) would parse every file on each run; a cache of parsed
    # entries in the git directory spares that (see _cached_entry for when one is trusted). It is never
    # the truth: a missing, unreadable, corrupt or foreign cache just means parsing.
    def _cache_tag(self) -> tuple[Any, ...]:
        return (*_code_tag(), str(self.root), self.ns_dir)

    def _delta_path(self) -> Path | None:
        """The small cache of the files changed since the main cache was written: a process that had to
        parse a few files writes them here (a few KB) instead of rewriting the whole cache, so the next
        one parses nothing; 64 of them, and the main cache is written anew."""
        return None if self.cache_path is None else self.cache_path.with_name(self.cache_path.name + ".delta")

    def _load_cache(self) -> dict[str, Any]:
        return self._read_cache(self.cache_path)

    def _read_cache(self, path: Path | None) -> dict[str, Any]:
        data = cachefile.read(path) if path is not None else None
        try:
            tag, records = data  # type: ignore[misc]
        except (TypeError, ValueError):
            return {}
        if tag != self._cache_tag() or not isinstance(records, dict):
            return {}  # another store, another version of the code, another Python
        return records

    def _save_cache(self) -> None:
        """Write the main cache (every entry that may be cached) and drop the delta it supersedes."""
        if self.cache_path is None:
            return
        delta = self._delta_path()
        if self._write_cache(self.cache_path, self.entries.values()) and delta is not None:
            with contextlib.suppress(OSError):
                os.unlink(delta)

    def _write_cache(self, path: Path | None, entries: Iterable[Entry]) -> bool:
        if path is None:
            return False
        # A file written within the last seconds may be written again within the same timestamp tick
        # (same size, same mtime and ctime): it is not cached, so its key can never vouch for new bytes.
        recent = time.time_ns() - _RACY_NS
        records: dict[str, Any] = {}
        shared: dict[Any, Any] = {}
        for e in entries:
            if e.file is None or e.key[0] >= recent or e.key[1] >= recent:
                continue
            state = task_state(e.task, shared)
            if state is not None:
                records[e.path] = (e.key, e.raw, e.file.body, state)
        return cachefile.write(path, (self._cache_tag(), records))

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
