"""Undo: appends a commit reverting the writer's own latest not-yet-undone operation, across restarts;
keeps other writers' later changes to other fields, refuses on a conflict, never reuses ids."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from support import add, changed_paths, git, head_count, outside_files, status, subject, task_path, trailers

from backlog_git import config as configmod
from backlog_git.engine import Backlog
from backlog_git.errors import BrokenTaskFile, NotFound, NothingToUndo, UndoConflict

Opener = Callable[..., Backlog]
ME: dict[str, str] = {}  # the default writer: commits on the checked-out branch
OTHER = {"BACKLOG_AGENT_ID": "b2"}


def snapshot(repo: Path) -> dict[str, bytes]:
    return {p: (repo / p).read_bytes() for p in outside_files(repo)}


def test_undo_chain_across_restarts(repo: Path, open_backlog: Opener) -> None:
    task = add(open_backlog(env=ME), "chain")
    add_sha = git(repo, "rev-parse", "HEAD")
    open_backlog(env=ME).modify("1", changes={"priority": "H"})
    modify_sha = git(repo, "rev-parse", "HEAD")
    open_backlog(env=ME).done("1")
    done_sha = git(repo, "rev-parse", "HEAD")
    path = task_path(task["uuid"])

    before = head_count(repo)
    outcome = open_backlog(env=ME).undo()
    assert outcome.commit == git(repo, "rev-parse", "HEAD")
    assert head_count(repo) == before + 1
    found = trailers(repo)
    assert found["Backlog-Op"] == ["undo"]
    assert found["Backlog-Undoes"] == [done_sha]
    assert found["Backlog-Task"] == [task["uuid"]]
    assert found["Backlog-Agent"] == [configmod.default_writer()]
    assert subject(repo).startswith("undo done")
    assert changed_paths(repo) == [path]
    info = open_backlog().info("1")
    assert info["status"] == "pending" and info["priority"] == "H" and "end" not in info
    assert status(repo) == ""

    open_backlog(env=ME).undo()
    assert trailers(repo)["Backlog-Undoes"] == [modify_sha]
    info = open_backlog().info("1")
    assert info["status"] == "pending" and "priority" not in info

    open_backlog(env=ME).undo()
    assert trailers(repo)["Backlog-Undoes"] == [add_sha]
    assert changed_paths(repo) == [path]  # the id counter never goes back
    assert not (repo / path).exists()
    with pytest.raises(NotFound):
        open_backlog().info("1")

    count = head_count(repo)
    with pytest.raises(NothingToUndo):
        open_backlog(env=ME).undo()
    assert head_count(repo) == count
    assert status(repo) == ""


def test_undo_restores_exact_fields_of_modify(repo: Path, backlog: Backlog) -> None:
    task = add(backlog, "orig", project="web", tags=["a"], due="2030-01-01T00:00:00Z")
    before_text = (repo / task_path(task["uuid"])).read_text()
    backlog.modify("1", changes={"project": "api", "due": "", "description": "changed"}, add_tags=["b"],
                   remove_tags=["a"])
    backlog.undo()
    after_text = (repo / task_path(task["uuid"])).read_text()
    strip = lambda text: [line for line in text.splitlines() if not line.startswith("modified:")]  # noqa: E731
    assert strip(after_text) == strip(before_text)


def test_nothing_to_undo_on_fresh_store(repo: Path, backlog: Backlog) -> None:
    with pytest.raises(NothingToUndo, match="Nothing to undo"):
        backlog.undo()
    add(backlog)
    backlog.undo()
    with pytest.raises(NothingToUndo):
        backlog.undo()


def test_undo_only_own_operations(repo: Path, open_backlog: Opener) -> None:
    mine = add(open_backlog(env=ME), "mine")
    theirs = add(open_backlog(env=OTHER), "theirs")
    open_backlog(env=ME).undo()
    uuids = {t["uuid"] for t in open_backlog().list()}
    assert uuids == {theirs["uuid"]}
    assert mine["uuid"] not in uuids
    with pytest.raises(NothingToUndo):
        open_backlog(env=ME).undo()


def test_undo_import(repo: Path, backlog: Backlog) -> None:
    add(backlog, "kept")
    outcome = backlog.import_tasks([{"description": f"imp {n}"} for n in range(3)])
    uuids = [t["uuid"] for t in outcome.tasks]
    before = head_count(repo)
    backlog.undo()
    assert head_count(repo) == before + 1
    assert changed_paths(repo) == sorted(task_path(u) for u in uuids)
    assert sorted(trailers(repo)["Backlog-Task"]) == sorted(uuids)
    assert [t["description"] for t in backlog.list()] == ["kept"]
    assert add(backlog, "after")["id"] == 5


def test_undo_modify_over_many_tasks(repo: Path, backlog: Backlog) -> None:
    tasks = [add(backlog, f"t{n}", project="web") for n in range(3)]
    add(backlog, "elsewhere", project="api", priority="L")
    backlog.modify("project:web", changes={"priority": "H"})
    assert {t["priority"] for t in backlog.list("project:web")} == {"H"}
    backlog.undo()
    assert changed_paths(repo) == sorted(task_path(t["uuid"]) for t in tasks)
    assert all("priority" not in t for t in backlog.list("project:web"))
    assert backlog.info("4")["priority"] == "L"


def test_undo_doc_write(repo: Path, backlog: Backlog) -> None:
    task = add(backlog, "doc")
    backlog.doc_write("1", "first\n")
    backlog.doc_write("1", "second\n")
    backlog.undo()
    assert backlog.doc_read("1") == "first\n"
    backlog.undo()
    with pytest.raises(NotFound, match="No doc attached"):
        backlog.doc_read("1")
    assert "doc" not in backlog.info("1").get("tags", [])
    assert (repo / task_path(task["uuid"])).read_bytes().endswith(b"---\n")


def test_undo_purge_then_delete(repo: Path, open_backlog: Opener) -> None:
    backlog = open_backlog()
    task = add(backlog, "purged")
    backlog.delete("1")
    deleted_bytes = (repo / task_path(task["uuid"])).read_bytes()
    backlog.purge("1")
    assert not (repo / task_path(task["uuid"])).exists()
    restarted = open_backlog()
    restarted.undo()
    assert (repo / task_path(task["uuid"])).read_bytes() == deleted_bytes
    assert restarted.info("1")["status"] == "deleted"
    open_backlog().undo()
    assert open_backlog().info("1")["status"] == "pending"
    assert status(repo) == ""


def test_undo_archive(repo: Path, backlog: Backlog) -> None:
    task = add(backlog, "archived")
    backlog.done("1")
    active = task_path(task["uuid"])
    raw = (repo / active).read_bytes()
    backlog.archive(0)
    assert backlog.archive_list() != []
    backlog.undo()
    assert (repo / active).read_bytes() == raw
    assert backlog.archive_list() == []
    assert backlog.info("1")["status"] == "completed"
    assert not any("archive" in p for p in outside_files(repo))
    assert status(repo) == ""


def test_ids_never_reused_after_undo_of_add(open_backlog: Opener) -> None:
    backlog = open_backlog()
    add(backlog, "a")
    add(backlog, "b")
    backlog.undo()
    assert add(backlog, "c")["id"] == 3
    open_backlog().undo()
    assert add(open_backlog(), "d")["id"] == 4


def test_undo_keeps_other_writers_change_to_another_field(repo: Path, open_backlog: Opener) -> None:
    me = open_backlog(env=ME)
    add(me, "shared")
    me.modify("1", changes={"priority": "H"})
    open_backlog(env=OTHER).modify("1", changes={"project": "web"})
    open_backlog(env=OTHER).annotate("1", "their note")
    me.undo()
    info = open_backlog().info("1")
    assert "priority" not in info
    assert info["project"] == "web"
    assert [a["description"] for a in info["annotations"]] == ["their note"]


def test_undo_keeps_hand_committed_change_to_another_field(repo: Path, open_backlog: Opener) -> None:
    me = open_backlog(env=ME)
    task = add(me, "shared")
    me.modify("1", changes={"priority": "H"})
    path = repo / task_path(task["uuid"])
    path.write_text(path.read_text().replace("description: shared", "description: renamed by a human"))
    git(repo, "commit", "-q", "-am", "human edit")
    me.undo()
    info = open_backlog().info("1")
    assert "priority" not in info and info["description"] == "renamed by a human"


def test_undo_refuses_when_same_field_changed_again(repo: Path, open_backlog: Opener) -> None:
    me = open_backlog(env=ME)
    task = add(me, "shared")
    me.modify("1", changes={"priority": "H"})
    open_backlog(env=OTHER).modify("1", changes={"priority": "L"})
    before = head_count(repo)
    files = snapshot(repo)
    with pytest.raises(UndoConflict) as info:
        me.undo()
    assert "priority" in str(info.value)
    assert head_count(repo) == before
    assert snapshot(repo) == files
    assert open_backlog().info(task["uuid"])["priority"] == "L"
    assert status(repo) == ""


def test_undo_add_refuses_after_another_writer_changed_the_task(repo: Path, open_backlog: Opener) -> None:
    me = open_backlog(env=ME)
    add(me, "new")
    open_backlog(env=OTHER).annotate("1", "keep me")
    before = head_count(repo)
    files = snapshot(repo)
    with pytest.raises(UndoConflict):
        me.undo()
    assert head_count(repo) == before and snapshot(repo) == files


def test_undo_refuses_on_broken_file(repo: Path, backlog: Backlog) -> None:
    task = add(backlog, "x")
    backlog.modify("1", changes={"priority": "H"})
    path = repo / task_path(task["uuid"])
    path.write_text(path.read_text().replace("status: pending", "status: [oops"))
    broken = path.read_bytes()
    before = head_count(repo)
    with pytest.raises((BrokenTaskFile, UndoConflict)):
        backlog.undo()
    assert path.read_bytes() == broken and head_count(repo) == before


def test_undo_skips_undone_and_goes_further_back(repo: Path, backlog: Backlog) -> None:
    add(backlog, "a")
    add(backlog, "b")
    add(backlog, "c")
    for expected in (["a", "b"], ["a"], []):
        backlog.undo()
        assert sorted(t["description"] for t in backlog.list()) == expected
    ops = git(repo, "log", "--format=%(trailers:key=Backlog-Op,valueonly)", "-6").split()
    assert ops == ["undo", "undo", "undo", "add", "add", "add"]


def test_agent_undo_chain_across_restarts_on_its_branch(repo: Path, open_backlog: Opener) -> None:
    agent_env = {"BACKLOG_AGENT_ID": "a1"}
    main_tip = git(repo, "rev-parse", "main")
    add(open_backlog(env=agent_env), "agent chain")
    open_backlog(env=agent_env).modify("1", changes={"priority": "H"})
    open_backlog(env=agent_env).done("1")
    reader = open_backlog()
    states = []
    for _ in range(3):
        open_backlog(env=agent_env).undo()
        assert trailers(repo, "backlog/a1")["Backlog-Op"] == ["undo"]
        states.append([(t["status"], t.get("priority")) for t in reader.list("status:pending")])
    assert states == [[("pending", "H")], [("pending", None)], []]
    with pytest.raises(NothingToUndo):
        open_backlog(env=agent_env).undo()
    assert git(repo, "rev-parse", "main") == main_tip
    assert int(git(repo, "rev-list", "--count", "main..backlog/a1")) == 6
    assert status(repo) == ""
    assert add(open_backlog(env=agent_env), "next")["id"] == 2


def test_undo_chain_on_one_object_within_one_second(repo: Path, backlog: Backlog) -> None:
    """Commits made within one second share a commit time; undo must still see its own undo commits."""
    add(backlog, "Undo chain")
    backlog.start("1")
    backlog.undo()
    assert "start" not in backlog.info("1")
    backlog.undo()
    assert backlog.count("") == 0
    with pytest.raises(NothingToUndo):
        backlog.undo()


def test_undo_goes_further_back_when_every_op_of_the_newest_second_is_undone(tmp_path: Path) -> None:
    """Ops and their undos in one second, an older op in an earlier second: the next undo finds it
    (a walk that stopped at the second boundary used to report nothing to undo)."""
    import time as timelib

    from support import init_repo

    from backlog_git.engine import Backlog

    repo = init_repo(tmp_path / "r")
    backlog = Backlog.open(str(repo), env={})
    backlog.add("older op")
    timelib.sleep(1.1)
    for n in range(3):
        backlog.add(f"same second {n}")
    for _ in range(3):
        backlog.undo()
    assert "older op" in backlog.undo().message
