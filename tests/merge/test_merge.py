"""Unit tests for backlog_git.merge: one test (or a few) per rule in the module docstring."""

from __future__ import annotations

from typing import Any

import pytest
from support import task_bytes

from backlog_git import taskfile
from backlog_git.merge import (
    CONFLICT_BEGIN,
    CONFLICT_END,
    CONFLICT_TAG,
    MergeResult,
    merge_task_bytes,
    merge_tasks,
    split_lines,
    three_way_lines,
)
from backlog_git.model import Task

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
DEP1 = "11111111-1111-4111-8111-111111111111"
DEP2 = "22222222-2222-4222-8222-222222222222"
DEP3 = "33333333-3333-4333-8333-333333333333"
T0 = "2026-11-24T08:00:00Z"
T1 = "2026-11-24T09:00:00Z"
T2 = "2026-11-24T10:00:00Z"
T3 = "2026-11-24T11:00:00Z"

BASE_BODY = "# Spec\n\nline one\nline two\nline three\nline four\nline five\n"


BASE_FIELDS: dict[str, Any] = {
    "uuid": UUID,
    "id": 7,
    "description": "Fix login redirect",
    "status": "pending",
    "tags": ["bug", "auth"],
    "entry": T0,
    "modified": T0,
}


def make(body: str = BASE_BODY, **fields: Any) -> bytes:
    return task_bytes(BASE_FIELDS, body, **fields)


def merge(base: bytes | None, ours: bytes, theirs: bytes, **kwargs: Any) -> MergeResult:
    """Merge both ways round and check the result is the same, then return it."""
    result = merge_task_bytes(base, ours, theirs, ours_label="agent-a", theirs_label="agent-b", **kwargs)
    swapped = merge_task_bytes(base, theirs, ours, ours_label="agent-b", theirs_label="agent-a", **kwargs)
    assert result.data == swapped.data
    taskfile.parse(result.data)
    return result


def task_of(result: MergeResult) -> Task:
    return taskfile.parse(result.data).task


def body_of(result: MergeResult) -> str:
    return taskfile.parse(result.data).body


def notes(result: MergeResult) -> list[str]:
    return [annotation.description for annotation in task_of(result).annotations]


# --- rule 2: one-sided and identical changes ------------------------------------------------------------


def test_change_on_one_side_takes_that_side() -> None:
    base = make()
    ours = make(priority="H", modified=T1)
    theirs = make(project="web", modified=T2)
    result = merge(base, ours, theirs)
    task = task_of(result)
    assert (task.priority, task.project) == ("H", "web")
    assert result.conflicts == [] and result.clean
    assert task.annotations == []


def test_same_change_on_both_sides_is_taken_once() -> None:
    base = make()
    ours = make(priority="H", modified=T1)
    theirs = make(priority="H", modified=T2)
    result = merge(base, ours, theirs)
    assert task_of(result).priority == "H"
    assert result.conflicts == []


def test_unset_on_one_side_is_a_change() -> None:
    base = make(priority="M")
    result = merge(base, make(priority=None, modified=T1), make(description="New title", modified=T2))
    task = task_of(result)
    assert task.priority is None and task.description == "New title"


def test_user_attributes_merge_like_fields() -> None:
    base = make(estimate=3, owner="ann")
    ours = make(estimate=5, owner="ann", modified=T1)
    theirs = make(estimate=3, modified=T2, team="core")  # owner removed, team added
    task = task_of(merge(base, ours, theirs))
    assert task.extras == {"estimate": 5, "team": "core"}


def test_user_attribute_true_and_one_are_different_values() -> None:
    base = make(flag=1)
    result = merge(base, make(flag=True, modified=T1), make(flag=1, modified=T0))
    assert task_of(result).extras["flag"] is True


def test_user_attribute_null_differs_from_absent() -> None:
    base = make(owner="ann")
    result = merge(base, make(owner=None, modified=T1), make(modified=T2, **{"owner": "bob"}))
    assert task_of(result).extras["owner"] == "bob"
    assert notes(result) == ['merge: owner was unset (agent-a), kept "bob" (agent-b)']


def test_nested_user_attribute_values() -> None:
    base = make(meta={"a": 1})
    result = merge(base, make(meta={"a": 2, "b": [1, 2]}, modified=T1), make(meta={"a": 3}, modified=T2))
    assert task_of(result).extras["meta"] == {"a": 3}
    assert notes(result) == ['merge: meta was {"a": 2, "b": [1, 2]} (agent-a), kept {"a": 3} (agent-b)']


