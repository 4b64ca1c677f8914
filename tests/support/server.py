"""A real ``backlog-git serve`` subprocess spoken to by the ``mcp`` client over stdio, a pool of servers booted
ahead of the tests that take them, and small call helpers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult

from .env import clean_env
from .git import init_repo

SERVE = [sys.executable, "-m", "backlog_git", "serve"]
BACKLOG_CMD = [sys.executable, "-m", "backlog_git"]

TOOL_NAMES = [
    "task_list", "task_info", "task_count", "task_projects", "task_tags", "task_add", "task_done",
    "task_delete", "task_start", "task_stop", "task_log", "task_duplicate", "task_modify", "task_annotate",
    "task_denotate", "task_undo", "task_purge", "task_import", "task_doc_write", "task_doc_read",
    "task_doc_delete", "task_archive", "task_archive_list", "task_archive_load",
]  # fmt: skip


def make_repo(path: Path) -> Path:
    """A fresh git repository with an identity (and nothing else: the branch is unborn)."""
    return init_repo(path, commit=False)


def base_env(**extra: str) -> dict[str, str]:
    """The environment of a server under test: no inherited store or git settings, UTC, plus ``extra``."""
    return clean_env(TZ="UTC", **extra)


def task_file(repo: Path, uuid: str) -> Path:
    matches = [p for p in (repo / ".backlog").rglob(f"{uuid}.md") if "archive" not in p.parts]
    assert len(matches) == 1, matches
    return matches[0]


def today_utc(days: int = 0) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d")


def text_of(result: CallToolResult) -> str:
    """The result's one text item (a second item is only ever the unreadable-files warning)."""
    assert len(result.content) == 1 or all(
        extra.type == "text" and extra.text.startswith("Warning: ") for extra in result.content[1:]
    ), result.content
    item = result.content[0]
    assert item.type == "text"
    return item.text


class Client:
    """A connected MCP client session with shorthand calls."""

    def __init__(self, session: ClientSession, repo: Path | None, init: Any = None) -> None:
        self.session = session
        self.repo = repo
        self.init = init
        self.done: anyio.Event | None = None

    async def call(self, name: str, **arguments: Any) -> CallToolResult:
        return await self.session.call_tool(name, arguments)

    async def ok(self, name: str, **arguments: Any) -> dict[str, Any]:
        """Call a tool that must succeed; return its structuredContent (checked against the text)."""
        result = await self.call(name, **arguments)
        assert not result.is_error, f"{name}({arguments}) failed: {text_of(result)}"
        structured = result.structured_content
        assert isinstance(structured, dict)
        text = text_of(result)
        if "tasks" in structured and "message" not in structured:
            expected = structured["tasks"][0] if name == "task_info" else structured["tasks"]
            assert json.loads(text) == expected
        elif "count" in structured:
            assert text == str(structured["count"])
        elif "items" in structured:
            assert json.loads(text) == structured["items"]
        elif "content" in structured:
            assert text == structured["content"]
        elif "message" in structured:
            assert text == structured["message"]
        return structured

    async def fail(self, name: str, **arguments: Any) -> str:
        """Call a tool that must fail; return the error text."""
        result = await self.call(name, **arguments)
        assert result.is_error, f"{name}({arguments}) should have failed: {result}"
        text = text_of(result)
        assert "Error executing tool" not in text or "validation error" in text, text
        assert "Internal error" not in text, text
        return text

    async def tasks(self, filter: str = "", **arguments: Any) -> list[dict[str, Any]]:
        return (await self.ok("task_list", filter=filter, **arguments))["tasks"]

    async def count(self, filter: str = "") -> int:
        return (await self.ok("task_count", filter=filter))["count"]

    async def info(self, ref: str | int) -> dict[str, Any]:
        return (await self.ok("task_info", id=str(ref)))["tasks"][0]

    async def add(self, description: str, **arguments: Any) -> dict[str, Any]:
        """Add a task; return its record as the result reports it."""
        structured = await self.ok("task_add", description=description, **arguments)
        created = [t for t in structured["tasks"] if t["description"] == description and not t.get("parent")]
        assert created, structured
        return created[0]

    async def descriptions(self, filter: str = "") -> list[str]:
        return sorted(t["description"] for t in await self.tasks(filter))


@asynccontextmanager
async def serve(
    repo: Path | None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    log: Path | None = None,
) -> AsyncIterator[Client]:
    """Run ``backlog-git serve`` (``BACKLOG_REPO=repo`` unless ``env`` says otherwise) and connect."""
    server_env = base_env(**({"BACKLOG_REPO": str(repo)} if repo is not None else {}))
    server_env.update(env or {})
    params = StdioServerParameters(command=SERVE[0], args=SERVE[1:], env=server_env, cwd=str(cwd or repo or Path.cwd()))
    log_path = log or ((repo.parent if repo else Path(server_env.get("TMPDIR", "/tmp"))) / "server.log")
    with open(log_path, "a", encoding="utf-8") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            init = await session.initialize()
            await session.list_tools()  # so the client validates structured results against the schemas
            yield Client(session, repo, init)


class ServerPool:
    """Fresh repositories, each with a server that is started (and warmed up) while the previous test
    runs: ``take()`` hands out a ready one and starts booting the next. Servers live in tasks of the
    pool's task group, so each stdio connection is opened and closed by the same task."""

    def __init__(self, group: anyio.abc.TaskGroup, root: Path, ahead: int = 2) -> None:
        self.group = group
        self.root = root
        self.ahead = ahead
        self.count = 0
        self.send, self.receive = anyio.create_memory_object_stream[Any](max_buffer_size=ahead + 1)
        self.running: list[anyio.Event] = []

    def start_one(self) -> None:
        self.count += 1
        done = anyio.Event()
        self.running.append(done)
        self.group.start_soon(self._run, self.root / f"repo{self.count}", done)

    async def _run(self, repo: Path, done: anyio.Event) -> None:
        try:
            async with serve(make_repo(repo)) as client:
                client.done = done
                await self.send.send(client)
                await done.wait()
        except Exception as exc:  # reported to the test that takes this server
            await self.send.send(exc)

    def prime(self) -> None:
        for _ in range(self.ahead):
            self.start_one()

    async def take(self) -> Client:
        self.start_one()
        item = await self.receive.receive()
        if isinstance(item, Exception):
            raise item
        return item

    def close(self) -> None:
        for done in self.running:
            done.set()


@asynccontextmanager
async def server_pool(root: Path, ahead: int = 2) -> AsyncIterator[ServerPool]:
    async with anyio.create_task_group() as group:
        pool = ServerPool(group, root, ahead)
        pool.prime()
        try:
            yield pool
        finally:
            pool.close()
            group.cancel_scope.cancel()


def run_cli(repo: Path, *args: str, stdin: str | None = None, env: Mapping[str, str] | None = None):
    """Run ``python -m backlog_git ARGS`` against ``repo``."""
    return subprocess.run(
        [*BACKLOG_CMD, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=base_env(BACKLOG_REPO=str(repo), **(env or {})),
        cwd=str(repo),
        timeout=60,
    )
