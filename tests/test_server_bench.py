"""The MCP benchmark over stdio (issue 4), run on demand: ``BACKLOG_BENCH=1 pytest tests/test_server_bench.py -s``.

On a store of ``BACKLOG_BENCH_SIZE`` tasks (default 10,000, built by :func:`backlog_git.bench.make_store`,
or ``BACKLOG_BENCH_REPO`` to reuse one),
with one client for every figure: launch → ``initialize``; median round trips of task_add, task_modify,
task_done, task_undo, task_info and a filtered task_list (≤ 500 results); bytes of text per listed task.
Budgets: ≤ 600 ms to initialize, single-task calls ≤ 7 ms, filtered list ≤ 15 ms, ≤ 250 bytes per task.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from test_server_support import Client, serve

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not os.environ.get("BACKLOG_BENCH"), reason="benchmark: set BACKLOG_BENCH=1 to run"),
]
SIZE = int(os.environ.get("BACKLOG_BENCH_SIZE", "10000"))
RUNS = int(os.environ.get("BACKLOG_BENCH_RUNS", "30"))


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


async def _median_ms(call: Callable[[], Awaitable[Any]], runs: int = RUNS) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


async def test_benchmark(tmp_path: Path) -> None:
    from backlog_git.bench import make_store

    existing = os.environ.get("BACKLOG_BENCH_REPO")  # reuse a store made by make_store (it gets changed)
    repo = Path(existing) if existing else make_store(tmp_path, SIZE)
    figures: dict[str, float] = {}
    starts = []
    for _ in range(5):
        start = time.perf_counter()
        async with serve(repo) as client:
            starts.append(client.init and (time.perf_counter() - start) * 1000)
    figures["launch → initialize + tools/list (ms, best of 5)"] = min(starts)

    async with serve(repo) as client:
        await client.ok("task_count", filter="")  # open the store
        figures.update(await _round_trips(client))
        result = await client.call("task_list", filter="status:pending")
        text = result.content[0].text
        listed = len(json.loads(text))
        figures["bytes per listed task (default text)"] = len(text.encode()) / listed
        figures["bytes per listed task (structured, compact JSON)"] = (
            len(json.dumps(result.structured_content["tasks"], separators=(",", ":")).encode()) / listed
        )
        figures["bytes per listed task (original: pretty JSON of all fields)"] = (
            len(json.dumps(result.structured_content["tasks"], indent=2).encode()) / listed
        )
    width = max(len(name) for name in figures)
    print(f"\nMCP over stdio, {SIZE} tasks, median of {RUNS}:")
    for name, value in figures.items():
        print(f"  {name:<{width}}  {value:8.1f}")


async def _round_trips(client: Client) -> dict[str, float]:
    pending = [t["id"] for t in await client.tasks("status:pending", fields="id", limit=str(RUNS * 3))]
    numbers = iter(range(10**9))
    ids = iter(pending)
    done_ids = iter(pending[RUNS:])
    figures = {
        "task_add (ms)": await _median_ms(lambda: client.ok("task_add", description=f"bench {next(numbers)}")),
        "task_modify (ms)": await _median_ms(
            lambda: client.ok("task_modify", filter=str(next(ids)), description=f"changed {next(numbers)}")
        ),
        "task_done (ms)": await _median_ms(lambda: client.ok("task_done", id=str(next(done_ids)))),
        "task_undo (ms)": await _median_ms(lambda: client.ok("task_undo")),
        "task_info (ms)": await _median_ms(lambda: client.ok("task_info", id=str(pending[0]))),
    }
    count = await client.count("project:p3 +bug")
    assert count <= 500
    figures[f"task_list project:p3 +bug ({count} tasks) (ms)"] = await _median_ms(
        lambda: client.ok("task_list", filter="project:p3 +bug")
    )
    return figures
