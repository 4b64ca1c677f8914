"""A cursor on every MCP result (issue 11): each tool result carries, in ``_meta``, the change feed's
cursor of what the call saw — a mutation's read just after its own commit — so ``task_changes`` from it
returns exactly what happened since. Real server processes over stdio; the content is untouched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp.types import CallToolResult
from support import git
from support.server import Client, make_repo, serve

pytestmark = pytest.mark.anyio

CURSOR = "backlog-git/cursor"


def cursor_of(result: CallToolResult) -> str:
    assert result.meta is not None and isinstance(result.meta.get(CURSOR), str), result
    return str(result.meta[CURSOR])


async def changes_since(client: Client, cursor: str) -> list[dict[str, Any]]:
    return (await client.ok("task_changes", since=cursor))["changes"]


async def test_list_info_and_mutation_results_carry_a_cursor(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    async with serve(repo) as client:
        added = await client.call("task_add", description="first")
        task = added.structured_content["tasks"][0]  # type: ignore[index]
        assert cursor_of(added) == git(repo, "rev-parse", "HEAD"), "a mutation's cursor: just after its commit"
        listed = await client.call("task_list", filter="")
        shown = await client.call("task_info", id=str(task["id"]))
        for result in (listed, shown):
            assert cursor_of(result) == cursor_of(added)
        assert set(listed.structured_content or {}) == {"tasks"}, "the content is what drop-in clients know"

        modified = await client.call("task_modify", filter=str(task["id"]), priority="H")
        mutation = cursor_of(modified)
        assert mutation != cursor_of(added)
        assert [c["op"] for c in await changes_since(client, cursor_of(listed))] == ["modify"]
        assert await changes_since(client, mutation) == [], "the mutation's own commit is not repeated"

        done = await client.call("task_done", id=str(task["id"]))
        feed = await changes_since(client, mutation)
        assert [(c["op"], c["id"]) for c in feed] == [("done", task["id"])], "exactly the further mutation"
        assert cursor_of(done) != mutation
        for since in (cursor_of(listed), cursor_of(shown)):
            assert [c["op"] for c in await changes_since(client, since)] == ["done", "modify"]


async def test_other_tools_errors_and_the_feed_itself_carry_cursors(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    async with serve(repo, env={"BACKLOG_AGENT_ID": "agent-a"}) as client:
        await client.add("on the agent branch")
        for name, arguments in [("task_count", {"filter": ""}), ("task_projects", {}), ("task_tags", {}),
                                ("task_history", {"id": "1"}), ("task_claim", {}), ("task_release", {"id": "1"})]:
            result = await client.call(name, **arguments)
            assert not result.is_error, (name, result)
            tip = git(repo, "rev-parse", "backlog/agent-a")  # moved by the claim and the release
            assert cursor_of(result) == tip, name
        refused = await client.call("task_done", id="999")
        assert refused.is_error and cursor_of(refused) == tip, "a refusal still says what it saw"
        feed = await client.call("task_changes")
        assert cursor_of(feed) == feed.structured_content["cursor"]  # type: ignore[index]
