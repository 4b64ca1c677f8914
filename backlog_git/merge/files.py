"""Merging file contents: a task file's bytes, the id counter, and any store path.

``merge_task_bytes`` is what the git driver, merged reads and sync run: it reads back git conflict markers
(rule 8), sends unreadable sides to rule 7 and readable ones to ``merge_tasks``. ``merge_file`` picks the
merge for a path (a deletion against an edit keeps the edit); the counter merges by maximum.
"""

from __future__ import annotations

from .. import layout, taskfile
from ..taskfile import TaskFileError
from .gitmarkers import text_merge_versions
from .readable import _checked, _merge_unreadable, _try_parse, _unchanged, _usable_base
from .result import CONFLICT_TAG, MergeResult
from .task import _check_same_task, merge_tasks
from .values import _rebuilt


def merge_task_bytes(
    base: bytes | None,
    ours: bytes,
    theirs: bytes,
    *,
    path: str = "",
    ours_label: str | None = None,
    theirs_label: str | None = None,
) -> MergeResult:
    """Merge three versions of one task file; see the module docstring for the rules.

    Raises ``ValueError`` only when both sides parse and have different uuids (not the same task).
    """
    where = path or "<task>"
    if ours == theirs:
        return _unchanged(ours, _try_parse(ours, where))
    ours, theirs = _read_back(ours, where), _read_back(theirs, where)
    base = _read_back(base, where) if base else base
    parsed_ours = _try_parse(ours, where)
    if ours == theirs:
        return _unchanged(ours, parsed_ours)
    parsed_theirs = _try_parse(theirs, where)
    if isinstance(parsed_ours, TaskFileError) or isinstance(parsed_theirs, TaskFileError):
        return _merge_unreadable(
            base, (ours, parsed_ours, ours_label), (theirs, parsed_theirs, theirs_label), where
        )
    _check_same_task(parsed_ours, parsed_theirs)
    if base == ours:
        return MergeResult(theirs)
    if base == theirs:
        return MergeResult(ours)
    merged, conflicts = merge_tasks(
        _usable_base(base, where, parsed_ours),
        parsed_ours,
        parsed_theirs,
        ours_label=ours_label,
        theirs_label=theirs_label,
    )
    return _checked(taskfile.dump(merged.task, merged.body), conflicts, ours, where)


def _read_back(data: bytes, path: str) -> bytes:
    """Rule 8: a side holding git conflict markers is replaced by the merge of the two versions they
    mark (against the marked base when every hunk has one), tagged ``merge-conflict``; unchanged when
    it holds none, when the versions are the same (hunks git never writes), or when neither version
    parses (rule 7 then applies to it as to any other unreadable file)."""
    found = text_merge_versions(data)
    if found is None or found.ours == found.theirs:  # empty hunks: not something git writes
        return data
    try:
        result = merge_task_bytes(
            found.base,
            found.ours,
            found.theirs,
            path=path,
            ours_label=found.ours_label,
            theirs_label=found.theirs_label,
        )
    except ValueError:  # two different tasks: nothing to read back
        return data
    if result.failed:
        return data
    merged = taskfile.parse(result.data, path)
    if CONFLICT_TAG in merged.task.tags:
        return result.data
    return taskfile.dump(_rebuilt(merged.task, tags=[*merged.task.tags, CONFLICT_TAG]), merged.body)


def merge_counter(*values: bytes | None) -> bytes:
    """The id counter merges by maximum: ids handed out anywhere are never handed out again."""
    numbers = []
    for value in values:
        try:
            numbers.append(int((value or b"0").decode().strip() or "0"))
        except ValueError:
            continue
    return f"{max(numbers, default=1)}\n".encode()


def merge_file(
    path: str, base: bytes | None, ours: bytes | None, theirs: bytes | None, ours_label: str, theirs_label: str
) -> bytes | None:
    """Three-way merge of one store path; None means the file is absent.

    A deletion against an edit keeps the edit (purge or move never wins over somebody's change).
    """
    if ours == theirs:
        return ours
    if ours == base:
        return theirs
    if theirs == base:
        return ours
    if ours is None or theirs is None:
        return ours if ours is not None else theirs
    if layout.is_counter(path):
        return merge_counter(ours, theirs)
    if not layout.is_task_file(path):
        return ours
    return merge_task_bytes(base, ours, theirs, path=path, ours_label=ours_label, theirs_label=theirs_label).data