# --- rule 3: clashes ---------------------------------------------------------------------------------------


def test_clash_later_modified_wins_and_loser_is_annotated() -> None:
    base = make(priority="M")
    ours = make(priority="L", modified=T1)
    theirs = make(priority="H", modified=T2)
    result = merge(base, ours, theirs)
    task = task_of(result)
    assert task.priority == "H"
    assert notes(result) == ['merge: priority was "L" (agent-a), kept "H" (agent-b)']
    assert task.annotations[0].entry == task.modified  # dated from the sides, not the clock
    [conflict] = result.conflicts
    assert (conflict.field, conflict.kept, conflict.other) == ("priority", "H", "L")
    assert (conflict.kept_label, conflict.other_label) == ("agent-b", "agent-a")


def test_clash_with_equal_times_is_decided_by_value() -> None:
    base = make(description="base")
    result = merge(base, make(description="apple", modified=T1), make(description="zebra", modified=T1))
    assert task_of(result).description == "zebra"
    assert notes(result) == ['merge: description was "apple" (agent-a), kept "zebra" (agent-b)']


def test_clash_time_never_counts_as_older_than_the_base() -> None:
    # ours' clock went backwards: its edit is not "older" than theirs, both count as the base's time
    base = make(description="base", modified=T2)
    result = merge(base, make(description="apple", modified=T0), make(description="zebra", modified=T2))
    assert task_of(result).description == "zebra"


def test_modified_takes_the_later_time_without_annotation() -> None:
    base = make()
    result = merge(base, make(modified=T1, priority="H"), make(modified=T3, project="p"))
    task = task_of(result)
    assert (
        task.modified
        == Task.model_validate(
            {"uuid": UUID, "id": 1, "description": "x", "entry": T3, "modified": T3}
        ).modified
    )
    assert task.annotations == []


def test_modified_changed_on_one_side_takes_that_side_even_if_earlier() -> None:
    base = make(modified=T2)
    result = merge(base, make(modified=T1, priority="H"), make(modified=T2, tags=["bug", "auth", "x"]))
    assert taskfile.format_timestamp(task_of(result).modified) == T1


@pytest.mark.parametrize(
    ("base_status", "ours", "theirs", "expected"),
    [
        ("pending", "completed", "deleted", "completed"),
        ("completed", "pending", "deleted", "pending"),
        ("deleted", "completed", "pending", "pending"),
        ("completed", "recurring", "deleted", "recurring"),
        ("deleted", "recurring", "pending", "pending"),
    ],
)
def test_status_clash_the_more_active_status_wins(
    base_status: str, ours: str, theirs: str, expected: str
) -> None:
    base = make(status=base_status)
    # the side edited last loses here on purpose: status does not go by time
    loser_later = [make(status=s, modified=T3 if s != expected else T1) for s in (ours, theirs)]
    result = merge(base, *loser_later)
    assert task_of(result).status == expected
    assert any(note.startswith("merge: status was ") for note in notes(result))


def test_end_follows_the_status_that_was_kept() -> None:
    base = make(status="completed", end=T0)
    reopened = make(status="pending", end=None, modified=T1)
    deleted = make(status="deleted", end=T2, modified=T2)
    task = task_of(merge(base, reopened, deleted))
    assert task.status == "pending" and task.end is None


def test_end_with_the_same_status_takes_the_later_time() -> None:
    base = make(status="pending")
    result = merge(
        base, make(status="completed", end=T3, modified=T1), make(status="completed", end=T1, modified=T2)
    )
    assert taskfile.format_timestamp(task_of(result).end) == T3


def test_start_takes_the_later_time_and_a_value_beats_unset() -> None:
    base = make(start=T0)
    result = merge(base, make(start=None, modified=T3), make(start=T2, modified=T1))
    assert taskfile.format_timestamp(task_of(result).start) == T2
    result = merge(base, make(start=T3, modified=T1), make(start=T2, modified=T3))
    assert taskfile.format_timestamp(task_of(result).start) == T3


def test_entry_takes_the_earlier_time() -> None:
    base = make(entry=T1)
    result = merge(base, make(entry=T0, modified=T1), make(entry=T2, modified=T3))
    assert taskfile.format_timestamp(task_of(result).entry) == T0


