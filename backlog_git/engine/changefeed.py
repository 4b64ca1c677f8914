"""The change feed: what happened to tasks after a cursor, so an agent polls this instead of
re-listing everything. A cursor names every tip a read saw (the checked-out branch and each agent
branch); any commit works as a cursor too. Changes come from the commits themselves (trailers and
the field changes of each task file), so they are exactly what ``git log`` says happened."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInput
from ..layout import AGENT_PREFIX, is_task_file, uuid_of
from . import messages
from .fields import field_changes
from .state import StoreState

MAX_PAGE = 500
SEPARATOR = ","


def cursor(state: StoreState) -> str:
    git = state.git
    tips = [str(git.head_oid())] if git.head_oid() is not None else []
    tips += [str(tip) for _, tip in sorted(git.branch_tips(AGENT_PREFIX).items())]
    return SEPARATOR.join(tips)


def changes(state: StoreState, since: str | None, limit: int, offset: int) -> dict[str, Any]:
    """Task-level changes after ``since``, newest first, paged; and the cursor to continue from."""
    if limit < 1 or limit > MAX_PAGE or offset < 0:
        raise InvalidInput(f"limit must be 1 to {MAX_PAGE} and offset at least 0.")
    git = state.git
    refs = state.task_refs()
    exclude = _cursor_revs(state, since)
    items: list[dict[str, Any]] = []
    skipped = 0
    more = False
    for commit in git.log_between(refs, exclude):
        op = commit.trailer(messages.OP)
        if op in (None, "merge", "init") or len(commit.parents) > 1:
            continue  # merge commits (sync included) only bring changes the walk meets on their own
        for change in _task_changes(state, commit.sha, op):
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
    return {"cursor": cursor(state), "changes": items, "more": more}


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


def _task_changes(state: StoreState, sha: str, op: str) -> list[dict[str, Any]]:
    result = []
    for path, old, new in state.git.changed_paths(sha, state.layout.ns_dir):
        if not is_task_file(path):
            continue
        fields = {k: v for k, v in field_changes(old, new).items() if k != "modified"}
        task_id = (fields.get("id") or [None, None])[1] or _id_of(new) or _id_of(old)
        result.append({"task": uuid_of(path), "id": task_id, "fields": fields})
    return result


def _id_of(data: bytes | None) -> int | None:
    from .fields import parse_or_none

    parsed = parse_or_none(data, "task")
    return None if parsed is None else parsed.task.id
