"""The engine API against real repositories: one commit per mutation, exact paths and trailers, the id
resolver, hand edits and broken files, validation messages, import, history, archive, namespaces."""

from __future__ import annotations

import os
import time
import uuid as uuidlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import (
    add,
    changed_paths,
    cli_ok,
    git,
    head_count,
    outside_files,
    status,
    subject,
    task_path,
    trailers,
    two_clones,
)

from backlog_git import config as configmod
from backlog_git.engine import Backlog
from backlog_git.engine import setup as setup_repo
from backlog_git.errors import (
    AmbiguousId,
    BacklogError,
    BrokenTaskFile,
    InvalidInput,
    NotFound,
    RepositoryError,
    WrongState,
)

COUNTER = ".backlog/tasks/next-id"
Opener = Callable[..., Backlog]


def store_problems(backlog: Backlog) -> list[dict[str, Any]]:
    """check()'s findings about task files (not about the repository's setup)."""
    return [p for p in backlog.check() if p["path"].startswith(".backlog/")]


def read(repo: Path, rel: str) -> bytes:
    return (repo / rel).read_bytes()


# ====================================================================== commits per operation
def test_add_is_one_commit_with_subject_trailers_and_paths(repo: Path, open_backlog: Opener) -> None:
    backlog = open_backlog()
    before = head_count(repo)
    outcome = backlog.add("Fix login redirect", project="web", tags=["bug"])
    task = outcome.tasks[0]
    assert head_count(repo) == before + 1
    assert git(repo, "rev-parse", "HEAD") == outcome.commit
    assert subject(repo) == "add #1: Fix login redirect"
    found = trailers(repo)
    assert found["Backlog-Op"] == ["add"]
    assert found["Backlog-Namespace"] == ["tasks"]
    assert found["Backlog-Task"] == [task["uuid"]]
    assert found["Backlog-Agent"] == [configmod.default_writer()]
    assert changed_paths(repo) == sorted([COUNTER, task_path(task["uuid"])])
    assert task["id"] == 1
    assert task["project"] == "web" and task["tags"] == ["bug"]
    assert git(repo, "symbolic-ref", "HEAD") == "refs/heads/main"


def test_agent_writes_on_its_own_branch_and_every_read_sees_it(repo: Path, open_backlog: Opener) -> None:
    agent = open_backlog(env={"BACKLOG_AGENT_ID": "a1"})
    main_tip = git(repo, "rev-parse", "main")
    files = outside_files(repo)
    outcome = agent.add("Agent task")
    task = outcome.tasks[0]
    assert git(repo, "rev-parse", "main") == main_tip
    assert git(repo, "rev-parse", "refs/heads/backlog/a1") == outcome.commit
    assert int(git(repo, "rev-list", "--count", "main..backlog/a1")) == 1
    found = trailers(repo, "backlog/a1")
    assert found["Backlog-Op"] == ["add"]
    assert found["Backlog-Agent"] == ["a1"]
    assert found["Backlog-Task"] == [task["uuid"]]
    assert changed_paths(repo, "backlog/a1") == sorted([COUNTER, task_path(task["uuid"])])
    assert outside_files(repo) == files  # object level: no working-tree file, no index change
    assert status(repo) == ""
    assert git(repo, "symbolic-ref", "HEAD") == "refs/heads/main"
    assert [t["uuid"] for t in open_backlog().list()] == [task["uuid"]]
    assert [t["uuid"] for t in agent.list()] == [task["uuid"]]
    # Ids stay unique across writers: the next writer sees the agent's counter.
    assert add(open_backlog(), "human task")["id"] == 2
    assert add(open_backlog(env={"BACKLOG_AGENT_ID": "b2"}), "other agent")["id"] == 3


def test_commit_is_authored_with_repository_identity(repo: Path, backlog: Backlog) -> None:
    add(backlog)
    assert git(repo, "log", "-1", "--format=%an <%ae>") == "Test User <test@example.com>"


def test_file_layout_sharded_by_uuid(repo: Path, backlog: Backlog) -> None:
    task = add(backlog, "one")
    path = repo / task_path(task["uuid"])
    assert path.is_file()
    assert path.parent.name == task["uuid"][:2]
    assert read(repo, COUNTER) == b"2\n"
    assert git(repo, "show", f"HEAD:{task_path(task['uuid'])}").startswith("---\nuuid: " + task["uuid"])


OPS: list[tuple[str, Callable[[Backlog, dict[str, Any]], Any], bool]] = [
    ("modify", lambda b, t: b.modify(str(t["id"]), changes={"priority": "H"}), False),
    ("start", lambda b, t: b.start(t["uuid"]), False),
    ("stop", lambda b, t: b.stop(t["uuid"]), False),
    ("annotate", lambda b, t: b.annotate(str(t["id"]), "a note"), False),
    ("denotate", lambda b, t: b.denotate(str(t["id"]), "a note"), False),
    ("doc-write", lambda b, t: b.doc_write(str(t["id"]), "# Spec\n"), False),
    ("doc-delete", lambda b, t: b.doc_delete(str(t["id"])), False),
    ("done", lambda b, t: b.done(str(t["id"])), False),
    ("duplicate", lambda b, t: b.duplicate(str(t["id"])), True),
    ("log", lambda b, t: b.log("already done"), True),
    ("delete", lambda b, t: b.delete(str(t["id"])), False),
    ("purge", lambda b, t: b.purge(str(t["id"])), False),
]


