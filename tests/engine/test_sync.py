"""Sharing through a remote: ``backlog-git sync --remote``, purge/archive against edits, ids after a merge.

Every test uses two clones of a bare ``file://`` remote (``backlog-git init`` in the first, ``git clone`` +
``backlog-git install`` in the second) and the real ``git`` / ``backlog-git`` executables.
"""

from __future__ import annotations

import json
import os
import stat
import uuid as uuidlib
from pathlib import Path

import pytest
from support import (
    assert_no_conflict_markers,
    cli,
    cli_ok,
    created_uuid,
    fsck,
    git,
    git_run,
    message,
    notes,
    open_agent,
    open_human,
    porcelain,
    store_files,
    task_path,
    tasks_at,
    two_clones,
)


def remote_tasks(url: str, tmp_path: Path) -> dict:
    """The tasks on the remote's ``main`` (read from the bare repository itself)."""
    bare = Path(url.removeprefix("file://"))
    assert bare.is_dir()
    return tasks_at(bare, "main")


def assert_clean_state(repo: Path) -> None:
    """No merge in progress, no unmerged path, nothing of the store left uncommitted."""
    assert not (repo / ".git" / "MERGE_HEAD").exists()
    assert not git(repo, "diff", "--name-only", "--diff-filter=U")
    assert [line for line in porcelain(repo).splitlines() if ".backlog/" in line] == []
    assert_no_conflict_markers(repo)


# ====================================================================== 5. sync --remote
def test_sync_remote_fetches_merges_and_pushes(tmp_path: Path) -> None:
    one, two, url = two_clones(tmp_path)
    a = created_uuid(open_agent(one, "agent-one").add("Made in one"))
    out = cli_ok(one, "sync", "--remote", "origin")
    assert "Pushed main to origin" in out
    assert a in remote_tasks(url, tmp_path)

    b = created_uuid(open_agent(two, "agent-two").add("Made in two"))
    open_human(two).add("Human in two")
    out = cli_ok(two, "sync", "--remote", "origin")
    assert "Pushed" in out
    on_remote = remote_tasks(url, tmp_path)
    assert {a, b} <= set(on_remote)
    assert git(two, "rev-parse", "HEAD") == git(two, "rev-parse", "origin/main")

    cli_ok(one, "sync", "--remote", "origin")
    assert set(tasks_at(one)) == set(on_remote)
    assert git(one, "rev-parse", "HEAD") == git(two, "rev-parse", "HEAD"), "one fast-forwarded to the shared tip"
    for repo in (one, two):
        assert_clean_state(repo)
        fsck(repo)
    ids = [t.task.id for t in on_remote.values()]
    assert len(ids) == len(set(ids))


def test_sync_remote_merges_concurrent_edits_of_one_task(tmp_path: Path) -> None:
    one, two, _url = two_clones(tmp_path)
    task = created_uuid(open_human(one).add("Shared", tags=["keep", "x", "y"]))
    cli_ok(one, "sync", "--remote", "origin")
    cli_ok(two, "sync", "--remote", "origin")
    open_agent(one, "a").modify(task, changes={"priority": "H"}, add_tags=["one"], remove_tags=["x"])
    open_agent(two, "b").modify(task, changes={"project": "web"}, add_tags=["two"], remove_tags=["y"])
    open_agent(two, "b").annotate(task, "from two")
    cli_ok(one, "sync", "--remote", "origin")
    cli_ok(two, "sync", "--remote", "origin")
    cli_ok(one, "sync", "--remote", "origin")
    for repo in (one, two):
        merged = tasks_at(repo)[task].task
        assert (merged.priority, merged.project) == ("H", "web")
        assert sorted(merged.tags) == ["keep", "one", "two"]
        assert [a.description for a in merged.annotations] == ["from two"]
        assert_clean_state(repo)
    assert git(one, "rev-parse", "HEAD") == git(two, "rev-parse", "HEAD")


