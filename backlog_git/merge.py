"""The three-way task merge: pure functions, no git. Used by the git merge driver, merged reads and sync.

``merge_task_bytes(base, ours, theirs)`` merges three versions of one task file; ``merge_tasks`` does the same
on parsed ``TaskFile`` values; ``three_way_lines`` is the line merge used for the body. The merge always
produces a file that ``taskfile.parse`` reads; the ``conflicts`` it returns are informational.

Guarantees (property-tested in ``tests/test_merge_props.py``):

* **Symmetric.** ``merge(b, x, y)`` and ``merge(b, y, x)`` give the same bytes when the labels are swapped
  with the sides. No rule looks at which side is "ours"; ties are broken by comparing values. Without
  explicit labels each side is named by something in it (its ``modified`` time), so the result does not
  depend on the argument order either.
* **Idempotent.** ``merge(b, x, x) == x``, and merging a result ``r`` again with either input changes nothing
  (``merge(b, r, x) == r``, with the same labels), short of the ambiguous-alignment case in rule 6.
* **Nothing lost.** A value that either side set and the result does not hold is recorded in a conflict
  annotation; tag and dependency additions are kept; clashing body hunks keep both versions.
* **Always valid.** The output parses; an input that does not parse never leaks into the front-matter. As a
  last guard the output is parsed again before it is returned; should that ever fail, the merge reports
  ``failed`` and returns ``ours`` rather than a broken file.

Rules, field by field (``base`` is the common ancestor; ``None`` or an empty file is an add/add merge and
counts as a base with every field unset and an empty body; a base whose uuid differs from the sides' is
treated the same way):

1. **Identity.** The sides must have the same ``uuid``, otherwise ``ValueError`` (different tasks never share
   a path; renumbering clashing numeric ids is sync's job, not this module's).
2. **Any single value** (every scalar field, and every user-defined attribute, where "absent" is a value):
   changed on one side only, it takes that side; changed to the same value on both, it takes that value.
   Values are compared by a canonical rendering, so ``1`` and ``true`` differ.
3. **Both sides changed a value differently**: one rule per field picks the winner, and the other value is
   kept as an annotation ``merge: FIELD was LOST (LOSER-LABEL), kept KEPT (WINNER-LABEL)``, dated with the
   merged ``modified`` time (never the clock, so merging is reproducible). A loss already recorded on the
   task (same field, lost value and loser label) is not recorded twice, so re-merging adds nothing:

   * ``modified``: the later of the two, and no annotation (it is bookkeeping: every concurrent edit
     changes it).
   * ``status``: the more *active* status wins, ``pending > recurring > completed > deleted``. Open beats
     closed because a task that is wrongly kept open is seen and closed again, while a reopen that loses
     would silently hide the reason someone reopened it; completion beats deletion because it records work
     that was done.
   * ``end``: follows the status. If the sides' statuses differ, the ``end`` of the side whose status the
     result has wins (no "pending with an end time"); if they agree, the later time (a value beats unset).
   * ``start``: the later time; a value beats unset (the task stays visibly started).
   * ``entry``: the earlier time (a task is created once; the first creation is the real one).
   * ``id``: the smaller number (for one task, i.e. one uuid; a clash between two tasks is renumbering).
   * everything else (``description``, ``project``, ``priority``, ``due``, ``wait``, ``scheduled``,
     ``until``, ``recur``, ``parent``, ``agent``, user attributes): the side edited last wins, where a
     side's time is the later of its ``modified`` and the base's (so a clock that went backwards does not
     make an edit "older" than the ancestor); equal times are broken by the larger canonical value.

4. **Sets** (``tags``, ``depends``): if only one side changed the membership, that side's list as it is
   (order included; if neither did, a reordered list wins over the base's, and of two different orders the
   larger list, item by item); otherwise a three-way set merge: base items that neither side removed, in
   base order, then every item either side added, sorted. A removal on one side wins over the other side
   keeping the item (that is an edit against no edit); nothing added is lost. The ``merge-conflict`` tag,
   when rule 6 or 7 requires it, counts as an addition.
5. **Annotations**: as for sets, a list whose membership only one side changed is kept as it is; otherwise
   a three-way set merge
   keyed by ``(entry, description)``: every note either side added is kept (the union of new notes), a
   note either side removed (denotate) stays removed, and the list is sorted by entry then description.
   (A plain union would resurrect removed notes and could not be idempotent: if each side removes a
   different note the union equals the base, and re-merging it with one side would remove the note again.)
   Conflict annotations are added to this list, which is then sorted.
6. **Body** (the spec, markdown): a three-way merge by lines (diff3 over ``difflib.SequenceMatcher`` matching
   blocks): hunks changed on one side take that side, identical changes are taken once, and a hunk that
   both sides changed differently keeps both versions between HTML comment markers::

       <!-- merge conflict: both versions are kept below; keep one and delete the rest -->
       <!-- merge: version from agent-a -->
       ...
       <!-- merge: version from agent-b -->
       ...
       <!-- merge: end of conflict -->

   The versions are ordered by their text (not by side), their common leading and trailing lines are left
   outside the markers, and the task gets the tag ``merge-conflict`` so people can find it; the tag is
   (re)added whenever the merged body still holds such a block. Markdown stays valid (the markers render as
   nothing) and no git ``<<<<<<<`` marker is ever written. Further details:

   * blocks this module wrote (conflicts, kept unreadable versions) are single tokens for the diff, so an
     alignment never cuts through one;
   * a hunk where one side is the other plus blocks this module wrote (a conflict holding the other side's
     text, a kept unreadable version) resolves to the side with the blocks: merging a result again with one
     of its inputs changes nothing;
   * where there is no base text (both sides inserted at the same place) and one insertion is the other
     with lines added before or after it, the longer one is taken: it holds both, so it is not a clash;
   * with repeated lines the alignment can be ambiguous; a re-merge then may repeat an inserted line (as a
     line merge in git may), but never drops one.
7. **Unparseable input** (conflict markers, broken YAML, invalid fields): if exactly one side parses, the
   result is that side, plus the other side's raw text appended to the body in a fenced block (a backtick
   fence longer than any run in the text) after an HTML comment naming the label and the parse error, plus
   the tag ``merge-conflict``; a block already there is not added again. If neither side parses, the result
   is ``ours`` unchanged and ``MergeResult.failed`` is set, so the git driver exits non-zero and git reports
   a conflict. An unparseable base counts as no base.
8. **Git conflict markers** (a text merge committed unfinished, e.g. merged where the driver was not
   registered): before anything else, an input holding complete ``<<<<<<<``/``=======``/``>>>>>>>`` hunks
   (outside fenced code, where a doc may show them) is read back into the two versions the markers separate
   (the lines outside the hunks with each hunk's first, or second, part) and replaced by their merge under
   these rules, labelled with the markers' labels and against the marked base when every hunk has one
   (``merge.conflictStyle=diff3``), else as an add/add merge (differing values clash and the loser is kept
   in a note, tags and notes are united: without the base nobody can tell which side changed or removed
   what). The read-back carries the tag ``merge-conflict`` so a person looks at it. So no git marker is
   carried into a task, nested in a kept block or repeated, and re-merging changes nothing. Markers that do
   not form complete hunks, mark no difference, or whose versions both fail to parse leave the input as it
   is (rule 7 then applies). ``taskfile.parse`` names the first marker line of a front-matter holding
   them, which is what ``check`` reports.

Labels (``ours_label``/``theirs_label``) only appear in annotations and markers; callers pass the writers'
names (agent ids, commit ids). Left ``None``, a side is named ``modified <time>`` (or ``unreadable <hash>``
for a side that does not parse), which keeps the result independent of argument order, as a git driver
needs: during a rebase git swaps ``%A`` and ``%B``.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from difflib import SequenceMatcher
from typing import Any

from . import layout, taskfile
from .model import Annotation, Task, format_timestamp
from .taskfile import TaskFile, TaskFileError

CONFLICT_TAG = "merge-conflict"
BODY = "body"
FILE = "file"

STATUS_RANK = {"deleted": 0, "completed": 1, "recurring": 2, "pending": 3}
SINGLE_FIELDS = tuple(
    name
    for name in taskfile.FIELD_ORDER
    if name not in ("uuid", "tags", "depends", "annotations", "modified")
)

CONFLICT_BEGIN = "<!-- merge conflict: both versions are kept below; keep one and delete the rest -->\n"
CONFLICT_END = "<!-- merge: end of conflict -->\n"
_VERSION_PREFIX = "<!-- merge: version from "
_VERSION_RE = re.compile(r"^<!-- merge: version from .* -->\n?$")


class _Absent:
    """An attribute that a version does not have (distinct from an explicit ``null``)."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class Conflict:
    """A value both sides changed differently (or a body hunk, an unreadable side): what was kept, what not.

    For ``field == "body"`` both texts are kept in the body, ``kept`` being the one placed first.
    For ``field == "file"`` ``other`` is the raw text of a side that does not parse and ``note`` says why.
    """

    field: str
    kept: Any
    other: Any
    kept_label: str
    other_label: str
    note: str = ""