def test_id_clash_for_one_task_takes_the_smaller_and_records_the_other() -> None:
    base = make(id=7)
    result = merge(base, make(id=12, modified=T3), make(id=9, modified=T1))
    assert task_of(result).id == 9
    assert notes(result) == ["merge: id was 12 (agent-a), kept 9 (agent-b)"]


def test_default_labels_name_the_sides_by_their_modified_time() -> None:
    base = make(priority="M")
    ours, theirs = make(priority="L", modified=T1), make(priority="H", modified=T2)
    result = merge_task_bytes(base, ours, theirs)
    assert result.data == merge_task_bytes(base, theirs, ours).data
    assert notes(result) == [f'merge: priority was "L" (modified {T1}), kept "H" (modified {T2})']


def test_remerging_a_result_adds_nothing() -> None:
    base = make(priority="M", description="d")
    ours, theirs = make(priority="L", modified=T1), make(priority="H", description="e", modified=T2)
    merged = merge_task_bytes(base, ours, theirs).data
    assert merge_task_bytes(base, merged, ours).data == merged
    assert merge_task_bytes(base, theirs, merged).data == merged
    labelled = merge_task_bytes(base, ours, theirs, ours_label="a", theirs_label="b").data
    assert merge_task_bytes(base, labelled, ours, ours_label="b", theirs_label="a").data == labelled


# --- rule 4: sets ------------------------------------------------------------------------------------------


def test_tags_additions_and_removals_from_both_sides() -> None:
    base = make(tags=["bug", "auth", "ui"])
    ours = make(tags=["bug", "ui", "zeta", "alpha"], modified=T1)  # -auth +zeta +alpha
    theirs = make(tags=["auth", "ui", "beta"], modified=T2)  # -bug +beta
    assert task_of(merge(base, ours, theirs)).tags == ["ui", "alpha", "beta", "zeta"]


def test_tags_changed_on_one_side_keep_that_sides_order() -> None:
    base = make(tags=["bug"])
    ours = make(tags=["zeta", "bug", "alpha"], modified=T1)
    theirs = make(tags=["bug"], priority="H", modified=T2)
    assert task_of(merge(base, ours, theirs)).tags == ["zeta", "bug", "alpha"]


def test_tags_reordered_differently_on_both_sides_take_the_larger_order() -> None:
    base = make(tags=["ui", "bug", "auth"])
    ours = make(tags=["ui", "auth", "bug"], modified=T1)
    theirs = make(tags=["auth", "bug", "ui"], modified=T2)
    merged = merge(base, ours, theirs)
    assert task_of(merged).tags == ["ui", "auth", "bug"]
    assert merge_task_bytes(base, merged.data, theirs).data == merged.data


def test_depends_merge_as_a_set() -> None:
    base = make(depends=[DEP1, DEP2])
    ours = make(depends=[DEP1, DEP2, DEP3], modified=T1)
    theirs = make(depends=[DEP2], modified=T2)
    assert task_of(merge(base, ours, theirs)).depends == [DEP2, DEP3]


def test_add_add_unions_the_sets() -> None:
    ours = make(tags=["b", "a"])
    theirs = make(tags=["c", "a"], modified=T1)
    assert task_of(merge(None, ours, theirs)).tags == ["a", "b", "c"]


# --- rule 5: annotations -----------------------------------------------------------------------------------


def ann(entry: str, text: str) -> dict[str, str]:
    return {"entry": entry, "description": text}


def test_annotations_are_a_sorted_union() -> None:
    base = make(annotations=[ann(T0, "first")])
    ours = make(annotations=[ann(T0, "first"), ann(T2, "from a")], modified=T2)
    theirs = make(annotations=[ann(T0, "first"), ann(T1, "from b"), ann(T2, "also b")], modified=T2)
    assert notes(merge(base, ours, theirs)) == ["first", "from b", "also b", "from a"]


def test_annotation_removed_on_one_side_only_is_removed() -> None:
    base = make(annotations=[ann(T0, "first"), ann(T1, "second")])
    ours = make(annotations=[ann(T1, "second")], modified=T1)
    theirs = make(priority="H", annotations=[ann(T0, "first"), ann(T1, "second")], modified=T2)
    assert notes(merge(base, ours, theirs)) == ["second"]


def test_annotation_removal_is_kept_next_to_a_concurrent_addition() -> None:
    base = make(annotations=[ann(T0, "first"), ann(T0, "second")])
    ours = make(annotations=[ann(T0, "second")], modified=T1)
    theirs = make(annotations=[ann(T0, "first"), ann(T1, "more")], modified=T2)
    assert notes(merge(base, ours, theirs)) == ["more"]


