"""The on-disk format: deterministic, byte-stable, one changed field = one changed line, safe YAML."""

from __future__ import annotations

import difflib
import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from support import build_task

from backlog_git.model import PROJECT_RE, Annotation, Task
from backlog_git.taskfile import FIELD_ORDER, TaskFileError, dump, parse

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
T0 = datetime(2026, 1, 31, 9, 0, 0, tzinfo=UTC)

# ------------------------------------------------------------------ strategies
text_chars = st.characters(blacklist_categories=("Cs",))
timestamps = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))
descriptions = st.text(text_chars, min_size=1, max_size=120).filter(lambda s: s.strip())
words = st.text(string.ascii_letters + string.digits + "_.:/éü0", min_size=1, max_size=12).filter(
    lambda s: not s.startswith(("+", "-"))
)
free_text = st.text(text_chars, min_size=1, max_size=40).filter(lambda s: s not in ("",))
uuids = st.uuids().map(str)
extra_keys = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_.-]{0,10}\Z").filter(lambda k: k not in Task.model_fields)
extra_values = st.one_of(
    st.text(text_chars, max_size=30), st.integers(-(10**12), 10**12), st.booleans()
)
annotations = st.builds(Annotation, entry=timestamps, description=st.text(text_chars, max_size=60))


@st.composite
def tasks(draw: st.DrawFn) -> Task:
    data: dict[str, Any] = {
        "uuid": draw(uuids),
        "id": draw(st.integers(1, 10**6)),
        "description": draw(descriptions),
        "status": draw(st.sampled_from(["pending", "completed", "deleted", "recurring"])),
        "project": draw(st.none() | st.from_regex(PROJECT_RE, fullmatch=True)),
        "priority": draw(st.sampled_from([None, "H", "M", "L"])),
        "tags": draw(st.lists(words, max_size=4, unique=True)),
        "depends": draw(st.lists(uuids, max_size=3, unique=True)),
        "parent": draw(st.none() | uuids),
        "agent": draw(st.none() | free_text),
        "recur": draw(st.none() | free_text),
        "entry": draw(timestamps),
        "modified": draw(timestamps),
        "annotations": draw(st.lists(annotations, max_size=3)),
    }
    for name in ("due", "wait", "scheduled", "until", "start", "end"):
        data[name] = draw(st.none() | timestamps)
    data.update(draw(st.dictionaries(extra_keys, extra_values, max_size=3)))
    return Task.model_validate(data)


bodies = st.one_of(st.just(""), st.text(text_chars, max_size=200))


def fields_of(task: Task) -> dict[str, Any]:
    return {**task.model_dump(), **task.extras}


TASK_FIELDS: dict[str, Any] = {"uuid": UUID, "id": 12, "description": "Fix login redirect", "entry": T0, "modified": T0}


def base_task(**update: Any) -> Task:
    return build_task(TASK_FIELDS, **update)


# ------------------------------------------------------------------ round trip
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(task=tasks(), body=bodies)
def test_round_trip_is_byte_stable(task: Task, body: str) -> None:
    first = dump(task, body)
    parsed = parse(first, "x.md")
    assert fields_of(parsed.task) == fields_of(task)
    assert parsed.body == body
    assert dump(parsed.task, parsed.body) == first


@settings(max_examples=200, deadline=None)
@given(task=tasks(), data=st.data())
def test_one_changed_field_is_one_changed_line(task: Task, data: st.DataObject) -> None:
    field, value = data.draw(
        st.one_of(
            st.tuples(st.just("description"), st.text(string.printable.strip(), min_size=1, max_size=40)),
            st.tuples(st.just("project"), st.none() | st.from_regex(PROJECT_RE, fullmatch=True)),
            st.tuples(st.just("priority"), st.sampled_from([None, "H", "M", "L"])),
            st.tuples(st.just("status"), st.sampled_from(["pending", "completed", "deleted", "recurring"])),
            st.tuples(st.just("due"), st.none() | timestamps),
            st.tuples(st.just("agent"), st.none() | st.text(string.ascii_letters, min_size=1, max_size=9)),
            st.tuples(st.just("end"), st.none() | timestamps),
        )
    )
    # A multi-line value spans several lines by nature; the claim is about one-line values.
    assume("\n" not in str(getattr(task, field)))
    assume_changed = getattr(task, field) != value
    changed = task.model_copy(update={field: value, "modified": task.modified + timedelta(seconds=1)})
    before = dump(task).decode().splitlines()
    after = dump(changed).decode().splitlines()
    diff = [line for line in difflib.ndiff(before, after) if line[:1] in "+-"]
    removed = [line[2:] for line in diff if line[0] == "-"]
    added = [line[2:] for line in diff if line[0] == "+"]
    other = [line for line in removed + added if not line.startswith(("modified:", f"{field}:"))]
    assert other == []
    assert len([line for line in removed if line.startswith(f"{field}:")]) <= 1
    assert len([line for line in added if line.startswith(f"{field}:")]) <= 1
    assert len([line for line in added if line.startswith("modified:")]) == 1
    if assume_changed:
        assert any(line.startswith(f"{field}:") for line in removed + added)


