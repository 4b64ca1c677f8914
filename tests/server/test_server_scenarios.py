"""The original server's own tests (contract §14.1, S09–S47), each against a fresh repository and a
real ``backlog-git serve`` subprocess over stdio. Where the original returned a soft failure as a
success, the port expects ``isError`` (deliberate fix, contract §15.2)."""

from __future__ import annotations

import pytest
from support.server import Client

pytestmark = pytest.mark.anyio


async def test_s09_default_list_shows_pending_only(srv: Client) -> None:
    await srv.add("Pending task")
    await srv.add("Done task")
    await srv.ok("task_done", id="2")
    assert await srv.descriptions("") == ["Pending task"]


async def test_s10_add_with_project_and_priority(srv: Client) -> None:
    await srv.add("Test task from MCP", project="testing", priority="H")
    [task] = await srv.tasks("")
    assert (task["description"], task["project"], task["priority"]) == ("Test task from MCP", "testing", "H")


async def test_s11_comma_tags(srv: Client) -> None:
    await srv.add("Tagged task", tags="bug,urgent")
    [task] = await srv.tasks("+bug")
    assert {"bug", "urgent"} <= set(task["tags"])


async def test_s12_json_array_tags(srv: Client) -> None:
    await srv.add("JSON tags", tags='["alpha", "beta"]')
    [task] = await srv.tasks("+alpha")
    assert {"alpha", "beta"} <= set(task["tags"])


async def test_s13_modify_description_and_project(srv: Client) -> None:
    await srv.add("Original")
    await srv.ok("task_modify", filter="1", description="Modified", project="new-project")
    [task] = await srv.tasks("")
    assert (task["description"], task["project"]) == ("Modified", "new-project")


async def test_s14_modify_tags(srv: Client) -> None:
    await srv.add("Tag me")
    await srv.ok("task_modify", filter="1", tags="frontend,urgent")
    [task] = await srv.tasks("+frontend")
    assert {"frontend", "urgent"} <= set(task["tags"])


async def test_s15_done_leaves_no_pending(srv: Client) -> None:
    await srv.add("Finish me")
    await srv.ok("task_done", id="1")
    assert await srv.tasks("status:pending") == []


async def test_s16_delete_leaves_no_pending(srv: Client) -> None:
    await srv.add("Delete me")
    await srv.ok("task_delete", id="1")
    assert await srv.tasks("status:pending") == []


async def test_s17_annotate(srv: Client) -> None:
    await srv.add("Note me")
    await srv.ok("task_annotate", id="1", text="Important context")
    task = await srv.info("1")
    assert [a["description"] for a in task["annotations"]] == ["Important context"]


async def test_s18_start_and_stop(srv: Client) -> None:
    await srv.add("Work on me")
    await srv.ok("task_start", id="1")
    assert (await srv.info("1")).get("start")
    await srv.ok("task_stop", id="1")
    assert "start" not in await srv.info("1")


async def test_s19_undo_done(srv: Client) -> None:
    await srv.add("Undo me")
    await srv.ok("task_done", id="1")
    await srv.ok("task_undo")
    assert len(await srv.tasks("status:pending")) == 1


async def test_s20_extra_tags_and_attributes(srv: Client) -> None:
    await srv.add("Extra test", extra="+experimental scheduled:tomorrow")
    [task] = await srv.tasks("+experimental")
    assert task["description"] == "Extra test"
    # The original ignored key:value in extra; backlog-git honours it.
    assert task.get("scheduled")


async def test_s21_due(srv: Client) -> None:
    await srv.add("Due soon", due="2099-12-31")
    [task] = await srv.tasks("")
    assert task["due"].startswith("2099-12-31")


async def test_s22_modify_extra_tag(srv: Client) -> None:
    await srv.add("Hotfix me")
    await srv.ok("task_modify", filter="1", extra="+hotfix")
    assert len(await srv.tasks("+hotfix")) == 1


async def test_s23_info_fields(srv: Client) -> None:
    await srv.add("Info test", project="myproj", priority="M")
    task = await srv.info("1")
    assert (task["description"], task["project"], task["priority"]) == ("Info test", "myproj", "M")
    assert task["uuid"]


async def test_s24_info_of_a_missing_task_is_an_error(srv: Client) -> None:
    text = await srv.fail("task_info", id="999999")
    assert "No task found" in text


async def test_s25_projects(srv: Client) -> None:
    await srv.add("A", project="alpha")
    await srv.add("B", project="beta")
    assert {"alpha", "beta"} <= set((await srv.ok("task_projects"))["items"])


async def test_s26_tags(srv: Client) -> None:
    await srv.add("A", tags="frontend")
    await srv.add("B", tags="backend")
    assert {"frontend", "backend"} <= set((await srv.ok("task_tags"))["items"])


async def test_s27_filter_by_project(srv: Client) -> None:
    await srv.add("A", project="web")
    await srv.add("B", project="api")
    await srv.add("C", project="web")
    assert await srv.descriptions("project:web") == ["A", "C"]


async def test_s28_no_match_is_an_empty_list(srv: Client) -> None:
    result = await srv.call("task_list", filter="project:nonexistent")
    assert not result.is_error
    assert result.structured_content == {"tasks": []}
    assert result.content[0].text == "[]"


