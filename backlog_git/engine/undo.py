"""Undo: append a commit that reverts the writer's latest operation not yet undone.

It goes through the same write transaction as every other mutation; only the target and the files
differ. Undo never rewrites history and never reverts what another writer changed later.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ..errors import BrokenTaskFile, NothingToUndo, UndoConflict
from ..gitstore import CommitInfo
from ..layout import file_name
from ..model import Task, utc_now
from ..taskfile import dump
from . import messages
from .fields import fields_of, parse_or_none
from .state import StoreState
from .transaction import Build, Change


def undo(state: StoreState) -> Build:
    def build(change: Change, now: datetime) -> str:
        target = undo_target(state, change.branch)
        change.files.update(revert_files(state, target))
        op = target.trailer(messages.OP) or "?"
        change.subject = f"undo {op}: {target.subject.partition(': ')[2] or target.subject}"
        change.trailers.append((messages.UNDOES, target.sha))
        change.task_uuids = list(target.trailers.get(messages.TASK, []))
        change.always_commit = True
        return f"Undo completed: reverted '{target.subject}' ({target.sha[:8]})."

    return build


def undo_target(state: StoreState, branch: str) -> CommitInfo:
    """The writer's newest operation on ``branch`` of this namespace that no undo has reverted yet."""
    undone: set[str] = set()
    candidates: list[CommitInfo] = []  # mine, not undone, all of the newest second seen so far
    same_second: dict[str, tuple[str, ...]] = {}  # parents of every commit of that second
    for commit in state.git.log(branch):
        if candidates and commit.time < candidates[0].time:
            # An undo is never older than what it undoes: this second's candidates are settled. If
            # every one of them was undone (undos can share the second of what they undid), go on.
            candidates = [c for c in candidates if c.sha not in undone]
            if candidates:
                break
            same_second = {}
        if candidates:
            same_second[commit.sha] = commit.parents
        if commit.trailer(messages.AGENT) != state.writer:
            continue
        if commit.trailer(messages.NAMESPACE) not in (None, state.namespace):
            continue
        op = commit.trailer(messages.OP)
        if op == "undo":
            undone.update(commit.trailers.get(messages.UNDOES, []))
        elif op not in messages.NOT_UNDOABLE and commit.sha not in undone:
            candidates.append(commit)
            same_second[commit.sha] = commit.parents
    candidates = [c for c in candidates if c.sha not in undone]
    if candidates:
        return newest(candidates, same_second)
    raise NothingToUndo(f"Nothing to undo: {state.writer} has no operation left that is not undone.")


def revert_files(state: StoreState, target: CommitInfo) -> dict[str, bytes | None]:
    files: dict[str, bytes | None] = {}
    own = {u + ".md" for u in target.trailers.get(messages.TASK, [])}
    # The counter never goes back; paths merged in from other writers are theirs.
    for path, before, after in state.git.changed_paths(target.sha, state.layout.ns_dir, lambda p: file_name(p) in own):
        current = state.current_bytes(path)
        if current == after:
            files[path] = before
        elif before is None or after is None or current is None:
            raise UndoConflict(
                f"Cannot undo '{target.subject}': {path} was changed again after it "
                "(created, moved or deleted). Undo the later change first, or edit the task directly."
            )
        else:
            files[path] = revert_fields(path, before, after, current, target.subject)
    return files


def newest(candidates: list[CommitInfo], parents: Mapping[str, tuple[str, ...]]) -> CommitInfo:
    """Among commits of one second (time order cannot tell them apart), the one that no other
    candidate descends from, found by walking parent links inside that second."""
    reached: set[str] = set()
    for candidate in candidates:
        stack = list(parents.get(candidate.sha, ()))
        while stack:
            sha = stack.pop()
            if sha in reached or sha not in parents:
                continue
            reached.add(sha)
            stack.extend(parents[sha])
    for candidate in candidates:
        if candidate.sha not in reached:
            return candidate
    return candidates[0]


def revert_fields(path: str, before: bytes, after: bytes, current: bytes, subject: str) -> bytes:
    """Put back the fields the undone operation changed, keeping later changes to other fields."""
    old, new, now = (parse_or_none(d, path) for d in (before, after, current))
    if old is None or new is None or now is None:
        raise BrokenTaskFile(f"Cannot undo '{subject}': {path} does not parse; fix it by hand first.")
    old_fields, new_fields, now_fields = fields_of(old), fields_of(new), fields_of(now)
    result = dict(now_fields)
    for key in set(old_fields) | set(new_fields):
        if key == "modified" or old_fields.get(key) == new_fields.get(key):
            continue
        if now_fields.get(key) == new_fields.get(key):
            result[key] = old_fields.get(key)
        elif now_fields.get(key) != old_fields.get(key):
            raise UndoConflict(
                f"Cannot undo '{subject}': the field '{key}' was changed again after it "
                f"(now {now_fields.get(key)!r}). Undo the later change first, or set the field directly."
            )
    body = result.pop("doc") or ""
    result = {k: v for k, v in result.items() if v is not None}
    result["modified"] = utc_now()
    return dump(Task.model_validate(result), body)