def test_layout_is_fixed_order_block_lists_utc() -> None:
    task = base_task(
        tags=["bug", "web"],
        project="web.frontend",
        priority="H",
        due=datetime(2026, 2, 1, 10, 0, tzinfo=timezone(timedelta(hours=2))),
        annotations=[Annotation(entry=T0, description="first note")],
        zeta="z",
        alpha=1,
    )
    text = dump(task, "Spec body\n").decode()
    assert text == (
        "---\n"
        f"uuid: {UUID}\n"
        "id: 12\n"
        "description: Fix login redirect\n"
        "status: pending\n"
        "project: web.frontend\n"
        "priority: H\n"
        "tags:\n"
        "  - bug\n"
        "  - web\n"
        "due: 2026-02-01T08:00:00Z\n"
        "entry: 2026-01-31T09:00:00Z\n"
        "modified: 2026-01-31T09:00:00Z\n"
        "annotations:\n"
        "  - entry: 2026-01-31T09:00:00Z\n"
        "    description: first note\n"
        "alpha: 1\n"
        "zeta: z\n"
        "---\n"
        "Spec body\n"
    )


def test_known_fields_precede_extras_in_field_order() -> None:
    task = base_task(tags=["a"], depends=[UUID], parent=UUID, agent="x", recur="weekly", due=T0, start=T0,
                     end=T0, wait=T0, scheduled=T0, until=T0, project="p", priority="L", aaa="first extra")
    keys = [line.split(":", 1)[0] for line in dump(task).decode().splitlines()[1:-1] if not line.startswith(" ")]
    known = [k for k in keys if k in FIELD_ORDER]
    assert known == [k for k in FIELD_ORDER if k in known]
    assert keys[-1] == "aaa"


def test_no_line_wrapping_for_long_text() -> None:
    long = "word " * 99 + "end"
    text = dump(base_task(description=long)).decode()
    assert f"description: {long}\n" in text


def test_multiline_description_round_trips() -> None:
    task = base_task(description="line one\nline two\n")
    raw = dump(task)
    assert parse(raw).task.description == "line one\nline two\n"
    assert dump(parse(raw).task) == raw


@pytest.mark.parametrize(
    "value",
    ["089", "0123", "1.5e3", "2e5", "true", "no", "yes", "null", "~", "1_000", "0x1F", "+7", "-3", ".5", "12"],
)
def test_scalar_looking_text_stays_text(value: str) -> None:
    """Strings that YAML could read as numbers, booleans or null keep their exact text."""
    task = base_task(description=value, tags=[value.lstrip("+-") or "x"], agent=value, recur=value, note=value)
    raw = dump(task)
    back = parse(raw).task
    assert back.description == value
    assert back.agent == value
    assert back.recur == value
    assert back.extras["note"] == value
    assert dump(back) == raw


@pytest.mark.parametrize("value", ["089", "1.5e3", "007"])
def test_numeric_looking_project_round_trips(value: str) -> None:
    raw = dump(base_task(project=value))
    assert parse(raw).task.project == value
    assert dump(parse(raw).task) == raw


def test_hand_written_no_is_text_not_false() -> None:
    raw = f"---\nuuid: {UUID}\nid: 1\ndescription: no\nproject: off\nentry: 2026-01-01T00:00:00Z\n" \
          "modified: 2026-01-01T00:00:00Z\n---\n"
    task = parse(raw).task
    assert task.description == "no"
    assert task.project == "off"


def test_hand_written_leading_zero_number_is_decimal_or_reported() -> None:
    """`id: 08` is not valid octal; it must be read as 8 or reported as a TaskFileError, never crash."""
    raw = f"---\nuuid: {UUID}\nid: 08\ndescription: x\nentry: 2026-01-01T00:00:00Z\n" \
          "modified: 2026-01-01T00:00:00Z\n---\n"
    try:
        task = parse(raw, "p.md").task
    except TaskFileError:
        return
    assert task.id == 8


def test_timestamps_are_stored_in_utc() -> None:
    raw = f"---\nuuid: {UUID}\nid: 1\ndescription: x\ndue: 2026-03-01T10:00:00+02:00\n" \
          "entry: 2026-01-01\nmodified: 2026-01-01T00:00:00Z\n---\n"
    task = parse(raw).task
    assert task.due == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    out = dump(task).decode()
    assert "due: 2026-03-01T08:00:00Z\n" in out
    assert "entry: 2026-01-01T00:00:00Z\n" in out


def test_body_is_kept_byte_for_byte() -> None:
    body = "# Spec\n\n---\nnot front matter\r\n  indented\n\n\n"
    raw = dump(base_task(), body)
    parsed = parse(raw)
    assert parsed.body == body
    assert dump(parsed.task, parsed.body) == raw


