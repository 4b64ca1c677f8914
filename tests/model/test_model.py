"""The Task model's validation: every rule, with a message that says what is wrong and what is allowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError
from support import build_task

from backlog_git.model import (
    MAX_ATTRIBUTE_DEPTH,
    MAX_ATTRIBUTE_SIZE,
    MAX_DESCRIPTION,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    Annotation,
    Task,
    parse_timestamp,
    validate_extra_key,
)

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
T0 = "2026-01-31T09:00:00Z"


def make(**update: Any) -> Task:
    return build_task({"uuid": UUID, "id": 1, "description": "x", "entry": T0, "modified": T0}, **update)


def message(**update: Any) -> str:
    with pytest.raises(ValidationError) as info:
        make(**update)
    return str(info.value)


def first_error(**update: Any) -> str:
    """The first error's message only: str(ValidationError) would repr() the whole input."""
    with pytest.raises(ValidationError) as info:
        make(**update)
    return info.value.errors()[0]["msg"]


def test_minimal_task_defaults() -> None:
    task = make()
    assert task.status == "pending"
    assert task.tags == [] and task.depends == [] and task.annotations == []
    assert task.entry == datetime(2026, 1, 31, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("value", ["", "   ", "\n\t"])
def test_empty_description(value: str) -> None:
    assert "Description cannot be empty." in message(description=value)


def test_description_length_limit() -> None:
    assert make(description="x" * MAX_DESCRIPTION).description == "x" * MAX_DESCRIPTION
    text = message(description="x" * (MAX_DESCRIPTION + 1))
    assert "at most 500 characters" in text and "got 501" in text
    assert "task_doc_write" in text


def test_description_not_trimmed() -> None:
    assert make(description="  padded  ").description == "  padded  "


@pytest.mark.parametrize("value", ["has space", "a/b", "../x", "a..b", ".lead", "trail.", "ünï"])
def test_bad_project(value: str) -> None:
    text = message(project=value)
    assert "Invalid project" in text and "letters, digits" in text


@pytest.mark.parametrize("value", ["web", "web.frontend", "a_b-c", "X1"])
def test_good_project(value: str) -> None:
    assert make(project=value).project == value


def test_empty_project_and_priority_clear() -> None:
    task = make(project="", priority="")
    assert task.project is None and task.priority is None


@pytest.mark.parametrize("value", ["X", "h", "high", 1])
def test_bad_priority(value: Any) -> None:
    assert "Invalid priority" in message(priority=value) and "H, M, L" in message(priority=value)


@pytest.mark.parametrize("value", ["waiting", "done", "Pending", ""])
def test_bad_status(value: str) -> None:
    text = message(status=value)
    assert "Invalid status" in text and "pending, completed, deleted, recurring" in text


@pytest.mark.parametrize("value", ["not-a-uuid", "0F8FAD5B", "../../x", 7])
def test_bad_uuid(value: Any) -> None:
    assert "uuid must be a lowercase RFC 4122 uuid" in message(uuid=value)


def test_uuid_is_lowercased() -> None:
    assert make(uuid=UUID.upper()).uuid == UUID


@pytest.mark.parametrize("value", [0, -1, "x", True, 1.5])
def test_bad_id(value: Any) -> None:
    with pytest.raises(ValidationError):
        make(id=value)


def test_bad_depends() -> None:
    assert "Invalid dependency UUID: 'nope'" in message(depends=["nope"])
    assert "depends must be a list" in message(depends="x")
    assert make(depends=[UUID.upper(), UUID]).depends == [UUID]


@pytest.mark.parametrize("value", [["two words"], ["+plus"], ["-minus"], [""]])
def test_bad_tags(value: list[str]) -> None:
    assert "Invalid tag" in message(tags=value)


def test_tags_deduplicated_in_order() -> None:
    assert make(tags=["b", "a", "b"]).tags == ["b", "a"]
    assert "tags must be a list" in message(tags="a,b")


def test_bad_parent() -> None:
    assert "parent must be a task uuid" in message(parent="3")


@pytest.mark.parametrize("field", ["due", "wait", "scheduled", "until", "start", "end", "entry", "modified"])
def test_bad_timestamp(field: str) -> None:
    text = message(**{field: "someday soon"})
    assert field in text and "2026-01-31T09:00:00Z" in text


def test_timestamps_are_utc_whole_seconds() -> None:
    task = make(due=datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2))))
    assert task.due == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert parse_timestamp("2026-03-01T10:00:00") == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def test_extras_kept_and_key_validated() -> None:
    task = make(estimate=3, team="web")
    assert task.extras == {"estimate": 3, "team": "web"}
    validate_extra_key("ok_key.sub-1")
    for bad in ("has space", "../x", "a/b", "1abc", ""):
        with pytest.raises(ValueError, match="Invalid attribute name"):
            validate_extra_key(bad)