def test_every_operation_is_one_commit_touching_only_its_paths(repo: Path, backlog: Backlog) -> None:
    task = add(backlog, "Subject task")
    path = task_path(task["uuid"])
    for op, call, creates in OPS:
        before = head_count(repo)
        outcome = call(backlog, task)
        assert outcome.commit is not None, op
        assert head_count(repo) == before + 1, op
        found = trailers(repo)
        assert found["Backlog-Op"] == [op], op
        assert found["Backlog-Namespace"] == ["tasks"]
        assert len(found["Backlog-Agent"]) == 1
        paths = changed_paths(repo)
        if creates:
            new_uuid = outcome.tasks[0]["uuid"]
            assert found["Backlog-Task"] == [new_uuid], op
            assert paths == sorted([COUNTER, task_path(new_uuid)]), op
        else:
            assert found["Backlog-Task"] == [task["uuid"]], op
            assert paths == [path], op
        assert subject(repo).startswith(f"{op} #"), op
        assert status(repo) == "", op
    assert not (repo / path).exists()


def test_subject_is_readable_for_many_tasks(repo: Path, backlog: Backlog) -> None:
    for name in ("a", "b", "c"):
        add(backlog, name, project="web")
    outcome = backlog.modify("project:web", changes={"priority": "L"})
    assert outcome.commit is not None
    assert subject(repo).startswith("modify 3 tasks: ")
    assert all(f"#{n}" in subject(repo) for n in (1, 2, 3))
    assert len(trailers(repo)["Backlog-Task"]) == 3
    assert len(changed_paths(repo)) == 3


def test_call_that_changes_nothing_makes_no_commit(repo: Path, backlog: Backlog) -> None:
    task = add(backlog, "same", priority="H")
    before = head_count(repo)
    outcome = backlog.modify(str(task["id"]), changes={"priority": "H"})
    assert outcome.commit is None
    assert "No change" in outcome.message
    assert backlog.archive(30).commit is None
    assert head_count(repo) == before


@pytest.mark.parametrize(
    "call",
    [
        lambda b: b.done("99"),
        lambda b: b.stop("1"),
        lambda b: b.purge("1"),
        lambda b: b.denotate("1", "missing note"),
        lambda b: b.doc_delete("1"),
        lambda b: b.modify("", changes={"priority": "H"}),
    ],
)
def test_failed_call_makes_no_commit_and_writes_nothing(
    repo: Path, backlog: Backlog, call: Callable[[Backlog], Any]
) -> None:
    add(backlog, "only")
    before = head_count(repo)
    files = outside_files(repo)
    snapshot = {p: (repo / p).read_bytes() for p in files}
    with pytest.raises(BacklogError):
        call(backlog)
    assert head_count(repo) == before
    assert {p: (repo / p).read_bytes() for p in outside_files(repo)} == snapshot


def test_wrong_state_messages(backlog: Backlog) -> None:
    task = add(backlog)
    backlog.done(str(task["id"]))
    with pytest.raises(WrongState, match="already completed"):
        backlog.done(str(task["id"]))
    with pytest.raises(WrongState, match="only pending tasks can be started"):
        backlog.start(str(task["id"]))
    with pytest.raises(WrongState, match="Can only purge deleted tasks"):
        backlog.purge(str(task["id"]))


# ====================================================================== the user's work is untouched
def test_user_staged_and_unstaged_work_left_byte_for_byte(repo: Path, backlog: Backlog) -> None:
    (repo / "README.md").write_text("hello\nstaged change\n")
    git(repo, "add", "README.md")
    (repo / "README.md").write_text("hello\nstaged change\nunstaged change\n")
    (repo / "new_staged.txt").write_text("new file\n")
    git(repo, "add", "new_staged.txt")
    (repo / "untracked.txt").write_text("scratch\n")
    (repo / "src").mkdir()
    (repo / "src" / "code.py").write_text("print(1)\n")
    git(repo, "add", "src/code.py")
    git(repo, "rm", "-q", "--cached", "src/code.py")
    cached = git(repo, "diff", "--cached")
    unstaged = git(repo, "diff")
    porcelain = status(repo)
    readme = read(repo, "README.md")

    task = add(backlog, "one")
    other = add(backlog, "two")
    backlog.modify(str(task["id"]), changes={"project": "web"})
    backlog.done(str(other["id"]))
    backlog.undo()
    backlog.delete(str(task["id"]))
    backlog.purge(str(task["id"]))

    assert git(repo, "diff", "--cached") == cached
    assert git(repo, "diff") == unstaged
    assert status(repo) == porcelain
    assert read(repo, "README.md") == readme
    assert git(repo, "status", "--porcelain", "--", ".backlog") == ""
    # The user's staged work was not committed by the store.
    assert "README.md" not in git(repo, "log", "--name-only", "--format=", "-6")
    assert "new_staged.txt" not in git(repo, "ls-tree", "-r", "--name-only", "HEAD")


def test_store_paths_clean_in_status_after_each_mutation(repo: Path, backlog: Backlog) -> None:
    task = add(backlog)
    assert status(repo) == ""
    backlog.annotate(str(task["id"]), "note")
    assert status(repo) == ""
    backlog.doc_write(str(task["id"]), "spec\n")
    assert status(repo) == ""
    assert git(repo, "diff", "HEAD", "--stat") == ""


# ====================================================================== id resolution
def import_with_uuids(backlog: Backlog, *uuids: str) -> None:
    backlog.import_tasks([{"uuid": u, "description": f"imported {u[:9]}"} for u in uuids])


