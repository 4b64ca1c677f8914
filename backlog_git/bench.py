"""``python -m backlog_git.bench``: the budgets, measured (medians, milliseconds).

Builds throwaway stores of 1,000 and 10,000 tasks and times engine-level operations, the raw git
floor (one blob, the trees on its path, a commit and a ref move), bytes added to ``.git`` per
mutation, the filter language, merged reads with agent branches, sync, and the merge driver.
Budgets (10,000 tasks): add/modify/done/undo ≤ 5 ms, info ≤ 1 ms, selective list ≤ 10 ms,
≤ 20 KB of new objects per mutation; filters ≤ 10 ms, pending count ≤ 15 ms, compile ≤ 0.2 ms;
merged read with 8 agent branches ≤ 2× the single-branch read.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .engine import Backlog
from .gitstore import format_message
from .query import compile_filter

PROJECTS = [f"p{i}" for i in range(20)]
TAGS = ["bug", "feature", "docs", "ui", "api", "perf", "security", "chore"]


def _median_ms(fn: Callable[[], Any], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def make_store(root: Path, size: int, seed: int = 7) -> Path:
    """A repository with ``size`` tasks of every field kind, committed in one import."""
    rng = random.Random(seed)
    repo = root / f"store-{size}"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.name", "bench")
    _git(repo, "config", "user.email", "bench@example.invalid")
    items = []
    for n in range(size):
        item: dict[str, Any] = {
            "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "description": f"Task {n} {rng.choice(['fix', 'add', 'refactor', 'document'])} "
            f"{rng.choice(['login', 'search', 'foo handler', 'cache', 'parser'])}",
            "project": rng.choice(PROJECTS),
            "tags": rng.sample(TAGS, rng.randint(0, 3)),
            "status": rng.choices(["pending", "completed", "deleted"], [6, 3, 1])[0],
        }
        if rng.random() < 0.5:
            item["priority"] = rng.choice("HML")
        if rng.random() < 0.4:
            days = rng.randint(-20, 40)
            item["due"] = f"now{days:+d}d"
        items.append(item)
    Backlog.open(str(repo), env={}).import_tasks(items)
    return repo


def _objects_size(repo: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(repo / ".git" / "objects"):
        for name in files:
            total += os.path.getsize(os.path.join(dirpath, name))
    return total


def bench_core(repo: Path, runs: int) -> dict[str, float]:
    backlog = Backlog.open(str(repo), env={})
    backlog.list("")  # warm the view
    ids = [t["id"] for t in backlog.list("status:pending", limit=runs * 2)]
    results: dict[str, float] = {}
    before = _objects_size(repo)
    counter = iter(range(10**9))
    results["add"] = _median_ms(lambda: backlog.add(f"bench add {next(counter)}", project="p1", tags=["bug"]), runs)
    it = iter(ids)
    results["modify"] = _median_ms(
        lambda: backlog.modify(str(next(it)), changes={"description": f"bench modified {next(counter)}"}), runs
    )
    it2 = iter(ids[runs:])
    results["done"] = _median_ms(lambda: backlog.done(str(next(it2))), runs)
    results["undo"] = _median_ms(backlog.undo, runs)
    mutations = runs * 4
    results["kb_per_mutation"] = (_objects_size(repo) - before) / mutations / 1024
    results["info"] = _median_ms(lambda: backlog.info(str(ids[0])), runs)
    results["list project:p3 +bug"] = _median_ms(lambda: backlog.list("project:p3 +bug"), runs)
    results["raw floor"] = _raw_floor(backlog, runs)
    return results


def _raw_floor(backlog: Backlog, runs: int) -> float:
    """pygit2 writing one blob, the trees on its path and a commit, and moving a ref."""
    git = backlog.git
    paths = list(backlog.state.view.entries)  # a real path of the store, so the trees are full size
    rng = random.Random(1)
    message = format_message("bench", [("Backlog-Op", "bench")])
    git.commit_files("refs/bench/floor", {paths[0]: b"seed"}, message)
    return _median_ms(
        lambda: git.commit_files("refs/bench/floor", {rng.choice(paths): os.urandom(200)}, message), runs
    )


def bench_query(repo: Path, runs: int) -> dict[str, float]:
    backlog = Backlog.open(str(repo), env={})
    backlog.list("")
    results = {}
    for text in ("project:p3 +bug", "priority:H due.before:eow", "+READY", "description.contains:foo"):
        results[f"list {text}"] = _median_ms(functools.partial(backlog.list, text), runs)
    results["count status:pending"] = _median_ms(lambda: backlog.count("status:pending"), runs)
    compile_filter.cache_clear() if hasattr(compile_filter, "cache_clear") else None
    texts = [f"project:p{i} +bug or ( priority:H due.before:eow )" for i in range(runs)]
    it = iter(texts)
    results["compile (uncached)"] = _median_ms(lambda: compile_filter(next(it)), runs)
    return results


def bench_agents(repo: Path, agents: int, ops: int) -> dict[str, float]:
    """Merged reads with agent branches, a sync of them, and the merge driver per file."""
    results: dict[str, float] = {}
    human = Backlog.open(str(repo), env={})
    results["read, no agent branches"] = _median_ms(lambda: human.list("project:p3 +bug"), 20)
    pending = [t["id"] for t in human.list("status:pending", limit=agents * ops)]
    start = time.perf_counter()
    for n in range(agents):
        agent = Backlog.open(str(repo), env={"BACKLOG_AGENT_ID": f"agent-{n}"})
        for k in range(ops):
            if k % 2:  # a project of their own, so the measured filter's result set stays the same
                agent.add(f"agent {n} op {k}", project="agents", tags=["bug"])
            else:
                agent.modify(str(pending[(n * ops + k) % len(pending)]), changes={"description": f"agent {n} {k}"})
    results[f"agent ops ({agents}x{ops}) per op"] = (time.perf_counter() - start) * 1000 / (agents * ops)
    fresh = Backlog.open(str(repo), env={})
    start = time.perf_counter()
    fresh.list("project:p3 +bug")
    results["first merged read (cold caches)"] = (time.perf_counter() - start) * 1000
    results[f"read, {agents} agent branches"] = _median_ms(lambda: fresh.list("project:p3 +bug"), 20)
    results["merged/single ratio"] = results[f"read, {agents} agent branches"] / results["read, no agent branches"]
    start = time.perf_counter()
    fresh.sync()
    results[f"sync of {agents}x{ops} ops"] = (time.perf_counter() - start) * 1000
    results["merge driver per file (process)"] = _driver_cost(repo)
    results["merge function per file (in process)"] = _merge_cost(repo)
    return results


def _merge_cost(repo: Path, runs: int = 200) -> float:
    from .merge import merge_task_bytes

    data = next((repo / ".backlog" / "tasks").glob("*/*.md")).read_bytes()
    ours = data.replace(b"status:", b"project: q9\nstatus:", 1)
    theirs = data.replace(b"status:", b"agent: x\nstatus:", 1)
    return _median_ms(lambda: merge_task_bytes(data, ours, theirs), runs)


def _driver_cost(repo: Path, runs: int = 10) -> float:
    path = next((repo / ".backlog" / "tasks").glob("*/*.md"))
    data = path.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        base, ours, theirs = (Path(tmp) / n for n in ("O", "A", "B"))
        base.write_bytes(data)
        theirs.write_bytes(data.replace(b"status:", b"agent: x\nstatus:", 1))

        def once() -> None:
            ours.write_bytes(data.replace(b"status:", b"project: q9\nstatus:", 1))
            command = [sys.executable, "-m", "backlog_git", "merge-driver"]
            subprocess.run([*command, str(base), str(ours), str(theirs), str(path)], check=True)

        return _median_ms(once, runs)


def bench_mcp(repo: Path, runs: int) -> dict[str, float]:
    """The MCP server over stdio, one client for every figure (issue 4's budgets)."""
    import anyio

    return anyio.run(_mcp_figures, repo, runs)


async def _mcp_figures(repo: Path, runs: int) -> dict[str, float]:
    import json

    from mcp import ClientSession, StdioServerParameters, stdio_client

    devnull = open(os.devnull, "w")  # noqa: SIM115  # the servers' stderr, for the whole measurement
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "backlog_git", "serve"],
        env={**os.environ, "BACKLOG_REPO": str(repo)}, cwd=str(repo),
    )
    figures: dict[str, float] = {}
    starts = []
    for _ in range(5):
        start = time.perf_counter()
        async with stdio_client(params, errlog=devnull) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            starts.append((time.perf_counter() - start) * 1000)
    figures["mcp launch → initialize (best of 5)"] = min(starts)
    async with stdio_client(params, errlog=devnull) as (read, write), ClientSession(read, write) as s:
        await s.initialize()
        await s.list_tools()

        async def call(name: str, **args: Any) -> Any:
            result = await s.call_tool(name, args)
            if result.is_error:
                raise RuntimeError(f"{name}: {getattr(result.content[0], 'text', result.content[0])}")
            return result

        async def median(make: Callable[[], Any]) -> float:
            samples = []
            for _ in range(runs):
                start = time.perf_counter()
                await make()
                samples.append((time.perf_counter() - start) * 1000)
            return statistics.median(samples)

        listed = (await call("task_list", filter="status:pending", fields="id", limit=str(runs * 3)))
        pending = [t["id"] for t in listed.structured_content["tasks"]]
        numbers = iter(range(10**9))
        ids, done_ids = iter(pending), iter(pending[runs:])
        figures["mcp task_add"] = await median(lambda: call("task_add", description=f"mcp {next(numbers)}"))
        figures["mcp task_modify"] = await median(
            lambda: call("task_modify", filter=str(next(ids)), description=f"mcp changed {next(numbers)}")
        )
        figures["mcp task_done"] = await median(lambda: call("task_done", id=str(next(done_ids))))
        figures["mcp task_undo"] = await median(lambda: call("task_undo"))
        figures["mcp task_info"] = await median(lambda: call("task_info", id=str(pending[0])))
        count = (await call("task_count", filter="project:p3 +bug")).structured_content["count"]
        figures[f"mcp task_list project:p3 +bug ({count})"] = await median(
            lambda: call("task_list", filter="project:p3 +bug")
        )
        result = await call("task_list", filter="status:pending")
        text = result.content[0].text
        figures["mcp bytes per listed task (text)"] = len(text.encode()) / max(len(json.loads(text)), 1)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--agent-ops", type=int, default=200)
    parser.add_argument("--no-mcp", action="store_true", help="skip the MCP-over-stdio figures")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="backlog-bench-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            start = time.perf_counter()
            repo = make_store(Path(tmp), size)
            print(f"\n== {size} tasks (store built in {time.perf_counter() - start:.1f} s)")
            for name, value in {**bench_core(repo, args.runs), **bench_query(repo, args.runs)}.items():
                print(f"  {name:<40} {value:9.3f}", flush=True)
            largest = size == max(int(s) for s in args.sizes.split(","))
            if largest and not args.no_mcp:
                for name, value in bench_mcp(repo, args.runs).items():
                    print(f"  {name:<40} {value:9.3f}", flush=True)
            if largest and args.agents:
                for name, value in bench_agents(repo, args.agents, args.agent_ops).items():
                    print(f"  {name:<40} {value:9.3f}", flush=True)
    print("\n(milliseconds, medians; kb_per_mutation in KB; ratio unitless)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