def test_unknown_keys_are_kept() -> None:
    raw = (f"---\nuuid: {UUID}\nid: 1\ndescription: x\nstatus: pending\nentry: 2026-01-01T00:00:00Z\n"
           "modified: 2026-01-01T00:00:00Z\nestimate: 3\nowner_team: web\n---\n")
    task = parse(raw).task
    assert task.extras == {"estimate": 3, "owner_team": "web"}
    assert dump(task).decode() == raw


# ------------------------------------------------------------------ errors: path, line, reason
def _err(raw: str | bytes) -> TaskFileError:
    with pytest.raises(TaskFileError) as info:
        parse(raw, ".backlog/tasks/0f/x.md")
    return info.value


def test_error_missing_opening_fence() -> None:
    err = _err("uuid: x\n")
    assert err.path == ".backlog/tasks/0f/x.md"
    assert err.line == 1
    assert "---" in err.reason


def test_error_unclosed_front_matter() -> None:
    err = _err(f"---\nuuid: {UUID}\nid: 1\n")
    assert "never closed" in err.reason


def test_error_bad_yaml_names_the_line() -> None:
    err = _err(f"---\nuuid: {UUID}\nid: 1\ndescription: [unclosed\nentry: x\n---\n")
    assert err.reason.startswith("invalid YAML")
    assert err.line is not None and err.line >= 4
    assert str(err).startswith(".backlog/tasks/0f/x.md:")


def test_error_invalid_field_names_field_and_line() -> None:
    err = _err(f"---\nuuid: {UUID}\nid: 1\ndescription: x\npriority: Z\nentry: 2026-01-01T00:00:00Z\n"
               "modified: 2026-01-01T00:00:00Z\n---\n")
    assert err.line == 5
    assert "priority" in err.reason and "H, M, L" in err.reason
    assert str(err).startswith(".backlog/tasks/0f/x.md:5: ")


def test_error_git_conflict_markers_name_the_marker_line_and_the_fix() -> None:
    """A text merge committed unfinished: the first marker's line, and how to finish the merge by hand."""
    err = _err(f"---\nuuid: {UUID}\nid: 1\n<<<<<<< HEAD\ndescription: a\n=======\ndescription: b\n"
               ">>>>>>> other\nentry: 2026-01-01T00:00:00Z\nmodified: 2026-01-01T00:00:00Z\n---\n")
    assert err.line == 4
    assert "git conflict marker '<<<<<<< HEAD'" in err.reason
    assert "delete the '<<<<<<<', '=======' and '>>>>>>>' lines" in err.reason
    assert str(err).startswith(".backlog/tasks/0f/x.md:4: ")


def test_git_conflict_markers_in_the_body_are_text() -> None:
    """The body is the doc, kept byte for byte (merging is where markers are read back, see merge rule 8)."""
    body = "<<<<<<< HEAD\nmine\n=======\nyours\n>>>>>>> other\n"
    task = Task(uuid=UUID, id=1, description="x", entry=T0, modified=T0)
    assert parse(dump(task, body)).body == body


def test_error_missing_required_field() -> None:
    err = _err(f"---\nuuid: {UUID}\nid: 1\nentry: 2026-01-01T00:00:00Z\nmodified: 2026-01-01T00:00:00Z\n---\n")
    assert "description" in err.reason and "missing" in err.reason


def test_error_bad_date() -> None:
    err = _err(f"---\nuuid: {UUID}\nid: 1\ndescription: x\nentry: 2026-01-01T00:00:00Z\n"
               "modified: 2026-01-01T00:00:00Z\ndue: next tuesday-ish\n---\n")
    assert err.line == 7
    assert "due" in err.reason


def test_error_not_utf8() -> None:
    err = _err(b"---\nuuid: \xff\xfe\n---\n")
    assert "UTF-8" in err.reason


def test_error_front_matter_not_a_mapping() -> None:
    err = _err("---\n- a\n- b\n---\n")
    assert "mapping" in err.reason


def test_yaml_is_loaded_safely() -> None:
    err = _err(f"---\nuuid: {UUID}\nid: 1\ndescription: !!python/object/apply:os.system ['echo hi']\n---\n")
    assert "invalid YAML" in err.reason


def test_error_message_says_how_to_fix() -> None:
    err = _err("nope")
    assert "git checkout --" in str(err)


def test_shared_values_are_written_in_full_never_as_yaml_aliases() -> None:
    """`done` sets end and modified to the same instant (often the same object): no `&id001`/`*id001`."""
    tags = ["a", "b"]
    task = base_task(status="completed", shared_list=tags).model_copy(
        update={"end": T0, "modified": T0, "start": T0, "tags": tags}
    )
    text = dump(task).decode()
    assert "&" not in text and "*" not in text
    assert "end: 2026-01-31T09:00:00Z\n" in text and "modified: 2026-01-31T09:00:00Z\n" in text
    assert dump(parse(text).task) == text.encode()
