"""Many writers in one checkout: agent branches written at the object level, reads that merge every branch,
and ``sync`` integrating them as one reviewable merge commit.

Agents are engines opened with ``BACKLOG_AGENT_ID`` (passed explicitly), the human is an engine without one
(or the ``backlog-git`` CLI in its own process), and the user's own work is made with the ``git`` CLI.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from support import (
    clean_env,
    cli,
    cli_ok,
    commit_count,
    comparable,
    configure,
    created_uuid,
    file_record,
    git,
    git_run,
    init_store,
    notes,
    open_agent,
    open_human,
    parents,
    porcelain,
    porcelain_outside_store,
    show,
    store_files,
    task_path,
    tasks_at,
    worktree_task,
)

from backlog_git import taskfile
from backlog_git.merge import merge_file

BODY = "# Spec\n\nline one\nline two\nline three\nline four\nline five\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_store(tmp_path / "repo")


def user_work(repo: Path) -> None:
    """The user's own uncommitted work: a staged new file, a staged and further edited file, an unstaged edit,
    an untracked file."""
    (repo / "src").mkdir(exist_ok=True)
    (repo / "src" / "staged.py").write_text("print('staged')\n")
    git(repo, "add", "src/staged.py")
    (repo / "notes.txt").write_text("first\n")
    git(repo, "add", "notes.txt")
    (repo / "notes.txt").write_text("first\nsecond (unstaged)\n")
    (repo / "README.md").write_text("hello\nedited but not staged\n")
    (repo / "scratch.tmp").write_text("untracked\n")


def index_outside_store(repo: Path) -> str:
    return "\n".join(line for line in git(repo, "ls-files", "--stage").splitlines() if ".backlog/" not in line)


def branch_tip(repo: Path, agent: str) -> str:
    return git(repo, "rev-parse", f"refs/heads/backlog/{agent}")


def trailer_values(repo: Path, rev: str, key: str) -> list[str]:
    out = git(repo, "log", "-1", f"--format=%(trailers:key={key},valueonly)", rev)
    return [line for line in out.splitlines() if line]


# ====================================================================== 1. agent writers
def test_each_agent_op_is_one_commit_on_its_branch_and_nothing_else_moves(repo: Path) -> None:
    user_work(repo)
    head = git(repo, "rev-parse", "HEAD")
    branch = git(repo, "symbolic-ref", "HEAD")
    status, index = porcelain(repo), index_outside_store(repo)
    full_index = git(repo, "ls-files", "--stage")
    files_before = sorted(str(p.relative_to(repo)) for p in repo.rglob("*") if ".git" not in p.parts)

    agent = open_agent(repo, "a1")
    steps = [
        ("add", lambda: agent.add("Write the parser", tags=["parser"], priority="M")),
        ("modify", lambda: agent.modify("1", changes={"priority": "H"}, add_tags=["urgent"])),
        ("annotate", lambda: agent.annotate("1", "looked at it")),
        ("doc-write", lambda: agent.doc_write("1", BODY)),
        ("start", lambda: agent.start("1")),
        ("done", lambda: agent.done("1")),
    ]
    previous = None
    for count, (op, step) in enumerate(steps, start=1):
        outcome = step()
        tip = branch_tip(repo, "a1")
        assert outcome.commit == tip
        assert parents(repo, tip) == [previous or head], "one commit per op, chained on the agent branch"
        assert commit_count(repo, f"{head}..backlog/a1") == count
        assert trailer_values(repo, tip, "Backlog-Op") == [op]
        assert trailer_values(repo, tip, "Backlog-Agent") == ["a1"]
        changed = git(repo, "diff", "--name-only", previous or head, tip).splitlines()
        assert changed and all(p.startswith(".backlog/") for p in changed), changed
        # The checked-out branch, the index and the working tree are untouched.
        assert git(repo, "rev-parse", "HEAD") == head
        assert git(repo, "symbolic-ref", "HEAD") == branch
        assert porcelain(repo) == status
        assert git(repo, "ls-files", "--stage") == full_index
        assert index_outside_store(repo) == index
        previous = tip
    files_after = sorted(str(p.relative_to(repo)) for p in repo.rglob("*") if ".git" not in p.parts)
    assert files_after == files_before, "an agent writes no file in the working tree"
    assert not (repo / ".git" / "index.lock").exists()


def test_agents_do_not_need_the_index_lock(repo: Path) -> None:
    """While the user's git holds index.lock (here: forever), agents keep writing; a human writer cannot."""
    lock = repo / ".git" / "index.lock"
    lock.write_text("")
    try:
        a1, a2 = open_agent(repo, "a1"), open_agent(repo, "a2")
        first = created_uuid(a1.add("From a1 while the index is locked"))
        a2.annotate(first, "a2 too")
        a1.modify(first, changes={"project": "locked"})
        assert notes(a2.info(first)) == ["a2 too"]
        assert a2.info(first)["project"] == "locked"
        assert lock.read_text() == "", "nobody touched the user's lock"
    finally:
        lock.unlink()


