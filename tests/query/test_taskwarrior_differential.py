"""Differential test: the same filters through real taskwarrior 2.6 and through backlog_git.query.

A few hundred generated tasks with every field kind are imported into a throw-away taskwarrior data
directory; the tasks are then read back from ``task export`` (so both sides see byte-identical data,
including taskwarrior's ids) and every filter of the shared grammar must select the same uuids.
Where the two deliberately differ (backlog_git/query/DIFFERENCES.md) the filter is not in the list.

taskwarrior must be installed (Debian: ``apt-get install -y taskwarrior``); a missing ``task`` FAILS.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import shutil
import subprocess
import uuid as uuidlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backlog_git.model import Annotation, Task
from backlog_git.query import QueryContext, TaskIndex, compile_filter

TW_FORMAT = "%Y%m%dT%H%M%SZ"
WORDS = ["alpha", "login", "widget", "cache", "deploy", "parser", "report", "quota", "render", "signal"]
PROJECTS = [None, "web", "web.frontend", "web.backend", "api", "ops", "ops.db"]
TAGS = ["bug", "ui", "urgent", "backend", "docs", "chore"]
AGENTS = ["explorer", "planner", "reviewer"]
RC = [
    "rc.confirmation=off",
    "rc.hooks=off",
    "rc.gc=off",
    "rc.verbose=nothing",
    "rc.json.array=on",
    "rc.search.case.sensitive=no",
    "rc.recurrence=off",
    "rc.uda.agent.type=string",
    "rc.uda.estimate.type=numeric",
]


def _task_binary() -> str:
    binary = shutil.which("task")
    if binary is None:
        pytest.fail(
            "taskwarrior is not installed, so the differential test cannot run. Install it with "
            "`apt-get install -y taskwarrior` (the CI script does this).",
            pytrace=False,
        )
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    if not version.startswith("2.6"):
        pytest.fail(f"the differential test needs taskwarrior 2.6.x, found {version!r}", pytrace=False)
    return binary


class Taskwarrior:
    """A taskwarrior instance on a private data directory."""

    def __init__(self, binary: str, root: Path) -> None:
        self.binary = binary
        self.data = root / "data"
        self.data.mkdir()
        rc = root / "taskrc"
        rc.write_text("")
        self.env = {**os.environ, "TASKRC": str(rc), "TASKDATA": str(self.data)}

    def run(self, *args: str) -> str:
        command = [self.binary, f"rc.data.location={self.data}", *RC, *args]
        done = subprocess.run(command, capture_output=True, text=True, env=self.env, check=False, timeout=60)
        if done.returncode not in (0, 1):  # 1 = "no matches" for some commands
            raise AssertionError(f"{command} failed ({done.returncode}): {done.stderr}")
        return done.stdout

    def export(self, *filter_args: str) -> list[dict[str, Any]]:
        output = self.run(*filter_args, "export")
        return json.loads(output) if output.strip() else []


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TW_FORMAT)


def _offset(rng: random.Random, now: datetime, low: int, high: int) -> datetime:
    """A moment ``low``..``high`` days from now, never within two minutes of now (no boundary flakes)."""
    moment = now + timedelta(days=rng.randint(low, high), hours=rng.randint(-12, 12), minutes=rng.randint(2, 58))
    if abs((moment - now).total_seconds()) < 120:
        moment += timedelta(hours=1)
    return moment


def _generate(rng: random.Random, now: datetime, count: int) -> list[dict[str, Any]]:
    uuids = [str(uuidlib.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count)]
    records = []
    for index, uuid in enumerate(uuids):
        status = rng.choices(["pending", "completed", "deleted"], [7, 2, 1])[0]
        words = rng.sample(WORDS, rng.randint(1, 3))
        record: dict[str, Any] = {
            "uuid": uuid,
            "description": " ".join(word.capitalize() if rng.random() < 0.3 else word for word in words),
            "status": status,
            "entry": _stamp(now - timedelta(days=rng.randint(1, 400), minutes=rng.randint(0, 600))),
        }
        if status != "pending":
            record["end"] = _stamp(now - timedelta(days=rng.randint(0, 120), minutes=rng.randint(5, 600)))
        if (project := rng.choice(PROJECTS)) is not None:
            record["project"] = project
        if tags := rng.sample(TAGS, rng.choice([0, 0, 1, 1, 2, 3])):
            record["tags"] = tags
        if (priority := rng.choice(["H", "M", "L", None, None])) is not None:
            record["priority"] = priority
        if rng.random() < 0.5:
            record["due"] = _stamp(_offset(rng, now, -20, 40) if rng.random() < 0.8 else _offset(rng, now, -1, 2))
        if rng.random() < 0.12:
            record["wait"] = _stamp(_offset(rng, now, -10, 20))
        if rng.random() < 0.15:
            record["scheduled"] = _stamp(_offset(rng, now, -10, 10))
        if status == "pending" and rng.random() < 0.12:
            record["start"] = _stamp(now - timedelta(hours=rng.randint(1, 100)))
        if rng.random() < 0.05:
            record["until"] = _stamp(_offset(rng, now, 60, 90))
        if rng.random() < 0.2:
            record["annotations"] = [
                {"entry": record["entry"], "description": rng.choice(["see AUTH flow", "ask ops", "Login retry"])}
                for _ in range(rng.randint(1, 2))
            ]
        if index > 5 and rng.random() < 0.18:
            record["depends"] = ",".join(rng.sample(uuids[:index], rng.randint(1, 2)))
        if rng.random() < 0.3:
            record["agent"] = rng.choice(AGENTS)
        if rng.random() < 0.3:
            record["estimate"] = rng.randint(1, 8)
        records.append(record)
    return records


def _date(value: str | None) -> datetime | None:
    return None if value is None else datetime.strptime(value, TW_FORMAT).replace(tzinfo=UTC)


def _to_task(record: dict[str, Any], number: int) -> Task:
    """Our Task from a ``task export`` record (completed/deleted tasks get ids above the pending ones)."""
    depends = record.get("depends") or []
    if isinstance(depends, str):
        depends = depends.split(",")
    fields: dict[str, Any] = {
        "uuid": record["uuid"],
        "id": record.get("id") or number,
        "description": record["description"],
        "status": "pending" if record["status"] == "waiting" else record["status"],
        "project": record.get("project"),
        "priority": record.get("priority"),
        "tags": record.get("tags", []),
        "depends": depends,
        "annotations": [
            Annotation(entry=_date(a["entry"]), description=a["description"]) for a in record.get("annotations", [])
        ],
        "agent": record.get("agent"),
        "entry": _date(record["entry"]),
        "modified": _date(record.get("modified")) or _date(record["entry"]),
    }
    for name in ("due", "wait", "scheduled", "until", "start", "end"):
        fields[name] = _date(record.get(name))
    if "estimate" in record:
        fields["estimate"] = record["estimate"]
    return Task(**fields)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Taskwarrior, dict[str, Task]]:
    binary = _task_binary()
    root = tmp_path_factory.mktemp("taskwarrior")
    tw = Taskwarrior(binary, root)
    now = datetime.now(UTC).replace(microsecond=0)
    records = _generate(random.Random(20260611), now, 300)
    source = root / "import.json"
    source.write_text(json.dumps(records))
    tw.run("import", str(source))
    exported = tw.export()
    assert len(exported) == len(records), "taskwarrior did not import every generated task"
    tasks = [_to_task(record, 100_000 + n) for n, record in enumerate(exported)]
    return tw, {task.uuid: task for task in tasks}


def _filters(tasks: dict[str, Task]) -> list[str]:
    """Filters of the shared grammar; some reference generated uuids and ids."""
    pending = sorted((t for t in tasks.values() if t.status == "pending"), key=lambda t: t.id)
    some = pending[len(pending) // 2]
    blocker = next(t for t in tasks.values() if t.depends).depends[0]
    return [
        *FILTERS,
        str(some.id),
        f"{pending[0].id},{pending[2].id},{pending[5].id}-{pending[9].id}",
        f"{pending[1].id}-{pending[4].id} +bug",
        some.uuid,
        some.uuid[:8],
        f"uuid:{some.uuid}",
        f"depends:{blocker}",
        f"description:'{some.description}'",
    ]


FILTERS = [
    # status and the waiting rule
    "status:pending", "status:completed", "status:deleted", "status:waiting", "status:Pending",
    "+PENDING", "+WAITING", "+COMPLETED", "+DELETED", "-PENDING", "-WAITING",
    # projects (hierarchical) and their modifiers
    "project:web", "project:web.frontend", "project:ops", "project:api", "project.is:web", "project.isnt:web",
    "project.not:web", "project:", "project.none:", "project.any:", "project.startswith:we",
    "project.endswith:end", "project.has:ron", "project.hasnt:web", "project:web or project:api",
    "( project:web or project:api )",
    # tags
    "+bug", "-bug", "+bug +ui", "+bug or +ui", "+bug -ui", "tags.none:",
    "tags.any:", "tags.hasnt:urgent", "+bug xor +ui",
    # priority, ordered as taskwarrior orders it
    "priority:H", "priority:", "priority.above:L", "priority.below:H", "priority.over:M", "priority.under:M",
    "priority.none:", "priority.any:", "priority.isnt:H", "priority.not:L",
    # dates
    "due.before:eow", "due.after:now", "due.by:tomorrow", "due.before:today", "due.after:2026-01-01",
    "due:today", "due:tomorrow", "due.none:", "due.any:", "due.before:now+3d", "due.after:sow",
    "due.before:eom", "due.after:now-7d", "scheduled.before:now", "scheduled.after:now", "wait.after:now",
    "entry.before:now-30d", "end.after:now-30d", "start.any:", "until.any:", "due.after:yesterday",
    "priority:H due.before:friday", "due.before:soy+1y", "due.before:eoq",
    # virtual tags, alone and combined
    "+OVERDUE", "+ACTIVE", "+BLOCKED", "+UNBLOCKED", "+BLOCKING", "+READY", "+TAGGED", "+ANNOTATED",
    "+PROJECT", "+PRIORITY", "+SCHEDULED", "+UNTIL", "+TODAY", "+TOMORROW", "+YESTERDAY", "+WEEK",
    "+MONTH", "+QUARTER", "+YEAR", "-BLOCKED", "-READY", "-OVERDUE", "+OVERDUE or +ACTIVE",
    "( +ACTIVE or +OVERDUE )", "project:web or +OVERDUE", "+BLOCKED +PENDING", "+UNBLOCKED status:pending",
    "-TAGGED project:api", "+READY +bug", "+BLOCKING or +BLOCKED",
    # words (description and annotations, case-insensitive)
    "login", "auth", "LOGIN", "login cache", "project:web login", "login or widget", "ask",
    "description.contains:widget", "description.has:Cache", "description.hasnt:widget",
    "description.startswith:widget", "description.endswith:cache", "description.contains:get ren",
    # user-defined attributes
    "agent:explorer", "agent.none:", "agent.any:", "agent.is:planner", "agent.isnt:planner",
    "estimate:5", "estimate.over:4", "estimate.none:", "estimate.any:",
    "agent:explorer status:pending",
    # dependencies
    "depends.any:", "depends.none:",
    # boolean structure
    "+bug and project:web", "project:web and +bug or project:api and +ui", "( +bug or +ui ) project:web",
    "( +bug or +ui ) and ( project:web or project:ops )", "status:pending +bug or status:completed +ui",
]  # fmt: skip


def test_taskwarrior_is_installed() -> None:
    _task_binary()


def test_same_selection_as_taskwarrior(world: tuple[Taskwarrior, dict[str, Task]]) -> None:
    tw, tasks = world
    index = TaskIndex.build(tasks.values())
    mismatches = []
    for text in _filters(tasks):
        expected = {record["uuid"] for record in tw.export(*shlex.split(text))}
        ctx = QueryContext(datetime.now(UTC), tasks, index=index)
        got = {task.uuid for task in compile_filter(text).select(ctx)}
        if got != expected:
            extra = sorted(tasks[u].id for u in got - expected)
            missing = sorted(tasks[u].id for u in expected - got)
            mismatches.append(f"{text!r}: ours also has ids {extra}, lacks ids {missing}")
    assert not mismatches, "\n".join(mismatches)


def test_dataset_exercises_every_field(world: tuple[Taskwarrior, dict[str, Task]]) -> None:
    """Guard against a generator change that would make the comparison vacuous."""
    _, tasks = world
    values = list(tasks.values())
    ctx = QueryContext(datetime.now(UTC), tasks)
    for name in ("due", "wait", "scheduled", "start", "until", "end", "project", "priority", "agent"):
        assert any(getattr(task, name) for task in values), name
    assert any(ctx.is_waiting(task) for task in values)
    assert any(ctx.is_blocked(task) for task in values)
    assert any(task.annotations for task in values)
    assert any(task.model_extra for task in values)
