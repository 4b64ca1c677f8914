"""Claims and leases: exactly one winner among racing processes, leases that expire and renew, and
refusals that name the holder. Real processes on one repository, each its own writer."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import clean_env, created_uuid, git, init_store, open_agent, open_human

from backlog_git.errors import WrongState

WORKER = r"""
import json, sys
from backlog_git.engine import Backlog
from backlog_git.errors import BacklogError
repo, agent = sys.argv[1], sys.argv[2]
b = Backlog.open(repo, env={"BACKLOG_AGENT_ID": agent} if agent != "-" else {})
print("ready", flush=True)
for line in sys.stdin:
    ref = line.strip()
    try:
        out = b.claim(ref if ref != "next" else None)
        print(json.dumps({"ok": True, "uuid": out.tasks[0]["uuid"], "commit": out.commit}), flush=True)
    except BacklogError as exc:
        print(json.dumps({"ok": False, "error": str(exc)}), flush=True)
"""

AGENTS = ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "-"]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_store(tmp_path / "repo")


def _workers(repo: Path) -> list[subprocess.Popen[str]]:
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(repo), agent], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=clean_env())
        for agent in AGENTS
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return procs


def _ask_all(procs: list[subprocess.Popen[str]], line: str) -> list[dict]:
    for proc in procs:  # every worker gets the request before any answer is read: they race
        assert proc.stdin is not None
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
    return [json.loads(proc.stdout.readline()) for proc in procs]  # type: ignore[union-attr]


def _stop(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)


def test_racing_claimers_of_one_task_have_exactly_one_winner(repo: Path) -> None:
    human = open_human(repo)
    tasks = [created_uuid(human.add(f"contested {n}")) for n in range(50)]
    procs = _workers(repo)
    try:
        for task in tasks:
            answers = _ask_all(procs, task)
            winners = [a for a in answers if a["ok"]]
            assert len(winners) == 1, answers
            for loser in (a for a in answers if not a["ok"]):
                assert "is held by" in loser["error"] and "until" in loser["error"]
    finally:
        _stop(procs)
    log = git(repo, "log", "--all", "--format=%(trailers:key=Backlog-Op,valueonly)").split()
    assert log.count("claim") == 50, "losers wrote nothing"
    reader = open_human(repo)
    assert all(reader.info(t)["agent"] in {a if a != "-" else reader.writer for a in AGENTS} for t in tasks)


def test_next_free_claims_never_hand_out_a_task_twice(repo: Path) -> None:
    open_human(repo).import_tasks([{"description": f"ready {n}"} for n in range(100)])
    procs = _workers(repo)
    answers: list[dict] = []
    try:
        for _ in range(20):  # 8 workers x 20 calls = 160 claims of the next free task, over 100 tasks
            answers += _ask_all(procs, "next")
    finally:
        _stop(procs)
    won = [a["uuid"] for a in answers if a["ok"]]
    assert len(answers) == 160
    assert len(won) == 100 and len(set(won)) == 100, "every task claimed exactly once"
    refused = [a["error"] for a in answers if not a["ok"]]
    assert len(refused) == 60 and all("No free task" in e for e in refused)
    fresh = open_agent(repo, "observer")
    assert fresh.count("+CLAIMED") == 100
    assert fresh.count("+READY") == 0  # every task is held by someone else


def test_lease_expiry_reclaim_renewal_and_refusals(repo: Path) -> None:
    human = open_human(repo)
    task = created_uuid(human.add("leased"))
    renewing = created_uuid(human.add("renewed by work"))
    owner, other = open_agent(repo, "owner"), open_agent(repo, "other")
    claimed = owner.claim(task, lease="2s")
    assert claimed.tasks[0]["agent"] == "owner" and claimed.tasks[0]["start"]
    with pytest.raises(WrongState, match="held by owner"):
        other.modify(task, changes={"priority": "H"})
    with pytest.raises(WrongState, match="held by owner"):
        other.done(task)
    with pytest.raises(WrongState, match="held by owner"):
        other.claim(task)
    other.annotate(task, "a note from other")  # a note is allowed on a held task
    assert other.count("+CLAIMED") == 1
    assert [t["uuid"] for t in other.list("+READY")] == [renewing]  # held by someone else: not ready
    assert task in [t["uuid"] for t in owner.list("+READY")]  # its own claim stays ready for the holder

    owner.claim(renewing, lease="2s")
    first_lease = owner.info(renewing)["lease"]
    owner.modify(renewing, changes={"priority": "L"})  # the holder's work renews the lease
    assert owner.info(renewing)["lease"] > first_lease

    time.sleep(2.5)  # the first lease expires: another agent may take the task over
    out = other.claim(task)
    assert "reclaimed from owner" in out.message
    assert other.history(task)[0]["op"] == "claim"
    assert "reclaimed from owner" in git(repo, "log", "-1", "--format=%B", "backlog/other")
    other.done(task)
    assert "lease" not in other.info(task), "done by the holder ends the claim"
    with pytest.raises(WrongState, match="held by owner"):
        other.modify(renewing, changes={"priority": "H"})  # the renewed lease still holds


def test_release_by_holder_and_forced_release(repo: Path) -> None:
    task = created_uuid(open_human(repo).add("to release"))
    owner, other = open_agent(repo, "owner"), open_agent(repo, "other")
    owner.claim(task)
    with pytest.raises(WrongState, match="Release it anyway with force"):
        other.release(task)
    out = other.release(task, force=True)
    assert "(forced)" in out.message
    assert "agent" not in other.info(task) and "lease" not in other.info(task)
    owner.claim(task)
    assert "released by owner" in owner.release(task).message
    with pytest.raises(WrongState, match="nothing to release"):
        owner.release(task)


def test_claim_refuses_tasks_that_are_not_pending(repo: Path) -> None:
    human = open_human(repo)
    task = created_uuid(human.add("done already"))
    human.done(task)
    with pytest.raises(WrongState, match="only pending tasks can be claimed"):
        open_agent(repo, "a").claim(task)
    # nothing written
    assert "claim" not in git(repo, "log", "--all", "--format=%(trailers:key=Backlog-Op,valueonly)").split()