@dataclass(frozen=True)
class MergeResult:
    """The merged file. ``failed``: neither side parses, or (a bug) the output would not; ``data`` is then
    ``ours`` unchanged and ``errors`` says why, so a git driver exits non-zero and git reports a conflict."""

    data: bytes
    conflicts: list[Conflict] = field(default_factory=list)
    failed: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.failed and not self.conflicts


@dataclass(frozen=True)
class _Side:
    task: Task
    body: str
    label: str
    recency: datetime


# ---------------------------------------------------------------------------------------------------------
# Public entry points


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


def _checked(data: bytes, conflicts: list[Conflict], ours: bytes, path: str) -> MergeResult:
    """The last guard of "never emit a broken file": output that does not read back is a failed merge."""
    try:
        taskfile.parse(data, path)
    except TaskFileError as exc:
        return MergeResult(ours, conflicts, failed=True, errors=[f"merged output does not parse: {exc}"])
    return MergeResult(data, conflicts)


def merge_tasks(
    base: TaskFile | None,
    ours: TaskFile,
    theirs: TaskFile,
    *,
    ours_label: str | None = None,
    theirs_label: str | None = None,
) -> tuple[TaskFile, list[Conflict]]:
    """Merge three parsed versions of one task; returns the merged task file and the conflicts found."""
    _check_same_task(ours, theirs)
    if base is not None and base.task.uuid != ours.task.uuid:
        base = None
    a = _side(ours, ours_label, base)
    b = _side(theirs, theirs_label, base)
    base_task = base.task if base is not None else None
    values, conflicts = _merge_singles(base_task, a, b)
    modified = _merge_modified(base_task, a, b)
    extras, extra_conflicts = _merge_extras(base_task, a, b)
    conflicts += extra_conflicts
    body, body_conflicts = _merge_body(base.body if base is not None else "", a, b)
    extra_tags = (CONFLICT_TAG,) if body_conflicts or _has_blocks(body) else ()
    values["tags"] = _merge_set(_get(base_task, "tags", []), a.task.tags, b.task.tags, extra_tags)
    values["depends"] = _merge_set(_get(base_task, "depends", []), a.task.depends, b.task.depends)
    notes = [_conflict_note(conflict, modified) for conflict in conflicts]
    annotations = _merge_annotations(
        _get(base_task, "annotations", []), a.task.annotations, b.task.annotations
    )
    values["annotations"] = _add_annotations(annotations, notes)
    values.update(uuid=a.task.uuid, modified=modified)
    task = Task.model_validate({**values, **extras})
    return TaskFile(task, body), conflicts + body_conflicts


