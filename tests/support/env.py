"""The environment a test runs in: no store setting of the outer environment ever reaches the code under test."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The checkout the tests run from (README, plugin, Dockerfile)."""
ORIGINAL_FIXTURE = Path(
    os.environ.get("BACKLOG_ORIGINAL_FIXTURE", "") or REPO_ROOT.parent / "shared" / "fixtures" / "original-store-2.4.3"
)
"""The store written by the real original server: ``BACKLOG_ORIGINAL_FIXTURE``, else ``shared/`` beside the checkout."""

STORE_ENV_VARS = (
    "BACKLOG_REPO",
    "BACKLOG_NAMESPACE",
    "BACKLOG_AUTO_NAMESPACE",
    "BACKLOG_AGENT_ID",
    "BACKLOG_REMOTE",
    "TASKDATA",
    "TASKDATA_ROOT",
    "CLAUDE_PROJECT_DIR",
)
"""Every environment variable the package reads to find or shape the store (``test_support.py`` checks the
package's source for others). The autouse fixture clears them in-process; ``clean_env`` leaves them out of a
subprocess's environment."""


def clean_env(**extra: str) -> dict[str, str]:
    """The process environment without the store's variables and git's (plus ``extra``); git never asks for
    input, and this installation's scripts come first on ``PATH``."""
    env = {k: v for k, v in os.environ.items() if k not in STORE_ENV_VARS and not k.startswith("GIT_")}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_EDITOR"] = "true"
    env["GIT_MERGE_AUTOEDIT"] = "no"
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env