def _race_hook(repo: Path, other: Path) -> Path:
    """A pre-push hook in ``repo`` that, the first time, lets ``other`` push first (so this push is rejected)."""
    marker = repo / ".git" / "raced"
    hook = repo / ".git" / "hooks" / "pre-push"
    hook.write_text(
        "#!/bin/sh\n"
        f'if [ ! -e "{marker}" ]; then\n'
        f'  touch "{marker}"\n'
        "  unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE\n"
        f'  git -C "{other}" push -q origin main >&2 || exit 1\n'
        "fi\n"
        "exit 0\n"
    )
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return marker


def test_rejected_push_is_retried_after_merging_again(tmp_path: Path) -> None:
    one, two, url = two_clones(tmp_path)
    early = created_uuid(open_human(one).add("Pushed by one while two syncs"))
    late = created_uuid(open_agent(two, "agent-two").add("Made in two"))
    marker = _race_hook(two, one)
    one_tip = git(one, "rev-parse", "HEAD")

    proc = cli(two, "sync", "--remote", "origin")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert marker.exists(), "the race happened: one pushed between two's fetch and push"
    on_remote = remote_tasks(url, tmp_path)
    assert {early, late} <= set(on_remote), "nothing of either clone was lost"
    assert git(two, "rev-parse", "HEAD") == git(two, "rev-parse", "origin/main")
    assert git_run(two, "merge-base", "--is-ancestor", one_tip, "HEAD").returncode == 0
    assert_clean_state(two)
    fsck(two)


def test_network_failure_is_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    _one, two, url = two_clones(tmp_path)
    human = open_human(two)
    kept = created_uuid(human.add("Committed locally before the failure"))
    pending = created_uuid(open_agent(two, "agent-two").add("On the agent branch"))
    agent_tip = git(two, "rev-parse", "backlog/agent-two")
    missing = (tmp_path / "no" / "such" / "remote.git").as_uri()
    git(two, "remote", "set-url", "origin", missing)

    proc = cli(two, "sync", "--remote", "origin")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("backlog-git: "), proc.stderr
    assert "origin" in proc.stderr and "fetch" in proc.stderr, proc.stderr
    assert "does not appear to be a git repository" in proc.stderr or "not found" in proc.stderr.lower()
    # Nothing local was lost: both tasks are read, committed on main, and the agent branch is intact.
    assert git(two, "rev-parse", "backlog/agent-two") == agent_tip
    assert {kept, pending} <= set(tasks_at(two))
    assert {t["uuid"] for t in open_human(two).list("")} >= {kept, pending}
    assert_clean_state(two)

    git(two, "remote", "set-url", "origin", url)
    cli_ok(two, "sync", "--remote", "origin")
    assert {kept, pending} <= set(remote_tasks(url, tmp_path))


