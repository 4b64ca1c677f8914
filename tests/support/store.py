"""The store on top of git: ``backlog-git`` processes, engines, task paths, task files and their contents."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backlog_git import taskfile
from backlog_git.model import Task
from backlog_git.taskfile import TaskFile, parse

from .env import clean_env
from .git import blobs, configure, git, init_repo, run

if TYPE_CHECKING:
    import subprocess

    from backlog_git.engine import Backlog

CONFLICT_MARKERS = ("<<<<<<<", ">>>>>>>", "|||||||")


def _backlog_command() -> list[str]:
    script = Path(sys.executable).parent / "backlog-git"
    if script.exists():
        return [str(script)]
    found = shutil.which("backlog-git")
    return [found] if found else [sys.executable, "-m", "backlog_git"]


BACKLOG_GIT = _backlog_command()
"""This installation's ``backlog-git`` console script."""


def cli(repo: Path | str, *args: str, agent: str | None = None, input: str | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the ``backlog-git`` console script on ``repo`` (``--repo``), as a separate process."""
    extra = {"BACKLOG_AGENT_ID": agent} if agent else {}
    return run([*BACKLOG_GIT, "--repo", str(repo), *args], repo, env=clean_env(**extra), input=input,
               timeout=timeout)


def cli_ok(repo: Path | str, *args: str, agent: str | None = None) -> str:
    proc = cli(repo, *args, agent=agent)
    assert proc.returncode == 0, f"backlog-git {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


# ------------------------------------------------------------------ repositories with a store
def init_store(path: Path) -> Path:
    """A repository prepared by ``backlog-git init`` (store, .gitattributes, merge driver registered)."""
    init_repo(path)
    cli_ok(path, "init")
    return path


def bare_remote(path: Path) -> str:
    """``git init --bare`` at ``path``; returns its ``file://`` URL."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "--bare", "-b", "main")
    return path.resolve().as_uri()


def clone(url: str, path: Path, *, install: bool = True) -> Path:
    git(path.parent, "clone", "-q", url, path.name)
    configure(path)
    if install:
        cli_ok(path, "install")
    return path


def two_clones(tmp_path: Path) -> tuple[Path, Path, str]:
    """A bare ``origin`` (file:// URL), ``one`` made by ``backlog-git init`` and pushed, ``two`` cloned + installed."""
    url = bare_remote(tmp_path / "origin.git")
    one = init_store(tmp_path / "one")
    git(one, "remote", "add", "origin", url)
    git(one, "push", "-q", "-u", "origin", "main")
    two = clone(url, tmp_path / "two")
    return one, two, url


# ------------------------------------------------------------------ engines
def open_agent(repo: Path | str, agent: str) -> Backlog:
    from backlog_git.engine import Backlog

    return Backlog.open(str(repo), env={"BACKLOG_AGENT_ID": agent})


def open_human(repo: Path | str) -> Backlog:
    from backlog_git.engine import Backlog

    return Backlog.open(str(repo), env={})


def add(backlog: Backlog, description: str = "task", **kwargs: Any) -> dict[str, Any]:
    """Add a task (an add always makes a commit); return its record."""
    outcome = backlog.add(description, **kwargs)
    assert outcome.commit is not None
    return outcome.tasks[0]


def created_uuid(outcome: Any) -> str:
    """The uuid of the (first) task an ``add`` outcome reports."""
    return str(outcome.tasks[0]["uuid"])


# ------------------------------------------------------------------ task files
def task_path(task_uuid: str, namespace: str = "tasks") -> str:
    return f".backlog/{namespace}/{task_uuid[:2]}/{task_uuid}.md"


def build_task(defaults: Mapping[str, Any], **fields: Any) -> Task:
    """A task: ``defaults`` with ``fields`` over them, validated by the model (``None`` is passed on as is)."""
    return Task.model_validate({**defaults, **fields})


def task_bytes(defaults: Mapping[str, Any], body: str = "", **fields: Any) -> bytes:
    """A task file as the store writes it: ``defaults`` with ``fields`` over them (``None`` drops a field)."""
    data = dict(defaults)
    for key, value in fields.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return taskfile.dump(build_task(data), body)


def task_files(repo: Path | str, rev: str = "HEAD") -> dict[str, TaskFile]:
    """Every task file in ``rev`` (active and archived), parsed, by path; a file that does not parse fails."""
    return {path: parse(data, path) for path, data in blobs(repo, rev).items() if path.endswith(".md")}


def tasks_at(repo: Path | str, rev: str = "HEAD") -> dict[str, TaskFile]:
    """The tasks in ``rev`` by uuid (fails if one uuid has two files)."""
    result: dict[str, TaskFile] = {}
    for path, file in task_files(repo, rev).items():
        assert file.task.uuid not in result, f"task {file.task.uuid} is in the tree twice ({path})"
        result[file.task.uuid] = file
    return result


def worktree_task(repo: Path, task_uuid: str, namespace: str = "tasks") -> TaskFile:
    path = task_path(task_uuid, namespace)
    return parse((repo / path).read_bytes(), path)


def assert_no_conflict_markers(repo: Path) -> None:
    """No file under the working tree's ``.backlog/`` holds a git conflict marker, and every task file parses."""
    store = repo / ".backlog"
    for file in store.rglob("*"):
        if not file.is_file():
            continue
        text = file.read_text(encoding="utf-8")
        for marker in CONFLICT_MARKERS:
            assert marker not in text, f"{file} holds a conflict marker:\n{text}"
        if file.suffix == ".md":
            parse(text.encode(), str(file.relative_to(repo)))


def comparable(record: Mapping[str, Any]) -> dict[str, Any]:
    """A task record without what a read computes on the fly (urgency, has_doc)."""
    return {k: v for k, v in record.items() if k not in ("urgency", "has_doc", "version")}


def file_record(file: TaskFile) -> dict[str, Any]:
    return comparable(file.task.to_record())


def notes(file: TaskFile | Mapping[str, Any]) -> list[str]:
    """The annotation texts of a parsed file or a record."""
    if isinstance(file, TaskFile):
        return [a.description for a in file.task.annotations]
    return [a["description"] for a in file.get("annotations", [])]
