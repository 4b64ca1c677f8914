"""The git merge driver: run directly on temp files, and run by git itself in real clones.

* ``backlog-git merge-driver %O %A %B %P`` writes the merged file into %A, exits 0, and gives the same bytes
  whichever side is %A (git swaps %A and %B during a rebase).
* Two clones of a bare ``file://`` remote, both ``install``-ed: concurrent edits of one task are merged by a
  real ``git merge``, ``git pull``, ``git pull --rebase``, ``git rebase`` and ``git cherry-pick`` with exit 0,
  no conflict marker in a task file, and every field merged.
* A fresh clone without ``backlog-git install`` is flagged by ``backlog-git check``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from support import (
    BACKLOG_GIT,
    CONFLICT_MARKERS,
    assert_no_conflict_markers,
    bare_remote,
    cli,
    cli_ok,
    clone,
    created_uuid,
    git,
    git_run,
    init_store,
    notes,
    open_human,
    parents,
    porcelain,
    run,
    show,
    task_bytes,
    task_path,
    two_clones,
    worktree_task,
)

from backlog_git import taskfile

UUID = "6a1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
PATH = task_path(UUID)
T0 = "2026-11-24T08:00:00Z"
T1 = "2026-11-24T09:00:00Z"
T2 = "2026-11-24T10:00:00Z"
BODY = "# Spec\n\nline one\nline two\nline three\nline four\nline five\n"


BASE_FIELDS: dict[str, Any] = {
    "uuid": UUID, "id": 4, "description": "Shared task", "status": "pending",
    "tags": ["keep", "x", "y"], "entry": T0, "modified": T0,
    "annotations": [{"entry": T0, "description": "base note"}],
}


def make(body: str = BODY, **fields: Any) -> bytes:
    return task_bytes(BASE_FIELDS, body, **fields)


def drive(tmp: Path, base: bytes, ours: bytes, theirs: bytes, path: str = PATH) -> tuple[int, bytes, str]:
    """Run the driver as git does (temp files, cwd elsewhere); return (exit code, what %A holds, stderr)."""
    tmp.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, data in (("O", base), ("A", ours), ("B", theirs)):
        files[name] = tmp / f".merge_file_{name}"
        files[name].write_bytes(data)
    proc = run([*BACKLOG_GIT, "merge-driver", str(files["O"]), str(files["A"]), str(files["B"]), path], tmp)
    assert files["O"].read_bytes() == base, "the driver must not touch %O"
    assert files["B"].read_bytes() == theirs, "the driver must not touch %B"
    return proc.returncode, files["A"].read_bytes(), proc.stderr


def drive_both_ways(tmp: Path, base: bytes, ours: bytes, theirs: bytes, path: str = PATH) -> bytes:
    """Run the driver with A/B one way and swapped; both must exit 0 with the same bytes."""
    code_ab, result_ab, err_ab = drive(tmp / "ab", base, ours, theirs, path)
    code_ba, result_ba, err_ba = drive(tmp / "ba", base, theirs, ours, path)
    assert code_ab == 0, err_ab
    assert code_ba == 0, err_ba
    assert result_ab == result_ba, f"not symmetric:\n{result_ab.decode()}\n----\n{result_ba.decode()}"
    return result_ab


def parsed(data: bytes) -> taskfile.TaskFile:
    text = data.decode()
    for marker in CONFLICT_MARKERS:
        assert marker not in text
    return taskfile.parse(data, PATH)


# ====================================================================== the driver on temp files
def test_driver_merges_different_fields_into_A(tmp_path: Path) -> None:
    base = make()
    ours = make(priority="H", modified=T1)
    theirs = make(project="web", modified=T2)
    result = parsed(drive_both_ways(tmp_path, base, ours, theirs))
    assert result.task.priority == "H"
    assert result.task.project == "web"
    assert result.task.description == "Shared task"
    assert not [n for n in notes(result) if n.startswith("merge:")], "different fields are not a conflict"
    assert result.body == BODY


def test_driver_same_field_has_a_deterministic_winner_and_keeps_the_loser(tmp_path: Path) -> None:
    base = make()
    ours = make(description="Title from A", modified=T1)
    theirs = make(description="Title from B", modified=T2)
    result = parsed(drive_both_ways(tmp_path, base, ours, theirs))
    assert result.task.description == "Title from B", "the later edit wins"
    lost = [n for n in notes(result) if n.startswith("merge: description")]
    assert len(lost) == 1 and "Title from A" in lost[0] and "Title from B" in lost[0], notes(result)
    assert "base note" in notes(result)


def test_driver_same_field_same_time_is_still_deterministic(tmp_path: Path) -> None:
    base = make()
    ours = make(description="Alpha", modified=T1)
    theirs = make(description="Omega", modified=T1)
    first = drive_both_ways(tmp_path / "one", base, ours, theirs)
    again = drive_both_ways(tmp_path / "two", base, ours, theirs)
    assert first == again
    result = parsed(first)
    loser = "Alpha" if result.task.description == "Omega" else "Omega"
    assert result.task.description in ("Alpha", "Omega")
    assert any(loser in n for n in notes(result) if n.startswith("merge: description"))


def test_driver_merges_tag_additions_and_removals_of_both_sides(tmp_path: Path) -> None:
    base = make()
    ours = make(tags=["keep", "y", "from-a"], modified=T1)  # removed x, added from-a
    theirs = make(tags=["keep", "x", "from-b"], modified=T2)  # removed y, added from-b
    result = parsed(drive_both_ways(tmp_path, base, ours, theirs))
    assert sorted(result.task.tags) == ["from-a", "from-b", "keep"]


def test_driver_unions_annotations(tmp_path: Path) -> None:
    base = make()
    ours = make(modified=T1, annotations=[{"entry": T0, "description": "base note"},
                                          {"entry": T1, "description": "note from A"}])
    theirs = make(modified=T2, annotations=[{"entry": T0, "description": "base note"},
                                            {"entry": T2, "description": "note from B"}])
    result = parsed(drive_both_ways(tmp_path, base, ours, theirs))
    assert notes(result) == ["base note", "note from A", "note from B"]


def test_driver_merges_body_lines_and_keeps_both_versions_of_a_clash(tmp_path: Path) -> None:
    base = make()
    ours = make(body=BODY.replace("line one", "line one (A)").replace("line three", "line three (A)"), modified=T1)
    theirs = make(body=BODY.replace("line five", "line five (B)").replace("line three", "line three (B)"),
                  modified=T2)
    result = parsed(drive_both_ways(tmp_path, base, ours, theirs))
    body = result.body
    assert "line one (A)" in body and "line five (B)" in body
    assert "line three (A)" in body and "line three (B)" in body, "both versions of the clashing line are kept"
    assert "merge-conflict" in result.task.tags
    assert "line two" in body and "line four" in body


def test_driver_result_is_stable_when_merged_again(tmp_path: Path) -> None:
    base = make()
    ours = make(priority="H", tags=["keep", "y", "a"], modified=T1)
    theirs = make(description="New", tags=["keep", "x", "b"], modified=T2)
    result = drive_both_ways(tmp_path / "first", base, ours, theirs)
    assert drive_both_ways(tmp_path / "again-ours", base, result, ours) == result
    assert drive_both_ways(tmp_path / "again-theirs", base, result, theirs) == result
    assert drive_both_ways(tmp_path / "same", base, result, result) == result


def test_driver_add_add_with_an_empty_base(tmp_path: Path) -> None:
    """An add/add conflict: git passes an empty %O."""
    ours = make(priority="H", modified=T1)
    theirs = make(project="web", modified=T2)
    result = parsed(drive_both_ways(tmp_path, b"", ours, theirs))
    assert result.task.uuid == UUID
    assert result.task.modified.isoformat().startswith("2026-11-24T10:00")


def test_driver_takes_the_maximum_of_the_id_counter(tmp_path: Path) -> None:
    counter = ".backlog/tasks/next-id"
    assert drive_both_ways(tmp_path, b"5\n", b"9\n", b"7\n", counter) == b"9\n"


def test_driver_keeps_a_readable_side_when_the_other_holds_conflict_markers(tmp_path: Path) -> None:
    base = make()
    ours = make(priority="H", modified=T1)
    broken = b"<<<<<<< HEAD\n" + make(project="web") + b"=======\n" + make() + b">>>>>>> other\n"
    code, result, err = drive(tmp_path / "ab", base, ours, broken)
    assert code == 0, err
    merged = taskfile.parse(result, PATH)
    assert merged.task.priority == "H"
    assert "merge-conflict" in merged.task.tags, "the unreadable side is kept in the body and tagged"
    code, swapped, err = drive(tmp_path / "ba", base, broken, ours)
    assert code == 0, err
    assert swapped == result


def test_driver_reports_a_conflict_when_neither_side_parses(tmp_path: Path) -> None:
    base = make()
    ours = b"---\nuuid: [unclosed\n---\n"
    theirs = b"---\nid: not a number\n"
    code, result, err = drive(tmp_path, base, ours, theirs)
    assert code != 0, "git must be told that this path is conflicted"
    assert result == ours, "%A is left as it was"
    assert PATH in err


def test_driver_line_merges_other_files_under_the_store(tmp_path: Path) -> None:
    base = b"a\nb\nc\nd\ne\n"
    ours = b"A\nb\nc\nd\ne\n"
    theirs = b"a\nb\nc\nd\nE\n"
    code, result, err = drive(tmp_path, base, ours, theirs, ".backlog/README.txt")
    assert code == 0, err
    assert result == b"A\nb\nc\nd\nE\n"


# ====================================================================== git runs the driver
def _shared_task(one: Path, two: Path) -> str:
    """A task with tags, a doc and an annotation, made in ``one``, pushed, and pulled into ``two``."""
    human = open_human(one)
    task = created_uuid(human.add("Shared task", tags=["keep", "x", "y"], priority="L"))
    human.doc_write(task, BODY)
    human.annotate(task, "base note")
    git(one, "push", "-q", "origin", "main")
    git(two, "pull", "-q", "--ff-only", "origin", "main")
    return task


def _edit_concurrently(one: Path, two: Path, task: str) -> None:
    """Both clones edit the same task without seeing each other: different fields, the same field, tags added
    and removed on both sides, annotations on both, body lines on both."""
    a, b = open_human(one), open_human(two)
    a.modify(task, changes={"priority": "H"}, add_tags=["from-one"], remove_tags=["x"])
    b.modify(task, changes={"project": "web"}, add_tags=["from-two"], remove_tags=["y"])
    a.annotate(task, "note from one")
    b.annotate(task, "note from two")
    a.doc_write(task, BODY.replace("line one", "line one (one)"))
    b.doc_write(task, BODY.replace("line five", "line five (two)"))
    a.modify(task, changes={"description": "Title from one"})
    b.modify(task, changes={"description": "Title from two"})


def _assert_merged(repo: Path, task: str) -> taskfile.TaskFile:
    assert_no_conflict_markers(repo)
    assert "UU" not in porcelain(repo) and not git(repo, "diff", "--name-only", "--diff-filter=U")
    result = worktree_task(repo, task)
    assert show(repo, "HEAD", task_path(task)) == (repo / task_path(task)).read_bytes(), "committed as merged"
    assert result.task.priority == "H"
    assert result.task.project == "web"
    assert sorted(result.task.tags) == ["doc", "from-one", "from-two", "keep"]
    texts = notes(result)
    for note in ("base note", "note from one", "note from two"):
        assert note in texts, texts
    assert "line one (one)" in result.body and "line five (two)" in result.body
    assert result.task.description in ("Title from one", "Title from two")
    loser = "Title from two" if result.task.description == "Title from one" else "Title from one"
    assert any(n.startswith("merge: description") and loser in n for n in texts), texts
    return result


@pytest.fixture
def edited(tmp_path: Path) -> tuple[Path, Path, str]:
    one, two, _url = two_clones(tmp_path)
    task = _shared_task(one, two)
    _edit_concurrently(one, two, task)
    git(one, "push", "-q", "origin", "main")
    git(two, "fetch", "-q", "origin")
    return one, two, task


@pytest.mark.parametrize(
    "command",
    [
        ["merge", "--no-edit", "origin/main"],
        ["pull", "--no-rebase", "--no-edit", "origin", "main"],
        ["pull", "--rebase", "origin", "main"],
        ["rebase", "origin/main"],
        ["cherry-pick", "HEAD..origin/main"],
    ],
    ids=["merge", "pull", "pull-rebase", "rebase", "cherry-pick"],
)
def test_git_commands_merge_concurrent_edits_through_the_driver(
    edited: tuple[Path, Path, str], command: list[str]
) -> None:
    _one, two, task = edited
    before = git(two, "rev-parse", "HEAD")
    proc = git_run(two, *command)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "CONFLICT" not in proc.stdout + proc.stderr
    _assert_merged(two, task)
    if command[0] in ("merge", "pull") and "--rebase" not in command:
        assert parents(two) == [before, git(two, "rev-parse", "origin/main")]


def test_git_revert_of_an_older_edit_goes_through_the_driver(edited: tuple[Path, Path, str]) -> None:
    _one, two, task = edited
    git(two, "merge", "-q", "--no-edit", "origin/main")
    introduced = git(two, "log", "--format=%H", "-Spriority: H", "origin/main", "--", task_path(task))
    assert len(introduced.split()) == 1, introduced
    priority_commit = introduced.strip()
    proc = git_run(two, "revert", "--no-edit", priority_commit)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_no_conflict_markers(two)
    result = worktree_task(two, task)
    assert result.task.priority == "L", "the reverted change is undone"
    assert result.task.project == "web", "later changes of other fields stay"
    assert "x" in result.task.tags and "from-one" not in result.task.tags


def test_both_directions_of_a_real_merge_give_the_same_file(tmp_path: Path) -> None:
    """Whichever clone merges (whichever side is "ours"), the task file comes out byte for byte the same."""
    one, two, _url = two_clones(tmp_path)
    task = _shared_task(one, two)
    _edit_concurrently(one, two, task)
    git(one, "push", "-q", "origin", "main")
    git(two, "push", "-q", "origin", "main:two-edits")
    git(one, "fetch", "-q", "origin")
    git(two, "fetch", "-q", "origin")
    for repo, other in ((one, "origin/two-edits"), (two, "origin/main")):
        proc = git_run(repo, "merge", "--no-edit", other)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    _assert_merged(one, task)
    _assert_merged(two, task)
    assert (one / task_path(task)).read_bytes() == (two / task_path(task)).read_bytes()


def test_new_tasks_and_the_id_counter_merge_cleanly(tmp_path: Path) -> None:
    one, two, _url = two_clones(tmp_path)
    a = created_uuid(open_human(one).add("Task in one"))
    b = created_uuid(open_human(two).add("Task in two"))
    open_human(two).add("Another in two")
    git(one, "push", "-q", "origin", "main")
    proc = git_run(two, "pull", "--no-rebase", "--no-edit", "origin", "main")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_no_conflict_markers(two)
    assert (two / task_path(a)).exists() and (two / task_path(b)).exists()
    counter = int((two / ".backlog/tasks/next-id").read_text())
    assert counter == 3, "the counter merges by maximum"


# ====================================================================== install / check
def test_fresh_clone_without_install_is_flagged_by_check(tmp_path: Path) -> None:
    url = bare_remote(tmp_path / "origin.git")
    one = init_store(tmp_path / "one")
    git(one, "remote", "add", "origin", url)
    git(one, "push", "-q", "-u", "origin", "main")
    assert cli(one, "check").returncode == 0, "the repository made by init is set up"

    fresh = clone(url, tmp_path / "fresh", install=False)
    assert (fresh / ".gitattributes").read_text().splitlines().count(".backlog/** merge=backlog eol=lf") == 1
    proc = cli(fresh, "check", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    problems = json.loads(proc.stdout)
    assert any("backlog-git install" in p["reason"] for p in problems), problems
    assert "backlog-git install" in cli(fresh, "check").stdout

    first = cli_ok(fresh, "install")
    assert "registered" in first
    again = cli_ok(fresh, "install")
    assert "already registered" in again, "install is idempotent"
    assert git(fresh, "config", "merge.backlog.driver").endswith("merge-driver %O %A %B %P")
    assert git(fresh, "config", "merge.backlog.name")
    proc = cli(fresh, "check", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout) == []


def test_registered_driver_command_runs(tmp_path: Path) -> None:
    """The command registered in .git/config is runnable as git runs it (through the shell, cwd = top level)."""
    repo = init_store(tmp_path / "repo")
    command = git(repo, "config", "merge.backlog.driver")
    base, ours, theirs = make(), make(priority="H", modified=T1), make(project="web", modified=T2)
    for name, data in (("o", base), ("a", ours), ("b", theirs)):
        (repo / f".merge_file_{name}").write_bytes(data)
    line = (command.replace("%O", ".merge_file_o").replace("%A", ".merge_file_a")
            .replace("%B", ".merge_file_b").replace("%P", PATH))
    proc = run(["sh", "-c", line], repo)
    assert proc.returncode == 0, proc.stderr
    result = taskfile.parse((repo / ".merge_file_a").read_bytes(), PATH)
    assert (result.task.priority, result.task.project) == ("H", "web")
    assert shutil.which("sh")


def test_without_the_driver_git_would_leave_conflict_markers(edited: tuple[Path, Path, str]) -> None:
    """The control for the tests above: the same merge with the driver unregistered is a text conflict."""
    _one, two, task = edited
    git(two, "config", "--remove-section", "merge.backlog")  # as in a fresh clone
    proc = git_run(two, "merge", "--no-edit", "origin/main")
    assert proc.returncode != 0
    assert "CONFLICT" in proc.stdout, proc.stdout + proc.stderr
    assert "<<<<<<<" in (two / task_path(task)).read_text()
    git(two, "merge", "--abort")


@pytest.mark.parametrize("style", ["merge", "diff3"])
def test_a_committed_text_merge_is_named_by_check_and_merged_back_by_the_driver(
    edited: tuple[Path, Path, str], tmp_path: Path, style: str
) -> None:
    """Someone merged without the driver and committed the conflict markers. ``check`` names the file, the
    marker's line and how to fix it; the next ``git merge`` (driver registered again) reads both marked versions
    back and merges them with the incoming change: no marker is left (none nested in a fenced block), nothing of
    either side is lost, and merging again neither duplicates nor grows anything. With git's default markers the
    versions' common ancestor is unknown, so a value the two versions differ in is a clash (the loser kept in a
    ``merge:`` note); ``diff3`` markers carry the ancestor and the merge is a true three-way one."""
    one, two, task = edited
    path = task_path(task)
    git(two, "config", "merge.conflictStyle", style)
    git(two, "config", "--remove-section", "merge.backlog")  # as in a fresh clone
    assert git_run(two, "merge", "--no-edit", "origin/main").returncode != 0
    git(two, "commit", "-q", "-a", "--no-edit")  # the botched merge: markers and all
    botched = (two / path).read_bytes()
    assert botched.count(b"<<<<<<<") >= 1

    proc = cli(two, "check", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    named = [p for p in json.loads(proc.stdout) if p["path"] == path]
    assert len(named) == 1 and "conflict marker" in named[0]["reason"], proc.stdout
    assert "delete the '<<<<<<<'" in named[0]["reason"], "it says how to fix the file"
    assert botched.decode().splitlines()[named[0]["line"] - 1].startswith("<<<<<<<"), "the line is the marker's"

    human = open_human(one)  # meanwhile the task moves on in the other clone
    human.annotate(task, "later note from one")
    human.modify(task, add_tags=["later"])
    git(one, "push", "-q", "origin", "main")
    git(two, "fetch", "-q", "origin")
    cli_ok(two, "install")
    proc = git_run(two, "merge", "--no-edit", "origin/main")
    assert proc.returncode == 0 and "CONFLICT" not in proc.stdout, proc.stdout + proc.stderr

    assert_no_conflict_markers(two)
    merged = (two / path).read_bytes()
    assert show(two, "HEAD", path) == merged, "committed as merged"
    result = worktree_task(two, task)
    texts = notes(result)
    assert result.task.project == "web"
    if style == "diff3":
        assert result.task.priority == "H"
        assert sorted(result.task.tags) == ["doc", "from-one", "from-two", "keep", "later", "merge-conflict"]
    else:
        assert result.task.priority == "H" or any(n.startswith("merge: priority was \"H\"") for n in texts), texts
        assert {"keep", "from-one", "from-two", "doc", "later", "merge-conflict"} <= set(result.task.tags)
    for note in ("base note", "note from one", "note from two", "later note from one"):
        assert texts.count(note) == 1, texts
    kept = result.task.description
    assert kept in ("Title from one", "Title from two")
    lost = "Title from two" if kept == "Title from one" else "Title from one"
    assert any(n.startswith("merge: description") and lost in n for n in texts), texts
    assert result.body.count("line one (one)") == 1 and result.body.count("line five (two)") == 1
    assert not [p for p in json.loads(cli(two, "check", "--json").stdout) if p["path"] == path]

    # Merged again with either input, over the same base, the result stands: nothing nests or grows.
    base = show(two, git(two, "merge-base", "HEAD^1", "HEAD^2"), path)
    assert drive_both_ways(tmp_path / "botched", base, merged, botched) == merged
    assert drive_both_ways(tmp_path / "incoming", base, merged, show(two, "HEAD^2", path)) == merged
    human.annotate(task, "third note from one")
    git(one, "push", "-q", "origin", "main")
    git(two, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    assert_no_conflict_markers(two)
    again = worktree_task(two, task)
    assert notes(again) == [*texts, "third note from one"], "the new note, and nothing twice"
    assert again.body == result.body
