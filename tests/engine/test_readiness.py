"""Why a task is not ready (issue 11): ``info`` of a pending task that ``+READY`` leaves out says why —
blocked by which open tasks, waiting until, scheduled for, held by whom until — through the engine,
real MCP over stdio and the ``backlog-git`` command; a ready task's record has no such key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import cli_ok, created_uuid, init_store, open_agent, open_human
from support.server import make_repo, serve

FAR = "2031-03-04T05:06:07Z"
FAR_TEXT = "2031-03-04 05:06:07 UTC"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_store(tmp_path / "repo")


def test_blocked_by_names_each_open_dependency_only(repo: Path) -> None:
    human = open_human(repo)
    docs = human.add("Write docs")
    tests = human.add("Write tests")
    done = human.add("Already finished")
    human.done(created_uuid(done))
    ship = human.add("Ship it", depends=[created_uuid(docs), created_uuid(tests), created_uuid(done)])
    reasons = human.info(created_uuid(ship))["not_ready"]
    assert reasons == [
        f"blocked by {docs.tasks[0]['id']} (Write docs)",
        f"blocked by {tests.tasks[0]['id']} (Write tests)",
    ]
    assert created_uuid(ship) not in [t["uuid"] for t in human.list("+READY")]
    human.done(created_uuid(docs))
    human.done(created_uuid(tests))
    assert "not_ready" not in human.info(created_uuid(ship)), "unblocked: ready, and the record is as before"
    assert created_uuid(ship) in [t["uuid"] for t in human.list("+READY")]


def test_waiting_and_scheduled_name_their_dates(repo: Path) -> None:
    human = open_human(repo)
    waiting = created_uuid(human.add("later", wait=FAR))
    scheduled = created_uuid(human.add("planned", scheduled=FAR))
    assert human.info(waiting)["not_ready"] == [f"waiting until {FAR_TEXT}"]
    assert human.info(scheduled)["not_ready"] == [f"scheduled for {FAR_TEXT}"]
    past = created_uuid(human.add("scheduled long ago", scheduled="2020-01-01"))
    assert "not_ready" not in human.info(past), "a schedule in the past keeps nothing out of +READY"


def test_held_by_another_agent_names_holder_and_expiry(repo: Path) -> None:
    human = open_human(repo)
    task = created_uuid(human.add("contested"))
    claimed = open_agent(repo, "agent-a").claim(task, lease="2h")
    lease = claimed.tasks[0]["lease"]  # YYYY-MM-DDTHH:MM:SSZ
    expected = f"held by agent-a until {lease[:10]} {lease[11:19]} UTC"
    assert open_human(repo).info(task)["not_ready"] == [expected]
    assert open_agent(repo, "agent-b").info(task)["not_ready"] == [expected]
    assert "not_ready" not in open_agent(repo, "agent-a").info(task), "the holder may work on it: ready for it"


def test_all_reasons_together_and_none_for_ready_or_closed_tasks(repo: Path) -> None:
    human = open_human(repo)
    blocker = human.add("blocker")
    task = created_uuid(human.add("everything", depends=[created_uuid(blocker)], wait=FAR, scheduled=FAR))
    open_agent(repo, "agent-a").claim(task)
    reasons = open_human(repo).info(task)["not_ready"]
    assert [r.split(" ")[0] for r in reasons] == ["blocked", "waiting", "scheduled", "held"]
    ready = created_uuid(human.add("ready"))
    closed = created_uuid(human.add("closed", wait=FAR))
    human.done(closed)
    assert "not_ready" not in human.info(ready)
    assert "not_ready" not in human.info(closed), "only pending work is ready or not"
    assert "not_ready" not in human.list("")[0], "lists are unchanged"


def test_info_by_filter_explains_too(repo: Path) -> None:
    human = open_human(repo)
    human.add("the only waiting one", wait=FAR)
    assert open_human(repo).info("waiting")["not_ready"] == [f"waiting until {FAR_TEXT}"]


@pytest.mark.anyio
async def test_task_info_over_mcp_says_why_for_each_reason(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    async with serve(repo) as client:
        blocker = await client.add("Write docs")
        blocked = await client.add("Ship it", depends=blocker["uuid"])
        waiting = await client.add("later", wait=FAR)
        scheduled = await client.add("planned", scheduled=FAR)
        held = await client.add("contested")
        ready = await client.add("ready")
        open_agent(repo, "agent-a").claim(held["uuid"], lease="1h")
        assert (await client.info(blocked["id"]))["not_ready"] == [f"blocked by {blocker['id']} (Write docs)"]
        assert (await client.info(waiting["id"]))["not_ready"] == [f"waiting until {FAR_TEXT}"]
        assert (await client.info(scheduled["id"]))["not_ready"] == [f"scheduled for {FAR_TEXT}"]
        holder = (await client.info(held["id"]))["not_ready"]
        assert len(holder) == 1 and holder[0].startswith("held by agent-a until ") and holder[0].endswith(" UTC")
        assert "not_ready" not in await client.info(ready["id"])
        listed = await client.tasks("")
        assert all("not_ready" not in t for t in listed), "task_list records stay as drop-in clients know them"


def test_cli_info_prints_the_reasons(repo: Path) -> None:
    human = open_human(repo)
    blocker = human.add("Write docs")
    task = human.add("Ship it", depends=[created_uuid(blocker)], scheduled=FAR)
    number = str(task.tasks[0]["id"])
    out = cli_ok(repo, "info", number)
    lines = [line.rstrip() for line in out.splitlines()]
    at = next(n for n, line in enumerate(lines) if line.startswith("not ready"))
    assert lines[at].split(None, 2)[2] == f"blocked by {blocker.tasks[0]['id']} (Write docs)"
    assert lines[at + 1].strip() == f"scheduled for {FAR_TEXT}"
    assert lines[at - 1].split()[0] == "status", "right under the status"
    record = json.loads(cli_ok(repo, "info", number, "--json"))
    assert record["not_ready"] == [f"blocked by {blocker.tasks[0]['id']} (Write docs)", f"scheduled for {FAR_TEXT}"]
