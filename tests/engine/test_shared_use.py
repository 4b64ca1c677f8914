"""One repository, many hands: hand edits, empty filters, id clashes after a plain git merge, file
modes. Real repositories, the CLI as a subprocess, real ``git merge``."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from support import (
    BACKLOG_GIT,
    ORIGINAL_FIXTURE,
    clean_env,
    cli,
    cli_ok,
    created_uuid,
    git,
    init_store,
    message,
    open_human,
    run,
    task_path,
)

from backlog_git.engine import Backlog


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_store(tmp_path / "repo")


def _trailer_ops(repo: Path, n: int) -> list[str]:
    return git(repo, "log", f"-{n}", "--format=%(trailers:key=Backlog-Op,valueonly)").split()


# ------------------------------------------------------------------ 1. hand edits are their own commits
def test_a_hand_edit_is_its_own_commit_and_undo_never_reverts_it(repo: Path) -> None:
    task = created_uuid(open_human(repo).add("Edit me by hand", priority="L"))
    path = repo / task_path(task)
    text = path.read_text().replace("priority: L", "priority: H") + "A line written by hand.\n"
    path.write_text(text)
    cli_ok(repo, "annotate", task, "a note")
    assert _trailer_ops(repo, 2) == ["annotate", "hand-edit"]
    assert "by hand" in message(repo, "HEAD~1").splitlines()[0]
    assert "Backlog-Agent: Test User <test@example.com>" in message(repo, "HEAD~1")
    diff = git(repo, "show", "HEAD", "--format=", "--", task_path(task)).splitlines()
    changed = [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert not [line for line in changed if "priority" in line or "by hand" in line], changed
    out = cli_ok(repo, "undo")
    assert "Undo completed" in out
    after = path.read_text()
    assert "priority: H" in after and "A line written by hand." in after
    assert "a note" not in after
    history = open_human(repo).history(task)
    assert [h["op"] for h in history][:3] == ["undo", "annotate", "hand-edit"]
    assert history[2]["changes"]["priority"] == ["L", "H"]
    assert "priority" not in history[1]["changes"]


def test_a_broken_hand_edit_still_refuses_the_mutation(repo: Path) -> None:
    task = created_uuid(open_human(repo).add("Break me"))
    path = repo / task_path(task)
    path.write_text(path.read_text().replace("status: pending", "status: [oops"))
    proc = cli(repo, "annotate", task, "x")
    assert proc.returncode == 1
    assert task_path(task) in proc.stderr
    assert "hand-edit" not in _trailer_ops(repo, 1)


# ------------------------------------------------------------------ 3. empty means empty
@pytest.mark.parametrize("empty", ['""', "''", '  ""  '])
def test_quoted_empty_filter_is_the_empty_filter(repo: Path, empty: str) -> None:
    human = open_human(repo)
    done = created_uuid(human.add("done one"))
    human.done(done)
    human.add("pending one")
    assert cli_ok(repo, "count", empty).strip() == "1"
    assert human.count(empty) == 1
    proc = cli(repo, "modify", empty, "--agent", "nobody")
    assert proc.returncode == 1 and "empty filter" in proc.stderr
    assert human.info(done)["status"] == "completed"
    assert "agent" not in human.info(done)


# ------------------------------------------------------------------ 4. id clashes heal on their own
def test_a_plain_git_merge_id_clash_is_marked_then_healed_by_the_next_mutation(repo: Path) -> None:
    open_human(repo).add("base task")
    git(repo, "checkout", "-q", "-b", "side")
    side = created_uuid(open_human(repo).add("added on side"))
    git(repo, "checkout", "-q", "main")
    main = created_uuid(open_human(repo).add("added on main"))
    git(repo, "merge", "-q", "--no-edit", "side")
    human = open_human(repo)
    clashing = [t for t in human.list("") if t["id"] == 2]
    assert sorted(t["uuid"] for t in clashing) == sorted([side, main])  # both listed, both reachable
    proc = cli(repo, "info", "2")
    assert proc.returncode == 1
    assert "added on side" in proc.stderr and "added on main" in proc.stderr
    assert human.info(side)["description"] == "added on side"
    human.annotate(side, "first mutation after the merge")
    assert _trailer_ops(repo, 2) == ["annotate", "renumber"]
    assert "Backlog-Renumber: #2 -> #" in message(repo, "HEAD~1")
    ids = [t["id"] for t in human.list("")]
    assert len(ids) == len(set(ids)) == 3
    keeps = min((human.info(u) for u in (side, main)), key=lambda t: (t["entry"], t["uuid"]))
    assert keeps["id"] == 2  # the earliest entry (then the smaller uuid) keeps the id


# ------------------------------------------------------------------ 5. modes
def test_new_files_follow_the_umask_and_rewrites_keep_the_mode(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        repo = tmp_path / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        git(repo, "config", "user.name", "Test User")
        git(repo, "config", "user.email", "test@example.com")
        (repo / ".gitattributes").write_text("*.png binary\n")
        os.chmod(repo / ".gitattributes", 0o644)
        git(repo, "add", ".")
        git(repo, "commit", "-q", "-m", "initial")
        cli_ok(repo, "init")
        assert stat.S_IMODE(os.stat(repo / ".gitattributes").st_mode) == 0o644
        task = created_uuid(Backlog.open(str(repo), env={}).add("mode check"))
        path = repo / task_path(task)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
        os.chmod(path, 0o600)
        git(repo, "update-index", "--refresh")
        Backlog.open(str(repo), env={}).annotate(task, "rewrite")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    finally:
        os.umask(previous)


# ------------------------------------------------------------------ 7. one definition of "has a doc"
def test_doc_tag_and_has_doc_follow_the_body_after_hand_edits(repo: Path) -> None:
    human = open_human(repo)
    written = created_uuid(human.add("doc written by hand"))
    removed = created_uuid(human.add("doc removed by hand"))
    human.doc_write(removed, "# Spec\nsomething\n")
    path = repo / task_path(written)
    path.write_text(path.read_text() + "# Spec\nwritten in an editor\n")
    path = repo / task_path(removed)
    path.write_text(path.read_text().split("# Spec")[0])
    for text in ("+doc", "has_doc:true"):
        assert [t["uuid"] for t in human.list(text)] == [written], text
    for text in ("-doc", "has_doc:false"):
        assert {t["uuid"] for t in human.list(text)} == {written, removed} - {written}, text
    assert human.info(written)["has_doc"] is True and "doc" in human.info(written)["tags"]
    assert "has_doc" not in human.info(removed) and "doc" not in human.info(removed).get("tags", [])
    assert human.doc_read(written).strip().endswith("written in an editor")


# ------------------------------------------------------------------ 6. check verifies the driver runs
def test_check_reports_a_registered_driver_that_cannot_run(repo: Path) -> None:
    assert cli(repo, "check").returncode == 0
    git(repo, "config", "merge.backlog.driver", "/gone/venv/bin/backlog-git merge-driver %O %A %B %P")
    proc = cli(repo, "check")
    assert proc.returncode == 1
    assert "does not run" in proc.stdout + proc.stderr
    assert "backlog-git install" in proc.stdout + proc.stderr
    cli_ok(repo, "install")
    assert cli(repo, "check").returncode == 0


# ------------------------------------------------------------------ 8. never clobber foreign data
ORIGINAL_STORE = ORIGINAL_FIXTURE / "data"


def test_taskdata_over_foreign_data_is_refused_and_left_untouched(tmp_path: Path) -> None:
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("mine\n")
    proc = run([*BACKLOG_GIT, "list"], tmp_path, env=clean_env(TASKDATA=str(foreign)))
    assert proc.returncode == 1
    assert "not a git repository and is not empty" in proc.stderr and "todo.txt" in proc.stderr
    assert sorted(p.name for p in foreign.iterdir()) == ["todo.txt"]


@pytest.mark.skipif(not ORIGINAL_STORE.is_dir(), reason="the original server's store fixture is not beside the repo")
def test_taskdata_over_an_original_store_names_the_migration(tmp_path: Path) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(ORIGINAL_STORE, data)
    before = sorted(str(p.relative_to(data)) for p in data.rglob("*"))
    proc = run([*BACKLOG_GIT, "list"], tmp_path, env=clean_env(TASKDATA=str(data)))
    assert proc.returncode == 1
    assert "original backlog server" in proc.stderr and "backlog-git migrate --from" in proc.stderr
    assert sorted(str(p.relative_to(data)) for p in data.rglob("*")) == before
    assert not (data / ".git").exists()


def test_check_names_conflict_markers_left_in_a_doc_but_not_markers_shown_in_code(repo: Path) -> None:
    backlog = Backlog.open(str(repo), env={})
    conflicted = backlog.add("Conflicted doc").tasks[0]["uuid"]
    shown = backlog.add("Doc that shows markers").tasks[0]["uuid"]
    backlog.doc_write(conflicted, "Intro\n<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> topic\n")
    backlog.doc_write(shown, "Example:\n\n```\n<<<<<<< HEAD\na\n=======\nb\n>>>>>>> topic\n```\n")
    problems = backlog.check()
    named = [p for p in problems if "conflict markers" in p["reason"]]
    assert [p["path"].rsplit("/", 1)[-1] for p in named] == [f"{conflicted}.md"]
    lines = (repo / named[0]["path"]).read_text().splitlines()
    assert lines[named[0]["line"] - 1] == "<<<<<<< HEAD"
