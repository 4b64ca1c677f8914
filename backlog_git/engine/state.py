"""The store as every operation sees it: the merged view, its index, the lock, and the one id resolver."""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import config as configmod
from ..errors import AmbiguousId, BrokenTaskFile, InvalidInput, NotFound
from ..gitstore import CommitInfo, GitStore, PathIndex
from ..layout import AGENT_PREFIX, STORE_DIR, Layout, agent_ref, history_index_path, view_cache_path
from ..model import UUID_RE, Task, utc_now
from ..overlay import AgentOverlay, MergedView
from ..query import QueryContext, TaskIndex, compile_filter
from ..query import urgency as urgency_of
from ..view import Entry, WorkingView, gc_paused
from . import similar
from .similar import WordIndex

UUID_PREFIX_RE = re.compile(r"^[0-9a-f]{8}[0-9a-f-]*$")


SETTLE_AT = 1000


class StoreState:
    """One namespace of one repository, for one writer; shared by reads and the write transaction."""

    keeps_heap = False
    """Set by a process that holds this store until it exits (a one-shot command, the server): once a
    cold start has built the view (``SETTLE_AT`` tasks or more), everything alive is moved out of the
    garbage collector's scans (``gc.freeze``), which would otherwise walk all those objects again."""

    def __init__(self, store: configmod.StoreConfig) -> None:
        self.config = store
        self.git = GitStore(store.repo_path or Path.cwd(), create=store.create_repo)
        self.layout = Layout(store.namespace)
        self.writer = store.agent_id or store.writer or configmod.default_writer()
        self.agent_ref = agent_ref(store.agent_id) if store.agent_id else None
        cache = view_cache_path(Path(self.git.gitdir), store.namespace)
        working = WorkingView(self.git.workdir, self.layout.ns_dir, cache_path=cache)
        self.view = MergedView(working, AgentOverlay(self.git, STORE_DIR))
        self.index = TaskIndex.build([])
        self.lock = threading.RLock()
        self._words: WordIndex | None = None
        self._scanned = False
        self._paths: PathIndex | None = None

    @property
    def namespace(self) -> str:
        return self.layout.namespace

    # ------------------------------------------------------------------ the view
    def refresh(self) -> MergedView:
        """Bring the view up to date with the disk and the agent branches; keep the index in step."""
        cold = not self.view.entries
        with gc_paused():  # a cold start builds every task's objects: collecting meanwhile only costs
            view = self._refresh()
            if cold and self.keeps_heap and len(view.entries) >= SETTLE_AT:
                gc.freeze()  # before collection resumes: it would walk every new object first
        return view

    def _refresh(self) -> MergedView:
        self.git.repair_if_needed()
        removed, changed = self.view.refresh()
        words = self._words
        for entry in removed:
            if entry.file is not None and self.view.by_uuid.get(entry.uuid) is None:
                self.index.remove(entry.task)
                if words is not None:
                    words.discard(entry.uuid)
        for entry in changed:
            if entry.file is not None:
                self.index.add(entry.task)
                if words is not None:
                    words.put(entry.task)
        return self.view

    def word_index(self) -> WordIndex:
        """The open tasks by description word (near-duplicate hints). Built on first use, not at open:
        a read-only process never pays for it; afterwards every refresh keeps it in step."""
        if self._words is None:
            tasks = self.index.tasks
            self._words = WordIndex.build(tasks[u] for u in self.index.by_status.get("pending", ()))
        return self._words

    def similar_open(self, found: frozenset[str]) -> list[tuple[float, str]]:
        """(similarity, uuid) of the open tasks nearly like the word set ``found``. A process's first check
        scans the open tasks (15 ms at 10,000 tasks, 0.17 s at 100,000), so a one-shot ``add`` never builds
        the word index (0.1 s, 1.4 s); the second check builds it, and every refresh then keeps it in step."""
        if self._words is None and not self._scanned:
            self._scanned = True
            tasks = self.index.tasks
            return similar.scan((tasks[u] for u in self.index.by_status.get("pending", ())), found)
        return self.word_index().similar(found)

    def context(self, now: datetime | None = None) -> QueryContext:
        by_uuid = self.view.by_uuid
        return QueryContext(
            now or utc_now(),
            TaskMap(by_uuid),
            has_doc=lambda t: by_uuid[t.uuid].has_doc,
            index=self.index,
            claimant=self.config.agent_id or self.writer,
        )

    def record(self, entry: Entry, ctx: QueryContext) -> dict[str, Any]:
        record = entry.record()  # (a new dict)
        record["urgency"] = urgency_of(entry.task, ctx)
        return record

    def records(self, tasks: Iterable[Task], ctx: QueryContext) -> list[dict[str, Any]]:
        by_uuid = self.view.by_uuid
        return [self.record(by_uuid[t.uuid], ctx) for t in tasks]

    def select(self, text: str, ctx: QueryContext) -> list[Task]:
        try:
            return compile_filter(empty_if_blank(text)).select(ctx, self.index)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        except RecursionError:
            raise InvalidInput("This filter is too long to evaluate; split it into several calls.") from None

    def live_tasks(self) -> list[Task]:
        return [e.task for e in self.view.by_uuid.values() if e.task.status in ("pending", "recurring")]

    def task_refs(self) -> list[str]:
        """Every ref a task's changes can be on: the checked-out branch and each agent branch."""
        refs = ["HEAD"] if self.git.head_oid() is not None else []
        return refs + [agent_ref(name) for name in self.git.branch_tips(AGENT_PREFIX)]

    def commits_touching(self, name: str, wanted: Callable[[str], bool]) -> list[tuple[CommitInfo, list[str]]]:
        """Commits on any task ref that touched a file called ``name`` at a path ``wanted`` accepts,
        newest first, with the paths each touched, read from the history index (no walk of the log)."""
        if self._paths is None:
            self._paths = self.history_index(self.git.is_ancestor)
        found = self._paths.touching_name(self.task_tips(), name, wanted)
        touched = [(self.git.commit(sha), paths) for sha, paths in found]
        # Newest first by commit time, as git log shows them: commits fetched later may be older than
        # ones indexed before. Within a second the index's order (git's walk: children first) stays.
        return sorted(touched, key=lambda pair: pair[0].time, reverse=True)

    def history_index(self, is_ancestor: Callable[[str, str], bool] | None = None) -> PathIndex:
        """The history index of this namespace (a new object over the one file)."""
        cache = history_index_path(Path(self.git.gitdir), self.namespace)
        return PathIndex(self.git.workdir, cache, self.layout.ns_dir, is_ancestor)

    def task_tips(self) -> list[str]:
        """The commits the task refs point at."""
        return [str(oid) for oid in map(self.git.resolve_rev, self.task_refs()) if oid is not None]

    def current_bytes(self, path: str) -> bytes | None:
        """A store path's contents as reads see them (merged view), else as on disk."""
        if path in self.view.entries:
            return self.view.raw(path)
        return read_current(self.git.workdir / path)

    # ------------------------------------------------------------------ id resolution
    def resolve(self, ref: str | int) -> Entry:
        """One resolver for every command: numeric id, full uuid, or a unique uuid prefix (8+ hex)."""
        text = str(ref).strip()
        if not text:
            raise InvalidInput("No task given: pass a numeric id, a uuid, or a uuid prefix of 8+ hex digits.")
        matches, broken = self._candidates(text)
        if len(matches) == 1 and not broken:
            return matches[0]
        if not matches and len(broken) == 1:
            raise BrokenTaskFile(str(broken[0].error))
        if not matches:
            raise NotFound(f"No task found matching '{text}'. Check the id with task_list or task_info.")
        candidates = ", ".join(f"{e.task.id} ({e.uuid}: {e.task.description[:60]!r})" for e in matches) + "".join(
            f", {e.path} (broken file)" for e in broken
        )
        raise AmbiguousId(f"'{text}' matches more than one task: {candidates}. Use the full uuid.")

    def _candidates(self, text: str) -> tuple[list[Entry], list[Entry]]:
        view = self.view
        lowered = text.lower()
        if text.isdigit():
            number = int(text)
            matches = [view.by_uuid[u] for u in self.index.by_id.get(number, ()) if u in view.by_uuid]
            broken = [e for e in view.broken() if e.claimed_id() == number]
            if not matches and not broken and len(text) >= 8:
                # No such numeric id: 8+ decimal digits may be a uuid prefix ("26066905" of "26066905-…").
                return self._by_prefix(text)
            return matches, broken
        if UUID_RE.match(lowered):
            entry = view.by_uuid.get(lowered)
            return ([entry] if entry else []), [e for e in view.broken() if e.uuid == lowered]
        if UUID_PREFIX_RE.match(lowered):
            return self._by_prefix(lowered)
        raise NotFound(
            f"No task found matching '{text}'. Name a task by its numeric id, its uuid, or a uuid prefix "
            "of at least 8 hex digits (task_list shows them)."
        )

    def _by_prefix(self, prefix: str) -> tuple[list[Entry], list[Entry]]:
        view = self.view
        return (
            [e for u, e in view.by_uuid.items() if u.startswith(prefix)],
            [e for e in view.broken() if e.uuid.startswith(prefix)],
        )

    def editable(self, ref: str) -> Entry:
        """The entry of a task a mutation may rewrite (a broken file is refused, never overwritten)."""
        entry = self.resolve(ref)
        if entry.error is not None:
            raise BrokenTaskFile(str(entry.error))
        return entry


def empty_if_blank(text: str) -> str:
    """``""`` and ``''`` (what a shell user types, and what some clients send for "no value") are the
    empty filter, as is whitespace."""
    stripped = str(text).strip()
    return "" if stripped in ("", '""', "''") else text


def looks_like_id(text: str) -> bool:
    """Numeric id, uuid or uuid prefix (rather than a filter)."""
    return text.isdigit() or UUID_PREFIX_RE.match(text.lower()) is not None


def read_current(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


class TaskMap(Mapping[str, Task]):
    """The view's tasks by uuid, without copying 10,000 entries per read."""

    __slots__ = ("_entries",)

    def __init__(self, entries: Mapping[str, Entry]) -> None:
        self._entries = entries

    def __getitem__(self, key: str) -> Task:
        return self._entries[key].task

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str, default: Any = None) -> Any:
        entry = self._entries.get(key)
        return default if entry is None else entry.task

    def values(self) -> list[Task]:  # type: ignore[override]
        return [entry.task for entry in self._entries.values()]
