"""Claims: one agent at a time works on a task, for a lease it renews by working on it.

A claim makes the task active (``start``), names the holder (``agent``) and sets ``lease`` (when the
claim expires); it is an ordinary commit, visible in the task file, ``git log`` and a PR diff.
Claims are linearised by the write transaction: every writer of the repository on this machine —
agents on their own branches included — takes the same ``flock``, refreshes the merged view (which
holds every branch's commits) and only then decides, so of any number of racing claimers exactly
one sees the task free (and the winner's commit then moves its ref by compare-and-swap).

Across machines, with a claim remote (``BACKLOG_REMOTE``, else the checked-out branch's upstream
remote), the winner on this machine then publishes its claim to the remote (``gitstore.ClaimBoard``:
a ref moved by ``push --force-with-lease``) before writing anything; a claim that stands there for
someone else refuses ours. Offline, the claim is this machine's only, says so, and
``sync --remote`` later publishes it or reports that it lost (and hands the task to the winner).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..errors import InvalidInput, NotFound, WrongState
from ..gitstore import ClaimBoard, RemoteClaim, Unreachable
from ..model import Task
from .state import StoreState
from .transaction import Build, Change, Transaction, write_task

DEFAULT_LEASE = "30m"
MAX_LEASE = timedelta(days=7)
_LEASE_RE = re.compile(r"^\s*(\d+)\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days)?\s*$", re.IGNORECASE)
_UNIT = {"s": 1, "sec": 1, "secs": 1, "m": 60, "min": 60, "mins": 60, "h": 3600, "hr": 3600, "hrs": 3600,
         "d": 86400, "day": 86400, "days": 86400}
CLAIM_TRAILER = "Backlog-Claim"
LOCAL_ONLY = ("none", "off", "local")


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
        where = _publish_claim(state, task, me, expires, now)
        claimed = task.model_copy(update={"agent": me, "lease": expires, "start": task.start or now, "modified": now})
        entry = state.view.by_uuid[task.uuid]
        assert entry.file is not None
        write_task(state, change, claimed, entry.file.body)
        change.trailers.append((CLAIM_TRAILER, f"{me} until {expires:%Y-%m-%dT%H:%M:%SZ}{where.trailer}"))
        verb = "renewed" if held == me else "claimed"
        return f"Task {task.id} {verb} by {me} until {expires:%Y-%m-%d %H:%M:%S} UTC{note}.{where.note}"

    return build


@dataclass(frozen=True)
class _Where:
    """Where a claim stands: on the remote, or on this machine only (and why); empty without a remote."""

    trailer: str = ""
    note: str = ""


def claim_remote(state: StoreState) -> str | None:
    """The remote claims are published to: ``BACKLOG_REMOTE`` (``none`` keeps them local), else the
    checked-out branch's upstream remote, else none."""
    named = state.config.claim_remote
    if named is not None:
        return None if named.lower() in LOCAL_ONLY else state.git.configured_remote(named)
    return state.git.upstream_remote()


def _publish_claim(state: StoreState, task: Task, me: str, expires: datetime, now: datetime) -> _Where:
    remote = claim_remote(state)
    if remote is None:
        return _Where()
    published = ClaimBoard(state.git, remote).publish(task.uuid, me, expires, _free_for(me, now))
    if published.outcome == "lost":
        raise WrongState(_held_remotely(task, remote, published.standing))
    if published.outcome == "offline":
        return _Where(
            f" (on this machine only: {remote} unreachable)",
            f" The claim is on this machine only: {remote} could not be reached ({published.detail}). "
            f"`backlog-git sync --remote {remote}` publishes it, or reports that another machine's claim won.",
        )
    return _Where(f" (published to {remote})", f" Published to {remote}, so no other clone can take it.")


def _free_for(who: str, now: datetime) -> Callable[[RemoteClaim], bool]:
    """Whether a claim standing on the remote may be replaced by ``who``'s: nobody (or ``who``) holds it."""
    return lambda standing: standing.held_at(now) in (None, who)


