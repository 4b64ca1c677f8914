"""Kept importable for the server tests that still import from here: every name is :mod:`support.server`'s
(one copy of each helper lives in ``tests/support/``). This module holds no tests."""

from __future__ import annotations

from support import git
from support import head_count as commit_count  # here it always meant the checked-out branch's commits
from support.server import (
    BACKLOG_CMD,
    SERVE,
    TOOL_NAMES,
    Client,
    ServerPool,
    base_env,
    make_repo,
    run_cli,
    serve,
    server_pool,
    task_file,
    text_of,
    today_utc,
)

__all__ = [
    "BACKLOG_CMD",
    "SERVE",
    "TOOL_NAMES",
    "Client",
    "ServerPool",
    "base_env",
    "commit_count",
    "git",
    "make_repo",
    "run_cli",
    "serve",
    "server_pool",
    "task_file",
    "text_of",
    "today_utc",
]
