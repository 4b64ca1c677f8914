"""``python -m backlog_git.bench``: the budgets, measured (medians, milliseconds).

Builds throwaway stores of 1,000 and 10,000 tasks and times engine-level operations, the raw git
floor (one blob, the trees on its path, a commit and a ref move), bytes added to ``.git`` per
mutation, the filter language, merged reads with agent branches, sync, and the merge driver.
Budgets (10,000 tasks): add/modify/done/undo ≤ 5 ms, info ≤ 1 ms, selective list ≤ 10 ms,
≤ 20 KB of new objects per mutation; filters ≤ 10 ms, pending count ≤ 15 ms, compile ≤ 0.2 ms;
merged read with 8 agent branches ≤ 2× the single-branch read. With ``--scale``: a megabyte of hostile
``extra`` parsed ≤ 3 s and refused over MCP ≤ 5 s; the 10,000-task board loaded ≤ 5 s and filtered
≤ 1 s in headless Chromium.
"""

from __future__ import annotations

import argparse
import functools
import io
import os
import random
import shutil
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
from .engine.messages import op_message
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


async def _async_median_ms(make: Callable[[], Any], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await make()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


async def _checked_call(session: Any, name: str, **args: Any) -> Any:
    """A tool call whose error result stops the benchmark (a figure of a failing call means nothing)."""
    result = await session.call_tool(name, args)
    if result.is_error:
        raise RuntimeError(f"{name}: {getattr(result.content[0], 'text', result.content[0])}")
    return result


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def make_store(root: Path, size: int, seed: int = 7) -> Path:
    """A repository with ``size`` tasks of every field kind, committed in one import."""
    repo = root / f"store-{size}"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.name", "bench")
    _git(repo, "config", "user.email", "bench@example.invalid")
    backlog = Backlog.open(str(repo), env={})
    items = store_items(size, seed)
    # One import up to 10,000 tasks; bigger stores in imports of 5,000 (a store that size grew over
    # many commits, and the 100,000-task figures were measured on stores built this way).
    step = size if size <= 10_000 else 5_000
    for start in range(0, size, step):
        backlog.import_tasks(items[start : start + step])
    return repo


def store_items(size: int, seed: int = 7) -> list[dict[str, Any]]:
    """The tasks every store of the benchmark holds (the same for the original server's)."""
    rng = random.Random(seed)
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
    return items


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

        call = functools.partial(_checked_call, s)
        median = functools.partial(_async_median_ms, runs=runs)

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


# ------------------------------------------------------------------------------------ scale (issue 12)
def _serve_params(repo: Path, command: list[str] | None = None, env: dict[str, str] | None = None) -> Any:
    from mcp import StdioServerParameters

    command = command or [sys.executable, "-m", "backlog_git", "serve"]
    return StdioServerParameters(
        command=command[0], args=command[1:], env={**os.environ, **(env or {"BACKLOG_REPO": str(repo)})},
        cwd=str(repo),
    )


async def _first_call_ms(params: Any, tool: str, arguments: dict[str, Any]) -> tuple[float, float]:
    """(launch → initialize answered, launch → first ``tool`` answered), milliseconds."""
    from mcp import ClientSession, stdio_client

    with open(os.devnull, "w") as devnull:
        start = time.perf_counter()
        async with stdio_client(params, errlog=devnull) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            ready = (time.perf_counter() - start) * 1000
            result = await s.call_tool(tool, arguments)
            if result.is_error:
                raise RuntimeError(f"{tool}: {getattr(result.content[0], 'text', '')}")
            return ready, (time.perf_counter() - start) * 1000


def bench_restart(repo: Path, runs: int = 3) -> dict[str, float]:
    """A fresh ``serve`` answering its first list and count (what every Claude Code session pays)."""
    import anyio

    params = _serve_params(repo)
    lists = [anyio.run(_first_call_ms, params, "task_list", {"filter": "project:p3 +bug"})[1] for _ in range(runs)]
    counts = [anyio.run(_first_call_ms, params, "task_count", {"filter": ""})[1] for _ in range(runs)]
    return {"restart → first task_list": statistics.median(lists),
            "restart → first task_count": statistics.median(counts)}


def bench_empty_initialize(root: Path, runs: int = 5) -> float:
    import anyio

    repo = root / "empty"
    repo.mkdir(exist_ok=True)
    _git(repo, "init", "-q", "-b", "main")
    params = _serve_params(repo)
    return min(anyio.run(_first_call_ms, params, "task_count", {"filter": ""})[0] for _ in range(runs))


def bench_host_repo(root: Path, files: int, runs: int) -> float:
    """task add in a host repository of ``files`` tracked files (the user's project around the store)."""
    repo = root / f"host-{files}"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.name", "bench")
    _git(repo, "config", "user.email", "bench@example.invalid")
    for n in range(files):
        directory = repo / "src" / f"d{n // 500}"
        if n % 500 == 0:
            directory.mkdir(parents=True)
        (directory / f"f{n}.txt").write_text(f"file {n}\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "host files")
    backlog = Backlog.open(str(repo), env={})
    backlog.import_tasks([{"description": f"host task {n}"} for n in range(1000)])
    counter = iter(range(10**9))
    return _median_ms(lambda: backlog.add(f"host add {next(counter)}"), runs)


def bench_git_growth(root: Path, mutations: int) -> dict[str, float]:
    """Bytes ``.git`` grows per mutation over many mutations, background packing included."""
    repo = root / "growth"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.name", "bench")
    _git(repo, "config", "user.email", "bench@example.invalid")
    backlog = Backlog.open(str(repo), env={})
    ids = [t["id"] for t in backlog.import_tasks([{"description": f"g {n}"} for n in range(500)]).tasks]
    before = _dir_size(repo / ".git")
    start = time.perf_counter()
    for n in range(mutations):
        if n % 3 == 0:
            backlog.add(f"growth {n}", tags=["x"])
        else:
            backlog.annotate(str(ids[n % len(ids)]), f"note {n}")
    elapsed = time.perf_counter() - start
    gc = backlog.git._gc
    if gc is not None:
        gc.wait()
    return {"bytes of .git per mutation": (_dir_size(repo / ".git") - before) / mutations,
            "ms per mutation, housekeeping included": elapsed * 1000 / mutations}


def extend_history(repo: Path, commits: int, writer: str = "bench-history") -> list[str]:
    """Append ``commits`` store commits to ``repo``'s branch, each an edit of one task's doc (cycling
    through the pending tasks), written by ``git fast-import`` in one go (the store at this length of
    history, without hours of real mutations). Returns the uuids edited, oldest edit first."""
    backlog = Backlog.open(str(repo), env={})
    pending = backlog.list("status:pending")
    if not pending:
        return []
    branch = _git(repo, "symbolic-ref", "--short", "HEAD").strip()
    stream = io.BytesIO()
    when = int(time.time()) - commits
    edited = []
    for n in range(commits):
        task = pending[n % len(pending)]
        path = backlog.task_path(task["uuid"])
        data = (repo / path).read_bytes() + f"\nedit {n}\n".encode()
        (repo / path).write_bytes(data)
        message = op_message(f"modify #{task['id']}: edit {n}", "modify", backlog.namespace, writer,
                             tasks=[task["uuid"]]).encode()
        stream.write(f"commit refs/heads/{branch}\ncommitter bench <bench@example.invalid> {when + n} +0000\n".encode())
        stream.write(b"data %d\n%s\n" % (len(message), message))
        if n == 0:
            stream.write(f"from refs/heads/{branch}^0\n".encode())
        stream.write(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data))
        edited.append(task["uuid"])
    subprocess.run(["git", "-C", str(repo), "fast-import", "--quiet"], input=stream.getvalue(), check=True)
    _git(repo, "reset", "-q", "--hard")
    return edited


def bench_long_history(repo: Path, commits: int, runs: int) -> dict[str, float]:
    """``task_history`` and ``task_undo`` after ``commits`` more commits of history (a busy store)."""
    start = time.perf_counter()
    edited = extend_history(repo, commits)
    built = time.perf_counter() - start
    backlog = Backlog.open(str(repo), env={"BACKLOG_AGENT_ID": "bench-history-undo"})
    backlog.list("")
    deep, recent = edited[0], edited[-1]
    started = time.perf_counter()
    backlog.history(recent)
    first = (time.perf_counter() - started) * 1000
    ids = [str(t["id"]) for t in backlog.list("status:pending", limit=runs)]
    undos = []
    for ref in ids:  # the writer's own latest op is what undo reverts: time the undo alone
        backlog.modify(ref, changes={"description": f"undone edit of {ref}"})
        started = time.perf_counter()
        backlog.undo()
        undos.append((time.perf_counter() - started) * 1000)
    return {
        f"history commits (built in {built:.0f} s)": float(_git(repo, "rev-list", "--count", "HEAD")),
        "first task_history (indexes the whole log once)": first,
        "task_history, task edited first": _median_ms(lambda: backlog.history(deep), runs),
        "task_history, task edited last": _median_ms(lambda: backlog.history(recent), runs),
        "task_undo of the writer's latest op": statistics.median(undos),
    }


def _dir_size(path: Path) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, names in os.walk(path) for f in names)