def three_way_lines(
    base: list[str],
    ours: list[str],
    theirs: list[str],
    *,
    ours_label: str = "ours",
    theirs_label: str = "theirs",
) -> tuple[list[str], bool]:
    """Three-way merge of line lists (lines keep their ``\\n``); returns (merged lines, clean).

    Clashing hunks keep both versions between ``<!-- merge ... -->`` marker lines (see the module docstring).
    """
    merged, clashes = _diff3(base, ours, theirs, ours_label, theirs_label)
    return merged, not clashes


def split_lines(text: str) -> list[str]:
    """Split text into lines that keep their ``\\n`` (only ``\\n`` separates lines); joins back exactly."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


# ---------------------------------------------------------------------------------------------------------
# Parsing and unreadable sides


def _try_parse(data: bytes, path: str) -> TaskFile | TaskFileError:
    try:
        return taskfile.parse(data, path)
    except TaskFileError as exc:
        return exc


# A text merge committed unfinished: git conflict markers (rule 8)

_GIT_OURS_RE = re.compile(r"^<{7}(?: (.*?))?\r?\n?$")
_GIT_BASE_RE = re.compile(r"^\|{7}(?: .*)?\r?\n?$")
_GIT_SPLIT_RE = re.compile(r"^={7}\r?\n?$")
_GIT_THEIRS_RE = re.compile(r"^>{7}(?: (.*?))?\r?\n?$")
_MD_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_GIT_OURS, _GIT_BASE, _GIT_THEIRS = 0, 1, 2


@dataclass(frozen=True)
class TextMerge:
    """The versions a file with git conflict markers stands for: the lines outside the marked hunks
    with the first, or the second, part of every hunk; the base only when every hunk carries one
    (``merge.conflictStyle=diff3``). Labels are the markers' (``HEAD``, a branch, a commit)."""

    ours: bytes
    theirs: bytes
    base: bytes | None
    ours_label: str | None
    theirs_label: str | None
    first_line: int
    """The line number of the first ``<<<<<<<`` marker."""


