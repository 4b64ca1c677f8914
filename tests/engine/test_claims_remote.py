"""Claims across machines: two clones of one bare remote, agents racing in real processes, claims
published by ``git push --force-with-lease``, offline claims squared by ``sync --remote``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import (
    assert_no_conflict_markers,
    clean_env,
    cli,
    cli_ok,
    created_uuid,
    git,
    open_agent,
    open_human,
    tasks_at,
    two_clones,
)

from backlog_git.engine import Backlog
from backlog_git.errors import InvalidInput, WrongState

WORKER = r"""
import json, sys
from backlog_git.engine import Backlog
from backlog_git.errors import BacklogError
repo, agent = sys.argv[1], sys.argv[2]
b = Backlog.open(repo, env={"BACKLOG_AGENT_ID": agent})
print("ready", flush=True)
for line in sys.stdin:
    try:
        out = b.claim(line.strip())
        print(json.dumps({"ok": True, "agent": agent, "message": out.message}), flush=True)
    except BacklogError as exc:
        print(json.dumps({"ok": False, "agent": agent, "error": str(exc)}), flush=True)
"""


def _start(repo: Path, agent: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(repo), agent], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=clean_env())
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _race(procs: list[subprocess.Popen[str]], task_uuid: str) -> list[dict]:
    for proc in procs:  # every worker has the request before any answer is read
        assert proc.stdin is not None
        proc.stdin.write(task_uuid + "\n")
        proc.stdin.flush()
    return [json.loads(proc.stdout.readline()) for proc in procs]  # type: ignore[union-attr]


def _shared_tasks(one: Path, two: Path, count: int) -> list[str]:
    """``count`` tasks added on ``one``, pushed, and pulled into ``two``."""
    human = open_human(one)
    uuids = [created_uuid(human.add(f"shared task {n}")) for n in range(count)]
    git(one, "push", "-q", "origin", "main")
    git(two, "pull", "-q", "origin", "main")
    return uuids


def _claim_records(repo: Path) -> dict[str, str]:
    """What the clone's copy of the remote's claim refs says: task uuid -> holder (or 'released')."""
    listing = git(repo, "ls-remote", "origin", "refs/backlog/claims/*")
    holders = {}
    for line in listing.splitlines():
        oid, ref = line.split("\t")
        git(repo, "fetch", "-q", "origin", f"+{ref}:refs/test-seen/{oid}")
        body = git(repo, "log", "-1", "--format=%B", oid)
        holder = [ln.split(": ", 1)[1] for ln in body.splitlines() if ln.startswith("Backlog-Claim-Holder: ")]
        holders[ref.rsplit("/", 1)[1]] = holder[0] if holder else "released"
    return holders


def _claim_commits(repo: Path, task_uuid: str) -> int:
    """Claim commits for the task on any branch of the clone."""
    log = git(repo, "log", "--all", "--format=%H", "--grep", "Backlog-Op: claim", "--grep", task_uuid, "--all-match")
    return len(log.split())


@pytest.fixture
def clones(tmp_path: Path) -> tuple[Path, Path]:
    one, two, _url = two_clones(tmp_path)
    return one, two


def test_agents_on_two_clones_racing_for_a_task_get_exactly_one_winner(clones: tuple[Path, Path]) -> None:
    one, two = clones
    uuids = _shared_tasks(one, two, 3)
    procs = [_start(one, f"one-{n}") for n in range(4)] + [_start(two, f"two-{n}") for n in range(4)]
    winners = {}
    try:
        for task_uuid in uuids:
            answers = _race(procs, task_uuid)
            won = [a for a in answers if a["ok"]]
            assert len(won) == 1, answers
            winners[task_uuid] = won[0]["agent"]
            for lost in (a for a in answers if not a["ok"]):
                assert f"held by {won[0]['agent']}" in lost["error"], lost
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    assert _claim_records(one) == winners
    for _round in range(2):  # each side syncs after the other has pushed
        for clone in (one, two):
            cli_ok(clone, "sync", "--remote", "origin")
    for clone in (one, two):
        assert_no_conflict_markers(clone)
        files = {f.task.uuid: f.task for f in tasks_at(clone).values()}
        for task_uuid, winner in winners.items():
            assert files[task_uuid].agent == winner
            assert _claim_commits(clone, task_uuid) == 1  # the losers' attempts are nowhere in history


def test_a_published_claim_refuses_another_clone_that_has_not_synced(clones: tuple[Path, Path]) -> None:
    one, two = clones
    (task_uuid,) = _shared_tasks(one, two, 1)
    claimed = open_agent(one, "alice").claim(task_uuid)
    assert "Published to origin" in claimed.message
    with pytest.raises(WrongState, match=r"held by alice until .*origin"):
        open_agent(two, "bob").claim(task_uuid)
    assert git(two, "for-each-ref", "refs/heads/backlog/") == ""  # bob wrote nothing


def test_an_offline_claim_says_so_and_sync_hands_the_task_to_the_clone_that_won(clones: tuple[Path, Path]) -> None:
    one, two = clones
    (task_uuid,) = _shared_tasks(one, two, 1)
    url = git(one, "remote", "get-url", "origin")
    git(one, "remote", "set-url", "origin", str(one.parent / "unreachable.git"))
    offline = open_agent(one, "alice").claim(task_uuid)
    assert "on this machine only" in offline.message and "sync --remote origin" in offline.message
    open_agent(two, "bob").claim(task_uuid)  # online: the remote records bob
    git(one, "remote", "set-url", "origin", url)
    report = cli_ok(one, "sync", "--remote", "origin")
    assert "lost to bob" in report
    assert {f.task.uuid: f.task.agent for f in tasks_at(one).values()}[task_uuid] == "bob"
    cli_ok(two, "sync", "--remote", "origin")
    cli_ok(one, "sync", "--remote", "origin")
    for clone in (one, two):
        assert_no_conflict_markers(clone)
        assert {f.task.uuid: f.task.agent for f in tasks_at(clone).values()}[task_uuid] == "bob"


def test_sync_publishes_an_offline_claim_that_nobody_contested(clones: tuple[Path, Path]) -> None:
    one, two = clones
    (task_uuid,) = _shared_tasks(one, two, 1)
    url = git(one, "remote", "get-url", "origin")
    git(one, "remote", "set-url", "origin", str(one.parent / "unreachable.git"))
    open_agent(one, "alice").claim(task_uuid)
    assert _claim_records(two) == {}
    git(one, "remote", "set-url", "origin", url)
    assert "claim of task 1 by alice published" in cli_ok(one, "sync", "--remote", "origin")
    with pytest.raises(WrongState, match="held by alice"):
        open_agent(two, "bob").claim(task_uuid)


@pytest.mark.parametrize("finish", ["release", "done", "stop"])
def test_ending_a_claim_releases_it_on_the_remote(clones: tuple[Path, Path], finish: str) -> None:
    one, two = clones
    (task_uuid,) = _shared_tasks(one, two, 1)
    alice = open_agent(one, "alice")
    alice.claim(task_uuid)
    getattr(alice, finish)(task_uuid)
    assert _claim_records(one) == {task_uuid: "released"}
    assert "claimed by bob" in open_agent(two, "bob").claim(task_uuid).message


def test_an_expired_remote_claim_can_be_taken_by_another_clone(clones: tuple[Path, Path]) -> None:
    one, two = clones
    (task_uuid,) = _shared_tasks(one, two, 1)
    open_agent(one, "alice").claim(task_uuid, lease="1s")
    time.sleep(1.2)
    assert "claimed by bob" in open_agent(two, "bob").claim(task_uuid).message
    assert _claim_records(one) == {task_uuid: "bob"}


def test_backlog_remote_chooses_where_claims_go(clones: tuple[Path, Path]) -> None:
    one, two = clones
    first, second = _shared_tasks(one, two, 2)
    local = Backlog.open(str(one), env={"BACKLOG_AGENT_ID": "alice", "BACKLOG_REMOTE": "none"})
    assert "Published" not in local.claim(first).message
    assert _claim_records(one) == {}
    named = Backlog.open(str(one), env={"BACKLOG_AGENT_ID": "alice", "BACKLOG_REMOTE": "origin"})
    named.claim(second)
    assert _claim_records(one) == {second: "alice"}
    wrong = Backlog.open(str(one), env={"BACKLOG_AGENT_ID": "alice", "BACKLOG_REMOTE": "--upload-pack=touch x"})
    with pytest.raises(InvalidInput, match="not a configured git remote"):
        wrong.claim(first)
    assert not (one / "x").exists()


def test_the_cli_claim_reports_a_remote_holder(clones: tuple[Path, Path]) -> None:
    one, two = clones
    _shared_tasks(one, two, 1)
    assert "Published to origin" in cli_ok(one, "claim", "1")
    refused = cli(two, "claim", "1", agent="bob")
    assert refused.returncode != 0
    assert "held by" in refused.stderr + refused.stdout and "origin" in refused.stderr + refused.stdout
