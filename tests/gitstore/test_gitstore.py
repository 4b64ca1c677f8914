"""The git layer in real repository situations: unborn branch, linked worktree, TASKDATA directories,
subdirectories, detached HEAD, a merge in progress, bare repositories; object-level integrity."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from support import (
    add,
    changed_paths,
    cli_ok,
    configure,
    fsck,
    git,
    head_count,
    init_repo,
    init_store,
    open_agent,
    open_human,
    outside_files,
    status,
    task_path,
    trailers,
)

from backlog_git import config as configmod
from backlog_git.engine import Backlog
from backlog_git.errors import RepositoryError
from backlog_git.gitstore import format_message, parse_trailers

Opener = Callable[..., Backlog]


def snapshot(root: Path) -> dict[str, bytes]:
    return {p: (root / p).read_bytes() for p in outside_files(root)}


# ====================================================================== unborn branch
@pytest.mark.parametrize("branch", ["main", "trunk"])
def test_unborn_branch_gets_root_commit(tmp_path: Path, branch: str) -> None:
    repo = init_repo(tmp_path / "fresh", commit=False, branch=branch)
    backlog = Backlog.open(str(repo), env={})
    assert backlog.list() == []
    task = add(backlog, "first ever")
    assert git(repo, "symbolic-ref", "HEAD") == f"refs/heads/{branch}"
    assert head_count(repo) == 1
    assert git(repo, "rev-list", "--parents", "-1", "HEAD").split() == [git(repo, "rev-parse", "HEAD")]
    assert changed_paths(repo) == sorted([".backlog/tasks/next-id", task_path(task["uuid"])])
    assert status(repo) == ""
    backlog.done("1")
    backlog.undo()
    assert head_count(repo) == 3
    fsck(repo)


def test_unborn_branch_keeps_users_staged_files(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "fresh", commit=False)
    (repo / "staged.txt").write_text("staged\n")
    git(repo, "add", "staged.txt")
    (repo / "untracked.txt").write_text("u\n")
    cached = git(repo, "diff", "--cached", "--name-status")
    add(Backlog.open(str(repo), env={}), "x")
    assert "staged.txt" not in git(repo, "ls-tree", "-r", "--name-only", "HEAD")
    assert "A  staged.txt" in status(repo)
    assert "?? untracked.txt" in status(repo)
    assert git(repo, "diff", "--cached", "--name-status", "HEAD") == cached


# ====================================================================== linked worktree
def test_linked_worktree_commits_on_its_own_branch(repo: Path, tmp_path: Path) -> None:
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "feature", str(worktree))
    main_tip = git(repo, "rev-parse", "main")
    backlog = Backlog.open(str(worktree), env={})
    task = add(backlog, "in worktree")
    backlog.modify("1", changes={"priority": "H"})
    assert git(repo, "rev-parse", "main") == main_tip
    assert int(git(repo, "rev-list", "--count", "main..feature")) == 2
    assert (worktree / task_path(task["uuid"])).is_file()
    assert not (repo / ".backlog").exists()
    assert status(worktree) == ""
    assert status(repo) == ""
    assert trailers(worktree)["Backlog-Agent"] == [configmod.default_writer()]
    backlog.undo()
    assert "priority" not in backlog.info("1")
    fsck(repo)


def test_subdirectory_uses_repository_root(repo: Path) -> None:
    sub = repo / "src" / "deep"
    sub.mkdir(parents=True)
    task = add(Backlog.open(str(sub), env={}), "from subdir")
    assert (repo / task_path(task["uuid"])).is_file()
    from_cwd = Backlog.open(None, env={}, cwd=str(sub))
    assert [t["uuid"] for t in from_cwd.list()] == [task["uuid"]]


# ====================================================================== TASKDATA / TASKDATA_ROOT
def test_taskdata_directory_made_a_repository_on_first_use(tmp_path: Path) -> None:
    data = tmp_path / "taskdata" / "project"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    backlog = Backlog.open(None, env={"TASKDATA": str(data)}, cwd=str(elsewhere))
    assert (data / ".git").is_dir()
    task = add(backlog, "in taskdata")
    assert (data / task_path(task["uuid"])).is_file()
    assert head_count(data) == 1
    assert status(data) == ""
    # Reopening uses the same repository.
    again = Backlog.open(None, env={"TASKDATA": str(data)}, cwd=str(elsewhere))
    assert [t["uuid"] for t in again.list()] == [task["uuid"]]
    assert add(again, "second")["id"] == 2
    fsck(data)


def test_taskdata_existing_directory_with_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text("mine\n")
    # Issue 10, item 8: a non-empty directory that is not a repository is someone's data: never git init-ed.
    with pytest.raises(RepositoryError, match="not a git repository and is not empty"):
        Backlog.open(None, env={"TASKDATA": str(data)}, cwd=str(tmp_path))
    assert (data / "notes.txt").read_text() == "mine\n"
    assert not (data / ".git").exists()


def test_taskdata_root_uses_slug_of_cwd(tmp_path: Path) -> None:
    root = tmp_path / "root"
    project = tmp_path / "dev" / "my-app"
    project.mkdir(parents=True)
    backlog = Backlog.open(None, env={"TASKDATA_ROOT": str(root)}, cwd=str(project))
    task = add(backlog, "rooted")
    expected = root / configmod.slug(str(project))
    assert expected.name.startswith("my-app-") and len(expected.name) == len("my-app-") + 8
    assert (expected / ".git").is_dir()
    assert (expected / task_path(task["uuid"])).is_file()


# ====================================================================== states that refuse writes
def test_detached_head_refused_with_advice(repo: Path, backlog: Backlog) -> None:
    add(backlog, "before")
    git(repo, "checkout", "-q", "--detach")
    head = git(repo, "rev-parse", "HEAD")
    files = snapshot(repo)
    for call in (lambda: backlog.add("x"), lambda: backlog.done("1"), backlog.undo):
        with pytest.raises(RepositoryError) as info:
            call()
        assert "detached" in str(info.value) and "git switch" in str(info.value)
    assert git(repo, "rev-parse", "HEAD") == head
    assert snapshot(repo) == files
    assert [t["description"] for t in backlog.list()] == ["before"]


def _start_conflicting_merge(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "other")
    (repo / "README.md").write_text("other side\n")
    git(repo, "commit", "-q", "-am", "other")
    git(repo, "checkout", "-q", "main")
    (repo / "README.md").write_text("main side\n")
    git(repo, "commit", "-q", "-am", "main")
    proc = subprocess.run(["git", "merge", "other"], cwd=repo, capture_output=True, text=True)
    assert proc.returncode != 0
    assert (repo / ".git" / "MERGE_HEAD").exists()


def test_merge_in_progress_refused_with_advice(repo: Path, open_backlog: Opener) -> None:
    backlog = open_backlog()
    add(backlog, "before")
    _start_conflicting_merge(repo)
    head = git(repo, "rev-parse", "HEAD")
    files = snapshot(repo)
    index = (repo / ".git" / "index").read_bytes()
    for call in (lambda: backlog.add("x"), lambda: backlog.modify("1", changes={"priority": "H"}), backlog.undo,
                 lambda: open_backlog().done("1")):
        with pytest.raises(RepositoryError) as info:
            call()
        message = str(info.value)
        assert "middle of a merge" in message and "git merge --abort" in message
        assert "nothing was written" in message
    assert git(repo, "rev-parse", "HEAD") == head
    assert snapshot(repo) == files
    assert (repo / ".git" / "index").read_bytes() == index
    assert [t["description"] for t in backlog.list()] == ["before"]
    git(repo, "merge", "--abort")
    add(backlog, "after abort")


def test_bare_repository_refused(tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    with pytest.raises(RepositoryError, match="bare"):
        Backlog.open(str(bare), env={})


# ====================================================================== integrity
def test_fsck_clean_and_tree_has_only_store_paths(repo: Path, backlog: Backlog) -> None:
    for n in range(5):
        add(backlog, f"t{n}", tags=["x"])
    backlog.modify("+x", changes={"priority": "M"})
    backlog.done("2")
    backlog.delete("3")
    backlog.purge("3")
    backlog.undo()
    backlog.doc_write("1", "doc\n")
    fsck(repo)
    files = git(repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines()
    assert all(f == "README.md" or f.startswith(".backlog/tasks/") for f in files)
    log = git(repo, "log", "--format=%H", "--", ".backlog").split()
    assert len(log) == 11
    assert status(repo) == ""


def test_existing_user_commit_history_is_preserved(repo: Path, backlog: Backlog) -> None:
    first = git(repo, "rev-parse", "HEAD")
    add(backlog)
    assert git(repo, "rev-parse", "HEAD~1") == first
    assert git(repo, "show", "HEAD:README.md") == "hello"


def test_commit_uses_repository_signature(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r")
    configure(repo)
    git(repo, "config", "user.name", "Someone Else")
    add(Backlog.open(str(repo), env={}))
    assert git(repo, "log", "-1", "--format=%an|%cn") == "Someone Else|Someone Else"


def test_trailers_format_and_parse() -> None:
    message = format_message("add #1: x\nwith newline", [("Backlog-Op", "add"), ("Backlog-Task", "u1"),
                                                          ("Backlog-Task", "u2")])
    assert message.startswith("add #1: x with newline\n\n")
    assert parse_trailers(message) == {"Backlog-Op": ["add"], "Backlog-Task": ["u1", "u2"]}
    assert parse_trailers("subject only") == {}


def test_loose_objects_are_packed_in_the_background(tmp_path: Path) -> None:
    """libgit2 never packs; the store starts `git gc --auto` (detached) once git's own threshold is passed."""
    import time as timelib

    repo = init_repo(tmp_path / "repo")
    git(repo, "config", "gc.auto", "64")  # a small threshold, so a few imports pass it
    backlog = Backlog.open(str(repo), env={})
    for n in range(6):  # ~3,000 loose objects: git's sample directory (objects/17) surely holds several
        backlog.import_tasks([{"description": f"task {n}.{k}"} for k in range(300)])
    # A gc started during the imports may finish before the last of them; the store never runs two at
    # once, so the objects written meanwhile wait for the next mutation's check. Keep the store busy.
    nudges = 0
    deadline = timelib.monotonic() + 90
    while True:
        stats = dict(line.split(": ") for line in git(repo, "count-objects", "-v").splitlines())
        packed = int(stats["packs"]) >= 1 and int(stats["count"]) < 1000
        if (packed and _has_path_filters(repo)) or timelib.monotonic() > deadline:
            break
        timelib.sleep(0.5)
        backlog.add(f"nudge {nudges}")
        nudges += 1
    assert int(stats["packs"]) >= 1, stats
    assert int(stats["count"]) < 1000, stats
    assert _has_path_filters(repo), "after its gc, the store writes a commit-graph with changed-path filters"
    assert len(Backlog.open(str(repo), env={}).list("")) == 1800 + nudges
    assert git(repo, "log", "--format=%H", "--", ".backlog/tasks") != ""


