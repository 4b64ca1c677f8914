"""A task's history from the log: its commits, writers and fields changed old → new."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import AmbiguousId, NotFound
from ..gitstore import CommitInfo
from ..layout import file_name
from ..model import UUID_RE
from ..view import parse_entry
from . import messages
from .archive import archive_files
from .fields import field_changes
from .state import UUID_PREFIX_RE, StoreState


def history(state: StoreState, ref: str) -> list[dict[str, Any]]:
    """A task's commits, newest first: sha, time, writer, operation, fields changed old → new."""
    text = str(ref).strip().lower()
    task_uuid = text if UUID_RE.match(text) else _history_uuid(state, ref)
    active = state.layout.task(task_uuid)
    this_task = _copies_of(state, task_uuid)
    commits = state.commits_touching(file_name(active), this_task)
    if not commits:
        raise NotFound(f"No history for task '{ref}': no commit touched it.")
    return [_entry(state, commit, paths) for commit, paths in commits]


def _copies_of(state: StoreState, task_uuid: str) -> Callable[[str], bool]:
    """The task's file, active or archived in any quarter."""
    active = state.layout.task(task_uuid)
    return lambda path: path == active or state.layout.is_archived_copy_of(path, task_uuid)


def _history_uuid(state: StoreState, ref: str) -> str:
    """The uuid of an active task, or of an archived one named by its numeric id or uuid prefix."""
    try:
        return state.resolve(ref).uuid
    except NotFound:
        text = str(ref).strip().lower()
        archived = [
            entry
            for files in archive_files(state).values()
            for entry in (parse_entry(path, data) for path, data in files.items())
            if entry.error is None
        ]
        if text.isdigit():
            matches = [e for e in archived if e.task.id == int(text)]
        if not text.isdigit() or not matches:
            prefixed = UUID_PREFIX_RE.match(text) is not None
            matches = [e for e in archived if prefixed and e.uuid.startswith(text)]
        if len(matches) > 1:
            names = ", ".join(f"{e.task.id} ({e.uuid})" for e in matches)
            raise AmbiguousId(f"'{ref}' matches more than one archived task: {names}. Use the full uuid.") from None
        if matches:
            return matches[0].uuid
        raise


def _entry(state: StoreState, commit: CommitInfo, paths: list[str]) -> dict[str, Any]:
    before = after = None
    for _path, old, new in state.git.path_changes(commit.sha, paths):
        before = before or old
        after = after or new
    return {
        "commit": commit.sha,
        "time": commit.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "writer": commit.trailer(messages.AGENT) or "(git)",
        "op": commit.trailer(messages.OP) or "edit",
        "subject": commit.subject,
        "changes": field_changes(before, after),
    }
