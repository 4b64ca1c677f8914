"""The shared test helpers' own promises (``tests/support/``)."""

from __future__ import annotations

import re
from pathlib import Path

from support import STORE_ENV_VARS, clean_env

import backlog_git

PACKAGE = Path(backlog_git.__file__).parent
READ_FROM_ENV = re.compile(r"""\benv(?:iron)?(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]*)["']""")
"""``env.get("NAME"`` / ``environ.get("NAME"`` / ``env["NAME"]``: a variable the code reads."""


def _variables_read(path: Path) -> set[str]:
    return set(READ_FROM_ENV.findall(path.read_text(encoding="utf-8")))


def test_store_env_vars_name_every_variable_the_package_reads_about_the_store() -> None:
    """One list keeps the outer environment out of every test; a variable the package starts to read must join it
    (the benchmark's own settings aside)."""
    read = set()
    for path in PACKAGE.rglob("*.py"):
        if not path.name.startswith("bench"):
            read |= _variables_read(path)
    store = {name for name in read if name.startswith(("BACKLOG_", "TASKDATA", "CLAUDE_"))}
    assert store, "the pattern finds the variables the package reads"
    assert store <= set(STORE_ENV_VARS), f"add to tests/support/env.py: {sorted(store - set(STORE_ENV_VARS))}"


def test_clean_env_leaves_out_the_store_and_git_settings() -> None:
    env = clean_env(EXTRA="1")
    assert not set(STORE_ENV_VARS) & set(env)
    assert not [name for name in env if name.startswith("GIT_") and name not in
                ("GIT_TERMINAL_PROMPT", "GIT_EDITOR", "GIT_MERGE_AUTOEDIT")]
    assert env["EXTRA"] == "1"
