"""A human's git and the store writing the checked-out branch at the same moment: the user's commits,
`git add -A`, stashes and an editor's `git status` run in a real process while another real process
adds tasks. No acknowledged
store commit may be reverted or lost, no user commit either, and once both stop `git status` is clean
for store paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support import clean_env, git, git_run, init_store

ADDER = r"""
import json, sys
from backlog_git.engine import Backlog
from backlog_git.errors import BacklogError
repo, count = sys.argv[1], int(sys.argv[2])
b = Backlog.open(repo, env={})
b.list("")
print("ready", flush=True)
sys.stdin.readline()
for n in range(count):
    try:
        out = b.add(f"race task {n}")
        print(json.dumps({"uuid": out.tasks[0]["uuid"]}), flush=True)
    except BacklogError as exc:  # refused, clearly, is allowed; silently lost is not
        print(json.dumps({"error": str(exc)}), flush=True)
"""

USER = r"""
import subprocess, sys, time
repo, rounds, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def git(*args):
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
made = 0
print("ready", flush=True)
sys.stdin.readline()
for n in range(rounds):
    with open(f"{repo}/notes.txt", "a") as f:
        f.write(f"line {n}\n")
    if mode == "commit":
        for _attempt in range(50):  # as a user would: retry when the store's write holds index.lock
            git("add", "-A")
            if git("commit", "-q", "-m", f"user commit {n}").returncode == 0:
                made += 1
                break
            time.sleep(0.02)
    elif mode == "status":  # an editor's git integration: status refreshes the index opportunistically
        for _look in range(5):
            git("status", "--porcelain")
    else:
        if git("stash", "push", "-q", "--", "notes.txt").returncode == 0:
            git("stash", "pop", "-q")
print(made, flush=True)
"""


def _race(repo: Path, mode: str, tasks: int = 40, rounds: int = 40) -> tuple[list[dict], int]:
    adder = subprocess.Popen([sys.executable, "-c", ADDER, str(repo), str(tasks)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=clean_env())
    user = subprocess.Popen([sys.executable, "-c", USER, str(repo), str(rounds), mode], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=clean_env())
    for proc in (adder, user):  # both loaded and waiting, then both start at once
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in (adder, user):
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    out, _ = adder.communicate(timeout=300)
    made, _ = user.communicate(timeout=300)
    return [json.loads(line) for line in out.splitlines()], int(made.strip() or 0)


def _assert_every_acknowledged_task_is_committed_and_clean(repo: Path, answers: list[dict]) -> None:
    acknowledged = [a["uuid"] for a in answers if "uuid" in a]
    assert acknowledged, answers
    committed = git(repo, "ls-tree", "-r", "--name-only", "HEAD", "--", ".backlog")
    for task_uuid in acknowledged:
        assert f"/{task_uuid}.md" in committed, f"acknowledged task {task_uuid} is not at HEAD"
    assert git(repo, "status", "--porcelain", "--", ".backlog") == ""
    assert git_run(repo, "fsck", "--no-progress").returncode == 0


def test_user_commits_while_the_store_writes(tmp_path: Path) -> None:
    repo = init_store(tmp_path / "repo")
    answers, made = _race(repo, "commit")
    _assert_every_acknowledged_task_is_committed_and_clean(repo, answers)
    subjects = git(repo, "log", "--format=%s").splitlines()
    assert sum(s.startswith("user commit ") for s in subjects) == made  # no user commit was lost either
    assert (repo / "notes.txt").read_text() == "".join(f"line {n}\n" for n in range(40))
    # A user commit may carry store files the store had staged but not yet committed (the module
    # docstring of gitstore/checkout.py allows it); it must never carry them backwards.
    assert git(repo, "status", "--porcelain") == ""


def test_user_stashes_while_the_store_writes(tmp_path: Path) -> None:
    repo = init_store(tmp_path / "repo")
    git(repo, "add", "-A")
    answers, _made = _race(repo, "stash")
    _assert_every_acknowledged_task_is_committed_and_clean(repo, answers)
    assert git(repo, "stash", "list") == ""
    assert (repo / "notes.txt").read_text() == "".join(f"line {n}\n" for n in range(40))


def test_an_editors_git_status_while_the_store_writes(tmp_path: Path) -> None:
    """``git status`` rewrites the index when it can (refreshed stat data): it must never write back an
    index read before a store write (git checks the index it read is still the one on disk)."""
    repo = init_store(tmp_path / "repo")
    answers, _made = _race(repo, "status")
    _assert_every_acknowledged_task_is_committed_and_clean(repo, answers)
    assert git(repo, "diff", "--cached", "--name-only") == ""
