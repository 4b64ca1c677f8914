"""The write transaction: every mutation's one path from lock to commit.

``Transaction.run(op, build)`` takes the writer lock (a thread lock plus ``flock``), checks the
repository, refreshes the view, lets ``build`` fill a :class:`Change` (new file contents, no git),
and commits exactly those files with a message naming the op, the tasks and the writer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..layout import is_task_file, uuid_of
from ..merge import merge_counter
from ..model import Task, utc_now
from ..taskfile import dump
from . import messages
from .renumber import renumber
from .state import StoreState, read_current


@dataclass
class Outcome:
    """What a mutation did: a message for people, the tasks it touched, and its commit (None = no change)."""

    message: str
    tasks: list[dict[str, Any]] = field(default_factory=list)
    commit: str | None = None
    cursor: str | None = None
    """The change feed's cursor just after the operation ("" = an empty repository); None when unknown."""


@dataclass
class Change:
    """The files one operation writes, with what the commit message needs."""

    op: str
    branch: str
    files: dict[str, bytes | None] = field(default_factory=dict)
    touched: dict[str, Task] = field(default_factory=dict)
    trailers: list[tuple[str, str]] = field(default_factory=list)
    subject: str | None = None
    """Overrides the subject made from ``op`` and the touched tasks."""
    task_uuids: list[str] | None = None
    """Overrides the tasks named in the trailers and reported (undo names the undone op's tasks)."""
    always_commit: bool = False
    """Commit even when no file changed (an undo must be recorded so the next undo goes further back)."""
    top_id: int = 0
    """The highest id among ``touched`` (kept by ``touch``: an import hands out ids one by one)."""

    def touch(self, task: Task) -> None:
        self.touched[task.uuid] = task
        self.top_id = max(self.top_id, task.id)


Build = Callable[[Change, datetime], str]
HAND_EDIT = "hand-edit"


