"""The change feed: what happened to tasks after a cursor, so an agent polls this instead of
re-listing everything. A cursor names every tip a read saw (the checked-out branch and each agent
branch); any commit works as a cursor too. Changes come from the commits themselves (trailers and
the field changes of each task file), so they are exactly what ``git log`` says happened."""

from __future__ import annotations

import threading
from typing import Any

from ..errors import InvalidInput
from ..gitstore import CommitInfo
from ..layout import AGENT_PREFIX, is_task_file, uuid_of
from ..model import UUID_RE
from ..taskfile import TaskFile
from . import messages
from .fields import changes_between, parse_or_none
from .state import StoreState

MAX_PAGE = 500
SEPARATOR = ","
TRAILER_EXACT = frozenset({
    "add", "log", "import", "duplicate", "modify", "done", "delete", "start", "stop", "annotate", "denotate",
    "purge", "doc-write", "doc-delete", "recur", "claim", "release", "hand-edit",
})
"""Operations whose commit changes exactly the active task files its ``Backlog-Task`` trailers name
(archive, undo, renumber, migrate and sync may move files or touch others: they are diffed)."""
MAX_SEEN = 4096
"""Commits whose task changes a process keeps (a poller's pages and repeated cursors cost nothing)."""
_SEEN: dict[tuple[str, str], list[dict[str, Any]]] = {}
_SEEN_LOCK = threading.Lock()


def cursor(state: StoreState) -> str:
    git = state.git
    head = git.head_oid()
    tips = [str(head)] if head is not None else []
    tips += [str(tip) for _, tip in sorted(git.branch_tips(AGENT_PREFIX).items())]
    return SEPARATOR.join(tips)


def changes(state: StoreState, since: str | None, limit: int, offset: int) -> dict[str, Any]:
    """Task-level changes after ``since``, newest first, paged; and the cursor to continue from."""
    if limit < 1 or limit > MAX_PAGE or offset < 0:
        raise InvalidInput(f"limit must be 1 to {MAX_PAGE} and offset at least 0.")
    git = state.git
    # Walk from the tips the returned cursor names, not from the refs: a commit landing during the walk
    # is then left for the next call instead of being skipped by a cursor read after it.
    now = cursor(state)
    refs = [tip for tip in now.split(SEPARATOR) if tip]
    exclude = _cursor_revs(state, since)
    items: list[dict[str, Any]] = []
    skipped = 0
    more = False
    for commit in git.log_between(refs, exclude):
        op = commit.trailer(messages.OP)
        if op in (None, "merge", "init") or len(commit.parents) > 1:
            continue  # merge commits (sync included) only bring changes the walk meets on their own
        for change in _task_changes(state, commit, op):
            if skipped < offset:
                skipped += 1
                continue
            if len(items) == limit:
                more = True
                break
            items.append({**change, "op": op, "writer": commit.trailer(messages.AGENT) or "(git)",
                          "time": commit.time.strftime("%Y-%m-%dT%H:%M:%SZ"), "commit": commit.sha[:12]})
        if more:
            break
    return {"cursor": now, "changes": items, "more": more}


def _cursor_revs(state: StoreState, since: str | None) -> list[str]:
    if since is None or not str(since).strip():
        return []
    revs = [part.strip() for part in str(since).split(SEPARATOR) if part.strip()]
    if any(state.git.resolve_rev(rev) is None for rev in revs):
        raise InvalidInput(
            f"since {since!r} is not a cursor or a commit of this repository: pass the cursor an earlier "
            "result returned, or a commit (e.g. HEAD~5)."
        )
    return revs


def _task_changes(state: StoreState, commit: CommitInfo, op: str) -> list[dict[str, Any]]:
    """The task changes of one commit (commits never change, so a process works each out once)."""
    key = (state.namespace, commit.sha)
    found = _SEEN.get(key)
    if found is None:
        found = []
        for path, old, new in _changed_files(state, commit, op):
            before, after = _parsed(state, path, old), _parsed(state, path, new)
            fields = {k: v for k, v in changes_between(before, after).items() if k != "modified"}
            task_id = after.task.id if after else before.task.id if before else None
            found.append({"task": uuid_of(path), "id": task_id, "fields": fields})
        with _SEEN_LOCK:  # several stores (threads) of one process share it
            _SEEN[key] = found
            while len(_SEEN) > MAX_SEEN:
                del _SEEN[next(iter(_SEEN))]
    return found


def _changed_files(state: StoreState, commit: CommitInfo, op: str) -> list[tuple[str, bytes | None, bytes | None]]:
    """(path, old, new) of the task files a commit changed. An operation that writes exactly the active
    files of the tasks its trailers name is read by looking those paths up (a few tree entries); any other
    commit by diffing its tree, which costs far more at 10,000 tasks."""
    git = state.git
    tasks = list(dict.fromkeys(commit.trailers.get(messages.TASK, [])))
    exact = op in TRAILER_EXACT and commit.trailer(messages.NAMESPACE) == state.namespace
    if not exact or not all(UUID_RE.match(task) for task in tasks):
        return [c for c in git.changed_paths(commit.sha, state.layout.ns_dir) if is_task_file(c[0])]
    this, parent = git.resolve_rev(commit.sha), git.resolve_rev(commit.parents[0]) if commit.parents else None
    assert this is not None
    result = []
    for task in tasks:
        path = state.layout.task(task)
        old = git.blob_id_at(parent, path) if parent is not None else None
        new = git.blob_id_at(this, path)
        if old != new:  # a task the operation rewrote with the same bytes did not change
            result.append((path, git.blob(old), git.blob(new)))
    return sorted(result)


def _parsed(state: StoreState, path: str, data: bytes | None) -> TaskFile | None:
    """A version of a task file, parsed; the view's parse when it is the version the view holds (the
    latest change of a task usually is)."""
    if data is None:
        return None
    entry = state.view.entries.get(path)
    if entry is not None and entry.file is not None and entry.raw == data:
        return entry.file
    return parse_or_none(data, path)
