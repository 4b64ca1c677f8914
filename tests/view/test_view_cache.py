"""The parse cache (``.git/backlog/view-<namespace>.cache``) never lies: every way a cache can be wrong
(another store's, an older state of this one, written by other code, truncated, damaged, written by two
processes at once, vouching for a file edited since with the same size and a restored mtime) ends in the
files being read as they are. And what it gives back is exactly what parsing gives."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import git, init_repo, task_path

from backlog_git import cachefile, view
from backlog_git.engine import Backlog
from backlog_git.view import WorkingView, read_entry

Opener = Callable[..., Backlog]
MANY = 80  # more than view._CACHE_THRESHOLD: a cold start of this store writes the cache

EXTRAS = {"estimate": 3, "ratio": 0.5, "flag": True, "nothing": None, "nested": {"k": [1, "two", {"three": 3}]}}


@pytest.fixture(autouse=True)
def _no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by the test are seconds old at most: let the cache take them (the window has its
    own test below)."""
    monkeypatch.setattr(view, "_RACY_NS", 0)


def cache_file(repo: Path) -> Path:
    return repo / ".git" / "backlog" / "view-tasks.cache"


def fill(backlog: Backlog, count: int = MANY) -> list[dict[str, Any]]:
    """Tasks with every kind of field: dates, tags, dependencies, annotations, extras, a doc."""
    items: list[dict[str, Any]] = [{"description": f"task {n}", "project": f"p{n % 3}"} for n in range(count)]
    items[0].update(priority="H", due="2030-01-02T03:04:05Z", tags=["a", "b"], wait="2031-01-01T00:00:00Z")
    items[3].update(EXTRAS)
    items[4].update(recur="weekly", due="2030-01-01T00:00:00Z", status="recurring")
    tasks = backlog.import_tasks(items).tasks
    backlog.modify("2", changes={"depends": tasks[0]["uuid"]})
    backlog.annotate("3", "a note")
    backlog.annotate("3", "another note")
    backlog.doc_write("6", "# Spec\n\nbody text\n")
    backlog.done("7")
    backlog.start("8")
    return tasks


def cold_start(repo: Path) -> Backlog:
    """A new process's view of the store (a new engine object: nothing in memory)."""
    backlog = Backlog.open(str(repo), env={})
    backlog.list("")
    return backlog


def recache(repo: Path) -> Backlog:
    """A cold start without a cache: it parses every file and writes a cache of all of them."""
    cache_file(repo).unlink(missing_ok=True)
    return cold_start(repo)


def listed(backlog: Backlog) -> list[dict[str, Any]]:
    return backlog.list("status:pending or status:completed or status:deleted or status:recurring")


def test_cached_entries_are_exactly_what_parsing_gives(repo: Path, open_backlog: Opener) -> None:
    fill(open_backlog())
    path = next((repo / ".backlog" / "tasks").glob("*/*.md"))
    text = path.read_text()
    extras = "\n".join(f"{k}: {v}" for k, v in (("estimate", 3), ("ratio", 0.5), ("flag", "true")))
    path.write_text(text.replace("\nentry:", f"\n{extras}\nnested:\n  k:\n    - 1\n    - two\nentry:", 1))
    expected = listed(open_backlog())
    recache(repo)  # parses every file and writes the cache
    assert cache_file(repo).exists()
    working = WorkingView(repo, ".backlog/tasks", cache_path=cache_file(repo))
    records = working._load_cache()
    assert len(records) == MANY
    for rel, record in records.items():
        parsed = read_entry(repo, rel)
        assert parsed is not None
        cached = view._cached_entry(rel, parsed.key, record, {})
        assert cached == parsed  # path, stat key, bytes, task, body, uuid, error
        task, again = cached.task, parsed.task
        assert task.__dict__ == again.__dict__ and list(task.__dict__) == list(again.__dict__)
        assert task.__pydantic_extra__ == again.__pydantic_extra__
        assert task.__pydantic_fields_set__ == again.__pydantic_fields_set__
        assert cached.record() == parsed.record() and cached.version == parsed.version
    again = cold_start(repo)  # this one reads the cache
    assert listed(again) == expected
    assert again.info("3")["annotations"] == expected_annotations(expected)


def expected_annotations(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return next(t["annotations"] for t in tasks if t["id"] == 3)


def test_a_same_size_edit_that_restores_the_mtime_is_read(repo: Path, open_backlog: Opener) -> None:
    """``touch -d``/``cp -p``/``rsync -t`` put the old mtime back; the ctime still moves."""
    tasks = fill(open_backlog())
    recache(repo)
    path = repo / task_path(tasks[10]["uuid"])
    assert path.relative_to(repo).as_posix() in WorkingView(repo, ".backlog/tasks", cache_file(repo))._load_cache()
    before = path.stat()
    edited = path.read_bytes().replace(b"description: task 10", b"description: TASK 10")
    assert len(edited) == before.st_size
    path.write_bytes(edited)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_mtime_ns, after.st_size, after.st_ino) == (before.st_mtime_ns, before.st_size, before.st_ino)
    assert cold_start(repo).info("11")["description"] == "TASK 10"


