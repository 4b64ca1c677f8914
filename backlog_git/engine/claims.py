"""Claims: one agent at a time works on a task, for a lease it renews by working on it.

A claim makes the task active (``start``), names the holder (``agent``) and sets ``lease`` (when the
claim expires); it is an ordinary commit, visible in the task file, ``git log`` and a PR diff.
Claims are linearised by the write transaction: every writer of the repository on this machine —
agents on their own branches included — takes the same ``flock``, refreshes the merged view (which
holds every branch's commits) and only then decides, so of any number of racing claimers exactly
one sees the task free (and the winner's commit then moves its ref by compare-and-swap).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from ..errors import InvalidInput, NotFound, WrongState
from ..model import Task
from ..query import sort_tasks
from .state import StoreState
from .transaction import Build, Change, write_task

DEFAULT_LEASE = "30m"
MAX_LEASE = timedelta(days=7)
_LEASE_RE = re.compile(r"^\s*(\d+)\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days)?\s*$", re.IGNORECASE)
_UNIT = {"s": 1, "sec": 1, "secs": 1, "m": 60, "min": 60, "mins": 60, "h": 3600, "hr": 3600, "hrs": 3600,
         "d": 86400, "day": 86400, "days": 86400}
CLAIM_TRAILER = "Backlog-Claim"


def parse_lease(text: str | None) -> timedelta:
    """``30m``, ``2h``, ``1d``, ``90s`` (a bare number is minutes)."""
    match = _LEASE_RE.match(str(text if text not in (None, "") else DEFAULT_LEASE))
    if match is None:
        raise InvalidInput(f"Invalid lease {text!r}: give a duration such as 30m, 2h or 1d.")
    seconds = int(match.group(1)) * _UNIT[(match.group(2) or "m").lower()]
    lease = timedelta(seconds=seconds)
    if lease <= timedelta(0) or lease > MAX_LEASE:
        raise InvalidInput(f"Invalid lease {text!r}: it must be more than 0 and at most 7 days.")
    return lease


def claimant(state: StoreState) -> str:
    """Who holds what this writer claims: its agent id, else its writer identity."""
    return state.config.agent_id or state.writer


def holder(task: Task, now: datetime) -> str | None:
    """The agent holding ``task`` at ``now`` (None when free or the lease expired)."""
    if task.agent is not None and task.lease is not None and task.lease > now:
        return task.agent
    return None


def _held_message(task: Task) -> str:
    return (
        f"Task {task.id} is held by {task.agent} until {task.lease:%Y-%m-%d %H:%M:%S} UTC. "
        "Pick another task (task_claim without an id picks a free one), leave a note with task_annotate, "
        "or wait for the lease to expire."
    )


def refuse_if_held_by_other(state: StoreState, task: Task, now: datetime) -> None:
    """Mutations of a task someone else holds are refused (annotations are not mutations of the claim)."""
    held = holder(task, now)
    if held is not None and held != claimant(state):
        raise WrongState(_held_message(task))


def renewed(state: StoreState, task: Task, now: datetime) -> Task:
    """The holder working on its task renews the lease."""
    if holder(task, now) == claimant(state) and task.lease is not None:
        return task.model_copy(update={"lease": max(task.lease, now + parse_lease(DEFAULT_LEASE))})
    return task


def claim(state: StoreState, ref: str | None, filter: str, lease: timedelta) -> Build:
    def build(change: Change, now: datetime) -> str:
        me = claimant(state)
        task = state.editable(ref).task if ref else _next_free(state, filter, now)
        if task.status != "pending":
            raise WrongState(f"Task {task.id} is {task.status}; only pending tasks can be claimed.")
        held = holder(task, now)
        if held is not None and held != me:
            raise WrongState(_held_message(task))
        note = ""
        if task.agent and task.agent != me and task.lease is not None:
            note = f" (reclaimed from {task.agent}: lease expired at {task.lease:%Y-%m-%d %H:%M:%S} UTC)"
            change.trailers.append((CLAIM_TRAILER, f"reclaimed from {task.agent}, lease expired {task.lease}"))
        expires = now + lease
        claimed = task.model_copy(update={"agent": me, "lease": expires, "start": task.start or now, "modified": now})
        entry = state.view.by_uuid[task.uuid]
        assert entry.file is not None
        write_task(state, change, claimed, entry.file.body)
        change.trailers.append((CLAIM_TRAILER, f"{me} until {expires:%Y-%m-%dT%H:%M:%SZ}"))
        verb = "renewed" if held == me else "claimed"
        return f"Task {task.id} {verb} by {me} until {expires:%Y-%m-%d %H:%M:%S} UTC{note}."

    return build


def _next_free(state: StoreState, filter: str, now: datetime) -> Task:
    ctx = state.context(now)
    for task in sort_tasks(state.select(filter or "+READY", ctx), ctx, None):
        if task.status == "pending" and holder(task, now) is None:  # nobody holds it, the caller neither
            return task
    raise NotFound(f"No free task matches '{filter or '+READY'}': every match is held, blocked or not pending.")


def release(state: StoreState, ref: str, force: bool) -> Build:
    def build(change: Change, now: datetime) -> str:
        task = state.editable(ref).task
        held = holder(task, now)
        me = claimant(state)
        if held is None:
            raise WrongState(f"Task {task.id} is not claimed (no unexpired lease), so there is nothing to release.")
        if held != me and not force:
            raise WrongState(_held_message(task) + " Release it anyway with force.")
        released = task.model_copy(update={"lease": None, "start": None, "agent": None, "modified": now})
        entry = state.view.by_uuid[task.uuid]
        assert entry.file is not None
        write_task(state, change, released, entry.file.body)
        how = f"released by {me} for {held}" if held != me else f"released by {me}"
        change.trailers.append((CLAIM_TRAILER, how + (" (forced)" if held != me else "")))
        return f"Task {task.id} {how}" + (" (forced)." if held != me else ".")

    return build
