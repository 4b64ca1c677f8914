"""The loose-input parsers shared by the MCP server and the CLI."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backlog_git.errors import InvalidInput
from backlog_git.inputs import (
    archive_segment,
    list_filter,
    logged_task,
    new_task,
    parse_assignments,
    parse_depends,
    parse_extra,
    parse_fields,
    parse_import,
    parse_int,
    parse_optional,
    parse_priority,
    parse_ref,
    parse_tag_edits,
    parse_tags,
    split_list,
    task_edit,
    to_text,
)


@pytest.mark.parametrize(
    ("given_", "expected"),
    [
        ("bug,urgent", ["bug", "urgent"]),
        (" bug , urgent ,, ", ["bug", "urgent"]),
        ('["alpha", "beta"]', ["alpha", "beta"]),
        ("[alpha, beta]", ["alpha", "beta"]),  # brackets without JSON quotes: read as a comma list
        (["x", "y"], ["x", "y"]),
        ("bug,bug", ["bug"]),
        ("+bug", ["bug"]),
        ("", []),
        (None, []),
        ("[]", []),
    ],
)
def test_parse_tags(given_: object, expected: list[str]) -> None:
    assert parse_tags(given_) == expected  # type: ignore[arg-type]


def test_parse_tags_refuses_objects() -> None:
    with pytest.raises(InvalidInput):
        parse_tags('[{"a": 1}]')
    with pytest.raises(InvalidInput):
        parse_tags('{"a": 1}')


@pytest.mark.parametrize(
    ("given_", "add", "remove"),
    [
        ("+frontend,+urgent", ["frontend", "urgent"], []),
        ("-old,+new", ["new"], ["old"]),
        ("frontend,urgent", ["frontend", "urgent"], []),
        ('["+a", "-b"]', ["a"], ["b"]),
        ("+a,-a", [], ["a"]),  # the last edit of a tag wins
        ("-a,+a", ["a"], []),
        ("+,-", [], []),
        (None, [], []),
    ],
)
def test_parse_tag_edits(given_: str | None, add: list[str], remove: list[str]) -> None:
    assert parse_tag_edits(given_) == (add, remove)


def test_parse_depends() -> None:
    uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert parse_depends(f"{uuid}, 12") == [uuid, "12"]
    assert parse_depends(f'["{uuid}"]') == [uuid]
    assert parse_depends("") == []


def test_parse_fields() -> None:
    assert parse_fields("id, description,status,id") == ["id", "description", "status"]
    assert parse_fields(["id", "due"]) == ["id", "due"]
    assert parse_fields("") is None
    assert parse_fields(None) is None
    with pytest.raises(InvalidInput, match="not a field name"):
        parse_fields("id,two words")


@pytest.mark.parametrize(
    ("given_", "expected"),
    [("90", 90), (" 7 ", 7), (0, 0), (30, 30), (5.0, 5), ("-1", -1), ("+3", 3), ("", None), (None, None)],
)
def test_parse_int(given_: object, expected: int | None) -> None:
    assert parse_int(given_, "n") == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("given_", ["abc", "1.5", 1.5, "12abc", True, "1e3"])
def test_parse_int_refuses(given_: object) -> None:
    with pytest.raises(InvalidInput, match="older_than_days must be a whole number"):
        parse_int(given_, "older_than_days")  # type: ignore[arg-type]


def test_parse_int_minimum() -> None:
    with pytest.raises(InvalidInput, match="at least 0"):
        parse_int("-1", "limit", minimum=0)


def test_list_filter_defaults_to_pending() -> None:
    assert list_filter("") == "status:pending"
    assert list_filter("   ") == "status:pending"
    assert list_filter(None) == "status:pending"
    assert list_filter(" +bug ") == "+bug"


def test_to_text() -> None:
    assert to_text(90) == "90"
    assert to_text(2.5) == "2.5"
    assert to_text(True) == "true"
    assert to_text(["a", "b"]) == '["a", "b"]'
    assert to_text("x") == "x"
    assert to_text(None) is None
    assert to_text({"a": 1}) == {"a": 1}


def test_extra_tags_fields_and_attributes() -> None:
    extra = parse_extra("+experimental -old scheduled:tomorrow estimate:3h note:'two words' due:")
    assert extra.add_tags == ["experimental"]
    assert extra.remove_tags == ["old"]
    assert extra.fields == {"scheduled": "tomorrow", "due": ""}
    assert extra.attributes == {"estimate": "3h", "note": "two words"}
    assert extra.ignored == []
    assert extra.note() == ""


def test_extra_values_may_contain_colons() -> None:
    assert parse_extra("url:https://example.invalid/x").attributes == {"url": "https://example.invalid/x"}
    assert parse_extra("due:2026-01-01T10:00:00Z").fields == {"due": "2026-01-01T10:00:00Z"}


def test_extra_reports_bare_words() -> None:
    extra = parse_extra("+ok please hurry")
    assert extra.add_tags == ["ok"]
    assert extra.ignored == ["please", "hurry"]
    assert "Ignored in extra: 'please', 'hurry'" in extra.note()


@pytest.mark.parametrize("token", ["status:completed", "uuid:x", "id:3", "tags:a", "annotations:x", "end:now"])
def test_extra_refuses_fields_owned_by_other_tools(token: str) -> None:
    with pytest.raises(InvalidInput, match="cannot be set this way"):
        parse_extra(token)


def test_extra_refuses_bad_attribute_names() -> None:
    with pytest.raises(InvalidInput, match="not a valid attribute name"):
        parse_extra("9lives:yes")


def test_extra_unbalanced_quote_falls_back_to_words() -> None:
    assert parse_extra("note:'open +tag").add_tags == ["tag"]


def test_extra_empty() -> None:
    extra = parse_extra(None)
    assert (extra.add_tags, extra.remove_tags, extra.fields, extra.attributes) == ([], [], {}, {})


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=8).filter(
    lambda w: not w.startswith(("-", "+"))
)


@given(st.lists(words, max_size=6))
def test_split_list_round_trips_comma_and_json(items: list[str]) -> None:
    import json

    assert split_list(",".join(items)) == items
    assert split_list(json.dumps(items)) == items
    assert split_list(items) == items


# ------------------------------------------------------------------ ids, sort, priority, import, archive
def test_parse_ref_sort_and_priority() -> None:
    assert parse_ref(" 12 ") == "12"
    assert parse_ref(12) == "12"
    assert parse_ref(None) == ""
    assert parse_optional(" due+ ") == "due+"
    assert parse_optional("  ") is None
    assert parse_optional(None) is None
    assert parse_priority(" h ") == "H"
    assert parse_priority("") == ""
    assert parse_priority(None) is None
    assert parse_priority("urgent") == "URGENT"  # refused by the caller's enum / choices


def test_parse_import() -> None:
    assert parse_import('[{"description": "x"}]') == [{"description": "x"}]
    assert parse_import([{"description": "x"}]) == [{"description": "x"}]
    assert parse_import("[]") == []
    with pytest.raises(InvalidInput, match="tasks must be a JSON array of task objects: Expecting"):
        parse_import("[{")
    with pytest.raises(InvalidInput, match=r"JSON array of task objects, e\.g\."):
        parse_import('{"description": "x"}')


@pytest.mark.parametrize(
    ("given_", "expected"),
    [
        ("2025-Q1", "2025-Q1"),
        (" 2025-Q3 ", "2025-Q3"),
        ("archive/2025-Q1", "2025-Q1"),
        ("archive-2025-Q2", "2025-Q2"),
        ("archive/archive-2025-Q4.json", "2025-Q4"),
        ("2025-Q4.json", "2025-Q4"),
    ],
)
def test_archive_segment_aliases(given_: str, expected: str) -> None:
    assert archive_segment(given_) == expected


@pytest.mark.parametrize("bad", ["../../etc", "2020-Q5", "archive/../../x", "2020-Q1/../../../etc", "", "Q1-2020"])
def test_archive_segment_refuses(bad: str) -> None:
    with pytest.raises(InvalidInput, match=f"Invalid archive segment name '{re.escape(bad.strip())}'. Use a quarter"):
        archive_segment(bad)


def test_parse_assignments() -> None:
    assert parse_assignments(["estimate=3h", " size =L", "note=a=b", "empty="]) == {
        "estimate": "3h", "size": "L", "note": "a=b", "empty": ""
    }  # fmt: skip
    with pytest.raises(InvalidInput, match=r"--attr takes KEY=VALUE, got 'novalue'\."):
        parse_assignments(["novalue"])


# ------------------------------------------------------------------ explicit parameters and extra
def test_new_task_explicit_wins_over_extra_and_empty_means_absent() -> None:
    request = new_task(
        "Title",
        {"project": "web", "priority": "", "due": None, "depends": "1, 2"},
        tags="+bug,ui",
        extra="project:api priority:H due:friday +ui +new -old estimate:3h size: please",
        attributes={"owner": "ann", "estimate": "5h"},
    )
    assert request.args == ("Title",)
    assert request.kwargs == {
        "project": "web", "priority": "H", "due": "friday", "wait": None, "scheduled": None, "recur": None,
        "until": None, "agent": None, "depends": ["1", "2"], "tags": ["bug", "ui", "new"],
        "attributes": {"estimate": "5h", "owner": "ann"},
    }  # fmt: skip
    assert request.note == " Ignored in extra: 'please' (use +tag, -tag or key:value)."


def test_new_task_description_from_extra_only_when_none_is_given() -> None:
    assert new_task("", {}, extra="description:'From extra'").args == ("From extra",)
    assert new_task("Given", {}, extra="description:Other").args == ("Given",)
    assert new_task("", {}).args == ("",)  # the engine says a description cannot be empty
    assert new_task("x", {}).kwargs["attributes"] is None


def test_new_task_refuses_what_the_engine_would_misread() -> None:
    with pytest.raises(InvalidInput, match="cannot be set this way"):
        new_task("x", {}, extra="status:done")
    with pytest.raises(InvalidInput, match="tags: each item must be a word"):
        new_task("x", {}, tags='[{"a": 1}]')


def test_logged_task_names_what_a_finished_task_does_not_keep() -> None:
    request = logged_task("Done", {"project": None, "priority": "l", "agent": "me"}, "x", "due:friday +y")
    assert request.args == ("Done",)
    assert request.kwargs == {"project": None, "priority": "l", "agent": "me", "tags": ["x", "y"], "attributes": None}
    assert "'due:friday'" in request.note


def test_task_edit_omitted_untouched_empty_clears_explicit_wins() -> None:
    request = task_edit(
        {"description": "", "project": "", "due": None, "depends": "1,2", "agent": "bob"},
        tags="+a,-b",
        extra="agent:ann due:friday -a +c estimate: wait:",
        attributes={"size": "L"},
    )
    assert request.args == ()
    assert request.kwargs == {
        "changes": {"size": "L", "estimate": "", "agent": "bob", "due": "friday", "wait": "", "project": "",
                    "depends": ["1", "2"]},
        "add_tags": ["a", "c"],
        "remove_tags": ["b"],
    }  # fmt: skip
    assert task_edit({"depends": ""}).kwargs["changes"] == {"depends": ""}
