"""Every filter example in the README's reference table, checked against a small store.

The README table is parsed, so an example added there without an expectation here fails, and an
expectation here without its README row fails too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from support import REPO_ROOT

from .conftest import make_task, select

README = REPO_ROOT / "README.md"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday (tests run with the process's zone)


def _tasks() -> list:
    blocker_uuid = "3a3a3a3a-0000-4000-8000-000000000003"
    return [
        make_task("Fix auth redirect", id=1, project="web", tags=["bug"], priority="H",
                  due=datetime(2026, 11, 24, tzinfo=UTC), annotations=["seen on the login page"]),
        make_task("Write api docs", id=2, project="api", tags=["docs"], depends=[blocker_uuid],
                  due=datetime(2026, 11, 28, 10, tzinfo=UTC)),
        make_task("Refactor login form", id=3, uuid=blocker_uuid, project="web.frontend", tags=["bug"],
                  start=datetime(2026, 11, 25, 9, tzinfo=UTC), agent="explorer"),
        make_task("Wait for design", id=4, project="web", wait=datetime(2026, 12, 1, tzinfo=UTC)),
        make_task("Old auth work", id=5, project="web", tags=["bug"], status="completed",
                  end=datetime(2026, 11, 22, tzinfo=UTC)),
        make_task("Plan sprint", id=6, priority="H", tags=["doc"], due=datetime(2026, 11, 26, tzinfo=UTC)),
        make_task("Deleted thing", id=7, project="api", status="deleted", end=datetime(2026, 10, 1, tzinfo=UTC)),
    ]


EXPECTED: dict[str, set[int]] = {
    "": {1, 2, 3, 6},
    "status:pending": {1, 2, 3, 6},
    "project:web +bug": {1, 3, 5},
    "project:web.frontend": {3},
    "priority:H due.before:friday": {1, 6},
    "+OVERDUE": {1},
    "+ACTIVE": {3},
    "+BLOCKED": {2},
    "+BLOCKING": {3},
    "+READY": {1, 3, 6},
    "+WAITING": {4},
    "agent:explorer": {3},
    "( project:web or project:api )": {1, 2, 3, 4, 5, 7},
    "not +ACTIVE": {1, 2, 4, 5, 6, 7},
    "description.contains:auth": {1, 5},
    "login": {1, 3},
    "project:web login": {1, 3},
    "1,3": {1, 3},
    "due.before:eow": {1, 2, 6},
    "end.after:now-7d": {5},
    "tags.hasnt:bug": {2, 4, 6, 7},
    "project.none:": {6},
    "has_doc:true": {6},
}


def readme_examples() -> list[str]:
    section = README.read_text(encoding="utf-8").split("## Filter language", 1)[1].split("\n## ", 1)[0]
    examples = [match.group(1) for match in re.finditer(r"^\| `(.*?)` \|", section, re.MULTILINE)]
    return ["" if example == '""' else example for example in examples]


def test_the_readme_and_this_test_list_the_same_examples() -> None:
    assert readme_examples() == list(EXPECTED)


@pytest.mark.parametrize("text", list(EXPECTED))
def test_readme_example(text: str) -> None:
    tasks = _tasks()
    by_description = {t.description: t.id for t in tasks}
    matched = select(text, tasks, NOW, has_doc={tasks[5].uuid})
    assert {by_description[d] for d in matched} == EXPECTED[text]