AGENT_LOOP = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from backlog_git.engine import Backlog

    repo, agent, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    backlog = Backlog.open(repo, env={"BACKLOG_AGENT_ID": agent})
    while not go.exists():
        time.sleep(0.005)
    for i in range(count):
        outcome = backlog.add(f"{agent} task {i}", tags=[agent])
        backlog.annotate(outcome.tasks[0]["uuid"], f"{agent} note {i}")
    print("ok")
    """
)


def test_two_agent_processes_and_a_human_git_in_one_checkout_never_hit_a_lock(repo: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    count = 15
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", AGENT_LOOP, str(repo), name, str(count), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
        )
        for name in ("a1", "a2")
    ]
    go.write_text("go")
    # Meanwhile the user keeps git busy with index-writing commands.
    human_failures = []
    rounds = 0
    while any(p.poll() is None for p in procs) or rounds < 5:
        rounds += 1
        (repo / "work.txt").write_text(f"round {rounds}\n")
        for args in (["add", "work.txt"], ["status", "--porcelain"], ["update-index", "--refresh"]):
            proc = git_run(repo, *args)
            if proc.returncode != 0 and "refresh" not in args:
                human_failures.append(proc.stderr)
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "ok"
        assert "index.lock" not in err and "lock" not in err.lower(), err
    assert not human_failures, human_failures
    for name in ("a1", "a2"):
        # An agent commit also merges what it saw of the other agent, so count by writer.
        own = git(repo, "log", "--format=%(trailers:key=Backlog-Agent,valueonly)", f"main..backlog/{name}")
        assert [line for line in own.split() if line == name] == [name] * (2 * count)
    merged = open_human(repo).list("+a1 or +a2")
    assert len(merged) == 2 * count


# ====================================================================== 2. every read sees everything
def test_every_read_sees_every_agent_without_a_sync(repo: Path) -> None:
    a, b, human = open_agent(repo, "agent-a"), open_agent(repo, "agent-b"), open_human(repo)
    task = created_uuid(a.add("Made by agent a", project="web"))
    for reader in (b, human):
        assert reader.info(task)["description"] == "Made by agent a"
        assert task in [t["uuid"] for t in reader.list("")]
    listed = cli_ok(repo, "list", "--json")
    assert task in listed, "a separate human process sees it too"

    a.modify(task, changes={"priority": "H"}, add_tags=["hot"])
    assert b.info(task)["priority"] == "H" and human.info(task)["tags"] == ["hot"]
    b.annotate(task, "agent b was here")
    assert notes(a.info(task)) == ["agent b was here"], "agent a sees agent b's op on its very next call"
    assert notes(human.info(task)) == ["agent b was here"]
    human_cli = cli_ok(repo, "info", task, "--json", agent="agent-c")
    assert "agent b was here" in human_cli
    assert human.count("project:web") == 1
    assert human.projects() == ["web"] and human.tags() == ["hot"]
    # Nothing reached the checked-out branch yet.
    assert task_path(task) not in store_files(repo)


def test_sync_merges_agent_tips_as_parents_and_leaves_the_users_work_alone(repo: Path) -> None:
    a, b, human = open_agent(repo, "agent-a"), open_agent(repo, "agent-b"), open_human(repo)
    kept = created_uuid(human.add("Human task before the agents"))
    first = created_uuid(a.add("From a"))
    second = created_uuid(b.add("From b"))
    a.annotate(second, "a comments on b's task")
    b.modify(kept, changes={"priority": "L"})
    user_work(repo)
    head = git(repo, "rev-parse", "HEAD")
    tips = [branch_tip(repo, "agent-a"), branch_tip(repo, "agent-b")]
    status_outside, index = porcelain_outside_store(repo), index_outside_store(repo)
    cached_diff = git(repo, "diff", "--cached", "--", "src", "notes.txt")
    worktree_diff = git(repo, "diff", "--", "notes.txt", "README.md")
    merged_read = {u: comparable(human.info(u)) for u in (kept, first, second)}

    out = cli_ok(repo, "sync")
    assert "agent-a" in out and "agent-b" in out

    assert parents(repo) == [head, *tips], "a real merge commit with the agent tips as parents"
    subject = git(repo, "log", "-1", "--format=%s")
    assert subject.startswith("sync: merge agent-a (2 ops), agent-b (2 ops)"), subject
    body = git(repo, "log", "-1", "--format=%b")
    assert "From a" in body and "From b" in body, "the reviewer reads which operations came in"
    changed = git(repo, "diff", "--name-only", head, "HEAD").splitlines()
    assert changed and all(p.startswith(".backlog/") for p in changed), changed
    # Only store paths moved in the working tree and the index; the user's work is exactly as it was.
    assert porcelain_outside_store(repo) == status_outside
    assert [line for line in porcelain(repo).splitlines() if ".backlog/" in line] == []
    assert index_outside_store(repo) == index
    assert git(repo, "diff", "--cached", "--", "src", "notes.txt") == cached_diff
    assert git(repo, "diff", "--", "notes.txt", "README.md") == worktree_diff
    assert (repo / "scratch.tmp").read_text() == "untracked\n"
    # What the reads showed before the sync is what landed.
    landed = tasks_at(repo)
    for task, record in merged_read.items():
        assert file_record(landed[task]) == record
        assert comparable(human.info(task)) == record
    assert "a comments on b's task" in notes(landed[second])
    assert landed[kept].task.priority == "L"

    # A later agent op lands on a branch that fast-forwarded from the merged tip.
    merge = git(repo, "rev-parse", "HEAD")
    outcome = a.annotate(first, "after the sync")
    assert parents(repo, outcome.commit) == [merge]
    assert git_run(repo, "merge-base", "--is-ancestor", merge, "backlog/agent-a").returncode == 0
    assert git(repo, "diff", "--name-only", merge, "backlog/agent-a").splitlines() == [task_path(first)]
    assert branch_tip(repo, "agent-b") == tips[1], "an agent that wrote nothing since stays where it was"
    again = cli_ok(repo, "sync")
    assert "agent-a (1 op)" in again
    assert parents(repo) == [merge, branch_tip(repo, "agent-a")]
    assert "Nothing to sync" in cli_ok(repo, "sync")


def test_sync_with_nothing_pending_makes_no_commit(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    assert "Nothing to sync" in cli_ok(repo, "sync")
    assert git(repo, "rev-parse", "HEAD") == head


# ====================================================================== 3. concurrent edits of one task
def _next_second() -> None:
    """Sleep into the next whole second (timestamps are stored to the second), so edits are ordered in time."""
    time.sleep(1.02 - (time.time() % 1.0))


def _side_checkout(repo: Path, path: Path) -> Path:
    """A second checkout of ``repo``: an agent there cannot see the first checkout's agents (true concurrency)."""
    git(path.parent, "clone", "-q", str(repo), path.name)
    configure(path)
    return path