def _held_remotely(task: Task, remote: str, standing: RemoteClaim | None) -> str:
    if standing is None or standing.holder is None or standing.until is None:
        return f"Task {task.id} could not be claimed: its claim on {remote} kept changing. Try again."
    return (
        f"Task {task.id} is held by {standing.holder} until {standing.until:%Y-%m-%d %H:%M:%S} UTC "
        f"(a claim published to {remote} from another clone). Pick another task (task_claim without an id "
        "picks a free one), leave a note with task_annotate, or wait for the lease to expire."
    )


def publish_release(state: StoreState, task: Task, holder_id: str, now: datetime) -> str:
    """Tell the claim remote that ``holder_id`` no longer holds the task (a done, stop, delete or release);
    best effort: an unreachable remote only means the old claim stands there until its lease ends."""
    remote = claim_remote(state)
    if remote is None:
        return ""
    published = ClaimBoard(state.git, remote).publish(task.uuid, None, None, _free_for(holder_id, now))
    if published.outcome == "offline":
        return (
            f" {remote} could not be reached to release the claim there ({published.detail}); "
            "other clones see it held until its lease ends."
        )
    return ""


def _next_free(state: StoreState, filter: str, now: datetime) -> Task:
    """The most urgent free match, in list order (urgency descending, then id): one pass, no sort."""
    ctx = state.context(now)
    free = [t for t in state.select(filter or "+READY", ctx) if t.status == "pending" and holder(t, now) is None]
    if not free:
        raise NotFound(f"No free task matches '{filter or '+READY'}': every match is held, blocked or not pending.")
    score = ctx.urgency
    return min(free, key=lambda t: (-score(t), t.id, t.uuid))


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
        unpublished = publish_release(state, task, held, now)
        return f"Task {task.id} {how}" + (" (forced)." if held != me else ".") + unpublished

    return build


def reconcile_remote(state: StoreState, remote: str) -> str:
    """Square this clone's claims with ``remote``'s (``sync --remote``): publish the ones made offline
    (and leases renewed here), and hand a task whose claim lost to another clone to that clone's holder,
    in one commit, so after both sides sync the task has one holder."""

    def build(change: Change, now: datetime) -> str:
        board = ClaimBoard(state.git, remote)
        try:
            standing = board.fetch_all()
        except Unreachable as gone:
            return f"Claims not checked: {remote} could not be reached ({gone})."
        lines = []
        for task in state.live_tasks():
            mine = holder(task, now)
            if mine is None:
                continue
            theirs = standing.get(task.uuid)
            lease = task.lease
            assert lease is not None  # held
            if theirs is not None and theirs.held_at(now) == mine and theirs.until and lease <= theirs.until:
                continue  # the remote already records this claim (and this lease)
            published = board.publish(task.uuid, mine, lease, _free_for(mine, now))
            if published.outcome == "lost" and published.standing is not None:
                lines.append(_hand_over(state, change, task, published.standing, now))
            elif published.outcome == "won" and (theirs is None or theirs.held_at(now) is None):
                lines.append(f"claim of task {task.id} by {mine} published")
        if not lines:
            return ""
        change.subject = f"sync: claims checked with {remote}"
        return f"Claims: {'; '.join(lines)}."

    return Transaction(state).run("claims", build).message


def _hand_over(state: StoreState, change: Change, task: Task, winner: RemoteClaim, now: datetime) -> str:
    """A claim made here that lost to another clone's: the task goes to the remote's holder."""
    entry = state.view.by_uuid[task.uuid]
    assert entry.file is not None
    if winner.holder is None or winner.until is None:
        return f"claim of task {task.id} by {task.agent} could not be published"
    handed = task.model_copy(update={"agent": winner.holder, "lease": winner.until, "modified": now})
    write_task(state, change, handed, entry.file.body)
    until = f"{winner.until:%Y-%m-%d %H:%M:%S} UTC"
    line = f"claim of task {task.id} by {task.agent} lost to {winner.holder} (held until {until})"
    change.trailers.append((CLAIM_TRAILER, line))
    return line