class Transaction:
    def __init__(self, state: StoreState) -> None:
        self.state = state

    def run(self, op: str, build: Build, request_id: str | None = None) -> Outcome:
        """Run one operation as one commit (after a merge commit of what it read; see ``commit``).
        With ``request_id``, an operation already done under that id is not done again."""
        from .changefeed import cursor

        state = self.state
        with state.lock, state.git.writer_lock():
            outcome = self._run_locked(op, build, request_id)
            # Read before the writer lock goes: no other writer of the clone can have committed since
            # this operation did, so a change feed from this cursor neither repeats it nor skips anyone.
            outcome.cursor = cursor(state)
            return outcome

    def _run_locked(self, op: str, build: Build, request_id: str | None) -> Outcome:
        from . import requests

        state = self.state
        change = Change(op, self.write_target())
        state.refresh()
        if request_id is not None:
            earlier = requests.earlier_outcome(state, request_id)
            if earlier is not None:
                return earlier
        if state.index.clashing:
            self._heal_clashing_ids(change.branch)
        message = build(change, utc_now())
        if not change.files and not change.always_commit:
            return Outcome(message, self._records(change), None)
        if request_id is not None:
            change.trailers += [(requests.REQUEST_TRAILER, request_id), (requests.RESULT_TRAILER, message)]
        self._commit_hand_edits(change)
        sha = self.commit(change.branch, change.files, self._message(change))
        if request_id is not None:
            requests.remember(state, request_id, sha)
        state.refresh()
        return Outcome(message, self._records(change), sha)

    def _commit_hand_edits(self, change: Change) -> None:
        """A task file edited by hand since its last commit gets a commit of its own, credited to the
        git user, before the operation's: undo of the operation then never reverts the hand edit, and
        history shows who changed what."""
        state = self.state
        git = state.git
        edited = {}
        for path in change.files:
            if not is_task_file(path):
                continue
            on_disk = read_current(git.workdir / path)
            if on_disk is not None and not git.matches_checked_out(path, on_disk):
                edited[path] = on_disk
        if not edited:
            return
        tasks = [uuid_of(p) for p in edited]
        by_uuid = state.view.by_uuid
        labels = [messages.label(by_uuid[u].task) for u in tasks if u in by_uuid] or tasks
        subject = f"edit {', '.join(labels[:5])} by hand"
        message = messages.op_message(subject, HAND_EDIT, state.namespace, git.user_identity(), tasks=tasks)
        git.commit_worktree_files(edited, message)

    def _heal_clashing_ids(self, branch: str) -> None:
        """A plain git merge can bring two tasks with one numeric id: before its own operation, the
        first writer that meets them renumbers by sync's rule, in a commit of its own."""
        state = self.state
        files: dict[str, bytes | None] = {}
        lines = renumber(state, files)
        if not lines:
            return
        tasks = [line.rsplit(" ", 1)[-1] for line in lines]
        subject = "renumber clashing ids: " + ", ".join(line.rsplit(" ", 1)[0] for line in lines[:10])
        extra = [(messages.RENUMBER, line) for line in lines]
        message = messages.op_message(subject, "renumber", state.namespace, state.writer, tasks=tasks, extra=extra)
        self.commit(branch, files, message)
        state.refresh()

    def write_target(self) -> str:
        """The ref this writer commits to: its agent branch, or the checked-out branch."""
        if self.state.agent_ref is not None:
            return self.state.agent_ref
        return self.state.git.check_writable()

    def commit(self, ref: str, files: Mapping[str, bytes | None], message: str) -> str:
        """Commit what the operation wrote. While agent branches are unmerged, the commit is also a
        merge of them (its tree holds the merged view the operation was computed from), so every
        later merge has a true common ancestor; on the checked-out branch that integrates them."""
        state = self.state
        view = state.view
        seen = list(view.pending_tips)
        names = ", ".join(sorted(view.overlay.pending)) or "the checked-out branch"
        merge_message = messages.merge_message(names, ref.removeprefix("refs/heads/"), state.writer, state.namespace)
        if ref == state.agent_ref:
            return state.git.commit_on_agent_branch(ref, view.merged_all, files, message, seen, merge_message)
        if seen:  # the checked-out branch integrates the agent branches it read, then records the op
            state.git.merge_into_branch(ref, seen, view.merged_all, merge_message)
        return state.git.commit_worktree_files(files, message, ref=ref)

    def _message(self, change: Change) -> str:
        tasks = change.task_uuids if change.task_uuids is not None else list(change.touched)
        subject = change.subject or messages.subject_for(change.op, list(change.touched.values()))
        state = self.state
        return messages.op_message(
            subject, change.op, state.namespace, state.writer, tasks=tasks, extra=change.trailers
        )

    def _records(self, change: Change) -> list[dict[str, Any]]:
        state = self.state
        ctx = state.context()
        by_uuid = state.view.by_uuid
        if change.task_uuids is not None:
            return [state.record(by_uuid[u], ctx) for u in change.task_uuids if u in by_uuid]
        records = []
        for task_uuid, task in change.touched.items():
            entry = by_uuid.get(task_uuid)
            records.append(state.record(entry, ctx) if entry is not None else task.to_record())
        return records


def write_task(state: StoreState, change: Change, task: Task, body: str) -> None:
    change.files[state.layout.task(task.uuid)] = dump(task, body)
    change.touch(task)


def next_id(state: StoreState, change: Change) -> int:
    """Next numeric id: above every id in use and the persisted counter, so ids are never reused."""
    counter_path = state.layout.counter
    counter_text = change.files.get(counter_path)
    if counter_text is None:
        on_disk = read_current(state.git.workdir / counter_path) or b"1"
        counter_text = merge_counter(on_disk, state.view.counter)
    try:
        counter = int(counter_text.decode().strip() or "1")
    except ValueError:
        counter = 1
    number = max(counter, state.view.max_id + 1, change.top_id + 1)
    change.files[counter_path] = f"{number + 1}\n".encode()
    return number