# --- rule 6: the body -------------------------------------------------------------------------------------


def test_body_non_overlapping_edits_combine() -> None:
    base = make()
    ours = make(BASE_BODY.replace("line one", "line ONE"), modified=T1)
    theirs = make(BASE_BODY.replace("line five", "line FIVE") + "appendix\n", modified=T2)
    result = merge(base, ours, theirs)
    assert body_of(result) == "# Spec\n\nline ONE\nline two\nline three\nline four\nline FIVE\nappendix\n"
    assert result.clean and CONFLICT_TAG not in task_of(result).tags


def test_body_clash_keeps_both_versions_marked_and_tags_the_task() -> None:
    base = make()
    ours = make(BASE_BODY.replace("line three", "line 3 by a"), modified=T1)
    theirs = make(BASE_BODY.replace("line three", "line 3 by b"), modified=T2)
    result = merge(base, ours, theirs)
    body = body_of(result)
    assert body == (
        "# Spec\n\nline one\nline two\n"
        f"{CONFLICT_BEGIN}<!-- merge: version from agent-a -->\nline 3 by a\n"
        f"<!-- merge: version from agent-b -->\nline 3 by b\n{CONFLICT_END}"
        "line four\nline five\n"
    )
    assert "<<<<<<<" not in result.data.decode() and ">>>>>>>" not in result.data.decode()
    assert CONFLICT_TAG in task_of(result).tags
    assert [c.field for c in result.conflicts] == ["body"]


def test_body_clash_versions_are_ordered_by_text_not_by_side() -> None:
    base = make()
    ours = make(BASE_BODY.replace("line three", "zzz"), modified=T1)
    theirs = make(BASE_BODY.replace("line three", "aaa"), modified=T2)
    body = body_of(merge(base, ours, theirs))
    assert body.index("aaa") < body.index("zzz")
    assert body.index("version from agent-b") < body.index("version from agent-a")


def test_body_clash_is_resolved_by_remerging_with_either_side() -> None:
    base = make()
    ours = make(BASE_BODY.replace("line three", "line 3 by a"), modified=T1)
    theirs = make(BASE_BODY.replace("line three", "line 3 by b").replace("line one", "one"), modified=T2)
    merged = merge_task_bytes(base, ours, theirs).data
    assert merge_task_bytes(base, merged, ours).data == merged
    assert merge_task_bytes(base, theirs, merged).data == merged


def test_body_without_final_newline() -> None:
    base = make("a\nb\nc")
    ours = make("a\nb\nc ours", modified=T1)
    theirs = make("a\nb\nc theirs", modified=T2)
    body = body_of(merge(base, ours, theirs))
    assert body.endswith(f"c ours\n<!-- merge: version from agent-b -->\nc theirs\n{CONFLICT_END}")
    clean = body_of(merge(base, make("A\nb\nc", modified=T1), theirs))
    assert clean == "A\nb\nc theirs"


def test_body_doc_added_on_both_sides_differently_keeps_both() -> None:
    ours, theirs = make("doc by a\n"), make("doc by b\n", modified=T1)
    body = body_of(merge(None, ours, theirs))
    assert "doc by a\n" in body and "doc by b\n" in body


def test_labels_cannot_break_the_marker_comment() -> None:
    base = make()
    ours = make(BASE_BODY.replace("line two", "x"), modified=T1)
    theirs = make(BASE_BODY.replace("line two", "y"), modified=T2)
    result = merge_task_bytes(base, ours, theirs, ours_label="evil --> label\n", theirs_label="b")
    assert "<!-- merge: version from evil -› label -->\n" in body_of(result)


def test_three_way_lines_helper() -> None:
    base = split_lines("a\nb\nc\nd\n")
    merged, clean = three_way_lines(base, split_lines("A\nb\nc\nd\n"), split_lines("a\nb\nc\nD\n"))
    assert (merged, clean) == (split_lines("A\nb\nc\nD\n"), True)
    merged, clean = three_way_lines(base, split_lines("a\nX\nc\nd\n"), split_lines("a\nY\nc\nd\n"))
    assert not clean
    assert merged[0] == "a\n" and merged[1] == CONFLICT_BEGIN and merged[-2:] == ["c\n", "d\n"]


def test_three_way_lines_deletion_against_edit_is_a_clash() -> None:
    base = split_lines("a\nb\nc\n")
    merged, clean = three_way_lines(base, split_lines("a\nc\n"), split_lines("a\nB\nc\n"))
    assert not clean and "B\n" in merged


