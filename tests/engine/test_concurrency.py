"""Several processes writing at once: nothing lost, ids unique, one commit per add, a sound repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from support import clean_env, fsck, git, head_count, status

from backlog_git.engine import Backlog

WORKER = textwrap.dedent(
    """
    import os, sys, time
    from backlog_git.engine import Backlog
    repo, name, count, go, agent = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    env = {"BACKLOG_AGENT_ID": agent} if agent else {}
    backlog = Backlog.open(repo, env=env)
    deadline = time.time() + 30
    while not os.path.exists(go) and time.time() < deadline:
        time.sleep(0.005)
    for n in range(count):
        backlog.add(f"{name} task {n}")
    """
)


def run_workers(repo: Path, tmp_path: Path, workers: int, adds: int, agents: bool = False) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(repo), f"w{w}", str(adds), str(go), f"agent{w}" if agents else ""],
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    time.sleep(0.3)  # let every worker import and open the store before they start together
    go.write_text("go")
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err


def test_processes_adding_at_once_lose_nothing(repo: Path, tmp_path: Path) -> None:
    workers, adds = 3, 20
    before = head_count(repo)
    run_workers(repo, tmp_path, workers, adds)
    tasks = Backlog.open(str(repo), env={}).list()
    assert sorted(t["description"] for t in tasks) == sorted(
        f"w{w} task {n}" for w in range(workers) for n in range(adds)
    )
    ids = [t["id"] for t in tasks]
    assert len(set(ids)) == len(ids) == workers * adds
    assert sorted(ids) == list(range(1, workers * adds + 1))
    assert head_count(repo) == before + workers * adds
    ops = git(repo, "log", "--format=%(trailers:key=Backlog-Op,valueonly)", f"-{workers * adds}").split()
    assert ops == ["add"] * (workers * adds)
    assert status(repo) == ""
    fsck(repo)
    # History is linear: every add committed on top of the previous one (compare-and-swap, no lost ref).
    assert git(repo, "rev-list", "--merges", "HEAD") == ""


def test_agents_adding_at_once_all_visible_with_unique_ids(repo: Path, tmp_path: Path) -> None:
    workers, adds = 2, 10
    main_tip = git(repo, "rev-parse", "main")
    run_workers(repo, tmp_path, workers, adds, agents=True)
    assert git(repo, "rev-parse", "main") == main_tip
    for w in range(workers):
        writers = git(repo, "log", "--format=%(trailers:key=Backlog-Agent,valueonly)", f"main..backlog/agent{w}")
        assert writers.split().count(f"agent{w}") == adds
    tasks = Backlog.open(str(repo), env={}).list()
    assert len(tasks) == workers * adds
    ids = [t["id"] for t in tasks]
    assert len(set(ids)) == len(ids)
    fsck(repo)


def test_cli_processes_at_once(repo: Path) -> None:
    exe = shutil.which("backlog-git", path=os.path.dirname(sys.executable))
    command = [exe] if exe else [sys.executable, "-m", "backlog_git"]
    procs = [
        subprocess.Popen(
            ["sh", "-c", " && ".join(
                f"{' '.join(command)} --repo {repo} add 'cli {w}-{n}' --json >/dev/null" for n in range(3)
            )],
            env=clean_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    listed = subprocess.run(
        [*command, "--repo", str(repo), "list", "--json"], env=clean_env(), capture_output=True, text=True, check=True
    )
    tasks = json.loads(listed.stdout)
    assert sorted(t["description"] for t in tasks) == sorted(f"cli {w}-{n}" for w in range(2) for n in range(3))
    assert len({t["id"] for t in tasks}) == 6
    assert head_count(repo) == 1 + 6
    fsck(repo)


CAS_WORKER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from backlog_git.gitstore import GitStore
    repo, name, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    store = GitStore(Path(repo))
    deadline = time.time() + 30
    while not os.path.exists(go) and time.time() < deadline:
        time.sleep(0.005)
    for n in range(count):
        path = f".backlog/cas/{name}-{n}"
        store.commit_files("refs/heads/cas", {path: f"{name} {n}\\n".encode()}, f"cas {name} {n}\\n")
    """
)


def test_ref_updates_are_compare_and_swap_without_the_writer_lock(repo: Path, tmp_path: Path) -> None:
    """Object-level commits onto one ref from several processes, with no lock: every commit lands."""
    workers, commits = 3, 30
    go = tmp_path / "go"
    git(repo, "branch", "cas")
    procs = [
        subprocess.Popen([sys.executable, "-c", CAS_WORKER, str(repo), f"w{w}", str(commits), str(go)],
                         env=clean_env(), stderr=subprocess.PIPE, text=True)
        for w in range(workers)
    ]
    time.sleep(0.3)
    go.write_text("go")
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    files = git(repo, "ls-tree", "-r", "--name-only", "cas", "--", ".backlog/cas").splitlines()
    assert len(files) == workers * commits
    assert int(git(repo, "rev-list", "--count", "main..cas")) == workers * commits
    fsck(repo)
