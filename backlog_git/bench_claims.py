"""``python -m backlog_git.bench --claims``: the figures of issue 11 ("many agents, one queue").

At the benchmark's largest store: ``task_claim`` by id and without one (the most urgent free ``+READY``
task) over MCP stdio, next to ``task_start``; claims per second of 8 processes racing for the next free
task; ``task_changes`` returning 1 and 100 changes. Targets: a local claim ≤ 1.5× ``task_start``, a
next-ready claim ≤ 20 ms, ``task_changes`` of 100 changes ≤ 20 ms.

It works on a copy of the store, so the other sections' figures never see its claims or agent branches.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .bench import _async_median_ms, _checked_call, _median_ms, _serve_params

RACERS = 8
RACE_CLAIMS = 25
"""Claims each racing process makes (8 × 25 = 200 claims of the next free task)."""
FEED_SIZES = (1, 100)

_RACER = r"""
import json, sys, time
from backlog_git.engine import Backlog
from backlog_git.errors import BacklogError
backlog = Backlog.open(sys.argv[1], env={"BACKLOG_AGENT_ID": sys.argv[2]})
backlog.count("+READY")  # the view is loaded before the start line, as in a running agent
print("ready", flush=True)
sys.stdin.readline()
won = lost = 0
for _ in range(int(sys.argv[3])):
    try:
        backlog.claim(None)
        won += 1
    except BacklogError:
        lost += 1
print(json.dumps({"won": won, "lost": lost}), flush=True)
"""


def bench_claims(repo: Path, runs: int) -> dict[str, float]:
    """Issue 11's figures on a copy of ``repo``; see the module docstring."""
    import anyio

    copy = repo.parent / f"{repo.name}-claims"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(repo, copy, symlinks=True)
    try:
        figures = anyio.run(_mcp_claims, copy, runs)
        figures.update(race(copy, RACERS, RACE_CLAIMS))
        figures.update(cross_machine(copy, runs))
        return figures
    finally:
        shutil.rmtree(copy, ignore_errors=True)


async def _mcp_claims(repo: Path, runs: int) -> dict[str, float]:
    from mcp import ClientSession, stdio_client

    figures: dict[str, float] = {}
    with open(os.devnull, "w") as devnull:
        async with stdio_client(_serve_params(repo), errlog=devnull) as (read, write), ClientSession(
            read, write
        ) as session:
            await session.initialize()
            await session.list_tools()

            call = functools.partial(_checked_call, session)
            median = functools.partial(_async_median_ms, runs=runs)

            listed = await call("task_list", filter="+READY", fields="id", limit=str(runs * 3))
            ids = iter(str(t["id"]) for t in listed.structured_content["tasks"])
            figures["mcp task_start"] = await median(lambda: call("task_start", id=next(ids)))
            figures["mcp task_claim by id"] = await median(lambda: call("task_claim", id=next(ids)))
            figures["mcp task_claim next ready"] = await median(lambda: call("task_claim"))
            figures["claim by id / task_start (target ≤ 1.5)"] = (
                figures["mcp task_claim by id"] / figures["mcp task_start"]
            )
            notes = iter(str(t["id"]) for t in (await call("task_list", filter="", fields="id", limit="200"))
                         .structured_content["tasks"])
            for size in FEED_SIZES:
                since = (await call("task_count", filter="")).meta["backlog-git/cursor"]
                for _ in range(size):
                    await call("task_annotate", id=next(notes), text="bench: a change for the feed")
                start = time.perf_counter()
                feed = await call("task_changes", since=since, limit=str(size))
                figures[f"mcp task_changes, {size} change(s), first call"] = (time.perf_counter() - start) * 1000
                assert len(feed.structured_content["changes"]) == size, feed.structured_content
                figures[f"mcp task_changes, {size} change(s), again"] = await median(
                    functools.partial(call, "task_changes", since=since, limit=str(size))
                )
    return figures


def race(repo: Path, processes: int, claims: int) -> dict[str, float]:
    """``processes`` agents (processes of their own, each its own branch) claiming the next free task
    ``claims`` times each, all at once: exactly one wins each task, so this is the queue's throughput."""
    racers = [
        subprocess.Popen([sys.executable, "-c", _RACER, str(repo), f"racer-{n}", str(claims)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for n in range(processes)
    ]
    try:
        for racer in racers:
            assert racer.stdout is not None and racer.stdout.readline().strip() == "ready"
        start = time.perf_counter()
        for racer in racers:
            assert racer.stdin is not None
            racer.stdin.write("go\n")
            racer.stdin.flush()
        answers = [json.loads(racer.stdout.readline()) for racer in racers]  # type: ignore[union-attr]
        elapsed = time.perf_counter() - start
    finally:
        for racer in racers:
            if racer.stdin is not None:
                racer.stdin.close()
            racer.wait(timeout=120)
    won = sum(a["won"] for a in answers)
    return {
        f"{processes} racing processes: claims per second": won / elapsed,
        f"{processes} racing processes: ms per claim": elapsed * 1000 / max(won, 1),
        f"{processes} racing processes: refused (nothing free)": float(sum(a["lost"] for a in answers)),
    }


def cross_machine(repo: Path, runs: int) -> dict[str, float]:
    """A claim that is also published to a remote (a local bare repository: one ``git push`` with a lease)
    next to the same claim kept on this machine (``BACKLOG_REMOTE=none``), in-process medians."""
    from .engine import Backlog

    remote = repo.parent / f"{repo.name}-remote.git"
    shutil.rmtree(remote, ignore_errors=True)
    try:
        subprocess.run(["git", "init", "-q", "--bare", str(remote)], capture_output=True, check=True)
        add_remote = ["git", "-C", str(repo), "remote", "add", "claims", str(remote)]
        subprocess.run(add_remote, capture_output=True, check=True)
        local = Backlog.open(str(repo), env={"BACKLOG_AGENT_ID": "bench-local", "BACKLOG_REMOTE": "none"})
        published = Backlog.open(str(repo), env={"BACKLOG_AGENT_ID": "bench-remote", "BACKLOG_REMOTE": "claims"})
        # Tasks of their own: the racers before may have claimed every ready task of a small store.
        fresh = local.import_tasks([{"description": f"claim across machines {n}"} for n in range(runs * 2)])
        targets = iter(str(t["id"]) for t in fresh.tasks)
        local_ms = _median_ms(lambda: local.claim(next(targets)), runs)
        published_ms = _median_ms(lambda: published.claim(next(targets)), runs)
    finally:
        shutil.rmtree(remote, ignore_errors=True)
    return {
        "engine claim, this machine only": local_ms,
        "engine claim, published to a bare remote (one push)": published_ms,
        "published / local claim": published_ms / local_ms,
    }