_PEAK_RSS_KB = """
def peak_rss_kb():
    try:  # the peak of this process's own memory (ru_maxrss also counts the parent's at fork)
        with open("/proc/self/status") as status:
            return int(next(line for line in status if line.startswith("VmHWM:")).split()[1])
    except (OSError, StopIteration):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""


def bench_rss(repo: Path) -> float:
    """Peak RSS (MB) of a process that opens the store and lists every task (the one-shot commands and
    the server hold the same view). Read from the process's own high-water mark: ``ru_maxrss`` of a
    child also counts the memory of the (big) benchmark process it was forked from."""
    script = (_PEAK_RSS_KB + "import sys; from backlog_git.engine import Backlog;"
              "b = Backlog.open(sys.argv[1], env={});"
              "b.list('status:pending or status:completed or status:deleted or status:recurring');"
              "print(peak_rss_kb())")
    out = subprocess.run([sys.executable, "-c", script, str(repo)], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024


def bench_one_shot(repo: Path, runs: int = 5) -> dict[str, float]:
    """Wall time of one-shot commands (the CLI and the SessionStart hook) as a person runs them."""
    exe = [sys.executable, "-m", "backlog_git"]
    env = {**os.environ, "BACKLOG_REPO": str(repo)}
    counter = iter(range(10**9))
    pending = [t["id"] for t in Backlog.open(str(repo), env={}).list("status:pending", limit=runs + 1)]
    done = iter(pending)

    def run(*args: str, stdin: str | None = None) -> None:
        subprocess.run([*exe, *args], env=env, input=stdin, capture_output=True, text=True, check=True)

    run("count")  # the parse cache is warm, as after any earlier command
    return {
        "cli list project:p3 +bug": _median_ms(lambda: run("list", "project:p3", "+bug"), runs),
        "cli add": _median_ms(lambda: run("add", f"one-shot {next(counter)}"), runs),
        "cli done": _median_ms(lambda: run("done", str(next(done))), runs),
        "hook SessionStart": _median_ms(lambda: run("hook", "SessionStart", stdin="{}"), runs),
    }


def bench_original(repo: Path, runs: int) -> dict[str, float] | None:
    """The same calls against the original server (``BACKLOG_ORIGINAL``: its directory with
    ``dist/index.js``), side by side in this run; None when it is not available."""
    import anyio

    original = os.environ.get("BACKLOG_ORIGINAL", "")
    entry = Path(original) / "dist" / "index.js" if original else None
    if entry is None or not entry.exists() or not shutil.which("node"):
        return None
    data = repo.parent / "original-data"
    data.mkdir(exist_ok=True)
    params = _serve_params(repo, ["node", str(entry)], {"TASKDATA": str(data)})
    size = len(Backlog.open(str(repo), env={}).list("status:pending or status:completed or status:deleted"))
    return anyio.run(_original_figures, params, runs, store_items(size))


async def _original_figures(params: Any, runs: int, items: list[dict[str, Any]]) -> dict[str, float]:
    import json

    from mcp import ClientSession, stdio_client

    figures: dict[str, float] = {}
    with open(os.devnull, "w") as devnull:
        async with stdio_client(params, errlog=devnull) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            for chunk in range(0, len(items), 1000):  # the same tasks as ours
                await s.call_tool("task_import", {"tasks": json.dumps(items[chunk : chunk + 1000])})
            numbers = iter(range(10**9))

            async def median(name: str, **args: Any) -> float:
                return await _async_median_ms(
                    lambda: s.call_tool(name, {k: (v() if callable(v) else v) for k, v in args.items()}), runs
                )

            figures["original task_add"] = await median("task_add", description=lambda: f"o {next(numbers)}")
            figures["original task_info"] = await median("task_info", id="1")
            figures["original task_list project:p3 +bug"] = await median("task_list", filter="project:p3 +bug")
    return figures


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--agent-ops", type=int, default=200)
    parser.add_argument("--no-mcp", action="store_true", help="skip the MCP-over-stdio figures")
    parser.add_argument("--claims", action="store_true",
                        help="also: claims, racing claimers and the change feed at the largest size (bench_claims)")
    parser.add_argument("--scale", action="store_true",
                        help="also: restart + first call, empty initialize, host repositories of 0/20k/100k files, "
                        ".git growth, RSS, one-shot commands, and the original server side by side "
                        "(BACKLOG_ORIGINAL=<its directory>)")
    parser.add_argument("--host-files", default="0,20000,100000")
    parser.add_argument("--skip", default="", metavar="PARTS",
                        help="with --scale, leave out some of: host,growth,inputs,board,original,empty "
                        "(e.g. for a 100,000-task run: --skip host,growth,inputs,board,original)")
    parser.add_argument("--growth-mutations", type=int, default=10000)
    parser.add_argument("--history", type=int, default=0, metavar="COMMITS",
                        help="also: task_history and task_undo at the largest size after COMMITS more commits "
                        "(e.g. 100000)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _arguments().parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="backlog-bench-") as tmp:
        for size in sizes:
            _bench_size(Path(tmp), size, size == max(sizes), args, skip)
        if args.scale:
            _bench_scale(Path(tmp), args, skip)
    print("\n(milliseconds, medians; kb_per_mutation in KB; ratio unitless)")
    return 0


def _bench_size(tmp: Path, size: int, largest: bool, args: argparse.Namespace, skip: set[str]) -> None:
    """Every figure of one store size (the costly ones only at the largest)."""
    start = time.perf_counter()
    repo = make_store(tmp, size)
    print(f"\n== {size} tasks (store built in {time.perf_counter() - start:.1f} s)")
    _print({**bench_core(repo, args.runs), **bench_query(repo, args.runs)})
    if largest and not args.no_mcp:
        _print(bench_mcp(repo, args.runs))
    if args.scale:
        _print(bench_restart(repo, max(3, args.runs // 3)))
        _print({"rss MB (open + list everything)": bench_rss(repo)})
        if largest:
            _print(bench_one_shot(repo, max(5, args.runs // 3)))
            if "original" not in skip:
                _print_original(repo, args.runs)
            board = bench_board(repo) if "board" not in skip else {}
            _print(board if board is not None else {})
            if board is None:
                print("  board: not measured (needs Playwright and Debian's chromium)")
    if largest and args.history:
        _print(bench_long_history(repo, args.history, args.runs))
    if largest and args.claims:
        from .bench_claims import bench_claims

        _print(bench_claims(repo, args.runs))
    if largest and args.agents:
        _print(bench_agents(repo, args.agents, args.agent_ops))


def _bench_scale(tmp: Path, args: argparse.Namespace, skip: set[str]) -> None:
    """Figures that need stores of their own: empty, inside host repositories, grown by many mutations."""
    print("\n== scale")
    if "empty" not in skip:
        _print({"mcp launch → initialize, empty store (best of 5)": bench_empty_initialize(tmp)})
    for files in (int(f) for f in args.host_files.split(",") if "host" not in skip):
        _print({f"add in a host repo of {files} files (1,000 tasks)": bench_host_repo(tmp, files, args.runs)})
    if "growth" not in skip:
        _print(bench_git_growth(tmp, args.growth_mutations))
    if "inputs" not in skip:
        _print(bench_inputs())


def bench_inputs(runs: int = 3) -> dict[str, float]:
    """The input layer on a megabyte of hostile ``extra`` (a quadratic reader took minutes), and the
    server refusing over-long parameters (it must answer at once, not after parsing them)."""
    import anyio

    from .inputs import parse_extra, task_edit

    texts = {
        "one 1 MB word": "a" * 1_000_000,
        "120,000 tag edits": " ".join(f"+t{i}" for i in range(120_000)),
        "100,000 attributes": " ".join(f"k{i}:v" for i in range(100_000)),
    }
    def read(text: str) -> None:
        parse_extra(text)
        task_edit({}, None, text)

    figures = {f"parse extra: {name}": _median_ms(functools.partial(read, text), runs) for name, text in texts.items()}
    figures["mcp refusal of a 1 MB extra"] = anyio.run(_refusal_ms, runs)
    return figures


async def _refusal_ms(runs: int) -> float:
    from mcp import ClientSession, stdio_client

    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as devnull:
        repo = Path(tmp)
        _git(repo, "init", "-q", "-b", "main")
        async with stdio_client(_serve_params(repo), errlog=devnull) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            samples = []
            for _ in range(runs):
                start = time.perf_counter()
                await s.call_tool("task_add", {"description": "x", "extra": "+t " * 350_000})
                samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def bench_board(repo: Path) -> dict[str, float] | None:
    """The HTML board of ``repo`` in headless Chromium (Debian's, driven by Playwright): page load and
    filtering. None when Playwright or Chromium is not installed."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if chromium is None:
        return None
    out = repo.parent / "board-site"
    subprocess.run([sys.executable, "-m", "backlog_git", "--repo", str(repo), "board", "--out", str(out)],
                   check=True, capture_output=True)
    page_file = next(out.glob("*.html"))
    figures: dict[str, float] = {}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium)
        page = browser.new_page()
        page.goto(page_file.as_uri())
        figures["board: DOMContentLoaded"] = page.evaluate(
            "() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"
        )
        for query in ("parser", "project:p3 +bug", "zzz-nothing", ""):
            figures[f"board: filter {query or '(cleared)'!r} to painted"] = page.evaluate(_BOARD_FILTER_JS, query)
        browser.close()
    return figures


_BOARD_FILTER_JS = """async (q) => {
    const input = document.querySelector('#filter');
    const before = window.boardPerf.renders;
    const t0 = performance.now();
    input.value = q;
    input.dispatchEvent(new Event('input'));
    while (window.boardPerf.renders === before) await new Promise(r => setTimeout(r, 5));
    await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
    return performance.now() - t0;
}"""


def _print(figures: dict[str, float]) -> None:
    for name, value in figures.items():
        print(f"  {name:<48} {value:9.3f}", flush=True)


def _print_original(repo: Path, runs: int) -> None:
    original = bench_original(repo, runs)
    if original is None:
        print("  original server: not measured (set BACKLOG_ORIGINAL to its directory, with node on PATH)")
        return
    _print(original)


if __name__ == "__main__":
    raise SystemExit(main())