def test_annotation_rejects_unknown_keys_and_parses_entry() -> None:
    note = Annotation.model_validate({"entry": "2026-01-01T00:00:00+01:00", "description": "n"})
    assert note.entry == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    with pytest.raises(ValidationError):
        Annotation.model_validate({"entry": T0, "description": "n", "extra": 1})


def test_to_record_drops_empty_fields() -> None:
    record = make(project="", tags=[], annotations=[]).to_record()
    assert "project" not in record and "tags" not in record and "annotations" not in record
    assert record["entry"] == T0


def test_trailing_newline_never_passes_a_pattern() -> None:
    """``$`` matches before a final newline; "<uuid>\\n" must not become a uuid (or a file name)."""
    assert "uuid must be" in message(uuid=UUID + "\n")
    assert "Invalid project" in message(project="web\n")
    assert make(depends=[UUID + "\n"]).depends == [UUID]  # list items are trimmed
    with pytest.raises(ValueError, match="Invalid attribute name"):
        validate_extra_key("key\n")


# ------------------------------------------------------------------ limits: one task never makes reads slow
def nested(depth: int, leaf: Any = "x") -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def test_tag_count_limit() -> None:
    tags = [f"t{i}" for i in range(MAX_TAGS)]
    assert make(tags=tags + tags[:10]).tags == tags  # duplicates do not count
    text = message(tags=[f"t{i}" for i in range(20_000)])
    assert "Too many tags: 20000" in text and f"at most {MAX_TAGS}" in text and "project or an attribute" in text


def test_many_duplicate_tags_dedupe_in_order() -> None:
    """De-duplication is linear: 200,000 tags of which 500 differ keep their first-seen order."""
    tags = [f"t{i % 500}" for i in range(200_000)]
    assert make(tags=tags).tags == [f"t{i}" for i in range(500)]
    uuids = [f"{i:08x}-d9cb-469f-a165-70867728950e" for i in range(300)]
    assert make(depends=uuids * 300).depends == uuids


def test_tag_length_limit() -> None:
    assert make(tags=["a" * MAX_TAG_LENGTH]).tags == ["a" * MAX_TAG_LENGTH]
    text = message(tags=["a" * 100_000])
    assert f"at most {MAX_TAG_LENGTH} characters" in text and "got 100000" in text
    assert "a" * 100 not in text  # the message quotes a prefix, not the whole tag


@pytest.mark.parametrize("value", [[["a"]], [{"a": 1}]])
def test_tag_must_be_a_word_not_a_structure(value: Any) -> None:
    assert "a tag is one word, not a list or a mapping" in message(tags=value)


def test_attribute_depth_limit() -> None:
    assert make(deep=nested(MAX_ATTRIBUTE_DEPTH)).extras["deep"] == nested(MAX_ATTRIBUTE_DEPTH)
    assert make(deep={"a": nested(MAX_ATTRIBUTE_DEPTH - 1)}).extras["deep"]
    for value in (nested(MAX_ATTRIBUTE_DEPTH + 1), nested(260), {"k": nested(MAX_ATTRIBUTE_DEPTH)}):
        text = message(deep=value)
        assert "Attribute 'deep'" in text and f"more than {MAX_ATTRIBUTE_DEPTH} levels deep" in text
        assert "flatten" in text and "task_doc_write" in text


def test_attribute_too_deep_for_recursion_is_refused() -> None:
    """Far deeper than Python's recursion limit: refused, not a RecursionError."""
    assert "Attribute 'deep' is nested more than" in first_error(deep=nested(100_000))


def test_attribute_size_limit() -> None:
    assert make(note="x" * MAX_ATTRIBUTE_SIZE).extras["note"] == "x" * MAX_ATTRIBUTE_SIZE
    for value in ("x" * (MAX_ATTRIBUTE_SIZE + 1), [""] * (MAX_ATTRIBUTE_SIZE + 1),
                  {f"k{i}": i for i in range(MAX_ATTRIBUTE_SIZE)}, ["x" * 5000, "y" * 5001]):
        text = message(note=value)
        assert "Attribute 'note' is too large" in text and f"more than {MAX_ATTRIBUTE_SIZE} characters" in text
        assert "task_doc_write" in text


def test_attribute_shared_and_cyclic_values_stop_at_the_limit() -> None:
    """A value built from shared references (an alias bomb in memory) or a cycle is refused quickly."""
    bomb: Any = ["lol"] * 10
    for _ in range(9):
        bomb = [bomb] * 10  # 10**10 leaves if expanded
    assert "Attribute 'bomb' is too large" in first_error(bomb=bomb)
    cycle: list[Any] = []
    cycle.append(cycle)
    assert "Attribute 'cycle' is nested more than" in first_error(cycle=cycle)


def test_error_for_an_attribute_names_it_in_the_context() -> None:
    with pytest.raises(ValidationError) as info:
        make(ok=1, deep=nested(MAX_ATTRIBUTE_DEPTH + 1))
    error = info.value.errors()[0]
    assert error["ctx"] == {"attribute": "deep"}
    assert error["msg"].startswith("Attribute 'deep' is nested")