def test_files_written_within_the_racy_window_are_not_cached(
    repo: Path, open_backlog: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file written just now may be written again within the same timestamp tick, same size: its stat
    key cannot vouch for its bytes, so it is left out (and parsed by the next process)."""
    fill(open_backlog())
    expected = listed(open_backlog())
    monkeypatch.setattr(view, "_RACY_NS", 3600 * 10**9)
    recache(repo)
    working = WorkingView(repo, ".backlog/tasks", cache_path=cache_file(repo))
    assert working._load_cache() == {}
    assert listed(cold_start(repo)) == expected


def test_a_cache_of_another_store_or_an_older_state_is_not_trusted(
    repo: Path, tmp_path: Path, open_backlog: Opener
) -> None:
    fill(open_backlog())
    recache(repo)
    old_cache = cache_file(repo).read_bytes()
    # another store: a copy of this one (same paths, sizes, mtimes), then changed
    other = tmp_path / "other"
    shutil.copytree(repo, other, symlinks=True)
    open_backlog(other).modify("12", changes={"description": "changed in the copy"})
    cache_file(other).write_bytes(old_cache)
    assert cold_start(other).info("12")["description"] == "changed in the copy"
    # an older state of this store: the cache of before a checkout of another commit
    backlog = open_backlog()
    backlog.modify("13", changes={"description": "changed later"})
    cold_start(repo)
    git(repo, "checkout", "-q", "HEAD~1", "--", ".backlog")
    cache_file(repo).write_bytes(old_cache)
    assert cold_start(repo).info("13")["description"] == "task 12"


def test_a_cache_written_by_other_code_is_not_trusted(repo: Path, open_backlog: Opener) -> None:
    """A record whose stat key matches the file but was written under another tag (another version of
    the parser, another Python, another store path) is never used."""
    tasks = fill(open_backlog())
    recache(repo)
    working = WorkingView(repo, ".backlog/tasks", cache_path=cache_file(repo))
    records = working._load_cache()
    target = repo / task_path(tasks[20]["uuid"])
    rel = target.relative_to(repo).as_posix()
    key, raw, body, (values, dates, extra, fields) = records[rel]
    values["description"] = "a lie"
    records[rel] = (key, raw, body, (values, dates, extra, fields))
    for tag in (("another parser",), (*working._cache_tag()[:-2], "/elsewhere", ".backlog/tasks")):
        write_cache(cache_file(repo), tag, records)
        assert cold_start(repo).info("21")["description"] == "task 20"
    # the same record under this code's tag is used: trust rests on the tag and the stat key only
    write_cache(cache_file(repo), working._cache_tag(), records)
    assert cold_start(repo).info("21")["description"] == "a lie"
    target.write_bytes(target.read_bytes())  # any write moves the ctime: the record no longer applies
    assert cold_start(repo).info("21")["description"] == "task 20"


def write_cache(path: Path, tag: tuple[Any, ...], records: dict[str, Any]) -> None:
    assert cachefile.write(path, (tag, records))


@pytest.mark.parametrize(
    "damage",
    ["empty", "truncated head", "truncated", "one byte flipped", "garbage", "old pickle", "directory"],
)
def test_a_damaged_cache_is_ignored_and_rewritten(repo: Path, open_backlog: Opener, damage: str) -> None:
    fill(open_backlog())
    expected = listed(recache(repo))
    cache = cache_file(repo)
    data = cache.read_bytes()
    middle = len(data) // 2
    if damage == "directory":
        cache.unlink()
        cache.mkdir()
    else:
        cache.write_bytes({
            "empty": b"",
            "truncated head": data[:10],
            "truncated": data[:middle],
            "one byte flipped": data[:middle] + bytes([data[middle] ^ 0x20]) + data[middle + 1 :],
            "garbage": os.urandom(len(data)),
            "old pickle": b"\x80\x05\x95" + data,
        }[damage])
    assert listed(cold_start(repo)) == expected
    if damage != "directory":  # every file was parsed again: the cache is written anew
        assert len(WorkingView(repo, ".backlog/tasks", cache_path=cache)._load_cache()) == MANY
    assert not [p for p in cache.parent.iterdir() if ".tmp" in p.name]


def test_a_task_the_cache_cannot_hold_is_parsed_every_time(repo: Path, open_backlog: Opener) -> None:
    """An extra of a type the cache does not store exactly (a YAML ``!!binary`` or ``!!set``)."""
    tasks = fill(open_backlog())
    path = repo / task_path(tasks[30]["uuid"])
    path.write_text(path.read_text().replace("\nentry:", "\nblob: !!binary aGVsbG8=\nentry:", 1))
    first = recache(repo).info("31")
    records = WorkingView(repo, ".backlog/tasks", cache_path=cache_file(repo))._load_cache()
    assert len(records) == MANY - 1 and path.relative_to(repo).as_posix() not in records
    assert cold_start(repo).info("31") == first


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from backlog_git import view
    view._RACY_NS = 0
    repo, rounds = Path(sys.argv[1]), int(sys.argv[2])
    working = view.WorkingView(repo, ".backlog/tasks", cache_path=repo / ".git/backlog/view-tasks.cache")
    working.refresh()
    for _ in range(rounds):
        working._save_cache()
        assert working._load_cache() is not None
    """
)


