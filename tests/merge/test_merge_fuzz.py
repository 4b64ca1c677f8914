"""Merge fuzz (hardening issue): three clones of one bare remote make random concurrent edits of the
same tasks (fields, tags, annotations, bodies, done vs modify, delete/purge vs modify, archive vs
edit) and integrate them by ``git pull``, ``git pull --rebase``, ``git merge`` and ``sync --remote``,
over many seeded rounds. Afterwards: no conflict markers, every file parses, ids are unique after a
sync, every acknowledged annotation of a surviving task is kept, and a field only one clone changed
in a round keeps that clone's value.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from support import (
    assert_no_conflict_markers,
    bare_remote,
    cli,
    cli_ok,
    clone,
    git,
    git_run,
    init_store,
    open_human,
)

from backlog_git.errors import BacklogError

ROUNDS = int(os.environ.get("BACKLOG_MERGE_FUZZ_ROUNDS", "10"))
METHODS = ("pull", "pull-rebase", "merge", "sync")


def _integrate(repo: Path, how: str) -> None:
    """Bring origin/main in (finishing a conflicted merge with ``resolve``), then publish."""
    if how == "sync":
        cli_ok(repo, "sync", "--remote", "origin")
        return
    if how == "merge":
        git(repo, "fetch", "-q", "origin")
        proc = git_run(repo, "merge", "--no-edit", "origin/main")
    else:
        args = ["pull", "--no-edit", "origin", "main"] if how == "pull" else ["pull", "--rebase", "origin", "main"]
        proc = git_run(repo, *args)
    while proc.returncode != 0:
        assert "CONFLICT" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
        cli_ok(repo, "resolve")
        if how == "pull-rebase":
            proc = git_run(repo, "rebase", "--continue", env={"GIT_EDITOR": "true"})
        else:
            proc = git_run(repo, "commit", "-q", "--no-edit")
    push = git_run(repo, "push", "-q", "origin", "HEAD:main")
    if push.returncode != 0:  # someone pushed in between: integrate again
        _integrate(repo, how)


def _random_edit(repo: Path, rng: random.Random, notes: dict[str, set[str]], label: str) -> tuple[str, str, str] | None:
    """One random operation on a shared task; returns (task, field, value) for a one-sided field edit."""
    human = open_human(repo)
    tasks = human.list("status:pending or status:completed or status:deleted")
    if not tasks:
        return None
    task = rng.choice(tasks)["uuid"]
    op = rng.choice(["priority", "project", "tag", "untag", "note", "body", "done", "delete", "purge", "archive"])
    try:
        if op == "priority":
            value = rng.choice("HML")
            human.modify(task, changes={"priority": value})
            return task, "priority", value
        if op == "project":
            value = f"{label}.p{rng.randint(0, 9)}"
            human.modify(task, changes={"project": value})
            return task, "project", value
        if op == "tag":
            human.modify(task, add_tags=[f"{label}-{rng.randint(0, 5)}"])
        elif op == "untag":
            human.modify(task, remove_tags=["base"])
        elif op == "note":
            text = f"{label} note {rng.randint(0, 10**6)}"
            human.annotate(task, text)
            notes.setdefault(task, set()).add(text)
        elif op == "body":
            human.doc_write(task, f"# Spec\n{label} wrote line {rng.randint(0, 99)}\n")
        elif op == "done":
            human.done(task)
        elif op == "delete":
            human.delete(task)
        elif op == "purge":
            human.delete(task)
            human.purge(task)
        elif op == "archive":
            human.done(task)
            human.archive(0)
    except BacklogError:
        pass  # a state the random choice did not fit (already done, ...): nothing written
    return None


def test_three_clones_merging_random_concurrent_edits(tmp_path: Path) -> None:
    rng = random.Random("merge-fuzz")
    url = bare_remote(tmp_path / "origin.git")
    first = init_store(tmp_path / "c0")
    git(first, "remote", "add", "origin", url)
    human = open_human(first)
    human.import_tasks([{"description": f"shared {n}", "tags": ["base"]} for n in range(8)])
    git(first, "push", "-q", "-u", "origin", "main")
    clones = [first, clone(url, tmp_path / "c1"), clone(url, tmp_path / "c2")]
    notes: dict[str, set[str]] = {}
    for round_number in range(ROUNDS):
        for repo in clones:
            _integrate(repo, "sync")  # every round starts from the same state
        one_sided: dict[tuple[str, str], list[str]] = {}
        for index, repo in enumerate(clones):
            for _ in range(rng.randint(1, 3)):
                edit = _random_edit(repo, rng, notes, f"c{index}r{round_number}")
                if edit is not None:
                    one_sided.setdefault(edit[:2], []).append(edit[2])
        for repo in rng.sample(clones, len(clones)):
            _integrate(repo, rng.choice(METHODS))
        for repo in clones:
            _integrate(repo, "sync")
        final = open_human(clones[0])
        everything = {t["uuid"]: t for t in final.list("status:pending or status:completed or status:deleted")}
        for segment in final.archive_list():
            everything.update({t["uuid"]: t for t in final.archive_load(segment)})
        for (task, field), values in one_sided.items():
            if len(values) == 1 and task in everything and field in everything[task]:
                assert everything[task][field] == values[0], (round_number, task, field, values)
        for repo in clones:
            assert_no_conflict_markers(repo)
            assert cli(repo, "check").returncode == 0, cli(repo, "check").stdout
    final = open_human(clones[0])
    live = final.list("status:pending or status:completed or status:deleted")
    ids = [t["id"] for t in live]
    assert len(ids) == len(set(ids)), "ids are unique after sync"
    kept = {t["uuid"]: t for t in live}
    for segment in final.archive_list():
        kept.update({t["uuid"]: t for t in final.archive_load(segment)})
    for task, texts in notes.items():
        if task in kept:
            have = {a["description"] for a in kept[task].get("annotations", [])}
            assert texts <= have, (task, texts - have)