async def test_s29_denotate(srv: Client) -> None:
    await srv.add("Notes")
    await srv.ok("task_annotate", id="1", text="Remove me")
    await srv.ok("task_annotate", id="1", text="Keep me")
    await srv.ok("task_denotate", id="1", text="Remove me")
    assert [a["description"] for a in (await srv.info("1"))["annotations"]] == ["Keep me"]


async def test_s30_purge_by_uuid(srv: Client) -> None:
    await srv.add("Purge me")
    uuid = (await srv.info("1"))["uuid"]
    await srv.ok("task_delete", id="1")
    await srv.ok("task_purge", id=uuid)
    assert await srv.tasks("status:deleted") == []


async def test_s31_import(srv: Client) -> None:
    await srv.ok(
        "task_import",
        tasks='[{"description":"Imported A","project":"import-test"},'
        '{"description":"Imported B","project":"import-test"}]',
    )
    assert await srv.descriptions("project:import-test") == ["Imported A", "Imported B"]


async def test_s32_agent(srv: Client) -> None:
    await srv.add("Explore", agent="explorer")
    assert (await srv.info("1"))["agent"] == "explorer"


async def test_s33_filter_by_agent(srv: Client) -> None:
    await srv.add("A", agent="explorer")
    await srv.add("B", agent="planner")
    await srv.add("C", agent="explorer")
    assert await srv.descriptions("agent:explorer") == ["A", "C"]


async def test_s34_modify_agent(srv: Client) -> None:
    await srv.add("Reassign me", agent="explorer")
    await srv.ok("task_modify", filter="1", agent="reviewer")
    assert (await srv.info("1"))["agent"] == "reviewer"


async def test_s35_count(srv: Client) -> None:
    await srv.add("A")
    await srv.add("B")
    await srv.add("C", project="special")
    assert await srv.count("") == 3
    assert await srv.count("project:special") == 1


async def test_s36_log(srv: Client) -> None:
    await srv.ok("task_log", description="Already finished work", project="done-stuff", tags="retroactive")
    assert await srv.tasks("status:pending") == []
    [task] = await srv.tasks("status:completed")
    assert task["description"] == "Already finished work"
    assert "retroactive" in task["tags"]


async def test_s37_duplicate_with_overrides(srv: Client) -> None:
    await srv.add("Template task", project="web", priority="M")
    await srv.ok("task_duplicate", id="1", description="Cloned task", project="api")
    [task] = await srv.tasks("project:api")
    assert (task["description"], task["priority"]) == ("Cloned task", "M")


async def test_s38_scheduled(srv: Client) -> None:
    await srv.add("Later", scheduled="tomorrow")
    assert (await srv.info("1")).get("scheduled")


async def test_s39_recurring_template(srv: Client) -> None:
    await srv.add("Daily review", due="tomorrow", recur="daily")
    assert len(await srv.tasks("status:recurring")) >= 1


async def test_s40_doc_round_trip(srv: Client) -> None:
    await srv.add("Spec me")
    content = "# Spec\n\nDo the thing.\n"
    await srv.ok("task_doc_write", id="1", content=content)
    result = await srv.ok("task_doc_read", id="1")
    assert result["content"] == content


async def test_s41_doc_tag_and_has_doc(srv: Client) -> None:
    await srv.add("Spec me")
    await srv.ok("task_doc_write", id="1", content="Doc content")
    [task] = await srv.tasks("+doc")
    assert task["has_doc"] is True


async def test_s42_doc_read_without_doc_is_an_error(srv: Client) -> None:
    await srv.add("No doc")
    assert "No doc attached to this task." in await srv.fail("task_doc_read", id="1")


async def test_s43_doc_delete(srv: Client) -> None:
    await srv.add("Spec me")
    await srv.ok("task_doc_write", id="1", content="Doc content")
    await srv.ok("task_doc_delete", id="1")
    await srv.fail("task_doc_read", id="1")
    assert await srv.tasks("+doc") == []


async def _archived_setup(srv: Client) -> None:
    await srv.add("Archived item")
    await srv.ok("task_done", id="1")


async def test_s44_archive(srv: Client) -> None:
    await _archived_setup(srv)
    result = await srv.ok("task_archive", older_than_days="0")
    assert "1" in result["message"]
    assert await srv.tasks("status:completed") == []


async def test_s45_archive_list(srv: Client) -> None:
    await _archived_setup(srv)
    await srv.ok("task_archive", older_than_days="0")
    items = (await srv.ok("task_archive_list"))["items"]
    assert items and "archive" in items[0]


async def test_s46_archive_load(srv: Client) -> None:
    await _archived_setup(srv)
    await srv.ok("task_archive", older_than_days="0")
    first = (await srv.ok("task_archive_list"))["items"][0]
    segment = first.removeprefix("archive/archive-").removesuffix(".json")
    tasks = (await srv.ok("task_archive_load", segment=segment))["tasks"]
    assert "Archived item" in [t["description"] for t in tasks]


async def test_s47_has_doc_filter(srv: Client) -> None:
    await srv.add("With doc")
    await srv.add("Without doc")
    await srv.ok("task_doc_write", id="1", content="# Notes")
    assert await srv.descriptions("has_doc:true") == ["With doc"]
