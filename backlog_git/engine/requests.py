"""Idempotent writes: an operation given a ``request_id`` is done once. A repeat (after a lost
response, a restart, from another process of the same repository) returns the first call's result
and commits nothing. The id maps to the first call's commit through ``refs/backlog/requests/…``,
created by compare-and-swap from absent under the writer lock, so a lookup costs one ref read."""

from __future__ import annotations

import hashlib

from ..errors import InvalidInput
from . import messages
from .state import StoreState
from .transaction import Outcome

REQUEST_TRAILER = "Backlog-Request"
RESULT_TRAILER = "Backlog-Result"
MAX_REQUEST_ID = 200


def request_ref(state: StoreState, request_id: str) -> str:
    digest = hashlib.sha1(f"{state.namespace}\0{request_id}".encode()).hexdigest()
    return f"refs/backlog/requests/{digest}"


def checked_id(request_id: str | None) -> str | None:
    if request_id is None or not str(request_id).strip():
        return None
    text = str(request_id).strip()
    if len(text) > MAX_REQUEST_ID or not text.isprintable():
        raise InvalidInput(f"request_id must be printable text of at most {MAX_REQUEST_ID} characters.")
    return text


def earlier_outcome(state: StoreState, request_id: str) -> Outcome | None:
    """The first call's result, if a call with this id already committed."""
    sha = state.git.resolve_rev(request_ref(state, request_id))
    if sha is None:
        return None
    commit = state.git.commit(str(sha))
    ctx = state.context()
    by_uuid = state.view.by_uuid
    tasks = [state.record(by_uuid[u], ctx) for u in commit.trailers.get(messages.TASK, []) if u in by_uuid]
    message = commit.trailer(RESULT_TRAILER) or commit.subject
    return Outcome(message, tasks, str(sha))


def remember(state: StoreState, request_id: str, commit: str) -> None:
    state.git.set_ref(request_ref(state, request_id), commit)