EDITS = {
    # Different fields, tags added and removed, an annotation, body lines (one line clashes with the other side).
    "E1": {
        "changes": {"priority": "H"},
        "add": ["t1"],
        "remove": ["x"],
        "note": "note from E1",
        "body": BODY.replace("line one", "line one (E1)").replace("line three", "line three (E1)"),
    },
    "E2": {
        "changes": {"project": "web"},
        "add": ["t2"],
        "remove": ["y"],
        "note": "note from E2",
        "body": BODY.replace("line five", "line five (E2)").replace("line three", "line three (E2)"),
    },
}


@pytest.mark.parametrize("first_agent", ["a1", "a2"])
def test_concurrent_edits_of_one_task_on_two_agent_branches(repo: Path, tmp_path: Path, first_agent: str) -> None:
    """Agent ``first_agent`` makes edit set E1 (and the earlier description change); the other agent makes E2
    (and the later one). Run with both assignments, so each agent is "ours" once in the merge."""
    second_agent = "a2" if first_agent == "a1" else "a1"
    human = open_human(repo)
    task = created_uuid(human.add("Shared task", tags=["keep", "x", "y"]))
    human.doc_write(task, BODY)
    human.annotate(task, "base note")
    base = git(repo, "rev-parse", "HEAD")
    side = _side_checkout(repo, tmp_path / "side")

    writers = {first_agent: open_agent(repo, first_agent), second_agent: open_agent(side, second_agent)}
    for agent, edit in ((first_agent, EDITS["E1"]), (second_agent, EDITS["E2"])):
        w = writers[agent]
        w.modify(task, changes=edit["changes"], add_tags=edit["add"], remove_tags=edit["remove"])
        w.annotate(task, edit["note"])
        w.doc_write(task, edit["body"])
    writers[first_agent].modify(task, changes={"description": f"Title by {first_agent}"})
    _next_second()
    writers[second_agent].modify(task, changes={"description": f"Title by {second_agent}"})
    git(repo, "fetch", "-q", str(side), f"refs/heads/backlog/{second_agent}:refs/heads/backlog/{second_agent}")

    # The merged read, from the human and from both agents' engines in this checkout.
    read = comparable(human.info(task))
    assert comparable(open_agent(repo, first_agent).info(task)) == read
    assert comparable(open_agent(repo, second_agent).info(task)) == read
    assert read["description"] == f"Title by {second_agent}", "the later edit wins"
    assert read["priority"] == "H" and read["project"] == "web"
    assert sorted(read["tags"]) == ["doc", "keep", "merge-conflict", "t1", "t2"]
    texts = notes(read)
    for note in ("base note", "note from E1", "note from E2"):
        assert note in texts
    lost = [n for n in texts if n.startswith("merge: description")]
    assert len(lost) == 1, texts
    assert f"Title by {first_agent}" in lost[0] and f"Title by {second_agent}" in lost[0]
    assert f"({first_agent})" in lost[0] and f"({second_agent})" in lost[0], f"the note names both writers: {lost[0]}"

    # The synced result agrees with the merged read.
    cli_ok(repo, "sync")
    assert parents(repo) == [base, branch_tip(repo, "a1"), branch_tip(repo, "a2")]
    synced = tasks_at(repo)[task]
    assert file_record(synced) == read
    assert worktree_task(repo, task) == synced
    assert comparable(human.info(task)) == read
    body = synced.body
    for line in ("line one (E1)", "line five (E2)", "line three (E1)", "line three (E2)", "line two"):
        assert line in body
    assert "<<<<<<<" not in body and ">>>>>>>" not in body

    # The pure merge is the same whichever branch is "ours".
    path = task_path(task)
    blobs = {name: show(repo, f"backlog/{name}", path) for name in ("a1", "a2")}
    ancestor = show(repo, base, path)
    forward = merge_file(path, ancestor, blobs["a1"], blobs["a2"], "a1", "a2")
    backward = merge_file(path, ancestor, blobs["a2"], blobs["a1"], "a2", "a1")
    assert forward == backward
    assert file_record(taskfile.parse(forward, path)) == read

    # A human's git merging the two agent branches (the driver) gives the same fields, either way round.
    results = []
    for ours, theirs in (("a1", "a2"), ("a2", "a1")):
        where = tmp_path / f"wt-{ours}"
        git(repo, "worktree", "add", "-q", "--detach", str(where), f"backlog/{ours}")
        proc = git_run(where, "merge", "--no-edit", f"backlog/{theirs}")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        results.append((where / path).read_bytes())
    assert results[0] == results[1]
    by_git = file_record(taskfile.parse(results[0], path))
    for key in ("description", "priority", "project", "tags", "status", "id", "entry", "modified"):
        assert by_git.get(key) == read.get(key), key
    assert [n for n in notes(by_git) if not n.startswith("merge:")] == [n for n in texts if not n.startswith("merge:")]


