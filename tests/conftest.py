"""Shared fixtures (the helpers are in ``tests/support/``): real git repositories in ``tmp_path``, observed
through the ``git`` CLI.

No mocks: every test works on a repository made with ``git init`` and checks what landed with
``git log`` / ``git show`` / ``git status``. ``Backlog.open`` is always given an explicit ``env``
so the outer environment (BACKLOG_*, TASKDATA*) never leaks into a test.
"""

from __future__ import annotations

import compileall
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from support import STORE_ENV_VARS, init_repo

if TYPE_CHECKING:
    from backlog_git.engine import Backlog


def pytest_configure(config: pytest.Config) -> None:
    """Write the package's bytecode once, before the workers start. The suite starts thousands of
    ``backlog-git`` processes (the CLI, servers, git's merge driver); where ``PYTHONDONTWRITEBYTECODE``
    is set (as on CI) each would otherwise compile the package's ~100 modules from source (~0.13 s)."""
    if not hasattr(config, "workerinput"):
        import backlog_git

        compileall.compile_dir(str(Path(backlog_git.__file__).parent), quiet=1)


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
    from support.server import server_pool

    async with server_pool(tmp_path_factory.mktemp("pool")) as servers:
        yield servers


@pytest.fixture
async def srv(pool: Any) -> Any:
    """A fresh repository and a fresh server (started while the previous test ran)."""
    client = await pool.take()
    yield client
    assert client.done is not None
    client.done.set()
