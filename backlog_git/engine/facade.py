"""``Backlog``: the one engine API the CLI, the MCP server and the hooks call.

Each method is a short delegation: reads take the lock, refresh the view and ask :mod:`.reads`;
mutations hand a builder (from :mod:`.adding`, :mod:`.editing`, :mod:`.archive`, :mod:`.undo`,
:mod:`.recurrence`) to the one write transaction; sync and resolve live in :mod:`.sync`.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .. import config as configmod
from ..errors import WrongState
from ..gitstore import GitStore
from . import adding, archive, changefeed, claims, editing, reads, recurrence, requests, sync, undo, versions
from . import migrate as migrating
from .history import history
from .review import review as review_range
from .state import StoreState
from .transaction import Build, Outcome, Transaction

T = TypeVar("T")


class Backlog:
    """A task store in a git repository: the operations of the original server, one commit each."""

    def __init__(self, store: configmod.StoreConfig) -> None:
        self.state = StoreState(store)
        self.transaction = Transaction(self.state)

    @classmethod
    def open(
        cls,
        repo: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        writer: str | None = None,
    ) -> Backlog:
        """Open the store ``repo``/``env``/``cwd`` name. ``writer`` is the identity of a writer without
        an agent id (an MCP session's): what its undo may revert and what history credits."""
        return cls(configmod.resolve(repo, env, cwd).with_writer(writer))

    # ---------------------------------------------------------------- identity and paths
    @property
    def config(self) -> configmod.StoreConfig:
        return self.state.config

    @property
    def git(self) -> GitStore:
        return self.state.git

    @property
    def namespace(self) -> str:
        return self.state.namespace

    @property
    def writer(self) -> str:
        return self.state.writer

    @property
    def ns_dir(self) -> str:
        return self.state.layout.ns_dir

    def task_path(self, task_uuid: str) -> str:
        return self.state.layout.task(task_uuid)

    def archive_path(self, segment: str, task_uuid: str) -> str:
        return self.state.layout.archived(segment, task_uuid)

    @property
    def counter_path(self) -> str:
        return self.state.layout.counter

    # ---------------------------------------------------------------- reads
    def _read(self, query: Callable[[StoreState], T]) -> T:
        with self.state.lock:
            self.state.refresh()
            return query(self.state)

    def list(
        self, filter: str = "", *, sort: str | None = None, limit: int | None = None, offset: int = 0
    ) -> builtins.list[dict[str, Any]]:
        return self._read(lambda s: reads.list_tasks(s, filter, sort, limit, offset))

    def count(self, filter: str = "") -> int:
        return self._read(lambda s: len(s.select(filter, s.context())))

    def info(self, ref: str) -> dict[str, Any]:
        """One task's record; a pending task that ``+READY`` leaves out also carries ``not_ready`` (why)."""
        return self._read(lambda s: reads.info(s, ref))

    def projects(self) -> builtins.list[str]:
        return self._read(reads.projects)

    def tags(self) -> builtins.list[str]:
        return self._read(reads.tags)

    def doc_read(self, ref: str) -> str:
        return self._read(lambda s: reads.doc(s, ref))

    def broken_files(self) -> builtins.list[str]:
        """Task files that do not parse or validate (path:line: reason), as of the latest call.
        Adapters show these with every result, so one broken file is never silently skipped."""
        return reads.broken_files(self.state)

    def summary(self) -> dict[str, int]:
        """Counts for the session-start line: pending, active, overdue, blocked."""
        return self._read(reads.summary)

    def check(self) -> builtins.list[dict[str, Any]]:
        """Problems in the store: files that do not parse or validate, duplicate ids, merge setup."""
        return self._read(reads.check)

    def history(self, ref: str) -> builtins.list[dict[str, Any]]:
        """A task's commits, newest first: sha, time, writer, operation, fields changed old → new."""
        return self._read(lambda s: history(s, ref))

    def prepare_history(self) -> None:
        """Bring the history index up to date without holding the store: a long-lived process calls it
        in the background, so a first ``history`` on a long log (one walk of it) is not the caller's wait."""
        history_index, tips = self._read(lambda s: (s.history_index(), s.task_tips()))
        history_index.update(tips)

    def archive_list(self) -> builtins.list[str]:
        return self._read(archive.segment_names)

    def archive_load(self, segment: str) -> builtins.list[dict[str, Any]]:
        return self._read(lambda s: archive.load(s, segment))

    def pending_agents(self) -> builtins.list[str]:
        """Agent branches with operations the checked-out branch has not merged yet."""
        return self._read(lambda s: sorted(s.view.overlay.pending))

    # ---------------------------------------------------------------- mutations
    def _mutate(self, op: str, build: Build, request_id: str | None = None) -> Outcome:
        return self.transaction.run(op, build, requests.checked_id(request_id))

    def _guarded(self, op: str, ref: str, expected_version: str | None, build: Build) -> Outcome:
        """A single-task operation, refused (nothing written) if the task is no longer at ``expected_version``."""
        return self._mutate(op, versions.guarded(self.state, ref, expected_version, build))

    def add(
        self,
        description: str,
        *,
        project: str | None = None,
        tags: Sequence[str] = (),
        priority: str | None = None,
        due: Any = None,
        depends: Any = (),
        wait: Any = None,
        scheduled: Any = None,
        recur: str | None = None,
        until: Any = None,
        agent: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> Outcome:
        build = adding.add(
            self.state, description, project=project, tags=tags, priority=priority, due=due, depends=depends,
            wait=wait, scheduled=scheduled, recur=recur, until=until, agent=agent, attributes=attributes,
        )
        return self._mutate("add", build, request_id)

    def log(
        self,
        description: str,
        *,
        project: str | None = None,
        tags: Sequence[str] = (),
        priority: str | None = None,
        agent: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> Outcome:
        build = adding.log(
            self.state, description, project=project, tags=tags, priority=priority, agent=agent,
            attributes=attributes,
        )
        return self._mutate("log", build, request_id)

    def import_tasks(self, items: builtins.list[dict[str, Any]], *, request_id: str | None = None) -> Outcome:
        """Create many tasks in one commit; all are validated first, and one bad item writes nothing."""
        return self._mutate("import", adding.import_tasks(self.state, items), request_id)

    def modify(
        self,
        filter: str,
        *,
        changes: Mapping[str, Any] | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
        expected_version: str | None = None,
    ) -> Outcome:
        build = editing.modify(self.state, filter, changes=changes, add_tags=add_tags, remove_tags=remove_tags)
        return self._guarded("modify", filter, expected_version, build)

    def duplicate(
        self,
        ref: str,
        *,
        changes: Mapping[str, Any] | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
    ) -> Outcome:
        build = adding.duplicate(self.state, ref, changes=changes, add_tags=add_tags, remove_tags=remove_tags)
        return self._mutate("duplicate", build)

    def _transition(
        self, op: str, ref: str, apply: editing.Apply, message: str, expected_version: str | None
    ) -> Outcome:
        return self._guarded(op, ref, expected_version, editing.transition(self.state, op, ref, apply, message))

    def done(self, ref: str, *, expected_version: str | None = None) -> Outcome:
        return self._transition("done", ref, editing.complete, "Task {id} completed.", expected_version)

    def delete(self, ref: str, *, expected_version: str | None = None) -> Outcome:
        return self._transition("delete", ref, editing.delete, "Task {id} deleted.", expected_version)

    def start(self, ref: str, *, expected_version: str | None = None) -> Outcome:
        return self._transition("start", ref, editing.start, "Task {id} started.", expected_version)

    def stop(self, ref: str, *, expected_version: str | None = None) -> Outcome:
        return self._transition("stop", ref, editing.stop, "Task {id} stopped.", expected_version)

    def annotate(self, ref: str, text: str, *, expected_version: str | None = None) -> Outcome:
        return self._transition("annotate", ref, editing.annotation(text), "Task {id} annotated.", expected_version)

    def denotate(self, ref: str, text: str, *, expected_version: str | None = None) -> Outcome:
        apply = editing.removal_of_annotation(text)
        return self._transition("denotate", ref, apply, "Annotation removed from task {id}.", expected_version)

    def purge(self, ref: str, *, expected_version: str | None = None) -> Outcome:
        return self._guarded("purge", ref, expected_version, editing.purge(self.state, ref))

    def doc_write(self, ref: str, content: str, *, expected_version: str | None = None) -> Outcome:
        return self._guarded("doc-write", ref, expected_version, editing.doc_write(self.state, ref, content))

    def doc_delete(self, ref: str, *, expected_version: str | None = None) -> Outcome:
        return self._guarded("doc-delete", ref, expected_version, editing.doc_delete(self.state, ref))

    def catch_up(self) -> Outcome:
        """Create the instances every recurring template is owed now (one commit, or none)."""
        return self._mutate("recur", recurrence.catch_up(self.state))

    def archive(self, older_than_days: int | str = 90) -> Outcome:
        days = archive.parse_days(older_than_days)
        return self._mutate("archive", archive.archive(self.state, days))

    def claim(
        self,
        ref: str | None = None,
        *,
        filter: str = "+READY",
        lease: str | None = None,
        expected_version: str | None = None,
        request_id: str | None = None,
    ) -> Outcome:
        """Claim a task (``ref``), or the most urgent free one matching ``filter``, for ``lease`` (``30m``)."""
        build = claims.claim(self.state, ref or None, filter, claims.parse_lease(lease))
        if ref:
            build = versions.guarded(self.state, ref, expected_version, build)
        return self._mutate("claim", build, request_id)

    def release(self, ref: str, *, force: bool = False, expected_version: str | None = None) -> Outcome:
        """Give a claim back (the holder; anyone with ``force``, which the commit records)."""
        return self._guarded("release", ref, expected_version, claims.release(self.state, ref, force))

    def changes(self, since: str | None = None, *, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        """Task-level changes after ``since`` (a cursor from an earlier result, or any commit), newest first,
        across the checked-out branch and every agent branch; with the cursor to pass next time."""
        return self._read(lambda s: changefeed.changes(s, since, limit, offset))

    def review(self, rev_range: str) -> dict[str, Any]:
        """What a range of commits does to the tasks (``BASE..HEAD``, ``BASE...HEAD`` or one commit)."""
        return self._read(lambda s: review_range(s, rev_range))

    def migrate(self, source: str | os.PathLike[str], *, collection: str | None = None) -> Outcome:
        """Import every task of the original backlog server's store at ``source`` (its TASKDATA) in one commit."""
        return self._mutate("migrate", migrating.migrate(self.state, Path(source), collection=collection))

    def cursor(self) -> str:
        """What every read saw: the checked-out tip and each agent branch's tip, as one opaque string.
        Ref reads only (no refresh of the view), so an adapter can attach it to every result for free."""
        with self.state.lock:
            return changefeed.cursor(self.state)

    def undo(self) -> Outcome:
        """Revert this writer's latest operation that is not yet undone, as a new commit."""
        return self._mutate("undo", undo.undo(self.state))

    # ---------------------------------------------------------------- many writers
    def sync(self, remote: str | None = None) -> Outcome:
        """Merge every agent branch into the checked-out branch (one merge commit a reviewer can read),
        renumber clashing ids, and with ``remote``: fetch, merge, push (retrying a rejected push)."""
        return sync.sync(self.state, remote)

    def resolve(self) -> Outcome:
        """Finish a conflicted `git merge` of task files the way sync would (edits win over deletes)."""
        count = sync.resolve(self.state)
        if not count:
            raise WrongState("No conflicted task files: nothing to resolve.")
        remaining = [p for p, *_ in self.git.conflicts()]
        note = (f" Other files are still conflicted: {', '.join(remaining)}." if remaining
                else " Run `git commit` to conclude the merge.")
        return Outcome(f"Resolved {count} task file(s).{note}")
