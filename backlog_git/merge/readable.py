"""Which versions parse, and rule 7: what a merge does when a side does not.

One readable side is kept with the other's raw text appended to its body; two unreadable sides fail the
merge. ``_checked`` is the last guard of "always valid": output that does not parse back is a failed merge.
"""

from __future__ import annotations

import hashlib

from .. import taskfile
from ..model import Task
from ..taskfile import TaskFile, TaskFileError
from .markers import _append_block, _raw_block
from .result import CONFLICT_TAG, FILE, Conflict, MergeResult
from .sets import _merge_set
from .sides import _get
from .values import _rebuilt


def _try_parse(data: bytes, path: str) -> TaskFile | TaskFileError:
    try:
        return taskfile.parse(data, path)
    except TaskFileError as exc:
        return exc


def _checked(data: bytes, conflicts: list[Conflict], ours: bytes, path: str) -> MergeResult:
    """The last guard of "never emit a broken file": output that does not read back is a failed merge."""
    try:
        taskfile.parse(data, path)
    except TaskFileError as exc:
        return MergeResult(ours, conflicts, failed=True, errors=[f"merged output does not parse: {exc}"])
    return MergeResult(data, conflicts)


def _unchanged(data: bytes, parsed: TaskFile | TaskFileError) -> MergeResult:
    if isinstance(parsed, TaskFileError):
        return MergeResult(data, [], failed=True, errors=[str(parsed)])
    return MergeResult(data)


def _usable_base(base: bytes | None, path: str, ours: TaskFile) -> TaskFile | None:
    if not base:
        return None
    parsed = _try_parse(base, path)
    if isinstance(parsed, TaskFileError) or parsed.task.uuid != ours.task.uuid:
        return None
    return parsed


def _usable_task(base: bytes | None, path: str, side: TaskFile) -> Task | None:
    parsed = _usable_base(base, path, side)
    return parsed.task if parsed is not None else None


_Version = tuple[bytes, "TaskFile | TaskFileError", "str | None"]


def _merge_unreadable(base: bytes | None, ours: _Version, theirs: _Version, path: str) -> MergeResult:
    """Rule 7: at least one side does not parse."""
    ours_parsed, theirs_parsed = ours[1], theirs[1]
    if isinstance(ours_parsed, TaskFileError) and isinstance(theirs_parsed, TaskFileError):
        return MergeResult(ours[0], [], failed=True, errors=[str(ours_parsed), str(theirs_parsed)])
    good, bad = (theirs, ours) if isinstance(ours_parsed, TaskFileError) else (ours, theirs)
    good_raw, good_parsed, _ = good
    bad_raw, error, bad_label = bad
    assert isinstance(good_parsed, TaskFile) and isinstance(error, TaskFileError)
    base_tags = _get(_usable_task(base, path, good_parsed), "tags", [])
    return _keep_readable(path, good_raw, good_parsed, base_tags, bad_raw, error, bad_label)


def _keep_readable(
    path: str,
    good_raw: bytes,
    good: TaskFile,
    base_tags: list[str],
    bad_raw: bytes,
    error: TaskFileError,
    bad_label: str | None,
) -> MergeResult:
    """One side parses, the other does not: keep the readable one and put the other's raw text in the body.

    The tag is added the way a set merge adds it (against the base's tags), so re-merging changes nothing.
    """
    label = bad_label if bad_label is not None else _unreadable_label(bad_raw)
    raw = bad_raw.decode("utf-8", errors="replace")
    reason = f"line {error.line}: {error.reason}" if error.line else error.reason
    block = _raw_block(raw, label, reason)
    conflict = Conflict(FILE, None, raw, "", label, note=reason)
    has_block = block in good.body
    has_tag = CONFLICT_TAG in good.task.tags
    if has_block and has_tag:
        return MergeResult(good_raw, [conflict])
    body = good.body if has_block else _append_block(good.body, block)
    tags = _merge_set(base_tags, good.task.tags, good.task.tags, (CONFLICT_TAG,))
    task = _rebuilt(good.task, tags=tags)
    return _checked(taskfile.dump(task, body), [conflict], good_raw, path)


def _unreadable_label(raw: bytes) -> str:
    return "unreadable " + hashlib.sha256(raw).hexdigest()[:12]