def text_merge_versions(data: bytes) -> TextMerge | None:
    """Read the versions back out of a file holding git conflict markers; None when it holds no
    complete marked hunk outside fenced code (a doc may show markers in a code block), or an
    unfinished one (a ``<<<<<<<`` without its ``=======`` and ``>>>>>>>``)."""
    if b"<<<<<<<" not in data:
        return None
    try:
        lines = split_lines(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    parts: tuple[list[str], list[str], list[str]] = ([], [], [])
    labels: tuple[str | None, str | None] | None = None
    first_line = 0
    every_hunk_has_base = True
    fence: str | None = None
    index = 0
    while index < len(lines):
        opening = _GIT_OURS_RE.match(lines[index]) if fence is None else None
        if opening is None:
            fence = _fence_after(fence, lines[index])
            for part in parts:
                part.append(lines[index])
            index += 1
            continue
        hunk = _marked_hunk(lines, index)
        if hunk is None:
            return None
        if labels is None:
            labels, first_line = (opening.group(1) or None, hunk[0][3] or None), index + 1
        (ours, base, theirs, _closing), index = hunk
        every_hunk_has_base = every_hunk_has_base and base is not None
        parts[_GIT_OURS].extend(ours)
        parts[_GIT_BASE].extend(base or [])
        parts[_GIT_THEIRS].extend(theirs)
    if labels is None:
        return None
    ours_text, base_text, theirs_text = ("".join(part).encode("utf-8") for part in parts)
    return TextMerge(
        ours_text, theirs_text, base_text if every_hunk_has_base else None, *labels, first_line=first_line
    )


_Hunk = tuple[list[str], "list[str] | None", list[str], "str | None"]


def _marked_hunk(lines: list[str], begin: int) -> tuple[_Hunk, int] | None:
    """The hunk opened at ``begin``: (ours, base or None, theirs, closing label), and the line after it."""
    sections: list[list[str]] = [[]]
    kinds = ["ours"]
    for index in range(begin + 1, len(lines)):
        line = lines[index]
        if _GIT_OURS_RE.match(line):
            return None  # nested or unfinished: not something git wrote
        if kinds[-1] == "ours" and _GIT_BASE_RE.match(line):
            sections.append([])
            kinds.append("base")
        elif kinds[-1] in ("ours", "base") and _GIT_SPLIT_RE.match(line):
            sections.append([])
            kinds.append("theirs")
        elif kinds[-1] == "theirs" and (closing := _GIT_THEIRS_RE.match(line)) is not None:
            base = sections[1] if kinds[1] == "base" else None
            return (_ended(sections[0]), _ended(base) if base is not None else None, _ended(sections[-1]),
                    closing.group(1)), index + 1
        else:
            sections[-1].append(line)
    return None


def _fence_after(fence: str | None, line: str) -> str | None:
    """Markdown fenced code: the open fence after ``line`` (None outside fenced code)."""
    match = _MD_FENCE_RE.match(line)
    if fence is None:
        return match.group(1) if match else None
    stripped = line.strip()
    if match and stripped == match.group(1) and stripped[0] == fence[0] and len(stripped) >= len(fence):
        return None
    return fence


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


def _check_same_task(ours: TaskFile, theirs: TaskFile) -> None:
    if ours.task.uuid != theirs.task.uuid:
        raise ValueError(
            f"cannot merge two different tasks: uuid {ours.task.uuid} and uuid {theirs.task.uuid} "
            "(one path always holds one task; this is a bug in whatever paired these files)"
        )


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


def _rebuilt(task: Task, **changes: Any) -> Task:
    """A copy of the task with changes, sharing no list or dict between attributes (see ``_private``)."""
    data = {name: getattr(task, name) for name in Task.model_fields}
    data.update({key: _private(value) for key, value in task.extras.items()})
    data.update(changes)
    return Task.model_validate(data)


def _private(value: Any) -> Any:
    """A private copy of a list or dict: values shared between keys would be dumped as YAML aliases."""
    return copy.deepcopy(value) if isinstance(value, (dict, list)) else value


def _raw_block(raw: str, label: str, reason: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", raw)), default=0)
    fence = "`" * max(3, longest + 1)
    text = raw if raw.endswith("\n") or not raw else raw + "\n"
    note = f"<!-- merge: the version from {_marker_text(label)} could not be read ({_marker_text(reason)}); "
    note += "its raw text is kept below -->\n"
    return f"{note}{fence}text\n{text}{fence}\n"


def _append_block(body: str, block: str) -> str:
    return body + block if not body or body.endswith("\n") else body + "\n" + block


def _unreadable_label(raw: bytes) -> str:
    return "unreadable " + hashlib.sha256(raw).hexdigest()[:12]


def _side(tf: TaskFile, label: str | None, base: TaskFile | None) -> _Side:
    modified = tf.task.modified
    recency = max(modified, base.task.modified) if base is not None else modified
    name = label if label is not None else f"modified {format_timestamp(modified)}"
    return _Side(tf.task, tf.body, name, recency)


# ---------------------------------------------------------------------------------------------------------
# Single values


def _get(task: Task | None, name: str, default: Any = None) -> Any:
    return default if task is None else getattr(task, name)


def _merge_singles(base: Task | None, a: _Side, b: _Side) -> tuple[dict[str, Any], list[Conflict]]:
    values: dict[str, Any] = {}
    conflicts: list[Conflict] = []
    for name in SINGLE_FIELDS:
        value, conflict = _merge_value(
            name, _get(base, name), getattr(a.task, name), getattr(b.task, name), a, b, values
        )
        values[name] = value
        if conflict is not None:
            conflicts.append(conflict)
    return values, conflicts


def _merge_extras(base: Task | None, a: _Side, b: _Side) -> tuple[dict[str, Any], list[Conflict]]:
    base_extras = base.extras if base is not None else {}
    a_extras, b_extras = a.task.extras, b.task.extras
    merged: dict[str, Any] = {}
    conflicts: list[Conflict] = []
    for key in sorted(set(base_extras) | set(a_extras) | set(b_extras)):
        value, conflict = _merge_value(
            key, base_extras.get(key, ABSENT), a_extras.get(key, ABSENT), b_extras.get(key, ABSENT), a, b, {}
        )
        if value is not ABSENT:
            merged[key] = _private(value)
        if conflict is not None:
            conflicts.append(conflict)
    return merged, conflicts


def _merge_value(
    name: str, base: Any, ours: Any, theirs: Any, a: _Side, b: _Side, merged: dict[str, Any]
) -> tuple[Any, Conflict | None]:
    """Rule 2 and 3: one-sided changes win; a real clash goes to the field's rule, the loser is recorded."""
    key_a, key_b = canonical(ours), canonical(theirs)
    if key_a == key_b:
        return ours, None
    key_base = canonical(base)
    if key_a == key_base:
        return theirs, None
    if key_b == key_base:
        return ours, None
    rank_a = (_rank(name, ours, a, merged), key_a)
    rank_b = (_rank(name, theirs, b, merged), key_b)
    if rank_a > rank_b:
        return ours, Conflict(name, ours, theirs, a.label, b.label)
    return theirs, Conflict(name, theirs, ours, b.label, a.label)


def _rank(name: str, value: Any, side: _Side, merged: dict[str, Any]) -> tuple[Any, ...]:
    """The per-field winner rule: the larger rank wins (ties fall to the canonical value)."""
    if name == "id":
        return (-value,)
    if name == "status":
        return (STATUS_RANK[value],)
    if name == "entry":
        return (-value.timestamp(),)
    if name == "start":
        return (_time(value),)
    if name == "end":
        return (side.task.status == merged.get("status"), _time(value))
    return (side.recency,)


def _time(value: datetime | None) -> float:
    return -math.inf if value is None else value.timestamp()


def _merge_modified(base: Task | None, a: _Side, b: _Side) -> datetime:
    ours, theirs = a.task.modified, b.task.modified
    if base is not None and ours == base.modified:
        return theirs
    if base is not None and theirs == base.modified:
        return ours
    return max(ours, theirs)


def canonical(value: Any) -> str:
    """A deterministic text for comparing and ordering values of any YAML type."""
    if value is ABSENT:
        return "\x00absent"
    if isinstance(value, datetime):
        return "t:" + format_timestamp(value)
    if isinstance(value, date):
        return "d:" + value.isoformat()
    if isinstance(value, dict):
        items = sorted((canonical(k), canonical(v)) for k, v in value.items())
        return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    if isinstance(value, Annotation):
        return canonical([value.entry, value.description])
    return f"{type(value).__name__}:{value!r}"


def show(value: Any) -> str:
    """A value as people read it in a conflict annotation."""
    if value is ABSENT:
        return "unset"
    if value is None:
        return "null"
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return canonical(value)


def _conflict_note(conflict: Conflict, when: datetime) -> tuple[str, Annotation]:
    """The annotation recording a lost value, and its prefix naming the loss (field, value, loser)."""
    known = conflict.field in Task.model_fields
    kept = "unset" if known and conflict.kept is None else show(conflict.kept)
    lost = "unset" if known and conflict.other is None else show(conflict.other)
    prefix = f"merge: {conflict.field} was {lost} ({_flat(conflict.other_label)}), kept "
    return prefix, Annotation(entry=when, description=f"{prefix}{kept} ({_flat(conflict.kept_label)})")


def _flat(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------------------
# Sets and annotations


def _merge_set(base: list[str], ours: list[str], theirs: list[str], extra: tuple[str, ...] = ()) -> list[str]:
    """Rule 4: one-sided change → that list; else base order minus removals, then sorted additions.

    ``extra`` items must be in the result; if they are not already, they count as additions.
    """
    result = _one_sided(base, ours, theirs)
    if result is not None and all(item in result for item in extra):
        return result
    ours_set, theirs_set, base_set = set(ours), set(theirs), set(base)
    kept = [item for item in base if item in ours_set and item in theirs_set and item not in extra]
    return kept + sorted(((ours_set | theirs_set) - base_set) | set(extra))


def _one_sided(base: list[Any], ours: list[Any], theirs: list[Any]) -> list[Any] | None:
    """The list to keep as it is, or None when both sides changed the membership (then merge the sets).

    Membership changed on one side only: that side's list. Neither changed it: a side that reordered its list
    wins; two different orders: the larger list, item by item (never the base's order, which would undo both
    edits and then read as "unchanged" when merged again).
    """
    if ours == theirs:
        return ours
    base_set = set(base)
    ours_changed, theirs_changed = set(ours) != base_set, set(theirs) != base_set
    if ours_changed or theirs_changed:
        return None if ours_changed and theirs_changed else (ours if ours_changed else theirs)
    if ours == base or theirs == base:
        return theirs if ours == base else ours
    return max(ours, theirs)


def _merge_annotations(base: list[Annotation], ours: list[Annotation], theirs: list[Annotation]) -> list[Any]:
    """Rule 5: one-sided change → that list; else a three-way set merge by (entry, description), sorted."""
    base_keys, ours_keys, theirs_keys = (
        _annotation_keys(base),
        _annotation_keys(ours),
        _annotation_keys(theirs),
    )
    result = _one_sided(base_keys, ours_keys, theirs_keys)
    if result is None:
        before, mine, other = set(base_keys), set(ours_keys), set(theirs_keys)
        result = sorted((before & mine & other) | (mine - before) | (other - before))
    return [Annotation(entry=entry, description=text) for entry, text in result]


def _annotation_keys(annotations: list[Annotation]) -> list[tuple[datetime, str]]:
    return [(annotation.entry, annotation.description) for annotation in annotations]


def _add_annotations(annotations: list[Annotation], notes: list[tuple[str, Annotation]]) -> list[Annotation]:
    """Add conflict notes, but not a loss already on the task (field, value, loser): re-merging adds none."""
    new = [
        note
        for prefix, note in notes
        if not any(existing.description.startswith(prefix) for existing in annotations)
    ]
    if not new:
        return annotations
    keys = set(_annotation_keys(annotations)) | set(_annotation_keys(new))
    return [Annotation(entry=entry, description=text) for entry, text in sorted(keys)]


# ---------------------------------------------------------------------------------------------------------
# The body: diff3 by lines


def _merge_body(base: str, a: _Side, b: _Side) -> tuple[str, list[Conflict]]:
    if a.body == b.body or b.body == base:
        return a.body, []
    if a.body == base:
        return b.body, []
    merged, clashes = _diff3(split_lines(base), split_lines(a.body), split_lines(b.body), a.label, b.label)
    return "".join(merged), clashes


def _diff3(
    base: list[str], ours: list[str], theirs: list[str], ours_label: str, theirs_label: str
) -> tuple[list[str], list[Conflict]]:
    """The line merge. Conflict blocks from earlier merges are single tokens, so no diff cuts through one."""
    base_t, ours_t, theirs_t = _tokens(base), _tokens(ours), _tokens(theirs)
    merged: list[str] = []
    clashes: list[Conflict] = []
    b0 = o0 = t0 = 0
    for b1, o1, t1, size in _sync_regions(base_t, ours_t, theirs_t):
        chunk_base, chunk_ours, chunk_theirs = base_t[b0:b1], ours_t[o0:o1], theirs_t[t0:t1]
        if chunk_base or chunk_ours or chunk_theirs:
            lines, clash = _merge_chunk(chunk_base, chunk_ours, chunk_theirs, ours_label, theirs_label)
            merged += lines
            if clash is not None:
                clashes.append(clash)
        merged += _lines_of(base_t[b1 : b1 + size])
        b0, o0, t0 = b1 + size, o1 + size, t1 + size
    return merged, clashes


def _tokens(lines: list[str]) -> list[str]:
    """Lines, with each block this module writes (a conflict, a kept unreadable version) as one token."""
    blocks = _blocks(lines)
    if not blocks:
        return lines
    tokens: list[str] = []
    at = 0
    for block in blocks:
        tokens += lines[at : block.begin]
        tokens.append("".join(lines[block.begin : block.end]))
        at = block.end
    return tokens + lines[at:]


def _lines_of(tokens: list[str]) -> list[str]:
    if all(token.count("\n") <= 1 for token in tokens):
        return tokens
    return split_lines("".join(tokens))


def _sync_regions(base: list[str], ours: list[str], theirs: list[str]) -> list[tuple[int, int, int, int]]:
    """Base ranges left unchanged by both sides, as (base start, ours start, theirs start, length).

    Ends with a zero-length region at the three ends, so every change lies before some region.
    """
    ours_blocks = SequenceMatcher(None, base, ours, autojunk=False).get_matching_blocks()
    theirs_blocks = SequenceMatcher(None, base, theirs, autojunk=False).get_matching_blocks()
    regions: list[tuple[int, int, int, int]] = []
    i = j = 0
    while i < len(ours_blocks) and j < len(theirs_blocks):
        ob, oo, on = ours_blocks[i]
        tb, tt, tn = theirs_blocks[j]
        start, end = max(ob, tb), min(ob + on, tb + tn)
        if start < end:
            regions.append((start, oo + start - ob, tt + start - tb, end - start))
        if ob + on < tb + tn:
            i += 1
        else:
            j += 1
    regions.append((len(base), len(ours), len(theirs), 0))
    return regions


def _merge_chunk(
    base: list[str], ours: list[str], theirs: list[str], ours_label: str, theirs_label: str
) -> tuple[list[str], Conflict | None]:
    """One changed region (as tokens): one-sided or identical changes, a re-merge of a block, or a clash."""
    if ours == theirs or theirs == base:
        return _lines_of(ours), None
    if ours == base:
        return _lines_of(theirs), None
    ours_lines, theirs_lines = _lines_of(ours), _lines_of(theirs)
    if _is_marked_form_of(ours_lines, theirs_lines):
        return ours_lines, None
    if _is_marked_form_of(theirs_lines, ours_lines):
        return theirs_lines, None
    if not base and _is_inside(ours_lines, theirs_lines):
        return theirs_lines, None
    if not base and _is_inside(theirs_lines, ours_lines):
        return ours_lines, None
    return _clash(ours_lines, theirs_lines, ours_label, theirs_label)


def _is_inside(short: list[str], long: list[str]) -> bool:
    """True if ``long`` is ``short`` with lines added before and/or after it (final newline aside)."""
    short = _ended(short)
    head = _common_prefix(short, long)
    return head + _common_prefix(short[head:][::-1], long[head:][::-1]) >= len(short)


def _clash(
    ours: list[str], theirs: list[str], ours_label: str, theirs_label: str
) -> tuple[list[str], Conflict]:
    """Both versions of a hunk, between markers, ordered by text; common edges stay outside the markers."""
    head = _common_prefix(ours, theirs)
    tail = _common_prefix(ours[head:][::-1], theirs[head:][::-1])
    inner_ours = _ended(ours[head : len(ours) - tail])
    inner_theirs = _ended(theirs[head : len(theirs) - tail])
    versions = sorted([(inner_ours, ours_label), (inner_theirs, theirs_label)])
    (first, first_label), (second, second_label) = versions
    block = [
        CONFLICT_BEGIN,
        _version_marker(first_label),
        *first,
        _version_marker(second_label),
        *second,
        CONFLICT_END,
    ]
    lines = ours[:head] + block + ours[len(ours) - tail :]
    conflict = Conflict(BODY, "".join(first), "".join(second), first_label, second_label)
    return lines, conflict


def _common_prefix(left: list[str], right: list[str]) -> int:
    count = 0
    for x, y in zip(left, right, strict=False):
        if x != y:
            break
        count += 1
    return count


def _ended(lines: list[str]) -> list[str]:
    """Lines for inside a marker block: the last one gets its missing ``\\n`` so the marker stays a line."""
    if lines and not lines[-1].endswith("\n"):
        return [*lines[:-1], lines[-1] + "\n"]
    return lines


def _version_marker(label: str) -> str:
    return f"{_VERSION_PREFIX}{_marker_text(label)} -->\n"


def _marker_text(text: str) -> str:
    """Text safe inside an HTML comment on one line: no newlines, no ``--``."""
    flat = " ".join(text.split())
    return re.sub(r"-{2,}", "-", flat).replace(">", "›")


_MAX_BLOCKS_TRIED = 6
_RAW_NOTE_RE = re.compile(r"^<!-- merge: the version from .* could not be read .*-->\n$")
_RAW_FENCE_RE = re.compile(r"^(`{3,})text\n$")


@dataclass(frozen=True)
class _Block:
    """Lines ``begin:end`` written by this module, and what they stand for: each choice is a (start, stop)
    range of lines inside the block (a conflict's two versions), or empty (a kept unreadable version)."""

    begin: int
    end: int
    choices: tuple[tuple[int, int], ...]


def _is_marked_form_of(marked: list[str], plain: list[str]) -> bool:
    """True if ``marked`` is ``plain`` plus blocks this module wrote (conflicts holding its hunks, unreadable
    versions): merging a result again with one of its inputs then keeps the result."""
    if CONFLICT_BEGIN not in marked and not any(_RAW_NOTE_RE.match(line) for line in marked):
        return False
    blocks = _blocks(marked)
    if not blocks or len(blocks) > _MAX_BLOCKS_TRIED:
        return False
    target = _ended(plain)
    for choice in itertools.product(*(block.choices for block in blocks)):
        candidate: list[str] = []
        at = 0
        for block, (start, stop) in zip(blocks, choice, strict=True):
            candidate += marked[at : block.begin] + marked[start:stop]
            at = block.end
        candidate += marked[at:]
        if _ended(candidate) == target:
            return True
    return False


def _has_blocks(body: str) -> bool:
    return "<!-- merge" in body and bool(_blocks(split_lines(body)))


def _blocks(lines: list[str]) -> list[_Block]:
    """The complete top-level blocks this module wrote, in order."""
    blocks: list[_Block] = []
    index = 0
    while index < len(lines):
        block = _conflict_block_at(lines, index) or _raw_block_at(lines, index)
        if block is None:
            index += 1
        else:
            blocks.append(block)
            index = block.end
    return blocks


def _conflict_block_at(lines: list[str], begin: int) -> _Block | None:
    if lines[begin] != CONFLICT_BEGIN:
        return None
    markers: list[int] = []
    depth = 0
    for index in range(begin + 1, len(lines)):
        line = lines[index]
        if line == CONFLICT_BEGIN:
            depth += 1
        elif line == CONFLICT_END and depth:
            depth -= 1
        elif line == CONFLICT_END:
            if len(markers) != 2:
                return None
            first, second = markers
            return _Block(begin, index + 1, ((first + 1, second), (second + 1, index)))
        elif not depth and len(markers) < 2 and _VERSION_RE.match(line):
            markers.append(index)
    return None


def _raw_block_at(lines: list[str], begin: int) -> _Block | None:
    if not _RAW_NOTE_RE.match(lines[begin]) or begin + 1 >= len(lines):
        return None
    fence = _RAW_FENCE_RE.match(lines[begin + 1])
    if fence is None:
        return None
    closing = fence.group(1) + "\n"
    for index in range(begin + 2, len(lines)):
        if lines[index] == closing:
            return _Block(begin, index + 1, ((begin, begin),))
    return None


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