def test_resolver_numeric_uuid_and_prefix(backlog: Backlog) -> None:
    import_with_uuids(backlog, "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "f1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d")
    task = backlog.info("1")
    assert backlog.info(str(task["id"]))["uuid"] == task["uuid"]
    assert backlog.info(task["uuid"])["uuid"] == task["uuid"]
    assert backlog.info(task["uuid"].upper())["uuid"] == task["uuid"]
    assert backlog.info(task["uuid"][:8])["uuid"] == task["uuid"]
    assert backlog.info(task["uuid"][:13])["uuid"] == task["uuid"]
    backlog.annotate(task["uuid"][:8], "by prefix")
    assert backlog.info("1")["annotations"][0]["description"] == "by prefix"
    backlog.modify(task["uuid"][:8], changes={"priority": "L"})
    assert backlog.info("1")["priority"] == "L" and "priority" not in backlog.info("2")


def test_all_digit_uuid_prefix_resolves_when_no_such_id(backlog: Backlog) -> None:
    digits = "26066905-aaaa-4bbb-8ccc-dddddddddddd"
    import_with_uuids(backlog, digits)
    assert backlog.info("26066905")["uuid"] == digits
    backlog.done("26066905")
    assert backlog.info("1")["status"] == "completed"


def test_resolver_ambiguous_prefix_names_both(backlog: Backlog) -> None:
    first = "abcdef01-2000-4000-8000-000000000001"
    second = "abcdef01-2fff-4000-8000-000000000002"
    assert first[:10] == second[:10]
    import_with_uuids(backlog, first, second)
    for call in (lambda: backlog.done("abcdef01-2"), lambda: backlog.info("abcdef01")):
        with pytest.raises(AmbiguousId) as info:
            call()
        assert first in str(info.value) and second in str(info.value)
    assert backlog.info("abcdef01-2f")["uuid"] == second


def test_resolver_unknown_says_none_exists(backlog: Backlog) -> None:
    add(backlog)
    for ref in ("99", "deadbeef", str(uuidlib.uuid4())):
        with pytest.raises(NotFound, match="No task found"):
            backlog.done(ref)


def test_short_prefix_and_garbage_are_not_ids(backlog: Backlog) -> None:
    task = add(backlog)
    with pytest.raises(NotFound):
        backlog.done(task["uuid"][:7])
    with pytest.raises(NotFound):
        backlog.done("1abc")
    with pytest.raises(InvalidInput):
        backlog.done("  ")


def test_uuid_starting_with_digits_is_never_a_numeric_id(repo: Path, backlog: Backlog) -> None:
    for n in range(3):
        add(backlog, f"task {n + 1}")
    digits_uuid = "3f2a9c1e-1111-4222-8333-444455556666"
    stale_uuid = "3f2a0000-1111-4222-8333-444455556666"
    import_with_uuids(backlog, digits_uuid)
    assert backlog.info("3")["description"] == "task 3"
    assert backlog.info("3f2a9c1e")["uuid"] == digits_uuid
    assert backlog.info(digits_uuid)["uuid"] == digits_uuid
    before = head_count(repo)
    with pytest.raises(NotFound):
        backlog.done(stale_uuid)
    with pytest.raises(NotFound):
        backlog.done("3f2a0000")
    with pytest.raises(NotFound):
        backlog.done("3f2a")
    assert head_count(repo) == before
    assert backlog.info("3")["status"] == "pending"


def test_depends_resolved_through_the_same_resolver(backlog: Backlog) -> None:
    first = add(backlog, "first")
    second = add(backlog, "second", depends=str(first["id"]))
    assert second["depends"] == [first["uuid"]]
    third = add(backlog, "third", depends=[first["uuid"][:8]])
    assert third["depends"] == [first["uuid"]]


# ====================================================================== numeric ids
def test_ids_increase_and_survive_restart(open_backlog: Opener) -> None:
    backlog = open_backlog()
    assert [add(backlog, n)["id"] for n in "abc"] == [1, 2, 3]
    assert add(open_backlog(), "d")["id"] == 4


def test_ids_not_reused_after_purge_across_restart(open_backlog: Opener) -> None:
    backlog = open_backlog()
    add(backlog, "a")
    top = add(backlog, "b")
    backlog.delete(str(top["id"]))
    backlog.purge(str(top["id"]))
    assert add(open_backlog(), "c")["id"] == 3


def test_ids_not_reused_after_archive_across_restart(open_backlog: Opener) -> None:
    backlog = open_backlog()
    add(backlog, "a")
    top = add(backlog, "b")
    backlog.done(str(top["id"]))
    assert backlog.archive(0).commit is not None
    assert add(open_backlog(), "c")["id"] == 3


def test_ids_not_reused_when_highest_task_file_is_broken(repo: Path, backlog: Backlog) -> None:
    add(backlog, "a")
    top = add(backlog, "b")
    path = repo / task_path(top["uuid"])
    path.write_text(path.read_text().replace("status: pending", "status: [broken"))
    (repo / COUNTER).write_text("1\n")  # even a counter reset by hand does not reuse id 2
    assert add(backlog, "c")["id"] == 3


# ====================================================================== hand edits
def test_hand_edit_is_picked_up_on_next_call(repo: Path, backlog: Backlog) -> None:
    task = add(backlog, "original")
    assert backlog.info("1")["description"] == "original"
    path = repo / task_path(task["uuid"])
    path.write_text(path.read_text().replace("description: original", "description: edited by hand, longer"))
    assert backlog.info("1")["description"] == "edited by hand, longer"
    assert [t["description"] for t in backlog.list()] == ["edited by hand, longer"]
    # A mutation builds on the hand edit (and commits it together with its own change).
    backlog.modify("1", changes={"priority": "M"})
    shown = git(repo, "show", f"HEAD:{task_path(task['uuid'])}")
    assert "description: edited by hand, longer" in shown and "priority: M" in shown
    assert status(repo) == ""


def test_hand_created_and_hand_deleted_files(repo: Path, backlog: Backlog) -> None:
    task = add(backlog, "keep")
    gone = add(backlog, "remove me")
    new_uuid = str(uuidlib.uuid4())
    text = (repo / task_path(task["uuid"])).read_text()
    text = text.replace(task["uuid"], new_uuid).replace("\nid: 1\n", "\nid: 7\n").replace("keep", "hand made")
    (repo / task_path(new_uuid)).parent.mkdir(parents=True, exist_ok=True)
    (repo / task_path(new_uuid)).write_text(text)
    (repo / task_path(gone["uuid"])).unlink()
    assert sorted(t["description"] for t in backlog.list()) == ["hand made", "keep"]
    assert backlog.info("7")["uuid"] == new_uuid
    with pytest.raises(NotFound):
        backlog.info(str(gone["id"]))
    assert add(backlog, "next")["id"] == 8


# ====================================================================== broken files
def _mismatch(text: str) -> str:
    first, rest = text.split("\n", 1)
    line, _rest = rest.split("\n", 1)
    assert line.startswith("uuid: ")
    return f"{first}\nuuid: {uuidlib.uuid4()}\n{_rest}"


@pytest.mark.parametrize(
    ("name", "corrupt", "reason", "line"),
    [
        ("bad_yaml", lambda t: t.replace("status: pending", "status: [pending"), "invalid YAML", None),
        ("invalid_field", lambda t: t.replace("status: pending", "status: pending\npriority: Z"),
         "Invalid priority", 6),
        ("bad_date", lambda t: t.replace("status: pending", "status: pending\ndue: not a date"), "due", 6),
        ("name_mismatch", _mismatch, "does not match the file name", 2),
        ("missing_field", lambda t: t.replace("description: victim\n", ""), "description", None),
    ],
)
def test_broken_file_reported_others_work_mutation_refused(
    repo: Path, backlog: Backlog, name: str, corrupt: Callable[[str], str], reason: str, line: int | None
) -> None:
    victim = add(backlog, "victim")
    other = add(backlog, "other")
    rel = task_path(victim["uuid"])
    path = repo / rel
    path.write_text(corrupt(path.read_text()))
    broken = path.read_bytes()
    before = head_count(repo)

    problems = store_problems(backlog)
    assert len(problems) == 1
    problem = problems[0]
    assert problem["path"] == rel
    assert reason in problem["reason"]
    if line is not None:
        assert problem["line"] == line
    assert problem["line"] is not None or name == "missing_field"

    assert [t["uuid"] for t in backlog.list()] == [other["uuid"]]
    backlog.annotate(str(other["id"]), "still works")

    refs = [victim["uuid"]] if name == "name_mismatch" else [victim["uuid"], str(victim["id"])]
    expected = f"{rel}:{problem['line']}: {problem['reason']}" if problem["line"] else f"{rel}: {problem['reason']}"
    for ref in refs:
        for call in (backlog.done, backlog.delete, lambda r: backlog.modify(r, changes={"priority": "H"}),
                     lambda r: backlog.doc_write(r, "x")):
            with pytest.raises(BrokenTaskFile) as info:
                call(ref)
            assert expected in str(info.value)
    with pytest.raises(BrokenTaskFile):
        backlog.info(victim["uuid"])
    assert path.read_bytes() == broken
    assert head_count(repo) == before + 1  # only the annotate of the other task


def test_check_reports_duplicate_ids(repo: Path, backlog: Backlog) -> None:
    first = add(backlog, "a")
    second = add(backlog, "b")
    path = repo / task_path(second["uuid"])
    path.write_text(path.read_text().replace("\nid: 2\n", "\nid: 1\n"))
    problems = store_problems(backlog)
    assert any("id 1 is also used" in p["reason"] for p in problems)
    assert {t["uuid"] for t in backlog.list()} == {first["uuid"], second["uuid"]}


def test_check_clean_store(backlog: Backlog) -> None:
    add(backlog)
    setup_repo.install(backlog.git)
    assert backlog.check() == []


# ====================================================================== validation messages
VALIDATION: list[tuple[str, Callable[[Backlog], Any], str]] = [
    ("empty description", lambda b: b.add(""), "Description cannot be empty."),
    ("blank description", lambda b: b.add("   "), "Description cannot be empty."),
    ("long description", lambda b: b.add("x" * 501), "at most 500 characters"),
    ("bad project", lambda b: b.add("x", project="has space"), "Invalid project"),
    ("bad priority", lambda b: b.add("x", priority="Z"), "Invalid priority"),
    ("bad due on add", lambda b: b.add("x", due="not-a-date"), "Invalid due: Cannot parse date: 'not-a-date'"),
    ("bad wait on add", lambda b: b.add("x", wait="2025-13-45"), "Invalid wait"),
    ("bad depends", lambda b: b.add("x", depends="nope"), "Invalid dependency UUID: 'nope'"),
    ("unknown depends", lambda b: b.add("x", depends="42"), "No task found"),
    ("bad recur", lambda b: b.add("x", recur="every blue moon", due="tomorrow"),
     "Unknown recurrence pattern 'every blue moon'"),
    ("recur without due", lambda b: b.add("x", recur="weekly"), "needs a due date"),
    ("bad attribute name", lambda b: b.add("x", attributes={"bad key": 1}), "Invalid attribute name"),
    ("built-in attribute", lambda b: b.add("x", attributes={"status": "done"}), "built-in field"),
    ("bad tag", lambda b: b.add("x", tags=["two words"]), "Invalid tag"),
    ("log empty", lambda b: b.log(""), "Description cannot be empty."),
    ("bad due on modify", lambda b: b.modify("1", changes={"due": "not-a-date"}),
     "Invalid due: Cannot parse date: 'not-a-date'"),
    ("bad priority on modify", lambda b: b.modify("1", changes={"priority": "Q"}), "Invalid priority"),
    ("bad project on modify", lambda b: b.modify("1", changes={"project": "a b"}), "Invalid project"),
    ("status on modify", lambda b: b.modify("1", changes={"status": "completed"}), "cannot be set with modify"),
    ("uuid on modify", lambda b: b.modify("1", changes={"uuid": str(uuidlib.uuid4())}), "cannot be set"),
    ("recur on modify without due", lambda b: b.modify("1", changes={"recur": "weekly"}), "needs a due date"),
    ("bad attribute on modify", lambda b: b.modify("1", changes={"no good": "x"}), "Invalid attribute name"),
    ("long description on modify", lambda b: b.modify("1", changes={"description": "y" * 501}), "at most 500"),
    ("bad depends on modify", lambda b: b.modify("1", changes={"depends": "zzz"}), "Invalid dependency UUID"),
    ("bad status in import", lambda b: b.import_tasks([{"description": "x", "status": "waiting"}]),
     "Invalid status"),
    ("empty description in import", lambda b: b.import_tasks([{"description": " "}]),
     "Imported task description cannot be empty."),
    ("long description in import", lambda b: b.import_tasks([{"description": "z" * 501}]), "at most 500"),
    ("bad date in import", lambda b: b.import_tasks([{"description": "x", "due": "soonish"}]),
     "Invalid due: Cannot parse date: 'soonish'"),
    ("bad uuid in import", lambda b: b.import_tasks([{"description": "x", "uuid": "../../x"}]), "not a uuid"),
    ("bad attribute in import", lambda b: b.import_tasks([{"description": "x", "a b": 1}]),
     "Invalid attribute name"),
    ("import not a list", lambda b: b.import_tasks('{"description": "x"}'), "JSON array"),
    ("import bad json", lambda b: b.import_tasks("[{"), "JSON array"),
    ("archive days", lambda b: b.archive("ten"), "whole number of days"),
    ("archive negative", lambda b: b.archive(-1), "cannot be negative"),
]


@pytest.mark.parametrize(("name", "call", "expected"), VALIDATION, ids=[v[0] for v in VALIDATION])
def test_validation_message(
    repo: Path, backlog: Backlog, name: str, call: Callable[[Backlog], Any], expected: str
) -> None:
    add(backlog, "existing")
    before = head_count(repo)
    snapshot = {p: (repo / p).read_bytes() for p in outside_files(repo)}
    with pytest.raises(BacklogError) as info:
        call(backlog)
    assert expected in str(info.value)
    assert head_count(repo) == before
    assert {p: (repo / p).read_bytes() for p in outside_files(repo)} == snapshot


def test_validation_errors_are_invalid_input(backlog: Backlog) -> None:
    with pytest.raises(InvalidInput):
        backlog.add("x", due="garbage")
    add(backlog)
    with pytest.raises(InvalidInput):
        backlog.modify("1", changes={"due": "garbage"})


def test_modify_resolves_dates_and_clears_with_empty_string(backlog: Backlog) -> None:
    add(backlog, "x", project="web", due="2030-01-15T10:00:00Z")
    backlog.modify("1", changes={"due": "2031-02-01T00:00:00Z", "project": ""})
    task = backlog.info("1")
    assert task["due"] == "2031-02-01T00:00:00Z"
    assert "project" not in task
    backlog.modify("1", changes={"due": ""})
    assert "due" not in backlog.info("1")


def test_modify_adds_and_removes_tags(backlog: Backlog) -> None:
    add(backlog, "x", tags=["a", "b"])
    backlog.modify("1", add_tags=["c"], remove_tags=["a"])
    assert backlog.info("1")["tags"] == ["b", "c"]


def test_user_attributes_round_trip_through_engine(repo: Path, backlog: Backlog) -> None:
    task = add(backlog, "x", attributes={"estimate": "3h"})
    assert "estimate: 3h\n" in read(repo, task_path(task["uuid"])).decode()
    backlog.modify("1", changes={"estimate": ""})
    assert "estimate" not in read(repo, task_path(task["uuid"])).decode()


# ====================================================================== import
def test_import_is_one_commit(repo: Path, backlog: Backlog) -> None:
    add(backlog, "existing")
    before = head_count(repo)
    given_uuid = str(uuidlib.uuid4())
    outcome = backlog.import_tasks([  # the engine takes parsed items; JSON text is the input layer's
        {"description": "one", "project": "web"},
        {"description": "two", "uuid": given_uuid, "doc": "# spec\n"},
        {"description": "three", "status": "completed", "end": "2025-01-02T00:00:00Z", "id": 999},
    ])
    assert outcome.commit is not None
    assert head_count(repo) == before + 1
    found = trailers(repo)
    assert found["Backlog-Op"] == ["import"]
    assert len(found["Backlog-Task"]) == 3 and given_uuid in found["Backlog-Task"]
    assert changed_paths(repo) == sorted([COUNTER, *(task_path(u) for u in found["Backlog-Task"])])
    assert sorted(t["id"] for t in outcome.tasks) == [2, 3, 4]  # ids are assigned, never taken from input
    assert backlog.doc_read(given_uuid) == "# spec\n"
    assert backlog.info("4")["end"] == "2025-01-02T00:00:00Z"


def test_import_is_atomic(repo: Path, backlog: Backlog) -> None:
    add(backlog, "existing")
    before = head_count(repo)
    snapshot = {p: (repo / p).read_bytes() for p in outside_files(repo)}
    with pytest.raises(InvalidInput) as info:
        backlog.import_tasks([{"description": "good"}, {"description": "bad", "priority": "X"},
                              {"description": "good too"}])
    assert "Task 2 of the import" in str(info.value) and "Nothing was imported" in str(info.value)
    assert head_count(repo) == before
    assert {p: (repo / p).read_bytes() for p in outside_files(repo)} == snapshot
    assert len(backlog.list()) == 1


def test_import_existing_uuid_refused(backlog: Backlog) -> None:
    task = add(backlog)
    with pytest.raises(InvalidInput, match="already exists"):
        backlog.import_tasks([{"description": "dup", "uuid": task["uuid"]}])
    one = str(uuidlib.uuid4())
    with pytest.raises(InvalidInput, match="already exists"):
        backlog.import_tasks([{"description": "a", "uuid": one}, {"description": "b", "uuid": one}])


# ====================================================================== docs
def test_doc_write_read_delete(repo: Path, backlog: Backlog) -> None:
    task = add(backlog, "with doc")
    with pytest.raises(NotFound, match="No doc attached"):
        backlog.doc_read("1")
    backlog.doc_write("1", "# Spec\n\nDetails.\n")
    assert backlog.doc_read("1") == "# Spec\n\nDetails.\n"
    info = backlog.info("1")
    assert info.get("has_doc") is True and "doc" in info["tags"]
    assert read(repo, task_path(task["uuid"])).endswith(b"---\n# Spec\n\nDetails.\n")
    backlog.doc_delete("1")
    assert read(repo, task_path(task["uuid"])).endswith(b"---\n")
    assert "doc" not in backlog.info("1").get("tags", [])


# ====================================================================== history
def test_history_lists_commits_with_field_changes(backlog: Backlog) -> None:
    task = add(backlog, "tracked")
    backlog.modify("1", changes={"priority": "H"})
    backlog.done("1")
    entries = backlog.history("1")
    assert [e["op"] for e in entries] == ["done", "modify", "add"]
    assert all(e["writer"] == configmod.default_writer() for e in entries)
    assert entries[1]["changes"]["priority"] == [None, "H"]
    assert entries[0]["changes"]["status"] == ["pending", "completed"]
    assert entries[2]["changes"]["description"] == [None, "tracked"]
    assert len(entries[0]["commit"]) == 40
    assert entries[0]["time"].endswith("Z")
    assert backlog.history(task["uuid"]) == entries


def test_history_includes_hand_commits_and_archive(repo: Path, backlog: Backlog) -> None:
    task = add(backlog, "tracked")
    path = repo / task_path(task["uuid"])
    path.write_text(path.read_text().replace("tracked", "renamed by hand"))
    git(repo, "commit", "-q", "-am", "hand edit")
    backlog.done("1")
    backlog.archive(0)
    entries = backlog.history(task["uuid"])
    assert [e["op"] for e in entries] == ["archive", "done", "edit", "add"]
    assert entries[2]["writer"] == "(git)"
    assert entries[2]["changes"]["description"] == ["tracked", "renamed by hand"]


def test_history_unknown_task(backlog: Backlog) -> None:
    with pytest.raises(NotFound):
        backlog.history(str(uuidlib.uuid4()))


# ====================================================================== archive
def test_archive_into_quarterly_segments_by_end(repo: Path, backlog: Backlog) -> None:
    backlog.import_tasks([
        {"description": "q1 done", "status": "completed", "end": "2025-02-10T12:00:00Z"},
        {"description": "q3 deleted", "status": "deleted", "end": "2025-08-01T00:00:00Z"},
        {"description": "q3 done", "status": "completed", "end": "2025-09-30T23:59:59Z"},
        {"description": "old but pending", "entry": "2024-01-01T00:00:00Z"},
    ])
    recent = add(backlog, "recent")
    backlog.done(str(recent["id"]))
    by_desc = {t["description"]: t for t in backlog.list("status:completed") + backlog.list("status:deleted")}
    raw = {d: read(repo, task_path(t["uuid"])) for d, t in by_desc.items()}
    before = head_count(repo)

    outcome = backlog.archive(90)
    assert outcome.commit is not None and head_count(repo) == before + 1
    found = trailers(repo)
    assert found["Backlog-Op"] == ["archive"]
    assert len(found["Backlog-Task"]) == 3
    moved = {"q1 done": "2025-Q1", "q3 deleted": "2025-Q3", "q3 done": "2025-Q3"}
    expected_paths = []
    for desc, segment in moved.items():
        u = by_desc[desc]["uuid"]
        target = f".backlog/tasks/archive/{segment}/{u[:2]}/{u}.md"
        expected_paths += [task_path(u), target]
        assert read(repo, target) == raw[desc]
        assert not (repo / task_path(u)).exists()
    # A shard the archive empties keeps a marker (git would otherwise see a directory rename).
    remaining = {p.parent.name for p in (repo / ".backlog" / "tasks").glob("[0-9a-f][0-9a-f]/*.md")}
    emptied = {by_desc[d]["uuid"][:2] for d in moved} - remaining
    expected_paths += [f".backlog/tasks/{shard}/.keep" for shard in emptied]
    assert changed_paths(repo) == sorted(expected_paths)
    assert status(repo) == ""

    assert backlog.archive_list() == ["archive/2025-Q1", "archive/2025-Q3"]
    assert {t["description"] for t in backlog.list("status:completed")} == {"recent"}
    assert "old but pending" in {t["description"] for t in backlog.list()}

    head = git(repo, "rev-parse", "HEAD")
    snapshot = {p: (repo / p).read_bytes() for p in outside_files(repo)}
    loaded = backlog.archive_load("2025-Q3")
    assert sorted(t["description"] for t in loaded) == ["q3 deleted", "q3 done"]
    assert [t["description"] for t in backlog.archive_load("archive/2025-Q1")] == ["q1 done"]
    assert git(repo, "rev-parse", "HEAD") == head
    assert {p: (repo / p).read_bytes() for p in outside_files(repo)} == snapshot
    assert backlog.archive(90).commit is None


def test_archive_load_errors(backlog: Backlog) -> None:
    with pytest.raises(NotFound, match="not found"):
        backlog.archive_load("2020-Q1")
    for bad in ("../../etc", "2020-Q5", "archive/../../x", "2020-Q1/../../../etc", ""):
        with pytest.raises(InvalidInput, match="Invalid archive segment"):
            backlog.archive_load(bad)
    assert backlog.archive_list() == []


# ====================================================================== namespaces and path escapes
def test_namespaces_are_isolated(repo: Path, open_backlog: Opener) -> None:
    alpha = open_backlog(env={"BACKLOG_NAMESPACE": "alpha"})
    beta = open_backlog(env={"BACKLOG_NAMESPACE": "beta"})
    default = open_backlog()
    a = add(alpha, "in alpha")
    assert trailers(repo)["Backlog-Namespace"] == ["alpha"]
    assert changed_paths(repo) == sorted([".backlog/alpha/next-id", task_path(a["uuid"], "alpha")])
    b = add(beta, "in beta")
    assert a["id"] == b["id"] == 1
    assert [t["description"] for t in alpha.list()] == ["in alpha"]
    assert [t["description"] for t in beta.list()] == ["in beta"]
    assert default.list() == []
    with pytest.raises(NotFound):
        beta.info(a["uuid"])
    # Undo is per namespace too.
    beta.undo()
    assert beta.list() == [] and [t["description"] for t in alpha.list()] == ["in alpha"]


def test_auto_namespace_uses_slug_of_cwd(repo: Path, open_backlog: Opener, tmp_path: Path) -> None:
    project = tmp_path / "my-app"
    project.mkdir()
    backlog = open_backlog(env={"BACKLOG_AUTO_NAMESPACE": "true"}, cwd=str(project))
    task = add(backlog, "auto")
    slug = configmod.slug(str(project))
    assert slug.startswith("my-app-") and len(slug) == len("my-app-") + 8
    assert (repo / task_path(task["uuid"], slug)).is_file()


@pytest.mark.parametrize("namespace", ["../x", "a/b", "..", "archive", ".hidden", "a b", "/abs", "x\\y"])
def test_namespace_escape_rejected(repo: Path, namespace: str) -> None:
    before = outside_files(repo)
    with pytest.raises(RepositoryError, match="Invalid namespace"):
        Backlog.open(str(repo), env={"BACKLOG_NAMESPACE": namespace})
    assert outside_files(repo) == before
    assert not (repo.parent / "x").exists()


@pytest.mark.parametrize("agent", ["../x", "a/b", "a..b", "x.lock", "-x", "a b"])
def test_bad_agent_id_rejected(repo: Path, agent: str) -> None:
    with pytest.raises(RepositoryError, match="Invalid BACKLOG_AGENT_ID"):
        Backlog.open(str(repo), env={"BACKLOG_AGENT_ID": agent})


def test_path_escapes_write_nothing_outside_store(repo: Path, backlog: Backlog) -> None:
    add(backlog, "x")
    before = outside_files(repo)
    attempts: list[Callable[[], Any]] = [
        lambda: backlog.import_tasks([{"description": "x", "uuid": "../../x"}]),
        lambda: backlog.import_tasks([{"description": "x", "uuid": "../../../tmp/evil"}]),
        lambda: backlog.archive_load("../../etc"),
        lambda: backlog.doc_write("../../x", "evil"),
        lambda: backlog.done("../../x"),
        lambda: backlog.add("x", attributes={"../x": "y"}),
        lambda: backlog.task_path("../../x"),
        lambda: backlog.archive_path("../../etc", str(uuidlib.uuid4())),
    ]
    for attempt in attempts:
        with pytest.raises(BacklogError):
            attempt()
    assert outside_files(repo) == before
    assert not (repo.parent / "x").exists() and not (repo.parent / "x.md").exists()


def test_repo_option_pointing_nowhere(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "deeper"
    with pytest.raises(RepositoryError, match="does not exist"):
        Backlog.open(str(missing), env={})
    assert not missing.exists()
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(RepositoryError, match="git init"):
        Backlog.open(str(plain), env={})
    assert list(plain.iterdir()) == []


def test_agent_archive_is_visible_to_reads(repo: Path, open_backlog: Opener) -> None:
    agent = open_backlog(env={"BACKLOG_AGENT_ID": "a1"})
    add(agent, "archived by an agent")
    agent.done("1")
    assert agent.archive(0).commit is not None
    assert agent.archive_list() != []
    assert open_backlog().archive_list() == agent.archive_list()


def test_task_files_never_contain_yaml_aliases(repo: Path, backlog: Backlog) -> None:
    task = add(backlog, "aliases")
    backlog.start("1")
    backlog.done("1")
    text = read(repo, task_path(task["uuid"])).decode()
    assert "&id" not in text and "*id" not in text
    end = [line for line in text.splitlines() if line.startswith(("end:", "modified:"))]
    assert len(end) == 2 and end[0][-20:] == end[1][-20:]


def test_history_of_an_archived_task_by_its_numeric_id(backlog: Backlog) -> None:
    task = backlog.add("soon archived").tasks[0]
    backlog.done("1")
    backlog.archive(0)
    entries = backlog.history("1")
    assert [e["op"] for e in entries] == ["archive", "done", "add"]
    assert backlog.history(task["uuid"][:8]) == entries


def test_import_refuses_the_uuid_of_an_archived_task(backlog: Backlog) -> None:
    task = backlog.add("archived original").tasks[0]
    backlog.done("1")
    backlog.archive(0)
    with pytest.raises(InvalidInput, match="already exists"):
        backlog.import_tasks([{"uuid": task["uuid"], "description": "second copy"}])


def test_an_import_error_reads_as_sentences(backlog: Backlog) -> None:
    with pytest.raises(InvalidInput) as caught:
        backlog.import_tasks([{"description": "fine"}, {"description": "bad", "status": "bogus"}])
    message = str(caught.value)
    assert message.startswith("Task 2 of the import: ")
    assert message.endswith("recurring. Nothing was imported.") or ". Nothing was imported." in message
    assert ".. " not in message and "recurring Nothing" not in message


def test_a_restart_reuses_parsed_files_but_never_a_stale_one(repo: Path, open_backlog: Opener) -> None:
    """One-shot processes (CLI, hooks) keep parsed files in .git/backlog/; a changed file is re-read."""
    first = open_backlog()
    first.import_tasks([{"description": f"task {n}"} for n in range(250)])
    old = time.time() - 3600
    for path in (repo / ".backlog" / "tasks").glob("*/*.md"):
        os.utime(path, (old, old))  # older than the cache's racy window
    open_backlog().list("")  # a restart parses everything and writes the cache
    cache = repo / ".git" / "backlog" / "view-tasks.cache"
    assert cache.exists()
    target = next((repo / ".backlog" / "tasks").glob("*/*.md"))
    target.write_text(target.read_text().replace("description: task", "description: edited task", 1))
    listed = {t["description"] for t in open_backlog().list("")}
    assert len(listed) == 250 and sum(d.startswith("edited task") for d in listed) == 1
    cache.write_bytes(b"not a pickle")  # a broken cache is ignored, never an error
    assert open_backlog().count("") == 250


def test_a_task_file_in_the_wrong_shard_is_reported_not_duplicated(repo: Path, open_backlog: Opener) -> None:
    task = open_backlog().add("moved by hand").tasks[0]
    source = repo / task_path(task["uuid"])
    wrong = source.parent.parent / ("00" if task["uuid"][:2] != "00" else "01")
    wrong.mkdir()
    source.rename(wrong / source.name)
    backlog = open_backlog()
    problems = backlog.check()
    assert any("move it back with `git mv`" in p["reason"] for p in problems)
    with pytest.raises(BrokenTaskFile):
        backlog.modify("1", changes={"priority": "H"})
    assert sorted(p.parent.name for p in (repo / ".backlog" / "tasks").glob("*/*.md")) == [wrong.name]


def test_history_of_an_archived_id_never_picks_a_uuid_that_starts_with_those_digits(backlog: Backlog) -> None:
    first = "2" + str(uuidlib.uuid4())[1:]
    backlog.import_tasks(
        [
            {"description": "first archived", "uuid": first, "status": "completed", "end": "2020-01-01"},
            {"description": "second archived", "status": "completed", "end": "2020-01-01"},
        ]
    )
    backlog.archive(0)
    second = next(t for t in backlog.archive_load(backlog.archive_list()[0]) if t["id"] == 2)
    created = backlog.history("2")[-1]
    assert created["changes"]["uuid"] == [None, second["uuid"]]


def test_done_on_a_completed_task_without_an_end_is_a_clear_error(backlog: Backlog) -> None:
    backlog.add("one")
    backlog.done("1")
    backlog.modify("1", changes={"end": ""})
    with pytest.raises(WrongState, match="already completed"):
        backlog.done("1")


def test_a_task_cannot_depend_on_itself(backlog: Backlog) -> None:
    backlog.add("one")
    with pytest.raises(InvalidInput, match="cannot depend on itself"):
        backlog.modify("1", changes={"depends": "1"})


def test_reads_notice_the_store_directory_renamed_away(repo: Path, backlog: Backlog) -> None:
    backlog.add("here")
    assert backlog.count("") == 1
    (repo / ".backlog").rename(repo / "moved-away")
    assert backlog.count("") == 0


def test_history_of_a_long_lived_store_sees_every_later_commit(repo: Path, backlog: Backlog) -> None:
    """The history index of an open store (a server, a served board) follows commits made after it was
    built, by itself and by another process's writer."""
    task = add(backlog, "Watched task")
    assert [e["op"] for e in backlog.history(task["uuid"])] == ["add"]
    backlog.modify(task["uuid"], changes={"priority": "H"})
    other = Backlog.open(str(repo), env={}, writer="someone-else")
    other.annotate(task["uuid"], "from elsewhere")
    assert [e["op"] for e in backlog.history(task["uuid"])] == ["annotate", "modify", "add"]
    fresh = add(other, "Added elsewhere")
    assert [e["op"] for e in backlog.history(fresh["uuid"])] == ["add"]


def test_history_index_prepared_in_the_background_is_what_history_reads(repo: Path, backlog: Backlog) -> None:
    """A server prepares the index after start (the first walk of a long log is nobody's wait); a later
    history call reads that file instead of walking the log again."""
    task = add(backlog, "Prepared")
    backlog.modify(task["uuid"], changes={"priority": "L"})
    index = repo / ".git" / "backlog" / "history-tasks.idx"
    assert not index.exists()
    backlog.prepare_history()
    stamp = index.stat()
    fresh = Backlog.open(str(repo), env={})
    assert [e["op"] for e in fresh.history(task["uuid"])] == ["modify", "add"]
    after = index.stat()
    assert (after.st_ino, after.st_mtime_ns) == (stamp.st_ino, stamp.st_mtime_ns)  # read, not rebuilt


def test_history_orders_commits_fetched_later_by_their_time(tmp_path: Path) -> None:
    """The index meets another clone's older commits only when they are fetched: history still lists
    every commit newest first, as git log does."""
    one, two, _url = two_clones(tmp_path)
    first = Backlog.open(str(one), env={})
    task = add(first, "Shared task")
    cli_ok(one, "sync", "--remote", "origin")
    cli_ok(two, "sync", "--remote", "origin")
    other = Backlog.open(str(two), env={}, writer="elsewhere")
    other.annotate(task["uuid"], "older, made on the other clone")
    cli_ok(two, "sync", "--remote", "origin")
    time.sleep(1.1)  # commit times have one-second resolution
    first.modify(task["uuid"], changes={"priority": "H"})
    assert [e["op"] for e in first.history(task["uuid"])] == ["modify", "add"]  # indexed now
    cli_ok(one, "sync", "--remote", "origin")
    entries = first.history(task["uuid"])
    assert [e["op"] for e in entries if not e["subject"].startswith("sync:")] == ["modify", "annotate", "add"]
    assert [e["commit"] for e in entries] == git(one, "log", "--format=%H", "--", task_path(task["uuid"])).split()
