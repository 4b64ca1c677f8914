"""backlog-git: a git-native, persistent task store for AI coding agents and humans.

The package API: :class:`Backlog` (the engine), :class:`Outcome` (what a mutation did) and the error
types. ``Backlog`` and ``Outcome`` load on first use, so ``import backlog_git`` stays cheap for the
one-shot commands (the merge driver, hooks) that never need the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    AmbiguousId,
    BacklogError,
    BrokenTaskFile,
    InvalidInput,
    NotFound,
    NothingToUndo,
    RepositoryError,
    UndoConflict,
    WrongState,
)

if TYPE_CHECKING:
    from .engine import Backlog, Outcome

__version__ = "0.1.0"

__all__ = [
    "AmbiguousId",
    "Backlog",
    "BacklogError",
    "BrokenTaskFile",
    "InvalidInput",
    "NotFound",
    "NothingToUndo",
    "Outcome",
    "RepositoryError",
    "UndoConflict",
    "WrongState",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in ("Backlog", "Outcome"):
        from . import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'backlog_git' has no attribute {name!r}")
