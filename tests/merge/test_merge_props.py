"""Property tests of backlog_git.merge: symmetric, idempotent, nothing lost, output parses.

Tasks are generated as a base plus two independent edits drawn from small pools of values, so that the
sides often touch the same fields, make identical changes, or clash.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from backlog_git import taskfile
from backlog_git.merge import (
    ABSENT,
    CONFLICT_TAG,
    SINGLE_FIELDS,
    canonical,
    merge_task_bytes,
    show,
    split_lines,
    three_way_lines,
)
from backlog_git.model import Task

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
DEPS = [f"{n}{n}{n}{n}{n}{n}{n}{n}-{n}{n}{n}{n}-4{n}{n}{n}-8{n}{n}{n}-{n * 12}" for n in "123456"]
TIMES = [f"2026-11-{day:02d}T{hour:02d}:00:00Z" for day in (20, 24) for hour in (8, 9, 17)]
TAGS = ["bug", "ui", "auth", "zeta", "alpha", CONFLICT_TAG]
LINES = ["# Spec\n", "\n", "alpha\n", "beta\n", "gamma\n", "delta\n", "- item\n", "end", "```\n", "---\n"]
EXTRA_VALUES: list[Any] = [ABSENT, None, 1, True, "x", "y", {"k": 1}, [1, 2]]
EXTRA_KEYS = ["estimate", "owner"]

# MERGE_EXAMPLES=5000 for a deeper search than the default run (which stays within the test time budget)
EXAMPLES = int(os.environ.get("MERGE_EXAMPLES", "150"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

maybe_time = st.one_of(st.none(), st.sampled_from(TIMES))
single_values: dict[str, st.SearchStrategy[Any]] = {
    "id": st.integers(1, 4),
    "description": st.sampled_from(["Fix login", "Fix logout", "Write docs", "x: y # z"]),
    "status": st.sampled_from(["pending", "completed", "deleted", "recurring"]),
    "project": st.sampled_from([None, "web", "web.api"]),
    "priority": st.sampled_from([None, "H", "M", "L"]),
    "due": maybe_time,
    "start": maybe_time,
    "end": maybe_time,
    "entry": st.sampled_from(TIMES),
    "agent": st.sampled_from([None, "agent-a", "agent-b"]),
    "parent": st.sampled_from([None, *DEPS[:2]]),
    "modified": st.sampled_from(TIMES),
}


@st.composite
def bodies(draw: st.DrawFn, lines: list[str] | None = None, unique: bool = False) -> list[str]:
    """A body (``lines`` None) or an edit of one; ``unique``: no repeated line, so no ambiguous alignment."""
    if lines is None:
        return draw(st.lists(st.sampled_from(LINES), max_size=8, unique=unique))
    lines = list(lines)
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        at = draw(st.integers(0, len(lines)))
        new = draw(st.sampled_from(LINES))
        if unique and new in lines:
            kind = "delete"
        if kind == "insert" or not lines:
            lines.insert(at, new)
        elif kind == "delete":
            del lines[min(at, len(lines) - 1)]
        else:
            lines[min(at, len(lines) - 1)] = new
    return lines


def _body_text(lines: list[str]) -> str:
    # a line without a newline can only be the last one
    return "".join(
        line if line.endswith("\n") or i == len(lines) - 1 else line + "\n" for i, line in enumerate(lines)
    )


@st.composite
def base_states(draw: st.DrawFn, unique: bool = False) -> dict[str, Any]:
    state: dict[str, Any] = {name: draw(strategy) for name, strategy in single_values.items()}
    state["uuid"] = UUID
    state["tags"] = draw(st.lists(st.sampled_from(TAGS), unique=True, max_size=3))
    state["depends"] = draw(st.lists(st.sampled_from(DEPS), unique=True, max_size=2))
    state["annotations"] = draw(
        st.lists(st.tuples(st.sampled_from(TIMES), st.sampled_from(["a", "b"])), unique=True, max_size=2)
    )
    state["extras"] = {key: draw(st.sampled_from(EXTRA_VALUES)) for key in EXTRA_KEYS}
    state["body"] = draw(bodies(unique=unique))
    state["unique"] = unique
    return state


@st.composite
def edits(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    state = dict(base)
    for name in draw(st.sets(st.sampled_from(sorted(single_values)), max_size=4)):
        state[name] = draw(single_values[name])
    if draw(st.booleans()):
        kept = [tag for tag in state["tags"] if draw(st.booleans())]
        state["tags"] = kept + [
            t for t in draw(st.lists(st.sampled_from(TAGS), unique=True)) if t not in kept
        ]
    if draw(st.booleans()):
        kept = [dep for dep in state["depends"] if draw(st.booleans())]
        state["depends"] = kept + [
            d for d in draw(st.lists(st.sampled_from(DEPS), unique=True)) if d not in kept
        ]
    if draw(st.booleans()):
        kept = [a for a in state["annotations"] if draw(st.booleans())]
        added = draw(st.lists(st.tuples(st.sampled_from(TIMES), st.sampled_from(["c", "d"])), max_size=2))
        state["annotations"] = kept + [a for a in added if a not in kept]
    if draw(st.booleans()):
        state["extras"] = {
            **state["extras"],
            draw(st.sampled_from(EXTRA_KEYS)): draw(st.sampled_from(EXTRA_VALUES)),
        }
    if draw(st.booleans()):
        state["body"] = draw(bodies(state["body"], unique=state["unique"]))
    return state


def render(state: dict[str, Any]) -> bytes:
    data = {
        key: value for key, value in state.items() if key not in ("extras", "body", "annotations", "unique")
    }
    data["annotations"] = [{"entry": entry, "description": text} for entry, text in state["annotations"]]
    data.update({key: value for key, value in state["extras"].items() if value is not ABSENT})
    return taskfile.dump(Task.model_validate(data), _body_text(state["body"]))


@st.composite
def scenarios(draw: st.DrawFn, unique: bool = False) -> tuple[bytes | None, bytes, bytes]:
    base = draw(base_states(unique))
    ours, theirs = render(draw(edits(base))), render(draw(edits(base)))
    return (None if draw(st.integers(0, 9)) == 0 else render(base)), ours, theirs


labels = st.sampled_from(["agent-a", "agent-b", "a -- b", None])


@SETTINGS
@given(scenarios(), labels, labels)
def test_symmetric(
    scenario: tuple[bytes | None, bytes, bytes], label_a: str | None, label_b: str | None
) -> None:
    base, ours, theirs = scenario
    forward = merge_task_bytes(base, ours, theirs, ours_label=label_a, theirs_label=label_b)
    backward = merge_task_bytes(base, theirs, ours, ours_label=label_b, theirs_label=label_a)
    assert forward.data == backward.data


@SETTINGS
@given(scenarios())
def test_output_parses_and_merging_a_side_with_itself_changes_nothing(
    scenario: tuple[bytes | None, bytes, bytes],
) -> None:
    base, ours, theirs = scenario
    result = merge_task_bytes(base, ours, theirs)
    taskfile.parse(result.data)
    assert not result.failed
    assert merge_task_bytes(base, ours, ours).data == ours
    assert merge_task_bytes(base, theirs, theirs).data == theirs


@SETTINGS
@given(scenarios(unique=True))
def test_merging_the_result_again_with_either_side_changes_nothing(
    scenario: tuple[bytes | None, bytes, bytes],
) -> None:
    # Bodies without repeated lines: with repeated lines the alignment is ambiguous and a re-merge may see
    # an insertion twice (as a line merge in git would); see test_remerge_with_repeated_lines_loses_nothing.
    base, ours, theirs = scenario
    merged = merge_task_bytes(base, ours, theirs).data
    assert merge_task_bytes(base, merged, merged).data == merged
    assert merge_task_bytes(base, merged, ours).data == merged
    assert merge_task_bytes(base, theirs, merged).data == merged


@SETTINGS
@given(scenarios(), labels, labels)
def test_nothing_is_lost(
    scenario: tuple[bytes | None, bytes, bytes], label_a: str | None, label_b: str | None
) -> None:
    base_bytes, ours_bytes, theirs_bytes = scenario
    result = taskfile.parse(
        merge_task_bytes(base_bytes, ours_bytes, theirs_bytes, ours_label=label_a, theirs_label=label_b).data
    )
    base = taskfile.parse(base_bytes) if base_bytes else None
    sides = [taskfile.parse(ours_bytes), taskfile.parse(theirs_bytes)]
    notes = {annotation.description for annotation in result.task.annotations}
    for side in sides:
        _check_values_kept(base.task if base else None, side.task, result.task, notes)
        _check_sets_kept(base.task if base else None, side.task, result.task)
        _check_body_kept(base.body if base else "", side.body, result.body)
    before = set(_keys(base.task.annotations)) if base else set()
    for side in sides:
        assert set(_keys(side.task.annotations)) - before <= set(_keys(result.task.annotations))
    assert result.task.modified in (sides[0].task.modified, sides[1].task.modified)


def _values(task: Task | None) -> dict[str, Any]:
    if task is None:
        return {name: None for name in SINGLE_FIELDS}
    return {**{name: getattr(task, name) for name in SINGLE_FIELDS}, **task.extras}


def _check_values_kept(base: Task | None, side: Task, result: Task, notes: set[str]) -> None:
    before, mine, merged = _values(base), _values(side), _values(result)
    for name in set(mine) | set(before):
        default = None if name in SINGLE_FIELDS else ABSENT
        value = mine.get(name, default)
        if canonical(value) in (canonical(before.get(name, default)), canonical(merged.get(name, default))):
            continue
        shown = "unset" if value is ABSENT or (value is None and name in SINGLE_FIELDS) else show(value)
        assert any(note.startswith(f"merge: {name} was {shown} (") for note in notes), (name, value, notes)


def _check_sets_kept(base: Task | None, side: Task, result: Task) -> None:
    for name in ("tags", "depends"):
        before, mine, merged = (set(getattr(t, name)) if t else set() for t in (base, side, result))
        assert mine - before <= merged
        assert not ((before - mine) & merged) - {CONFLICT_TAG}


def _check_body_kept(base: str, side: str, result: str) -> None:
    base_lines = {line.rstrip("\n") for line in split_lines(base)}
    result_lines = {line.rstrip("\n") for line in split_lines(result)}
    for line in split_lines(side):
        if line.rstrip("\n") not in base_lines:
            assert line.rstrip("\n") in result_lines


def _keys(annotations: list[Any]) -> list[tuple[Any, str]]:
    return [(a.entry, a.description) for a in annotations]


# --- unreadable inputs --------------------------------------------------------------------------------


def _breakages(good: bytes) -> st.SearchStrategy[bytes]:
    lines = good.split(b"\n")
    return st.one_of(
        st.integers(4, len(lines) - 2).map(
            lambda at: b"\n".join([*lines[:at], b"<<<<<<< HEAD", b"=======", b">>>>>>> theirs", *lines[at:]])
        ),
        st.integers(1, max(1, len(good) // 2)).map(lambda cut: good[:cut]),
        st.binary(max_size=40),
        st.just(good.replace(b"id: ", b"id: [", 1)),
    )


@st.composite
def broken_scenarios(draw: st.DrawFn) -> tuple[bytes | None, bytes, bytes]:
    base, good, other = draw(scenarios(unique=True))
    broken = draw(_breakages(other))
    try:
        taskfile.parse(broken)
    except taskfile.TaskFileError:
        return base, good, broken
    return base, good, other


@SETTINGS
@given(broken_scenarios(), labels)
def test_an_unreadable_side_never_breaks_the_output(
    scenario: tuple[bytes | None, bytes, bytes], label: str | None
) -> None:
    base, good, broken = scenario
    note(f"unreadable side: {broken!r}")
    forward = merge_task_bytes(base, good, broken, ours_label="agent-a", theirs_label=label)
    backward = merge_task_bytes(base, broken, good, ours_label=label, theirs_label="agent-a")
    assert forward.data == backward.data and not forward.failed
    parsed = taskfile.parse(forward.data)
    assert merge_task_bytes(base, forward.data, broken, theirs_label=label).data == forward.data
    assert merge_task_bytes(base, forward.data, good, theirs_label="agent-a").data == forward.data
    try:
        taskfile.parse(broken)
    except taskfile.TaskFileError:
        assert CONFLICT_TAG in parsed.task.tags


@st.composite
def text_merges(draw: st.DrawFn) -> tuple[bytes, bytes, bytes, bool, tuple[bytes, bytes]]:
    """A base, an edit of it, and a text merge of two more edits committed with git's markers around the
    whole file (``diff3``: with the base between them)."""
    state = draw(base_states(unique=True))
    base, good = render(state), render(draw(edits(state)))
    one, two = render(draw(edits(state))), render(draw(edits(state)))
    assume(one != two)  # git marks only hunks the sides changed differently
    diff3 = draw(st.booleans())

    def ended(data: bytes) -> bytes:
        return data if data.endswith(b"\n") else data + b"\n"

    middle = b"||||||| base\n" + ended(base) if diff3 else b""
    marked = b"<<<<<<< one\n" + ended(one) + middle + b"=======\n" + ended(two) + b">>>>>>> two\n"
    return base, good, marked, diff3, (one, two)


@SETTINGS
@given(text_merges(), labels)
def test_a_committed_text_merge_is_read_back_and_merged(
    scenario: tuple[bytes, bytes, bytes, bool, tuple[bytes, bytes]], label: str | None
) -> None:
    """Rule 8: no git marker survives, nothing either version changed is lost (with default markers the
    versions' base is unknown, so a removal may come back; with diff3 markers removals stay removed), and the
    merge is symmetric and stable."""
    base, good, marked, diff3, versions = scenario
    forward = merge_task_bytes(base, good, marked, ours_label="agent-a", theirs_label=label)
    backward = merge_task_bytes(base, marked, good, ours_label=label, theirs_label="agent-a")
    assert forward.data == backward.data and not forward.failed
    result = taskfile.parse(forward.data)
    assert not [line for line in forward.data.split(b"\n") if line[:7] in (b"<<<<<<<", b"=======", b">>>>>>>")]
    if CONFLICT_TAG not in taskfile.parse(base).task.tags:  # (else the other side may have just removed it)
        assert CONFLICT_TAG in result.task.tags
    assert merge_task_bytes(base, forward.data, marked, theirs_label=label).data == forward.data
    assert merge_task_bytes(base, forward.data, good, theirs_label="agent-a").data == forward.data
    before = taskfile.parse(base)
    notes = {annotation.description for annotation in result.task.annotations}
    for side in (good, *versions):
        parsed = taskfile.parse(side)
        _check_body_kept(before.body, parsed.body, result.body)
        if diff3 or side == good:
            _check_values_kept(before.task, parsed.task, result.task, notes)
            _check_sets_kept(before.task, parsed.task, result.task)
            continue
        # Without the versions' base, unsetting a value or removing a tag is not known as a change.
        values, previous, merged = _values(parsed.task), _values(before.task), _values(result.task)
        for name, value in values.items():
            if value is None or value is ABSENT or canonical(value) == canonical(previous.get(name, ABSENT)):
                continue
            if canonical(value) != canonical(merged.get(name, ABSENT)):
                assert any(n.startswith(f"merge: {name} was {show(value)} (") for n in notes), (name, value, notes)
        for name in ("tags", "depends"):
            added = set(getattr(parsed.task, name)) - set(getattr(before.task, name))
            assert added <= set(getattr(result.task, name))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=60), st.binary(max_size=60), st.binary(max_size=60))
def test_garbage_never_crashes(base: bytes, ours: bytes, theirs: bytes) -> None:
    result = merge_task_bytes(base, ours, theirs)
    assert result.failed and result.data == ours


# --- the line merge on its own -------------------------------------------------------------------------


@st.composite
def line_scenarios(draw: st.DrawFn) -> tuple[list[str], list[str], list[str]]:
    base = draw(bodies())
    return base, draw(bodies(base)), draw(bodies(base))


@SETTINGS
@given(line_scenarios())
def test_three_way_lines_is_symmetric_and_keeps_one_sided_changes(
    scenario: tuple[list[str], list[str], list[str]],
) -> None:
    base, ours, theirs = (split_lines(_body_text(lines)) for lines in scenario)
    merged, clean = three_way_lines(base, ours, theirs, ours_label="x", theirs_label="y")
    assert (merged, clean) == three_way_lines(base, theirs, ours, ours_label="y", theirs_label="x")
    assert three_way_lines(base, ours, ours) == (ours, True)
    assert three_way_lines(base, base, theirs) == (theirs, True)


@SETTINGS
@given(scenarios())
def test_remerge_with_repeated_lines_loses_nothing(scenario: tuple[bytes | None, bytes, bytes]) -> None:
    base, ours, theirs = scenario
    merged = merge_task_bytes(base, ours, theirs).data
    again = taskfile.parse(merge_task_bytes(base, merged, ours).data)
    first = taskfile.parse(merged)
    assert {line.rstrip("\n") for line in split_lines(first.body)} <= {
        line.rstrip("\n") for line in split_lines(again.body)
    }
    assert _values(again.task) == _values(first.task)
