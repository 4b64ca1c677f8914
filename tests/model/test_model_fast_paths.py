"""The two shortcuts around pydantic that a cold start takes give exactly what pydantic gives:
``to_record`` made directly equals (key order included) the JSON dump, and a task rebuilt from the parse
cache's plain values (``task_state`` → marshal → ``task_from_state``) equals the validated one."""

from __future__ import annotations

import json
import marshal
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic_core import TzInfo

from backlog_git.model import TIMESTAMP_FORMAT, Task, format_timestamp, task_from_state, task_state
from backlog_git.taskfile import parse

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
HEAD = f"---\nuuid: {UUID}\nid: 7\ndescription: a task\n"
TAIL = "entry: 2026-01-02T03:04:05Z\nmodified: 2026-01-03T03:04:05Z\n---\n"

FILES = {
    "minimal": "",
    "every field": (
        "status: pending\nproject: web.ui\npriority: H\ntags:\n  - bug\n  - ui\ndue: 2026-02-01T00:00:00Z\n"
        "wait: 2026-01-20T00:00:00Z\nscheduled: 2026-01-25T00:00:00Z\nrecur: weekly\nuntil: 2027-01-01T00:00:00Z\n"
        f"depends:\n  - {UUID.replace('0f', 'aa', 1)}\nparent: {UUID.replace('0f', 'bb', 1)}\nagent: claude\n"
        "lease: 2026-01-02T05:00:00Z\nstart: 2026-01-02T04:00:00Z\n"
        "annotations:\n  - entry: 2026-01-02T03:04:05Z\n    description: first\n"
        "  - entry: 1969-07-20T20:17:40Z\n    description: ''\n"
    ),
    "completed": "status: completed\nend: 2026-01-03T03:04:05Z\n",
    "plain extras": "estimate: 3\nratio: 0.25\nflag: true\nnote: some text\nempty: ''\nnumbers:\n  - 1\n  - 2.5\n",
    "nested extras": "tree:\n  a:\n    - x\n    - {b: 1, c: [true, false]}\n  d: {}\nlist_of_maps:\n  - k: v\n",
    "none extras": "gone: null\nkept:\n  - null\n  - {x: null}\n",
    "int keys": "by_number:\n  1: one\n  2: two\n",
    "infinite float": "big: !!float .inf\n",
    "binary": "blob: !!binary aGVsbG8=\n",
    "date extra": "when: !!timestamp 2026-01-01\n",
    "set extra": "bag: !!set {a, b}\n",
    "pairs": "ordered: !!omap [{a: 1}, {b: 2}]\n",
    "unicode": "description_extra: \"caf\\u00e9 \\U0001F600\"\n",
    "lease with an offset": "agent: a\nlease: 2026-01-02T05:00:00+02:00\n",
    "lease with a fraction": "agent: a\nlease: 2026-01-02T05:00:00.5Z\n",
    "lease without a zone": "agent: a\nlease: 2026-01-02T05:00:00\n",
}
NOT_CACHED = {
    "binary", "date extra", "set extra", "lease with an offset", "lease with a fraction", "lease without a zone",
}
"""Values the parse cache does not hold exactly: such a task is parsed every time (test_view_cache)."""


def task_of(name: str) -> Task:
    text = HEAD + FILES[name] + TAIL
    return parse(text.encode()).task


def reference_record(task: Task) -> dict[str, Any]:
    data = task.model_dump(mode="json", exclude_none=True)
    for key in ("tags", "depends", "annotations"):
        if not data.get(key):
            data.pop(key, None)
    return data


@pytest.mark.parametrize("name", FILES)
def test_a_record_made_directly_is_the_json_dump(name: str) -> None:
    task = task_of(name)
    record = task.to_record()
    expected = reference_record(task)
    assert record == expected
    assert json.dumps(record) == json.dumps(expected)  # the same keys in the same order
    for value in record.values():  # nothing shared with the task: a caller may change its copy
        if isinstance(value, (list, dict)):
            assert all(value is not held for held in (*task.__dict__.values(), *(task.model_extra or {}).values()))


@pytest.mark.parametrize("name", FILES)
def test_a_task_rebuilt_from_its_cached_form_equals_the_validated_one(name: str) -> None:
    task = task_of(name)
    state = task_state(task)
    if name in NOT_CACHED:
        assert state is None
        return
    assert state is not None
    shared: dict[Any, Any] = {}
    rebuilt = task_from_state(marshal.loads(marshal.dumps(state)), shared)
    assert rebuilt == task
    assert list(rebuilt.__dict__.items()) == list(task.__dict__.items())
    assert rebuilt.__pydantic_extra__ == task.__pydantic_extra__
    assert rebuilt.__pydantic_fields_set__ == task.__pydantic_fields_set__
    assert rebuilt.__pydantic_private__ is None
    assert rebuilt.to_record() == task.to_record()
    assert rebuilt.model_dump() == task.model_dump()
    assert json.dumps(rebuilt.to_record()) == json.dumps(task.to_record())
    assert [type(a) for a in rebuilt.annotations] == [type(a) for a in task.annotations]
    for moment in (rebuilt.entry, rebuilt.modified):
        assert moment.tzinfo is task.entry.tzinfo
    copy = rebuilt.model_copy(update={"description": "changed"})
    assert copy.description == "changed" and rebuilt.description == task.description
    again = task_from_state(marshal.loads(marshal.dumps(state)), shared)
    assert again == task and again.tags is not rebuilt.tags  # mutable values are never shared


def test_a_state_that_does_not_describe_a_task_is_refused() -> None:
    state = task_state(task_of("every field"))
    assert state is not None
    values, dates, extra, keys = state
    with pytest.raises(ValueError):
        task_from_state(({**values, "surplus": 1}, dates, extra, keys))
    with pytest.raises(ValueError):
        task_from_state(({k: v for k, v in values.items() if k != "uuid"}, dates, extra, keys))
    with pytest.raises(ValueError):
        task_from_state((values, dates, None, keys))


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 4, 22, 8, 20, tzinfo=UTC),
        datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC),
        datetime(2026, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))),
        datetime(2026, 1, 1, 1, 30, tzinfo=TzInfo(0)),
    ],
)
def test_a_timestamp_is_written_as_strftime_writes_it(moment: datetime) -> None:
    assert format_timestamp(moment) == moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)