def test_split_lines_round_trips() -> None:
    for text in ("", "a", "a\n", "a\n\nb", "\n\n", "a\r\nb\n"):
        assert "".join(split_lines(text)) == text


# --- identity and bases ------------------------------------------------------------------------------------


def test_different_uuids_raise() -> None:
    other = make().replace(UUID.encode(), DEP1.encode())
    with pytest.raises(ValueError, match="different tasks"):
        merge_task_bytes(make(), make(priority="H"), other)


def test_base_of_another_task_counts_as_no_base() -> None:
    base = make(priority="H").replace(UUID.encode(), DEP1.encode())
    result = merge(base, make(tags=["a"]), make(tags=["b"], modified=T1))
    assert task_of(result).tags == ["a", "b"]


def test_empty_base_is_add_add() -> None:
    assert (
        merge(b"", make(tags=["a"]), make(tags=["b"], modified=T1)).data
        == merge(None, make(tags=["a"]), make(tags=["b"], modified=T1)).data
    )


def test_identical_sides_are_returned_byte_for_byte() -> None:
    hand_written = make().replace(b"id: 7", b"id:     7")
    assert merge_task_bytes(make(), hand_written, hand_written).data == hand_written


def test_side_equal_to_base_yields_the_other_side_unchanged() -> None:
    hand_written = make().replace(b"id: 7", b"id:   8")
    assert merge(make(), make(), hand_written).data == hand_written


def test_merge_tasks_on_parsed_files() -> None:
    base, ours, theirs = (
        taskfile.parse(make(priority=p, modified=t)) for p, t in (("M", T0), ("L", T1), ("H", T2))
    )
    merged, conflicts = merge_tasks(base, ours, theirs, ours_label="a", theirs_label="b")
    assert merged.task.priority == "H" and [c.field for c in conflicts] == ["priority"]


# --- rule 7: unparseable sides ----------------------------------------------------------------------------


CONFLICTED = (
    b"---\nuuid: " + UUID.encode() + b"\nid: 7\n<<<<<<< HEAD\ndescription: a\n=======\ndescription: b\n"
    b">>>>>>> other\nentry: 2026-11-24T08:00:00Z\nmodified: 2026-11-24T08:00:00Z\n---\n"
)
UNREADABLE = (
    b"---\nuuid: " + UUID.encode() + b"\nid: [7\ndescription: a\n"
    b"entry: 2026-11-24T08:00:00Z\nmodified: 2026-11-24T08:00:00Z\n---\n"
)


def test_one_unreadable_side_keeps_the_other_and_the_raw_text() -> None:
    good = make(priority="H", modified=T1)
    result = merge(make(), good, UNREADABLE)
    task, body = task_of(result), body_of(result)
    assert task.priority == "H" and CONFLICT_TAG in task.tags
    assert "\nid: [7\n" in body and "could not be read" in body and "agent-b" in body
    assert body.startswith(BASE_BODY)
    assert not result.failed and [c.field for c in result.conflicts] == ["file"]
    again = merge_task_bytes(make(), result.data, UNREADABLE, ours_label="agent-a", theirs_label="agent-b")
    assert again.data == result.data


def test_raw_text_with_backticks_gets_a_longer_fence() -> None:
    broken = b"---\nnot: [closed\n---\n```py\ncode\n```\n"
    body = body_of(merge(None, make(), broken))
    assert "\n````text\n" in body and body.endswith("````\n")


def test_undecodable_side_is_kept_as_text() -> None:
    result = merge(make(), make(modified=T1), b"\xff\xfe garbage")
    assert "garbage" in body_of(result)


def test_both_sides_unreadable_returns_ours_and_fails() -> None:
    other = b"---\n: : :\n---\n"
    result = merge_task_bytes(make(), UNREADABLE, other)
    assert result.failed and result.data == UNREADABLE and len(result.errors) == 2
    assert merge_task_bytes(None, other, other).failed


def test_unreadable_base_counts_as_no_base() -> None:
    result = merge(UNREADABLE, make(tags=["a"]), make(tags=["b"], modified=T1))
    assert task_of(result).tags == ["a", "b"]


# --- rule 8: git conflict markers (a text merge committed unfinished) ----------------------------------

