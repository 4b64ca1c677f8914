"""Writers killed with SIGKILL at random moments, including between the working-tree write, the index
update and the ref update: afterwards the store repairs itself on the next call, nothing
acknowledged is lost, a user's commit made right after the kill never reverts a store commit, no
lock blocks the next writer, and ``git fsck`` is clean.

Each round starts a real writer process (the engine through the CLI's own code path, or an agent
writer), lets it acknowledge operations for a random time, and kills it mid-flight.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import clean_env, fsck, git, init_store, porcelain

from backlog_git.engine import Backlog

WRITER = r"""
import sys, uuid
from backlog_git.engine import Backlog
repo, agent = sys.argv[1], sys.argv[2]
env = {"BACKLOG_AGENT_ID": agent} if agent != "-" else {}
b = Backlog.open(repo, env=env)

def ack(op, tag):
    # One write per line: with PYTHONUNBUFFERED print() writes each piece on its own, and a kill
    # between them leaves half a line.
    sys.stdout.write(f"ACK {op} {tag}\n")
    sys.stdout.flush()

n = 0
while True:
    n += 1
    tag = uuid.uuid4().hex[:12]
    out = b.add(f"task {tag}")
    ack("add", tag)
    task = out.tasks[0]["uuid"]
    b.modify(task, changes={"priority": "H"})
    ack("modify", tag)
    b.annotate(task, f"note {tag}")
    ack("annotate", tag)
    if n % 3 == 0:
        b.done(task)
        ack("done", tag)
"""


def _run_round(repo: Path, agent: str, rng: random.Random) -> list[tuple[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(repo), agent],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=clean_env(), text=True,
    )
    time.sleep(rng.uniform(0.45, 1.1))
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate()
    complete = out.split("\n")[:-1]  # a line the kill cut short was never acknowledged
    return [tuple(line.split()[1:3]) for line in complete if line.startswith("ACK ")]  # type: ignore[misc]


def _store_changes(repo: Path) -> list[str]:
    return [line for line in porcelain(repo).splitlines() if ".backlog/" in line]


def _check_acknowledged(repo: Path, acked: list[tuple[str, str]]) -> None:
    reader = Backlog.open(str(repo), env={})
    by_description = {t["description"]: t for t in reader.list("status:pending or status:completed")}
    for op, tag in acked:
        task = by_description.get(f"task {tag}")
        assert task is not None, f"acknowledged add of {tag} is lost"
        if op == "modify":
            assert task.get("priority") == "H", f"acknowledged modify of {tag} is lost"
        if op == "annotate":
            assert f"note {tag}" in [a["description"] for a in task.get("annotations", [])]
        if op == "done":
            assert task["status"] == "completed"
    ids = [t["id"] for t in reader.list("status:pending or status:completed")]
    assert len(ids) == len(set(ids)), "numeric ids are not unique"


@pytest.mark.parametrize("agent", ["-", "killed-agent"])
def test_sigkill_at_random_moments_loses_nothing_acknowledged(tmp_path: Path, agent: str) -> None:
    rounds = int(os.environ.get("BACKLOG_KILL_ROUNDS", "50"))
    rng = random.Random(f"kill-{agent}")
    repo = init_store(tmp_path / "repo")
    acked: list[tuple[str, str]] = []
    user_commits = 0
    for n in range(rounds):
        acked += _run_round(repo, agent, rng)
        locked = (repo / ".git" / "index.lock").exists() or (repo / ".git" / "refs" / "heads" / "main.lock").exists()
        if agent == "-" and n % 2 == 0 and _store_changes(repo) and not locked:
            # A user commits everything right after the kill, before any backlog call repairs anything.
            # (A kill inside libgit2's index or ref write leaves index.lock or main.lock: git itself then
            # refuses to run until the next backlog call removes the lock its dead writer left.)
            git(repo, "add", "-A", ".backlog")
            git(repo, "commit", "-q", "-m", "user commit right after a kill")
            user_commits += 1
        # The next call (a read) repairs; then the store is clean and holds every acknowledged op.
        Backlog.open(str(repo), env={}).count("")
        assert _store_changes(repo) == [], f"round {n}: store paths left changed"
        assert not list(repo.glob(".backlog/**/.tmp-*")), f"round {n}: temporary files left"
        assert not (repo / ".git" / "backlog" / "journal.json").exists()
        assert not (repo / ".git" / "index.lock").exists(), f"round {n}: a dead writer's index.lock stays"
        assert not (repo / ".git" / "refs" / "heads" / "main.lock").exists(), f"round {n}: a ref lock stays"
    fsck(repo)
    if agent != "-":
        Backlog.open(str(repo), env={}).sync()
        assert _store_changes(repo) == []
    _check_acknowledged(repo, acked)
    assert len(acked) > rounds  # the writers did acknowledge work between kills


def test_a_failed_add_leaves_nothing_behind_and_names_the_lock(tmp_path: Path) -> None:
    """Hardening item 6: with a stale ``refs/heads/main.lock`` an add fails; nothing of it stays visible."""
    from support import cli, cli_ok

    repo = init_store(tmp_path / "repo")
    cli_ok(repo, "add", "before")
    lock = repo / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text("stale\n")
    proc = cli(repo, "add", "phantom")
    assert proc.returncode == 1
    assert "main.lock" in proc.stderr and "delete" in proc.stderr, proc.stderr
    lock.unlink()
    assert "phantom" not in cli_ok(repo, "list")
    assert _store_changes(repo) == []
    assert not list((repo / ".backlog").rglob(".tmp-*"))
    assert "phantom" not in git(repo, "log", "--all", "--format=%s")
    cli_ok(repo, "add", "after")  # no lock blocks the next writer


def test_a_writer_waits_for_a_ref_lock_another_git_command_holds_briefly(tmp_path: Path) -> None:
    """A user's commit or a background gc holds ``<ref>.lock`` for moments: the writer waits, then writes."""
    import threading

    repo = init_store(tmp_path / "repo")
    lock = repo / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text("busy\n")
    threading.Timer(0.6, lock.unlink).start()
    outcome = Backlog.open(str(repo), env={}).add("written once the lock cleared")
    assert outcome.commit is not None
    assert _store_changes(repo) == []