def _has_path_filters(repo: Path) -> bool:
    """A commit-graph layer carrying changed-path Bloom filters (its BIDX chunk)."""
    layers = (repo / ".git" / "objects" / "info" / "commit-graphs").glob("*.graph")
    return any(b"BIDX" in layer.read_bytes()[:4096] for layer in layers)


# ====================================================================== what writers remember about history
def git_tree_diff(repo: Path, old: str | None, new: str, prefix: str) -> list[tuple[str, str, str]]:
    """(path, old blob, new blob) of every file under ``prefix`` that differs, as ``git diff-tree`` says."""
    base = old if old is not None else git(repo, "hash-object", "-t", "tree", "/dev/null")
    changes = []
    for line in git(repo, "diff-tree", "-r", "--no-renames", "--full-index", base, new, "--", prefix).splitlines():
        meta, path = line.split("\t", 1)
        _old_mode, _new_mode, old_blob, new_blob, _status = meta.lstrip(":").split()
        zero = "0" * len(old_blob)
        changes.append((path, "" if old_blob == zero else old_blob, "" if new_blob == zero else new_blob))
    return sorted(changes)


def test_remembered_ancestry_and_tree_diffs_agree_with_git(tmp_path: Path) -> None:
    """Agent writers answer "is X an ancestor of Y?" from what they remember and derive (commits never change),
    and the overlay diffs trees through cached listings: over a real history of three agents, a human's
    commits and a sync, every answer and every diff is git's own."""
    repo = init_store(tmp_path / "repo")
    agents = [open_agent(repo, name) for name in ("a1", "a2", "a3")]
    human = open_human(repo)
    mine: list[str] = []
    for round_number in range(4):
        for n, agent in enumerate(agents):
            mine.append(add(agent, f"task {round_number}.{n}")["uuid"])
            agent.modify(mine[len(mine) // 2], changes={"priority": "HML"[n]})
        human.add(f"human {round_number}")
        if round_number == 2:
            cli_ok(repo, "sync")
    store = agents[0].git
    commits = git(repo, "rev-list", "--all").split()
    for d in reversed(commits):  # oldest first: later answers may be derived from remembered ones
        ancestors = set(git(repo, "rev-list", d).split())
        for a in commits:
            assert store.is_ancestor(a, d) == (a in ancestors), (a, d)
    for sha in commits:
        oid = store.repo[sha].id
        parent = store.parents_of(oid)[0] if store.parents_of(oid) else None
        diff = store.tree_diff(parent, oid, ".backlog")
        ours = sorted((path, str(old or ""), str(new or "")) for path, old, new in diff)
        assert ours == git_tree_diff(repo, str(parent) if parent else None, sha, ".backlog"), sha
        for path in (".backlog/tasks/next-id", task_path(mine[0]), ".backlog/none", "README.md"):
            found = git(repo, "rev-parse", "-q", "--verify", f"{sha}:{path}", check=False)
            assert str(store.blob_id_at(oid, path) or "") == found, (sha, path)


def test_agent_branches_are_found_loose_packed_and_updated_after_packing(tmp_path: Path) -> None:
    """The agent-branch listing reads the ref files and packed-refs itself (listing every ref grows with
    the request and claim refs); it must agree with git in every storage state."""
    from backlog_git.gitstore import GitStore

    repo = init_repo(tmp_path / "repo")
    git(repo, "branch", "backlog/packed")
    git(repo, "branch", "backlog/nested/deep")
    git(repo, "branch", "backlog/gone")
    git(repo, "pack-refs", "--all")
    git(repo, "commit", "-q", "--allow-empty", "-m", "later")
    git(repo, "branch", "-f", "backlog/packed", "HEAD")  # a loose file now overrides the packed line
    git(repo, "branch", "backlog/loose")
    git(repo, "branch", "-D", "backlog/gone")
    for n in range(50):
        git(repo, "update-ref", f"refs/backlog/requests/r{n}", "HEAD")
    (repo / ".git" / "refs" / "heads" / "backlog" / "stale.lock").write_text("x")

    def expected() -> dict[str, str]:
        listing = git(repo, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/backlog/")
        return {line.split()[1].removeprefix("refs/heads/backlog/"): line.split()[0] for line in listing.splitlines()}

    store = GitStore(repo)
    assert {name: str(tip) for name, tip in store.branch_tips("backlog/").items()} == expected()
    assert set(expected()) == {"packed", "nested/deep", "loose"}
    git(repo, "branch", "-D", "backlog/nested/deep")  # now only a packed-refs rewrite tells (same process)
    git(repo, "pack-refs", "--all")
    assert {name: str(tip) for name, tip in store.branch_tips("backlog/").items()} == expected()
    assert set(expected()) == {"packed", "loose"}