# What `git merge-file -L HEAD -L base -L other` writes for two edits of one task (the default style).
TEXT_MERGED = (
    b"---\nuuid: " + UUID.encode() + b"\nid: 7\n"
    b"<<<<<<< HEAD\ndescription: Title A\nstatus: pending\npriority: H\n"
    b"=======\ndescription: Title B\nstatus: pending\nproject: web\n>>>>>>> other\n"
    b"tags:\n  - bug\n  - auth\nentry: 2026-11-24T08:00:00Z\n"
    b"<<<<<<< HEAD\nmodified: 2026-11-24T09:00:00Z\n---\n# Spec\n\nline one A\n"
    b"=======\nmodified: 2026-11-24T10:00:00Z\n---\n# Spec\n\nline one B\n>>>>>>> other\n"
    b"line two\n"
)
GIT_MARKER_LINES = ("<<<<<<<", "=======\n", ">>>>>>>", "|||||||")


def _no_git_markers(data: bytes) -> None:
    for line in data.decode().splitlines(keepends=True):
        assert not line.startswith(GIT_MARKER_LINES), f"git marker left in:\n{data.decode()}"


def test_git_conflict_markers_are_read_back_into_both_versions_and_merged() -> None:
    good = make(status="completed", modified=T1)
    result = merge(make(), good, TEXT_MERGED)
    _no_git_markers(result.data)
    task, body = task_of(result), body_of(result)
    assert (task.status, task.priority, task.project) == ("completed", "H", "web"), "every side's edit is kept"
    lost = "Title A" if task.description == "Title B" else "Title B"
    assert task.description in ("Title A", "Title B")
    assert any(n.description.startswith("merge: description") and lost in n.description for n in task.annotations)
    assert CONFLICT_BEGIN in body and "line one A\n" in body and "line one B\n" in body and "line two\n" in body
    assert CONFLICT_TAG in task.tags, "a committed text merge is flagged for a person to look at"
    # Merging again, with either input, changes nothing: no second copy, no growth.
    assert merge(make(), result.data, TEXT_MERGED).data == result.data
    assert merge(make(), result.data, good).data == result.data
    assert merge(make(), TEXT_MERGED, TEXT_MERGED.replace(b"line two", b"line 2")).data.count(b"line one A") == 1


def test_git_conflict_markers_with_the_base_version_merge_against_it() -> None:
    """``merge.conflictStyle=diff3`` marks the base too: a removal on one side then stays removed."""
    marked = make().replace(
        b"tags:\n  - bug\n  - auth\n",
        b"tags:\n<<<<<<< HEAD\n  - bug\n  - a\n||||||| base\n  - bug\n  - auth\n=======\n  - auth\n  - b\n"
        b">>>>>>> other\n",
    )
    assert marked != make()
    result = merge(make(), make(), marked)
    _no_git_markers(result.data)
    assert sorted(task_of(result).tags) == ["a", "b", CONFLICT_TAG]


def test_a_marked_base_is_read_back_too() -> None:
    good = make(priority="L", modified=T2)
    assert merge(TEXT_MERGED, TEXT_MERGED, good).data == good


def test_git_markers_inside_fenced_code_in_a_doc_are_content() -> None:
    doc = BASE_BODY + "\n```text\n<<<<<<< HEAD\nmine\n=======\nyours\n>>>>>>> other\n```\n"
    result = merge(make(body=doc), make(body=doc, priority="H", modified=T1), make(body=doc, project="p", modified=T2))
    assert result.clean and body_of(result) == doc
    task = task_of(result)
    assert (task.priority, task.project) == ("H", "p") and CONFLICT_TAG not in task.tags


def test_unfinished_git_markers_are_an_unreadable_side() -> None:
    """A ``<<<<<<<`` without its ``=======``/``>>>>>>>`` marks no versions: rule 7 keeps the raw text."""
    unfinished = TEXT_MERGED.split(b"=======\ndescription: Title B")[0] + b"\n---\n"
    result = merge(make(), make(priority="H", modified=T1), unfinished)
    assert [c.field for c in result.conflicts] == ["file"] and "could not be read" in body_of(result)


def test_output_that_would_not_parse_fails_the_merge_instead(monkeypatch: pytest.MonkeyPatch) -> None:
    base, ours, theirs = make(), make(priority="H", modified=T1), make(project="p", modified=T2)
    monkeypatch.setattr(taskfile, "dump", lambda task, body="": b"---\nbroken: [\n---\n")
    result = merge_task_bytes(base, ours, theirs)
    assert result.failed and result.data == ours and "does not parse" in result.errors[0]