def test_two_processes_writing_the_cache_at_once(repo: Path, open_backlog: Opener) -> None:
    """Each writer renames its own complete file over the cache: whatever a reader finds is one whole
    cache, and every record in it describes the file it names."""
    fill(open_backlog())
    expected = listed(open_backlog())
    cache_file(repo).unlink()  # whatever is read below was written by the two writers
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(repo), "40"], stderr=subprocess.PIPE) for _ in range(2)
    ]
    while any(w.poll() is None for w in writers):
        records = WorkingView(repo, ".backlog/tasks", cache_path=cache_file(repo))._load_cache()
        assert len(records) in (0, MANY)
        for rel, record in records.items():
            parsed = read_entry(repo, rel)
            assert parsed is not None and view._cached_entry(rel, parsed.key, record, {}) == parsed
    for writer in writers:
        _, err = writer.communicate()
        assert writer.returncode == 0, err.decode()
    records = WorkingView(repo, ".backlog/tasks", cache_path=cache_file(repo))._load_cache()
    assert len(records) == MANY
    assert not [p for p in cache_file(repo).parent.iterdir() if ".tmp" in p.name]
    assert listed(cold_start(repo)) == expected


def test_a_store_moved_to_another_path_reads_its_files(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "a")
    fill(Backlog.open(str(repo), env={}))
    expected = listed(cold_start(repo))
    moved = tmp_path / "b"
    repo.rename(moved)
    assert listed(cold_start(moved)) == expected


def delta_file(repo: Path) -> Path:
    return cache_file(repo).with_name(cache_file(repo).name + ".delta")


def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The task files the view parses from now on (the cache spared the others)."""
    seen: list[str] = []
    real = view.parse

    def counting(data: bytes | str, path: str = "<task>") -> Any:
        seen.append(path)
        return real(data, path)

    monkeypatch.setattr(view, "parse", counting)
    return seen


def test_a_few_changed_files_go_to_the_delta_and_are_parsed_once(
    repo: Path, open_backlog: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = fill(open_backlog())
    recache(repo)
    backlog = open_backlog()
    for n in (20, 21, 22):
        backlog.modify(str(n + 1), changes={"description": f"changed {n}"})
    parsed = parses(monkeypatch)
    expected = listed(cold_start(repo))
    changed = {repo.joinpath(task_path(tasks[n]["uuid"])).relative_to(repo).as_posix() for n in (20, 21, 22)}
    assert set(parsed) == changed  # the three files changed since the cache: parsed, and kept in the delta
    working = WorkingView(repo, ".backlog/tasks", cache_path=cache_file(repo))
    assert set(working._read_cache(delta_file(repo))) == changed
    parsed.clear()
    assert listed(cold_start(repo)) == expected
    assert parsed == []  # the next process parses nothing
    # a damaged delta is ignored (the files are parsed again), and a stale one never overrides a file
    delta_file(repo).write_bytes(delta_file(repo).read_bytes()[:-7])
    assert listed(cold_start(repo)) == expected and set(parsed) == changed
    target = repo / task_path(tasks[21]["uuid"])
    target.write_text(target.read_text().replace("changed 21", "edited by hand"))
    parsed.clear()
    assert cold_start(repo).info("22")["description"] == "edited by hand"
    assert parsed == [target.relative_to(repo).as_posix()]


def test_many_changed_files_rewrite_the_main_cache(
    repo: Path, open_backlog: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(open_backlog())
    recache(repo)
    backlog = open_backlog()
    backlog.modify("1", changes={"description": "first change"})
    cold_start(repo)
    assert delta_file(repo).exists()
    backlog.modify("status:pending", changes={"priority": "L"})  # more than 64 files
    expected = listed(open_backlog())
    assert listed(cold_start(repo)) == expected
    assert not delta_file(repo).exists()
    parsed = parses(monkeypatch)
    assert listed(cold_start(repo)) == expected and parsed == []
