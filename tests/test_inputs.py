"""The loose-input parsers shared by the MCP server and the CLI."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backlog_git.errors import InvalidInput
from backlog_git.inputs import (
    list_filter,
    parse_depends,
    parse_extra,
    parse_fields,
    parse_int,
    parse_tag_edits,
    parse_tags,
    split_list,
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
