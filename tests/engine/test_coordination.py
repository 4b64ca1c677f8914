"""Version checks, idempotent writes and the change feed (issue 11), on real repositories."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import clean_env, cli_ok, created_uuid, git, init_store, open_agent, open_human

from backlog_git.errors import WrongState


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_store(tmp_path / "repo")


def _commits(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "--all"))


def test_every_task_carries_its_version_and_a_stale_one_is_refused(repo: Path) -> None:
    human, agent = open_human(repo), open_agent(repo, "a")
    task = created_uuid(human.add("versioned"))
    seen = human.info(task)["version"]
    assert len(seen) == 10
    assert git(repo, "rev-parse", f"HEAD:.backlog/tasks/{task[:2]}/{task}.md").startswith(seen)
    agent.modify(task, changes={"priority": "H"})
    before = _commits(repo)
    with pytest.raises(WrongState) as refused:
        human.done(task, expected_version=seen)
    text = str(refused.value)
    assert "priority" in text and "by a at" in text and "Nothing was written" in text
    assert _commits(repo) == before
    fresh = human.info(task)["version"]
    assert fresh != seen
    assert human.done(task, expected_version=fresh).commit is not None


def test_a_repeated_request_id_does_the_work_once(repo: Path) -> None:
    first = open_human(repo).add("filed once", request_id="req-42")
    count = _commits(repo)
    again = open_human(repo).add("filed once", request_id="req-42")  # a restart: a new engine
    assert again.commit == first.commit and again.message == first.message
    assert _commits(repo) == count
    script = (
        "from backlog_git.engine import Backlog; import sys;"
        "print(Backlog.open(sys.argv[1], env={}).add('filed once', request_id='req-42').commit)"
    )
    other = subprocess.run([sys.executable, "-c", script, str(repo)], capture_output=True, text=True,
                           env=clean_env(), check=True)
    assert other.stdout.strip() == first.commit
    assert [t["description"] for t in open_human(repo).list("")] == ["filed once"]
    assert "Backlog-Request: req-42" in git(repo, "log", "-1", "--format=%B", first.commit or "")
    open_agent(repo, "b").import_tasks([{"description": "imported"}], request_id="imp-1")
    assert open_agent(repo, "b").import_tasks([{"description": "imported"}], request_id="imp-1").commit
    assert open_human(repo).count("") == 2


def test_the_change_feed_matches_the_log_across_agent_branches(repo: Path) -> None:
    human = open_human(repo)
    start = human.cursor()
    task = created_uuid(human.add("watched"))
    open_agent(repo, "a").modify(task, changes={"priority": "H"})
    open_agent(repo, "b").annotate(task, "seen by b")
    feed = human.changes(start)
    ops = [(c["op"], c["writer"]) for c in feed["changes"]]
    assert sorted(ops) == sorted([("add", human.writer), ("modify", "a"), ("annotate", "b")])
    modify = next(c for c in feed["changes"] if c["op"] == "modify")
    assert modify["fields"] == {"priority": [None, "H"]} and modify["id"] == 1
    assert human.changes(feed["cursor"])["changes"] == []
    cli_ok(repo, "sync")
    assert human.changes(feed["cursor"])["changes"] == [], "a sync merge adds no task change of its own"
    one = human.changes(start, limit=1)
    assert len(one["changes"]) == 1 and one["more"] is True