def test_push_failure_that_is_not_a_rejection_is_reported(tmp_path: Path) -> None:
    _one, two, _url = two_clones(tmp_path)
    open_human(two).add("Cannot be pushed")
    hook = two / ".git" / "hooks" / "pre-push"
    hook.write_text("#!/bin/sh\necho 'push refused by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    head = git(two, "rev-parse", "HEAD")
    proc = cli(two, "sync", "--remote", "origin")
    assert proc.returncode == 1
    assert "push" in proc.stderr and "Traceback" not in proc.stderr
    assert git(two, "rev-parse", "HEAD") == head


# ====================================================================== 6. purge / archive against edits
def _shared(one: Path, two: Path, description: str, *, done: bool = False) -> str:
    human = open_human(one)
    task = created_uuid(human.add(description, tags=["base"]))
    if done:
        human.done(task)
    git(one, "push", "-q", "origin", "main")
    git(two, "pull", "-q", "--ff-only", "origin", "main")
    return task


def _edit(repo: Path, task: str) -> None:
    backlog = open_human(repo)
    backlog.annotate(task, "an edit that must survive")
    backlog.modify(task, add_tags=["edited"])


def _purge(repo: Path, task: str) -> None:
    backlog = open_human(repo)
    backlog.delete(task)
    backlog.purge(task)
    assert task_path(task) not in store_files(repo)


def _finish(repo: Path, how: str, *, renames: bool = True) -> None:
    """Bring origin/main into ``repo``: by sync, or by a human git merge finished by ``backlog-git resolve``."""
    if how == "sync":
        cli_ok(repo, "sync", "--remote", "origin")
        return
    git(repo, "fetch", "-q", "origin")
    # Without rename detection (git 2.39's ort ignores -X no-renames; recursive honours it), an archive move
    # against an edit is a modify/delete conflict that only ``resolve`` can finish.
    strategy = [] if renames else ["-s", "recursive", "-X", "no-renames"]
    proc = git_run(repo, "merge", *strategy, "--no-edit", "origin/main")
    assert proc.returncode == 1 and "CONFLICT" in proc.stdout, proc.stdout + proc.stderr
    resolved = cli(repo, "resolve")
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    assert "Resolved" in resolved.stdout
    git(repo, "commit", "-q", "--no-edit")


@pytest.mark.parametrize("how", ["sync", "merge+resolve"])
@pytest.mark.parametrize("purged_in", ["remote", "local"])
def test_purge_against_modify_keeps_the_edit(tmp_path: Path, how: str, purged_in: str) -> None:
    one, two, url = two_clones(tmp_path)
    task = _shared(one, two, "Purged on one side, edited on the other")
    pusher, merger = one, two
    if purged_in == "remote":
        _purge(pusher, task)
        _edit(merger, task)
    else:
        _edit(pusher, task)
        _purge(merger, task)
    git(pusher, "push", "-q", "origin", "main")

    _finish(merger, how)
    assert_clean_state(merger)
    survivor = tasks_at(merger)[task]
    assert "an edit that must survive" in notes(survivor)
    assert "edited" in survivor.task.tags
    assert (merger / task_path(task)).exists()
    info = open_human(merger).info(task)
    assert "an edit that must survive" in notes(info)
    if how == "sync":
        assert task in remote_tasks(url, tmp_path)
    fsck(merger)


@pytest.mark.parametrize(
    ("how", "renames"),
    [("sync", True), ("merge+resolve", False), ("merge", True)],
    ids=["sync", "merge-no-renames+resolve", "merge-with-renames"],
)
def test_archive_against_edit_keeps_the_edit(tmp_path: Path, how: str, renames: bool) -> None:
    one, two, _url = two_clones(tmp_path)
    task = _shared(one, two, "Archived on one side, edited on the other", done=True)
    outcome = open_human(one).archive(0)
    assert outcome.commit, outcome.message
    assert not (one / task_path(task)).exists()
    git(one, "push", "-q", "origin", "main")
    _edit(two, task)

    if how == "merge":
        git(two, "fetch", "-q", "origin")
        proc = git_run(two, "merge", "--no-edit", "origin/main")
        assert proc.returncode == 0, proc.stdout + proc.stderr
    else:
        _finish(two, how, renames=renames)
    assert_clean_state(two)
    files = [p for p in store_files(two) if p.endswith(f"/{task}.md")]
    assert len(files) == 1, f"the task exists once, not twice: {files}"
    assert "/archive/" in files[0], "still completed, so it stays archived"
    survivor = tasks_at(two)[task]
    assert "an edit that must survive" in notes(survivor)
    assert "edited" in survivor.task.tags
    assert survivor.task.status == "completed"
    fsck(two)


def test_archive_against_edit_that_reopens_the_task_keeps_it_active(tmp_path: Path) -> None:
    one, two, _url = two_clones(tmp_path)
    task = _shared(one, two, "Archived on one side, reopened on the other", done=True)
    open_human(one).archive(0)
    git(one, "push", "-q", "origin", "main")
    reopened = open_human(two)
    reopened.modify(task, add_tags=["reopened"])
    raw = (two / task_path(task)).read_text().replace("status: completed", "status: pending")
    (two / task_path(task)).write_text(raw)
    git(two, "commit", "-q", "-am", "reopen by hand")
    cli_ok(two, "sync", "--remote", "origin")
    assert_clean_state(two)
    files = [p for p in store_files(two) if p.endswith(f"/{task}.md")]
    assert files == [task_path(task)], files
    assert tasks_at(two)[task].task.status == "pending"
    assert open_human(two).info(task)["status"] == "pending", "reads see the reopened task"


def test_a_purge_that_saw_the_edit_wins_between_agents_in_one_checkout(tmp_path: Path) -> None:
    """In one checkout every read sees every agent, so a purge made after another agent's edit is a
    deliberate decision, not a concurrent one: the purger's commit descends from the editor's, and
    sync honours it. (Concurrent purge-vs-modify happens across clones; see the tests above.)"""
    one, _two, _url = two_clones(tmp_path)
    task = created_uuid(open_human(one).add("Shared by two agents"))
    editor, purger = open_agent(one, "editor"), open_agent(one, "purger")
    editor.annotate(task, "an edit the purger saw")
    assert "an edit the purger saw" in [n["description"] for n in purger.info(task)["annotations"]]
    purger.delete(task)
    purger.purge(task)
    cli_ok(one, "sync")
    assert task not in tasks_at(one)
    assert_clean_state(one)


# ====================================================================== 7. ids after a merge
def _clashing_ids(one: Path, two: Path) -> tuple[str, str, str]:
    """``one`` and ``two`` each hand out id 1 (and one task in ``one`` depends on its id-1 task)."""
    first = open_human(one)
    a = created_uuid(first.add("A, made in one"))
    dependent = created_uuid(first.add("C depends on A", depends=[a]))
    second = open_human(two)
    b = created_uuid(second.add("B, made in two"))
    second.modify(b, changes={"entry": "2020-01-01T00:00:00Z"})  # B is the earlier task: it keeps id 1
    assert first.info(a)["id"] == second.info(b)["id"] == 1
    return a, b, dependent


def _assert_renumbered(repo: Path, a: str, b: str, dependent: str) -> int:
    tasks = tasks_at(repo)
    ids = [t.task.id for t in tasks.values()]
    assert len(ids) == len(set(ids)), f"numeric ids are unique: {sorted(ids)}"
    assert tasks[b].task.id == 1, "the earlier entry keeps the id"
    new_id = tasks[a].task.id
    assert new_id == max(ids), "renumbered to the next free id"
    assert tasks[dependent].task.depends == [a], "depends holds uuids: unaffected"
    commits = git(repo, "log", "--format=%H", "--grep=renumber", "-i").split()
    assert commits, "the renumbering is a commit that says so"
    text = message(repo, commits[0])
    assert "renumber" in text.lower() and a in text and f"#1 -> #{new_id}" in text, text
    changed = git(repo, "show", "--name-only", "--format=", commits[0]).splitlines()
    assert task_path(a) in changed and task_path(b) not in changed
    counter = int((repo / ".backlog/tasks/next-id").read_text())
    assert counter > max(ids), "the counter never hands the new id out again"
    return new_id


def test_clashing_ids_are_renumbered_by_sync_remote(tmp_path: Path) -> None:
    one, two, _url = two_clones(tmp_path)
    a, b, dependent = _clashing_ids(one, two)
    cli_ok(one, "sync", "--remote", "origin")
    cli_ok(two, "sync", "--remote", "origin")
    new_id = _assert_renumbered(two, a, b, dependent)
    cli_ok(one, "sync", "--remote", "origin")
    assert tasks_at(one)[a].task.id == new_id
    assert open_human(one).info(a)["id"] == new_id
    assert open_human(one).info("1")["uuid"] == b
    assert cli(one, "check").returncode == 0


def test_clashing_ids_after_a_human_pull_are_flagged_then_renumbered_by_sync(tmp_path: Path) -> None:
    one, two, _url = two_clones(tmp_path)
    a, b, dependent = _clashing_ids(one, two)
    git(one, "push", "-q", "origin", "main")
    proc = git_run(two, "pull", "--no-rebase", "--no-edit", "origin", "main")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check = cli(two, "check", "--json")
    assert check.returncode == 1
    problems = json.loads(check.stdout)
    assert any("also used by" in p["reason"] for p in problems), problems
    out = cli_ok(two, "sync")
    assert "renumber" in out
    _assert_renumbered(two, a, b, dependent)
    assert cli(two, "check").returncode == 0
    assert_clean_state(two)


def test_ids_handed_out_by_agents_in_different_clones_are_renumbered(tmp_path: Path) -> None:
    one, two, _url = two_clones(tmp_path)
    x = created_uuid(open_agent(one, "a1").add("x"))
    y = created_uuid(open_agent(two, "a2").add("y"))
    z = created_uuid(open_agent(two, "a2").add("z", depends=[y]))
    cli_ok(one, "sync", "--remote", "origin")
    cli_ok(two, "sync", "--remote", "origin")
    cli_ok(one, "sync", "--remote", "origin")
    for repo in (one, two):
        tasks = tasks_at(repo)
        ids = sorted(t.task.id for t in tasks.values())
        assert ids == [1, 2, 3], ids
        assert tasks[z].task.depends == [y]
        assert {x, y, z} <= set(tasks)
    assert os.path.exists(one / task_path(x))


# ====================================================================== hardening: archive vs edit, shards
def _integrate(repo: Path, how: str) -> None:
    """Bring origin/main into ``repo`` the way a person would, then let the store finish (resolve)."""
    if how == "sync":
        cli_ok(repo, "sync", "--remote", "origin")
        return
    args = {"pull": ["pull", "--no-edit", "origin", "main"], "pull-rebase": ["pull", "--rebase", "origin", "main"],
            "merge": None}[how]
    if args is None:
        git(repo, "fetch", "-q", "origin")
        args = ["merge", "--no-edit", "origin/main"]
    proc = git_run(repo, *args)
    if proc.returncode != 0:
        assert "CONFLICT" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
        cli_ok(repo, "resolve")
        cont = ["rebase", "--continue"] if how == "pull-rebase" else ["commit", "-q", "--no-edit"]
        git_run(repo, *cont, env={"GIT_EDITOR": "true"})
    cli_ok(repo, "list")  # any call: the store repairs what a plain git integration left


@pytest.mark.parametrize("how", ["sync", "pull", "merge"])
def test_archive_with_many_changes_against_an_edit_keeps_both_sides(tmp_path: Path, how: str) -> None:
    """Hardening item 2: C annotates four times, completes and archives; B sets priority H. The result is
    one copy, completed, with all four annotations and B's priority."""
    one, two, _url = two_clones(tmp_path)
    task = _shared(one, two, "Archived with history on one side")
    c = open_human(one)
    for n in range(4):
        c.annotate(task, f"C's note {n}")
    c.done(task)
    c.archive(0)
    git(one, "push", "-q", "origin", "main")
    open_human(two).modify(task, changes={"priority": "H"})
    _integrate(two, how)
    files = [p for p in store_files(two) if p.endswith(f"/{task}.md")]
    assert len(files) == 1, files
    merged = tasks_at(two)[task]
    assert merged.task.status == "completed"
    assert merged.task.priority == "H"
    assert [n for n in notes(merged) if n.startswith("C's note")] == [f"C's note {n}" for n in range(4)]
    assert "/archive/" in files[0]
    assert_clean_state(two)


@pytest.mark.parametrize("how", ["sync", "pull", "pull-rebase", "merge"])
def test_a_new_task_never_vanishes_into_the_archive(tmp_path: Path, how: str) -> None:
    """Hardening item 3: A archives the only task of shard ab/; B adds a task whose uuid starts with ab.
    git's directory-rename detection must not carry B's open task into the archive."""
    one, two, _url = two_clones(tmp_path)
    old = "ab" + str(uuidlib.uuid4())[2:]
    new = "ab" + str(uuidlib.uuid4())[2:]
    open_human(one).import_tasks([{"uuid": old, "description": "only task of ab", "status": "completed",
                                   "end": "2020-01-01"}])
    git(one, "push", "-q", "origin", "main")
    git(two, "pull", "-q", "--no-edit", "origin", "main")
    open_human(one).archive(0)
    git(one, "push", "-q", "origin", "main")
    open_human(two).import_tasks([{"uuid": new, "description": "B's new task in ab"}])
    _integrate(two, how)
    assert task_path(new) in store_files(two), store_files(two)
    assert open_human(two).info(new)["description"] == "B's new task in ab"
    assert not [p for p in store_files(two) if "/archive/" in p and new in p]
    assert_clean_state(two)
