"""Helpers for the many-writers tests: real repositories, real ``git`` and ``backlog-git`` processes.

Shared by ``test_multiwriter.py``, ``test_driver.py``, ``test_sync.py`` and ``test_stress.py``. Nothing here is
mocked: repositories are made with ``git init`` / ``git clone`` in ``tmp_path``, humans act through the ``git``
CLI, and what landed is read back from git objects (``git ls-tree`` / ``git show``) or the working tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backlog_git.taskfile import TaskFile, parse

if TYPE_CHECKING:
    from backlog_git.engine import Backlog

STORE_ENV_VARS = (
    "BACKLOG_REPO",
    "BACKLOG_NAMESPACE",
    "BACKLOG_AUTO_NAMESPACE",
    "BACKLOG_AGENT_ID",
    "TASKDATA",
    "TASKDATA_ROOT",
)
CONFLICT_MARKERS = ("<<<<<<<", ">>>>>>>", "|||||||")


def _backlog_command() -> list[str]:
    script = Path(sys.executable).parent / "backlog-git"
    if script.exists():
        return [str(script)]
    found = shutil.which("backlog-git")
    return [found] if found else [sys.executable, "-m", "backlog_git"]


BACKLOG_GIT = _backlog_command()


def clean_env(**extra: str) -> dict[str, str]:
    """The process environment without the store's variables (plus ``extra``); git never asks for input."""
    env = {k: v for k, v in os.environ.items() if k not in STORE_ENV_VARS and not k.startswith("GIT_")}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_EDITOR"] = "true"
    env["GIT_MERGE_AUTOEDIT"] = "no"
    # The driver is registered by absolute path, but keep this installation's scripts first on PATH anyway.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def run(args: list[str], cwd: Path | str, *, env: Mapping[str, str] | None = None,
        input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=str(cwd), env=dict(env) if env is not None else clean_env(),
                          capture_output=True, text=True, input=input, timeout=timeout, check=False)


def git_run(repo: Path | str, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run(["git", *args], repo, env=env)


def git(repo: Path | str, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run git in ``repo``; fail the test if it fails; return stdout without its final newline."""
    proc = git_run(repo, *args, env=env)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout.removesuffix("\n")


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


def configure(path: Path | str) -> None:
    git(path, "config", "user.name", "Test User")
    git(path, "config", "user.email", "test@example.com")
    git(path, "config", "commit.gpgsign", "false")
    git(path, "config", "pull.rebase", "false")


def init_repo(path: Path) -> Path:
    """``git init`` with an identity and one commit (a README) on ``main``."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    configure(path)
    (path / "README.md").write_text("hello\n")
    git(path, "add", "README.md")
    git(path, "commit", "-q", "-m", "initial")
    return path


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


def created_uuid(outcome: Any) -> str:
    """The uuid of the (first) task an ``add`` outcome reports."""
    return str(outcome.tasks[0]["uuid"])


# ------------------------------------------------------------------ reading what landed
def task_path(task_uuid: str, namespace: str = "tasks") -> str:
    return f".backlog/{namespace}/{task_uuid[:2]}/{task_uuid}.md"


def store_files(repo: Path | str, rev: str = "HEAD") -> list[str]:
    out = git(repo, "ls-tree", "-r", "--name-only", rev, "--", ".backlog")
    return [line for line in out.splitlines() if line]


def show(repo: Path | str, rev: str, path: str) -> bytes:
    return subprocess.run(["git", "show", f"{rev}:{path}"], cwd=str(repo), capture_output=True, check=True,
                          env=clean_env()).stdout


def blobs(repo: Path | str, rev: str = "HEAD") -> dict[str, bytes]:
    """Every file under ``.backlog/`` in ``rev`` with its content (``git ls-tree`` + one ``git cat-file --batch``)."""
    listing = git(repo, "ls-tree", "-r", rev, "--", ".backlog")
    entries = []
    for line in listing.splitlines():
        meta, _, path = line.partition("\t")
        entries.append((path, meta.split()[2]))
    if not entries:
        return {}
    out = subprocess.run(["git", "cat-file", "--batch"], cwd=str(repo), env=clean_env(), check=True,
                         input="".join(f"{oid}\n" for _, oid in entries).encode(), capture_output=True).stdout
    result = {}
    position = 0
    for path, oid in entries:
        header_end = out.index(b"\n", position)
        found, _kind, size = out[position:header_end].split()
        assert found.decode() == oid
        start = header_end + 1
        result[path] = out[start : start + int(size)]
        position = start + int(size) + 1
    return result


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


def porcelain(repo: Path | str) -> str:
    return git(repo, "status", "--porcelain", "--untracked-files=all")


def porcelain_outside_store(repo: Path | str) -> list[str]:
    return [line for line in porcelain(repo).splitlines() if ".backlog/" not in line]


def head(repo: Path | str, rev: str = "HEAD") -> str:
    return git(repo, "rev-parse", rev)


def parents(repo: Path | str, rev: str = "HEAD") -> list[str]:
    return git(repo, "log", "-1", "--format=%P", rev).split()


def message(repo: Path | str, rev: str = "HEAD") -> str:
    return git(repo, "log", "-1", "--format=%B", rev)


def fsck(repo: Path | str) -> None:
    proc = git_run(repo, "fsck", "--strict", "--no-progress")
    assert proc.returncode == 0, proc.stdout + proc.stderr


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
