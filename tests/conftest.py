"""Shared fixtures: real git repositories in ``tmp_path``, observed through the ``git`` CLI.

No mocks: every test works on a repository made with ``git init`` and checks what landed with
``git log`` / ``git show`` / ``git status``. ``Backlog.open`` is always given an explicit ``env``
so the outer environment (BACKLOG_*, TASKDATA*) never leaks into a test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from backlog_git.engine import Backlog

PYTHON = sys.executable
STORE_ENV_VARS = (
    "BACKLOG_REPO",
    "BACKLOG_NAMESPACE",
    "BACKLOG_AUTO_NAMESPACE",
    "BACKLOG_AGENT_ID",
    "TASKDATA",
    "TASKDATA_ROOT",
)


def git(repo: Path | str, *args: str, check: bool = True, input: str | None = None) -> str:
    """Run git in ``repo`` and return its stdout (stripped of the final newline only)."""
    proc = subprocess.run(
        ["git", *args],
        cwd=str(repo),
        capture_output=True,
        text=True,
        check=False,
        input=input,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc.stdout.removesuffix("\n")


def git_bytes(repo: Path | str, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=str(repo), capture_output=True, check=True).stdout


def init_repo(path: Path, *, commit: bool = True, branch: str = "main") -> Path:
    """``git init`` a repository with its own identity; optionally one initial commit (a README)."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", branch)
    configure(path)
    if commit:
        (path / "README.md").write_text("hello\n")
        git(path, "add", "README.md")
        git(path, "commit", "-q", "-m", "initial")
    return path


def configure(path: Path) -> None:
    git(path, "config", "user.name", "Test User")
    git(path, "config", "user.email", "test@example.com")
    git(path, "config", "commit.gpgsign", "false")


def commit_count(repo: Path) -> int:
    out = git(repo, "rev-list", "--count", "--all")
    return int(out or 0)


def head_count(repo: Path) -> int:
    if not git(repo, "rev-parse", "--verify", "-q", "HEAD", check=False):
        return 0
    return int(git(repo, "rev-list", "--count", "HEAD"))


def subject(repo: Path, rev: str = "HEAD") -> str:
    return git(repo, "log", "-1", "--format=%s", rev)


def trailers(repo: Path, rev: str = "HEAD") -> dict[str, list[str]]:
    """The commit's trailers as git itself parses them."""
    out = git(repo, "log", "-1", "--format=%(trailers:only,unfold)", rev)
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            found.setdefault(key, []).append(value)
    return found


def changed_paths(repo: Path, rev: str = "HEAD") -> list[str]:
    out = git(repo, "show", "--name-only", "--no-renames", "--format=", rev)
    return sorted(line for line in out.splitlines() if line)


def status(repo: Path) -> str:
    return git(repo, "status", "--porcelain", "--untracked-files=all")


def fsck(repo: Path) -> None:
    proc = subprocess.run(["git", "fsck", "--strict", "--no-progress"], cwd=str(repo), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def task_path(task_uuid: str, namespace: str = "tasks") -> str:
    return f".backlog/{namespace}/{task_uuid[:2]}/{task_uuid}.md"


def outside_files(root: Path) -> set[str]:
    """Every file under ``root`` except inside ``.git`` (to prove nothing was written elsewhere)."""
    result = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            result.add(os.path.relpath(os.path.join(dirpath, name), root))
    return result


def clean_env(**extra: str) -> dict[str, str]:
    """A subprocess environment without any store variable of the outer environment."""
    env = {k: v for k, v in os.environ.items() if k not in STORE_ENV_VARS}
    env.update(extra)
    return env


@pytest.fixture(autouse=True)
def _no_store_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process code (the CLI's ``main``) must not see the outer environment's store variables."""
    for name in STORE_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one commit (a README), on branch ``main``."""
    return init_repo(tmp_path / "repo")


@pytest.fixture
def open_backlog(repo: Path) -> Callable[..., Backlog]:
    """Open a new engine on ``repo`` (a new object = a restart), with an explicit environment."""
    from backlog_git.engine import Backlog

    def opener(path: Path | str | None = None, env: Mapping[str, str] | None = None, **kwargs: Any) -> Backlog:
        return Backlog.open(str(path or repo), env=dict(env or {}), **kwargs)

    return opener


@pytest.fixture
def backlog(open_backlog: Callable[..., Backlog]) -> Iterator[Backlog]:
    yield open_backlog()


# ---------------------------------------------------------------------------- MCP server test fixtures
@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def pool(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Servers on fresh repositories, each booted while the previous test runs."""
    from test_server_support import server_pool

    async with server_pool(tmp_path_factory.mktemp("pool")) as servers:
        yield servers


@pytest.fixture
async def srv(pool: Any) -> Any:
    """A fresh repository and a fresh server (started while the previous test ran)."""
    client = await pool.take()
    yield client
    assert client.done is not None
    client.done.set()
