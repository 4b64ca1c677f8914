"""Writer identity over MCP: a session without ``BACKLOG_AGENT_ID`` writes as ``<client> (mcp) <user>@<host>``
(``<client>`` from the ``clientInfo`` of its ``initialize``), never as the human's CLI (``<user>@<host>``).

So ``task_undo`` over MCP never reverts what the human did from the command line, and the commits an MCP
session makes credit the client. Also checked here, as docs/mcp.md describes them: a task file edited by
hand is committed as its own ``hand-edit`` commit (credited to the git user) before the next operation
on it, and two tasks with one numeric id brought by a plain ``git merge`` are both listed, ``task_info``
of that id says it is ambiguous, and the next mutation renumbers them in a commit of its own.

Everything runs for real: the CLI as a process (``support.cli_ok``), the server as ``backlog-git serve``
over stdio with the ``mcp`` client, and what landed is read back with ``git``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import Implementation
from support import cli_ok, git, init_repo, message
from support.server import SERVE, Client, base_env

from backlog_git.config import default_writer
from backlog_git.server.plumbing import mcp_writer

pytestmark = pytest.mark.anyio

CLIENT = "claude-code"


@asynccontextmanager
async def session_as(
    repo: Path, client_name: str = CLIENT, env: Mapping[str, str] | None = None
) -> AsyncIterator[Client]:
    """``backlog-git serve`` on ``repo``, spoken to by a client that introduces itself as ``client_name``."""
    server_env = base_env(BACKLOG_REPO=str(repo), **(env or {}))
    params = StdioServerParameters(command=SERVE[0], args=SERVE[1:], env=server_env, cwd=str(repo))
    with open(repo.parent / "server.log", "a", encoding="utf-8") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write, client_info=Implementation(name=client_name, version="1.0")) as session,
        ):
            init = await session.initialize()
            await session.list_tools()
            yield Client(session, repo, init)


def agents(repo: Path, rev: str = "HEAD", count: int = 50) -> list[str]:
    """The ``Backlog-Agent`` trailer of the newest ``count`` commits, newest first."""
    out = git(repo, "log", f"-{count}", "--format=%(trailers:key=Backlog-Agent,valueonly,separator=)%x00", rev)
    return [value.strip() for value in out.split("\x00")[:-1]]


def ops(repo: Path, count: int = 50) -> list[str]:
    out = git(repo, "log", f"-{count}", "--format=%(trailers:key=Backlog-Op,valueonly,separator=)%x00")
    return [value.strip() for value in out.split("\x00")[:-1]]


def commits(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD"))


# ---------------------------------------------------------------------------------------------
# The identity


def test_the_mcp_writer_names_the_client_and_the_user_never_the_human_alone() -> None:
    human = default_writer()
    assert mcp_writer("claude-code") == f"claude-code (mcp) {human}"
    assert mcp_writer(None) == f"mcp-client (mcp) {human}"
    assert mcp_writer("") == f"mcp-client (mcp) {human}"
    assert mcp_writer("Claude Code") == f"Claude-Code (mcp) {human}"
    # No client can write a line (a trailer of its own) into a commit message, or an endless name.
    hostile = mcp_writer("evil\nBacklog-Op: sync\r\nx" + "y" * 500)
    assert "\n" not in hostile and "\r" not in hostile and len(hostile) <= 64 + len(" (mcp) ") + len(human)
    assert mcp_writer("...") == f"mcp-client (mcp) {human}"
    assert mcp_writer("claude-code") != human


async def test_undo_over_mcp_never_reverts_the_humans_cli_change(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    cli_ok(repo, "add", "Human's CLI task")
    human = default_writer()
    assert agents(repo, count=1) == [human]
    before = commits(repo)

    async with session_as(repo) as client:
        refusal = await client.fail("task_undo")
        writer = f"{CLIENT} (mcp) {human}"
        assert refusal.startswith("Nothing to undo"), refusal
        assert writer in refusal, refusal
        assert commits(repo) == before  # nothing written
        assert await client.descriptions() == ["Human's CLI task"]

        # An MCP add is credited to the MCP identity (trailer and history) ...
        await client.add("Agent's task")
        assert agents(repo, count=1) == [writer]
        assert f"Backlog-Agent: {writer}" in message(repo).splitlines()
        history = (await client.ok("task_history", id="2"))["history"]
        assert [entry["writer"] for entry in history] == [writer]

        # ... and with the human's newer change on top, undo still finds the session's own operation.
        cli_ok(repo, "add", "Human's second task")
        result = await client.ok("task_undo")
        assert "Agent's task" in result["message"], result
        assert agents(repo, count=1) == [writer]
        assert await client.descriptions() == ["Human's CLI task", "Human's second task"]

        # Nothing of the session's is left: undo refuses again, and the human's tasks stay.
        assert "Nothing to undo" in await client.fail("task_undo")
        assert await client.descriptions() == ["Human's CLI task", "Human's second task"]

    # The human's undo is the human's: it reverts their own latest add, not the session's undo.
    cli_ok(repo, "undo")
    assert agents(repo, count=1) == [human]
    async with session_as(repo) as client:
        assert await client.descriptions() == ["Human's CLI task"]


async def test_the_identity_is_stable_across_sessions_of_one_client(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    async with session_as(repo) as client:
        await client.add("First session")
    # A restarted server for the same client is the same writer: its undo reaches the earlier session's add.
    async with session_as(repo) as client:
        result = await client.ok("task_undo")
        assert "First session" in result["message"]
    # Another client is another writer: it has nothing to undo (the undo above is claude-code's own).
    async with session_as(repo, client_name="other-client") as client:
        refusal = await client.fail("task_undo")
        assert f"other-client (mcp) {default_writer()}" in refusal, refusal


async def test_a_hostile_client_name_cannot_forge_trailers(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    async with session_as(repo, client_name="evil\nBacklog-Op: sync\nBacklog-Agent: someone") as client:
        await client.add("Written by a strange client")
    lines = message(repo).splitlines()
    assert [line for line in lines if line.startswith("Backlog-Agent:")] == [
        f"Backlog-Agent: evil-Backlog-Op-sync-Backlog-Agent-someone (mcp) {default_writer()}"
    ]
    assert [line for line in lines if line.startswith("Backlog-Op:")] == ["Backlog-Op: add"]


async def test_an_agent_id_names_the_writer_and_its_branch_instead(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    async with session_as(repo, env={"BACKLOG_AGENT_ID": "explorer"}) as client:
        await client.add("Agent branch task")
    assert agents(repo, "backlog/explorer", count=1) == ["explorer"]


# ---------------------------------------------------------------------------------------------
# Hand edits and id healing, as docs/mcp.md tells them


async def test_a_hand_edit_is_committed_on_its_own_before_the_next_operation(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    async with session_as(repo) as client:
        task = await client.add("Edited by hand")
        path = next((repo / ".backlog").rglob(f"{task['uuid']}.md"))
        path.write_text(path.read_text().replace("Edited by hand", "Edited by hand, then by an agent"))
        assert (await client.info(1))["description"] == "Edited by hand, then by an agent"  # reads see it at once
        await client.ok("task_annotate", id="1", text="noted")
        writer = f"{CLIENT} (mcp) {default_writer()}"
        assert ops(repo, 3) == ["annotate", "hand-edit", "add"]
        assert agents(repo, count=2) == [writer, "Test User <test@example.com>"]
        # Undo reverts the annotation only: the hand edit is the human's.
        await client.ok("task_undo")
        current = await client.info(1)
        assert current["description"] == "Edited by hand, then by an agent"
        assert not current.get("annotations")
    assert git(repo, "status", "--porcelain") == ""


async def test_two_tasks_with_one_id_from_a_plain_merge_are_listed_then_renumbered(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    cli_ok(repo, "add", "Base task")
    git(repo, "checkout", "-q", "-b", "side")
    cli_ok(repo, "add", "Side task")
    git(repo, "checkout", "-q", "main")
    cli_ok(repo, "add", "Main task")
    git(repo, "merge", "-q", "--no-edit", "side")  # no merge driver registered: the counter clashes or merges
    async with session_as(repo) as client:
        listed = await client.tasks()
        assert sorted((t["id"], t["description"]) for t in listed) == [
            (1, "Base task"), (2, "Main task"), (2, "Side task")
        ]  # fmt: skip
        ambiguous = await client.fail("task_info", id="2")
        assert "matches more than one task" in ambiguous
        assert "Main task" in ambiguous and "Side task" in ambiguous
        before = commits(repo)
        await client.ok("task_annotate", id="1", text="after the merge")
        assert ops(repo, 2) == ["annotate", "renumber"]
        assert commits(repo) == before + 2
        ids = {t["description"]: t["id"] for t in await client.tasks()}
        assert ids["Base task"] == 1 and len(set(ids.values())) == 3
        renumbered = [name for name in ("Main task", "Side task") if ids[name] != 2]
        assert len(renumbered) == 1
        assert re.search(r"\b2\b", message(repo, "HEAD~1")), message(repo, "HEAD~1")
