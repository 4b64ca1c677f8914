"""The original engine's tests (contract §14.2, E08–E146) in their black-box form: every step is a
tool call on a real ``backlog-git serve`` subprocess over stdio.

Scenarios that need an empty store get a fresh repository and server (``srv``); scenarios that only
look at what they created share one server per module (``shared``), which keeps the suite fast.
The sync-queue scenarios (E103–E107) are ported to the hooks in ``test_hooks.py``; the start-up
configuration scenarios (E01–E07) live in ``test_server_store.py``.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.server import Client, make_repo, serve, task_file, today_utc

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> Client:
    async with serve(make_repo(tmp_path_factory.mktemp("shared") / "repo")) as client:
        yield client


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def near(value: str, expected: datetime, seconds: float = 5) -> bool:
    return abs((parse_ts(value) - expected).total_seconds()) <= seconds


# ------------------------------------------------------------------------------------------ add + read
async def test_e08_add_and_list(srv: Client) -> None:
    await srv.add("Test task")
    [task] = await srv.tasks("status:pending")
    assert task["uuid"] and task["id"] == 1


async def test_e09_fields(srv: Client) -> None:
    await srv.add("Important", project="backend", priority="H")
    [task] = await srv.tasks("status:pending")
    assert (task["project"], task["priority"]) == ("backend", "H")


async def test_e10_tags(srv: Client) -> None:
    await srv.add("Tagged", tags="bug,urgent")
    [task] = await srv.tasks("")
    assert {"bug", "urgent"} <= set(task["tags"])


async def test_e11_due(srv: Client) -> None:
    await srv.add("Due", due="2099-12-31")
    [task] = await srv.tasks("")
    assert task["due"]


async def test_e12_sequential_ids(srv: Client) -> None:
    for name in ("One", "Two", "Three"):
        await srv.add(name)
    assert sorted(t["id"] for t in await srv.tasks("status:pending")) == [1, 2, 3]


async def test_e13_ids_stay_after_delete(srv: Client) -> None:
    for name in ("One", "Two", "Three"):
        await srv.add(name)
    await srv.ok("task_delete", id="2")
    pending = {t["description"]: t["id"] for t in await srv.tasks("status:pending")}
    assert pending == {"One": 1, "Three": 3}
    assert (await srv.add("Four"))["id"] == 4


async def test_e14_ids_continue_after_restart(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    async with serve(repo) as first:
        await first.add("Before")
    async with serve(repo) as second:
        assert (await second.add("After reopen"))["id"] == 2


# ------------------------------------------------------------------------------------------ filters
async def _filter_fixture(srv: Client) -> None:
    await srv.add("Frontend task", project="web", priority="H", tags="frontend")
    await srv.add("Backend task", project="api", priority="M", tags="backend")
    await srv.add("Docs task", project="web", priority="L", tags="docs")


async def test_e15_to_e22_filters(srv: Client) -> None:
    await _filter_fixture(srv)
    assert len(await srv.tasks("project:web")) == 2  # E15
    assert await srv.descriptions("+backend") == ["Backend task"]  # E16
    assert len(await srv.tasks("priority:H")) == 1  # E17
    assert await srv.tasks("project:nonexistent") == []  # E18
    assert await srv.descriptions("project:web +frontend") == ["Frontend task"]  # E19
    assert len(await srv.tasks("( project:web or project:api )")) == 3  # E20
    assert await srv.descriptions("Frontend") == ["Frontend task"]  # E22
    await srv.ok("task_done", id="1")
    assert len(await srv.tasks("status:pending")) == 2  # E21


# ------------------------------------------------------------------------------------------ modify
async def test_e23_e24_modify_description_and_project(srv: Client) -> None:
    await srv.add("Original")
    await srv.ok("task_modify", filter="1", description="Updated")
    await srv.ok("task_modify", filter="1", project="new-project")
    task = await srv.info("1")
    assert (task["description"], task["project"]) == ("Updated", "new-project")


async def test_e25_add_tags(srv: Client) -> None:
    await srv.add("Tag me")
    await srv.ok("task_modify", filter="1", tags="+frontend,+urgent")
    [task] = await srv.tasks("+frontend")
    assert "urgent" in task["tags"]


async def test_e26_replace_tag(srv: Client) -> None:
    await srv.add("Retag me", tags="old")
    await srv.ok("task_modify", filter="1", tags="-old,+new")
    tags = (await srv.info("1"))["tags"]
    assert "old" not in tags and "new" in tags


async def test_e27_e28_depends_set_and_clear(srv: Client) -> None:
    target = await srv.add("Dep target")
    await srv.add("Dependent")
    await srv.ok("task_modify", filter="2", depends=target["uuid"])
    assert target["uuid"] in (await srv.info("2"))["depends"]
    await srv.ok("task_modify", filter="2", depends="")
    assert "depends" not in await srv.info("2")


async def test_e29_e30_scheduled_set_and_clear(srv: Client) -> None:
    await srv.add("Schedule me")
    await srv.ok("task_modify", filter="1", scheduled="tomorrow")
    assert (await srv.info("1")).get("scheduled")
    await srv.add("Scheduled", scheduled="tomorrow")
    await srv.ok("task_modify", filter="2", scheduled="")
    assert "scheduled" not in await srv.info("2")


async def test_e31_e32_wait_set_and_clear(srv: Client) -> None:
    await srv.add("Wait for me")
    await srv.ok("task_modify", filter="1", wait=today_utc(7))
    assert (await srv.info("1"))["wait"].startswith(today_utc(7))
    await srv.ok("task_modify", filter="1", wait="")
    assert "wait" not in await srv.info("1")


async def test_e33_e34_clear_priority_and_agent(srv: Client) -> None:
    await srv.add("Clear me", priority="H", agent="explorer")
    await srv.ok("task_modify", filter="1", priority="")
    await srv.ok("task_modify", filter="1", agent="")
    task = await srv.info("1")
    assert "priority" not in task and "agent" not in task


async def test_modify_resolves_dates(srv: Client) -> None:
    """BUG M1 of the original: a date given to modify is resolved and validated like on add."""
    await srv.add("Date me")
    await srv.ok("task_modify", filter="1", due="2030-01-02")
    assert (await srv.info("1"))["due"].startswith("2030-01-02")
    await srv.fail("task_modify", filter="1", due="not-a-date-xyz")


# ------------------------------------------------------------------------------------------ lifecycle
async def test_e35_done(srv: Client) -> None:
    await srv.add("Finish")
    await srv.ok("task_done", id="1")
    assert (await srv.count("status:pending"), await srv.count("status:completed")) == (0, 1)


async def test_e36_delete(srv: Client) -> None:
    await srv.add("Remove")
    await srv.ok("task_delete", id="1")
    assert await srv.count("status:pending") == 0


async def test_e37_e38_annotate_and_denotate(srv: Client) -> None:
    await srv.add("Notes")
    await srv.ok("task_annotate", id="1", text="This is a note")
    assert [a["description"] for a in (await srv.info("1"))["annotations"]] == ["This is a note"]
    await srv.ok("task_annotate", id="1", text="Keep me")
    await srv.ok("task_annotate", id="1", text="Remove me")
    await srv.ok("task_denotate", id="1", text="Remove me")
    notes = [a["description"] for a in (await srv.info("1"))["annotations"]]
    assert notes == ["This is a note", "Keep me"]


async def test_e39_start_stop(srv: Client) -> None:
    await srv.add("Work")
    await srv.ok("task_start", id="1")
    assert (await srv.info("1")).get("start")
    await srv.ok("task_stop", id="1")
    assert not (await srv.info("1")).get("start")


async def test_e40_purge(srv: Client) -> None:
    uuid = (await srv.add("Purge me"))["uuid"]
    await srv.ok("task_delete", id="1")
    await srv.ok("task_purge", id=uuid)
    assert await srv.tasks("status:deleted") == []


async def test_e41_undo(srv: Client) -> None:
    await srv.add("Undo")
    await srv.ok("task_done", id="1")
    assert await srv.count("status:completed") == 1
    await srv.ok("task_undo")
    assert (await srv.count("status:completed"), await srv.count("status:pending")) == (0, 1)


async def test_e42_e43_counts(srv: Client) -> None:
    await srv.add("A", project="alpha")
    await srv.add("B", project="beta")
    assert await srv.count("status:pending") == 2
    assert await srv.count("project:alpha") == 1


async def test_e44_e45_log(srv: Client) -> None:
    await srv.ok("task_log", description="Already done", project="test")
    await srv.ok("task_log", description="Tagged log", tags="done,reviewed")
    assert await srv.count("status:pending") == 0
    completed = {t["description"]: t for t in await srv.tasks("status:completed")}
    assert set(completed) == {"Already done", "Tagged log"}
    assert "done" in completed["Tagged log"]["tags"]


async def test_e46_duplicate(srv: Client) -> None:
    await srv.add("Original", project="test", priority="H")
    await srv.ok("task_duplicate", id="1")
    assert await srv.count("status:pending") == 2


async def test_e47_duplicate_overrides(srv: Client) -> None:
    await srv.add("Template", project="web")
    await srv.ok("task_duplicate", id="1", description="Variation", project="api")
    assert await srv.descriptions("project:api") == ["Variation"]


async def test_e48_e49_projects_and_tags_exactly(srv: Client) -> None:
    await srv.add("A", project="web", tags="frontend")
    await srv.add("B", project="api", tags="backend")
    await srv.add("C", project="web", tags="frontend")
    assert sorted((await srv.ok("task_projects"))["items"]) == ["api", "web"]
    assert sorted((await srv.ok("task_tags"))["items"]) == ["backend", "frontend"]


async def test_e50_import(srv: Client) -> None:
    await srv.ok("task_import", tasks='[{"description":"I1","project":"test"},{"description":"I2","project":"test"}]')
    assert await srv.count("project:test") == 2


# ------------------------------------------------------------------------------------------ docs
async def test_e51_e52_e55_doc_write_read(srv: Client) -> None:
    await srv.add("Spec")
    await srv.ok("task_doc_write", id="1", content="# Spec\n\nContent here.\n")
    assert (await srv.ok("task_doc_read", id="1"))["content"] == "# Spec\n\nContent here.\n"
    [task] = await srv.tasks("+doc")
    assert task["has_doc"] is True
    await srv.ok("task_doc_write", id="1", content="Content")
    assert (await srv.ok("task_doc_read", id="1"))["content"] == "Content"


async def test_e53_e80_no_doc(srv: Client) -> None:
    await srv.add("No doc")
    assert "No doc attached to this task." in await srv.fail("task_doc_read", id="1")


async def test_e54_doc_delete_removes_the_tag(srv: Client) -> None:
    await srv.add("Spec")
    await srv.ok("task_doc_write", id="1", content="x")
    await srv.ok("task_doc_delete", id="1")
    await srv.fail("task_doc_read", id="1")
    assert "doc" not in (await srv.info("1")).get("tags", [])


async def test_e56_doc_survives_restart(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    async with serve(repo) as first:
        await first.add("Spec")
        await first.ok("task_doc_write", id="1", content="Persistent content")
    async with serve(repo) as second:
        assert (await second.ok("task_doc_read", id="1"))["content"] == "Persistent content"


# ------------------------------------------------------------------------------------------ agent
async def test_e57_e58_agent(srv: Client) -> None:
    await srv.add("Explore", agent="explorer")
    await srv.add("Plan", agent="planner")
    assert (await srv.info("1"))["agent"] == "explorer"
    assert await srv.descriptions("agent:explorer") == ["Explore"]


# ------------------------------------------------------------------------------------------ recurrence
async def test_e59_scheduled(srv: Client) -> None:
    await srv.add("Later", scheduled="2099-12-31")
    [task] = await srv.tasks("status:pending")
    assert task["scheduled"].startswith("2099-12-31")


async def test_e60_template_and_instances(srv: Client) -> None:
    template = await srv.add("Daily standup", due="tomorrow", recur="daily")
    assert template["status"] == "recurring"
    instances = await srv.tasks(f"parent:{template['uuid']}")
    assert instances
    assert all(t["description"] == "Daily standup" and t["status"] == "pending" for t in instances)


async def test_e61_at_most_three_pending_instances(srv: Client) -> None:
    template = await srv.add("Weekly", due="tomorrow", recur="weekly")
    assert 1 <= len(await srv.tasks(f"parent:{template['uuid']} status:pending")) <= 3


async def test_e62_completing_an_instance_keeps_the_series_going(srv: Client) -> None:
    template = await srv.add("Daily", due="tomorrow", recur="daily")
    first = min(await srv.tasks(f"parent:{template['uuid']}"), key=lambda t: t["due"])
    await srv.ok("task_done", id=str(first["id"]))
    assert len(await srv.tasks(f"parent:{template['uuid']} status:pending")) >= 1


# ------------------------------------------------------------------------------------------ virtual tags
async def test_e63_active(srv: Client) -> None:
    await srv.add("Active")
    await srv.add("Inactive")
    await srv.ok("task_start", id="1")
    assert await srv.descriptions("+ACTIVE") == ["Active"]


async def test_e64_blocked(srv: Client) -> None:
    blocker = await srv.add("Blocker")
    await srv.add("Blocked", depends=blocker["uuid"])
    assert await srv.descriptions("+BLOCKED") == ["Blocked"]


async def test_e65_unblocked_after_done(srv: Client) -> None:
    dep = await srv.add("Dep")
    await srv.add("Dependent", depends=dep["uuid"])
    await srv.ok("task_done", id="1")
    assert await srv.tasks("+BLOCKED") == []
    assert "Dependent" in await srv.descriptions("+UNBLOCKED status:pending")


async def test_e66_still_blocked_by_the_other(srv: Client) -> None:
    a = await srv.add("Dep A")
    b = await srv.add("Dep B")
    await srv.add("Dependent", depends=f"{a['uuid']},{b['uuid']}")
    await srv.ok("task_done", id="1")
    assert "Dependent" in await srv.descriptions("+BLOCKED")


async def test_e67_ready(srv: Client) -> None:
    dep = await srv.add("Dep")
    await srv.add("Dependent", depends=dep["uuid"])
    await srv.add("Independent")
    await srv.ok("task_done", id="1")
    assert {"Dependent", "Independent"} <= set(await srv.descriptions("+READY"))


async def test_e68_e69_annotated_and_tagged(srv: Client) -> None:
    await srv.add("Plain")
    await srv.add("Noted")
    await srv.add("Tagged", tags="x")
    await srv.ok("task_annotate", id="2", text="note")
    assert await srv.descriptions("+ANNOTATED") == ["Noted"]
    assert await srv.descriptions("+TAGGED") == ["Tagged"]


async def test_e70_waiting(srv: Client) -> None:
    await srv.add("Waiting", wait=today_utc(7))
    await srv.add("Normal")
    assert await srv.descriptions("+WAITING") == ["Waiting"]


async def test_e71_e72_urgency(srv: Client) -> None:
    high = await srv.add("High", priority="H")
    low = await srv.add("Low", priority="L")
    assert high["urgency"] > 0
    assert (await srv.info(str(high["id"])))["urgency"] > (await srv.info(str(low["id"])))["urgency"]


# ------------------------------------------------------------------------------------------ error paths
@pytest.mark.parametrize("tool", ["task_done", "task_delete", "task_start", "task_duplicate", "task_purge"])
async def test_e73_e77_missing_task(shared: Client, tool: str) -> None:
    assert "No task found" in await shared.fail(tool, id="999")


async def test_e76_modify_without_match(shared: Client) -> None:
    assert "No matching tasks." in await shared.fail("task_modify", filter="project:nonexistent", priority="H")


async def test_e78_import_not_json(shared: Client) -> None:
    assert await shared.fail("task_import", tasks="not json")


@pytest.mark.parametrize("tool", ["task_doc_write", "task_doc_delete", "task_doc_read"])
async def test_e79_e81_doc_tools_on_a_missing_task(shared: Client, tool: str) -> None:
    arguments = {"content": "x"} if tool == "task_doc_write" else {}
    assert "No task found" in await shared.fail(tool, id="999", **arguments)


async def test_e82_purge_requires_deleted(shared: Client) -> None:
    task = await shared.add("Not deleted")
    assert "Can only purge deleted" in await shared.fail("task_purge", id=str(task["id"]))


async def test_e83_no_internal_fields_leak(shared: Client) -> None:
    blocker = await shared.add("Blocker E83")
    await shared.add("Blocked E83", depends=blocker["uuid"])
    for task in await shared.tasks(""):
        assert not [key for key in task if key.startswith("_")], task


async def test_soft_failures_of_the_original_are_errors(shared: Client) -> None:
    """Contract §15.2: not found / wrong state / nothing matched are isError results."""
    task = await shared.add("Soft failures")
    ref = str(task["id"])
    await shared.ok("task_done", id=ref)
    assert await shared.fail("task_done", id=ref)  # already completed
    assert await shared.fail("task_stop", id=ref)  # never started
    assert await shared.fail("task_denotate", id=ref, text="no such note")


# ------------------------------------------------------------------------------------------ persistence
async def test_e84_persistence(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    async with serve(repo) as first:
        await first.add("Persistent", project="test")
    async with serve(repo) as second:
        [task] = await second.tasks("")
        assert (task["description"], task["project"]) == ("Persistent", "test")


# ------------------------------------------------------------------------------------------ archive
def _backdate_end(repo: Path, uuid: str, days: int) -> None:
    """Edit the task file as an editor does (write a new file, rename it over the old one)."""
    path = task_file(repo, uuid)
    stamp = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = re.sub(r"(?m)^end: .*$", f"end: {stamp}", path.read_text())
    temporary = path.with_suffix(".swp")
    temporary.write_text(text)
    os.replace(temporary, path)


async def test_e85_e87_archive_old_tasks(srv: Client) -> None:
    task = await srv.add("Old")
    await srv.ok("task_done", id="1")
    _backdate_end(srv.repo, task["uuid"], 100)
    result = await srv.ok("task_archive", older_than_days="90")
    assert "Archived 1" in result["message"]
    assert await srv.tasks("status:completed") == []
    segments = (await srv.ok("task_archive_list"))["items"]
    assert segments
    assert len((await srv.ok("task_archive_load", segment=segments[0]))["tasks"]) >= 1


async def test_e86_nothing_to_archive(srv: Client) -> None:
    result = await srv.call("task_archive", older_than_days="90")
    assert "No tasks to archive." in result.content[0].text


async def test_recent_tasks_are_not_archived(srv: Client) -> None:
    await srv.add("Recent")
    await srv.ok("task_done", id="1")
    result = await srv.call("task_archive")
    assert "No tasks to archive." in result.content[0].text
    assert await srv.count("status:completed") == 1


async def test_e143_e146_archive_now(srv: Client) -> None:
    result = await srv.call("task_archive", older_than_days="0")
    assert "No tasks to archive" in result.content[0].text  # E146
    await srv.add("Inspect me")
    await srv.ok("task_done", id="1")
    assert "1" in (await srv.ok("task_archive", older_than_days="0"))["message"]  # E143
    assert await srv.tasks("status:completed") == []
    segments = (await srv.ok("task_archive_list"))["items"]  # E144
    assert len(segments) >= 1
    period = re.search(r"\d{4}-Q[1-4]", segments[0]).group(0)  # type: ignore[union-attr]
    loaded = (await srv.ok("task_archive_load", segment=period))["tasks"]  # E145
    assert "Inspect me" in [t["description"] for t in loaded]


# ------------------------------------------------------------------------------------------ until
async def test_e88_until(srv: Client) -> None:
    await srv.add("Until", due="tomorrow", recur="daily", until="2099-12-31")
    [template] = await srv.tasks("status:recurring")
    assert template["until"].startswith("2099-12-31")


async def test_e89_modify_until(srv: Client) -> None:
    template = await srv.add("Until", due="tomorrow", recur="daily")
    await srv.ok("task_modify", filter=template["uuid"], until="2099-06-30")
    assert (await srv.info(template["uuid"]))["until"].startswith("2099-06-30")


async def test_e90_bad_until(srv: Client) -> None:
    await srv.fail("task_add", description="Bad until", due="tomorrow", recur="daily", until="not-a-date-xyz")


async def test_e91_until_bounds_the_instances(srv: Client) -> None:
    template = await srv.add("Bounded", due=today_utc(5), recur="daily", until=today_utc(7))
    instances = await srv.tasks(f"parent:{template['uuid']} status:pending")
    assert len(instances) == 3
    assert all(t["due"][:10] <= today_utc(7) for t in instances)


async def test_e92_has_doc_is_a_boolean(srv: Client) -> None:
    await srv.add("Doc")
    await srv.ok("task_doc_write", id="1", content="# Test")
    assert (await srv.info("1"))["has_doc"] is True


# ------------------------------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"description": ""}, "Description cannot be empty"),  # E93
        ({"description": "   "}, "Description cannot be empty"),
        ({"description": "x" * 501}, "500"),  # E94
        ({"description": "Bad project", "project": "has spaces"}, "project"),  # E95
        ({"description": "Bad due", "due": "not-a-date-xyz"}, ""),  # E96
        ({"description": "Bad dep", "depends": "not-a-uuid"}, "Invalid dependency UUID"),  # E97
        ({"description": "Bad prio", "priority": "X"}, ""),  # schema rejection
    ],
)
async def test_e93_e97_add_validation(shared: Client, arguments: dict[str, Any], message: str) -> None:
    assert message in await shared.fail("task_add", **arguments)


async def test_e94_500_characters_are_accepted(shared: Client) -> None:
    await shared.add("y" * 500)


async def test_e98_status_cannot_be_set_by_modify(shared: Client) -> None:
    task = await shared.add("Status E98")
    assert "status" in await shared.fail("task_modify", filter=str(task["id"]), extra="status:bogus")
    assert (await shared.info(str(task["id"])))["status"] == "pending"


async def test_e99_modify_bad_priority(shared: Client) -> None:
    task = await shared.add("Priority E99")
    await shared.fail("task_modify", filter=str(task["id"]), priority="X")


@pytest.mark.parametrize("item", ['{"description":"Bad","status":"bogus"}', '{"description":"Bad","priority":"X"}'])
async def test_e100_e101_import_validation(shared: Client, item: str) -> None:
    before = await shared.count("status:pending")
    await shared.fail("task_import", tasks=f'[{{"description":"Good"}},{item}]')
    assert await shared.count("status:pending") == before  # all or nothing


async def test_e102_natural_due(srv: Client) -> None:
    await srv.add("Natural", project="my-project", priority="H", due="friday")
    assert await srv.count("status:pending") == 1


# ------------------------------------------------------------------------------------------ dates
async def _due(shared: Client, value: str) -> str:
    task = await shared.add(f"Date {value}", due=value)
    due = task["due"]
    await shared.ok("task_delete", id=task["uuid"])
    return due


@pytest.mark.parametrize("value", ["2025-13-01", "2025-01-32", "not-a-date-xyz"])
async def test_e108_e109_e122_bad_dates(shared: Client, value: str) -> None:
    assert await shared.fail("task_add", description="Bad date", due=value)


async def test_e110_iso_date(shared: Client) -> None:
    assert (await _due(shared, "2025-06-15")).startswith("2025-06-15")


async def test_e111_e120_relative_to_now(shared: Client) -> None:
    now = datetime.now(UTC)
    assert near(await _due(shared, "now-7d"), now - timedelta(days=7), 10)
    assert near(await _due(shared, "now"), now, 10)
    assert near(await _due(shared, "3d"), now + timedelta(days=3), 10)  # E116
    assert near(await _due(shared, "2w"), now + timedelta(days=14), 10)  # E117


async def test_e112_e119_day_based(shared: Client) -> None:
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert near(await _due(shared, "today+2w"), midnight + timedelta(days=14), 10)
    assert (await _due(shared, "today")).startswith(today_utc())


async def test_e113_e114_e115_named_dates(shared: Client) -> None:
    now = datetime.now(UTC)
    for name in ("tomorrow", "yesterday", "eow", "eom"):
        assert await _due(shared, name)
    assert parse_ts(await _due(shared, "tomorrow")) > now
    eom = parse_ts(await _due(shared, "eom"))
    assert (eom.year, eom.month) in {
        (now.year, now.month),
        ((now + timedelta(days=2)).year, (now + timedelta(days=2)).month),
    }
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "mon", "fri"):
        assert parse_ts(await _due(shared, day)) > now - timedelta(days=1)


async def test_e118_one_month(shared: Client) -> None:
    now = datetime.now(UTC)
    due = parse_ts(await _due(shared, "1m"))
    assert timedelta(days=27) <= due - now <= timedelta(days=32)


async def test_e121_compound(shared: Client) -> None:
    eow = parse_ts(await _due(shared, "eow"))
    assert abs((parse_ts(await _due(shared, "eow-1d")) - (eow - timedelta(days=1))).total_seconds()) <= 1


# ------------------------------------------------------------------------------------------ filter semantics
@pytest.fixture(scope="module")
async def fixture_store(tmp_path_factory: pytest.TempPathFactory) -> Client:
    """One store with known tasks for the filter-compilation scenarios (E123–E136)."""
    async with serve(make_repo(tmp_path_factory.mktemp("filters") / "repo")) as client:
        await client.add("Backend bug", project="backend", priority="H", tags="bug", due="2020-06-01")
        await client.add("Backend feature", project="backend", priority="L", due="2099-01-01")
        await client.add("Frontend bug", project="frontend", tags="bug,ui")
        await client.add("Untagged chore")
        await client.add("Finished work", project="backend")
        await client.ok("task_done", id="5")
        await client.ok("task_start", id="2")
        await client.ok("task_annotate", id="4", text="a note")
        yield client


async def test_e123_to_e136_filter_semantics(fixture_store: Client) -> None:
    s = fixture_store
    # Like the original, only the empty filter means "pending": others match every status.
    assert await s.descriptions("project:backend") == ["Backend bug", "Backend feature", "Finished work"]  # E123
    assert await s.descriptions("project:backend status:pending") == ["Backend bug", "Backend feature"]
    assert await s.descriptions("+bug") == ["Backend bug", "Frontend bug"]  # E124
    assert await s.descriptions("-bug") == ["Backend feature", "Finished work", "Untagged chore"]  # E125
    assert await s.descriptions("priority:H") == ["Backend bug"]  # E126
    assert await s.descriptions("status:completed") == ["Finished work"]  # E127
    assert await s.descriptions("+ACTIVE") == ["Backend feature"]  # E128
    assert await s.descriptions("+COMPLETED") == ["Finished work"]
    assert len(await s.tasks("+PENDING")) == 4
    assert await s.descriptions("+TAGGED") == ["Backend bug", "Frontend bug"]
    assert await s.descriptions("+OVERDUE") == ["Backend bug"]
    assert await s.tasks("+BLOCKED") == []
    assert await s.tasks("+WAITING") == []
    assert await s.descriptions("+PROJECT") == ["Backend bug", "Backend feature", "Finished work", "Frontend bug"]
    assert await s.descriptions("+PRIORITY") == ["Backend bug", "Backend feature"]
    assert await s.descriptions("+DUE") == ["Backend bug", "Backend feature"]
    assert await s.descriptions("+ANNOTATED") == ["Untagged chore"]
    assert await s.descriptions("1") == ["Backend bug"]  # E129
    assert await s.descriptions("chore") == ["Untagged chore"]  # E130
    assert await s.descriptions("project:frontend or priority:L") == ["Backend feature", "Frontend bug"]  # E131
    assert await s.descriptions("( project:frontend or project:backend ) +bug") == ["Backend bug", "Frontend bug"]
    assert await s.descriptions("due.before:tomorrow") == ["Backend bug"]  # E133
    assert await s.descriptions("due.after:2020-01-01") == ["Backend bug", "Backend feature"]  # E134
    assert len(await s.tasks("")) == 4  # E135: the tool's default is the pending tasks
    uuid = (await s.info("3"))["uuid"]
    assert await s.descriptions(uuid) == ["Frontend bug"]  # E136
    assert await s.descriptions("project:backend bug") == ["Backend bug"]  # text search with attributes


# ------------------------------------------------------------------------------------------ recurrence patterns
@pytest.mark.parametrize("pattern", ["weekly", "monthly", "biweekly", "3d", "yearly", "quarterly"])
async def test_e137_e142_patterns(shared: Client, pattern: str) -> None:
    template = await shared.add(f"Every {pattern}", due=today_utc(1), recur=pattern)
    instances = sorted(await shared.tasks(f"parent:{template['uuid']} status:pending"), key=lambda t: t["due"])
    assert len(instances) >= 1
    if pattern == "weekly" and len(instances) >= 2:
        gap = parse_ts(instances[1]["due"]) - parse_ts(instances[0]["due"])
        assert timedelta(days=6) <= gap <= timedelta(days=8)


async def test_unknown_recurrence_is_refused(shared: Client) -> None:
    """BUG R2 of the original: an unknown pattern silently recurred daily."""
    await shared.fail("task_add", description="Odd", due="tomorrow", recur="every blue moon")


async def test_recur_without_due_is_refused(shared: Client) -> None:
    """BUG R1 of the original: a template without a due date never produced anything."""
    await shared.fail("task_add", description="No due", recur="daily")