def test_a_task_added_and_edited_by_different_agents_reads_the_same_as_synced(repo: Path) -> None:
    a1, a2 = open_agent(repo, "a1"), open_agent(repo, "a2")
    task = created_uuid(a1.add("Born on a1"))
    a2.modify(task, changes={"priority": "M"}, add_tags=["from-a2"])
    a1.modify(task, changes={"project": "core"})
    a2.annotate(task, "a2 note")
    read = comparable(open_human(repo).info(task))
    assert read["priority"] == "M" and read["project"] == "core" and read["tags"] == ["from-a2"]
    cli_ok(repo, "sync")
    assert file_record(tasks_at(repo)[task]) == read


def test_check_is_clean_in_an_initialised_repository_with_agents(repo: Path) -> None:
    open_agent(repo, "a1").add("one")
    open_agent(repo, "a2").add("two")
    proc = cli(repo, "check", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_edit_of_another_agents_task_does_not_undo_the_owners_later_changes(repo: Path) -> None:
    owner, other = open_agent(repo, "owner"), open_agent(repo, "other")
    task = created_uuid(owner.add("Owner's task", tags=["x"]))
    other.annotate(task, "other was here")
    owner.modify(task, remove_tags=["x"])
    owner.done(task)
    read = owner.info(task)
    assert read["status"] == "completed", "the owner reads back its own `done`"
    assert "x" not in read.get("tags", [])
    cli_ok(repo, "sync")
    synced = tasks_at(repo)[task]
    assert synced.task.status == "completed"
    assert "x" not in synced.task.tags
    assert "other was here" in notes(synced)


def test_an_agents_undo_of_its_add_stays_undone_though_another_agent_read_the_task(repo: Path) -> None:
    a, b = open_agent(repo, "a"), open_agent(repo, "b")
    x = created_uuid(a.add("X by a"))
    b.add("Y by b")  # b read a's branch: its commit sits on a merge that carries X
    assert "Undo completed" in a.undo().message
    for reader in (a, b, open_human(repo), open_agent(repo, "fresh")):
        assert "X by a" not in [t["description"] for t in reader.list("")], "an acknowledged undo came back"
    cli_ok(repo, "sync")
    assert x not in tasks_at(repo)
    assert [t["description"] for t in open_human(repo).list("")] == ["Y by b"]


def test_an_agents_purge_stays_purged_though_another_agent_read_the_task(repo: Path) -> None:
    a, b = open_agent(repo, "a"), open_agent(repo, "b")
    x = created_uuid(a.add("X by a"))
    b.add("Y by b")
    a.delete(x)
    a.purge(x)
    assert "X by a" not in [t["description"] for t in open_agent(repo, "fresh").list("status:deleted or +PENDING")]
    cli_ok(repo, "sync")
    assert x not in tasks_at(repo)
