"""task_claim, task_release and task_changes over real MCP stdio: exactly one winner among racing
servers, the loser's error names the holder, version and request-id parameters work end to end."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from support.server import make_repo, serve

pytestmark = pytest.mark.anyio


async def test_two_servers_race_for_one_task_and_one_wins(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    async with serve(repo, env={"BACKLOG_AGENT_ID": "left"}) as left, serve(
        repo, env={"BACKLOG_AGENT_ID": "right"}
    ) as right:
        task = (await left.add("contested"))["uuid"]
        results: dict[str, object] = {}

        async def claim(name: str, client: object) -> None:
            results[name] = await client.call("task_claim", id=task)  # type: ignore[attr-defined]

        async with anyio.create_task_group() as group:
            group.start_soon(claim, "left", left)
            group.start_soon(claim, "right", right)
        errors = [r for r in results.values() if r.is_error]  # type: ignore[attr-defined]
        assert len(errors) == 1
        loser_text = errors[0].content[0].text  # type: ignore[attr-defined]
        assert "is held by" in loser_text and "until" in loser_text
        info = await left.info(task)
        assert info["agent"] in ("left", "right") and info["lease"]
        other = "right" if info["agent"] == "left" else "left"
        loser = right if other == "right" else left
        refused = await loser.fail("task_modify", filter=task, priority="H")
        assert f"held by {info['agent']}" in refused
        await loser.ok("task_annotate", id=task, text="a note is welcome")
        forced = await loser.ok("task_release", id=task, force="true")
        assert "(forced)" in forced["message"]


async def test_versions_request_ids_and_the_change_feed_over_mcp(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    async with serve(repo) as client:
        first = await client.ok("task_add", description="once", request_id="r-1")
        again = await client.ok("task_add", description="once", request_id="r-1")
        assert first["commit"] == again["commit"]
        assert await client.count("") == 1
        task = first["tasks"][0]
        start = (await client.ok("task_changes"))["cursor"]
        await client.ok("task_modify", filter=task["uuid"], priority="H")
        stale = await client.fail("task_done", id=task["uuid"], expected_version=task["version"])
        assert "changed since version" in stale and "priority" in stale
        fresh = (await client.info(task["uuid"]))["version"]
        await client.ok("task_done", id=task["uuid"], expected_version=fresh)
        feed = await client.ok("task_changes", since=start)
        assert [c["op"] for c in feed["changes"]] == ["done", "modify"]


