"""The errors the engine raises. Every one is a user error with a message that says what is
wrong and what to do; adapters show the message (CLI: stderr + exit 1; MCP: isError result)."""

from __future__ import annotations


class BacklogError(Exception):
    """Base class: an anticipated failure with a message meant for the user."""


class InvalidInput(BacklogError, ValueError):
    """A value the user gave is not acceptable (bad field value, bad date, bad JSON...)."""


class NotFound(BacklogError, LookupError):
    """No task (or doc, or archive segment) matches what the user named."""


class AmbiguousId(BacklogError, LookupError):
    """A uuid prefix matches more than one task."""


class WrongState(BacklogError):
    """The task exists but the operation does not apply to it in its current state."""


class NothingToUndo(BacklogError):
    """The writer has no operation left to undo."""


class UndoConflict(BacklogError):
    """A later change makes the undo impossible without losing it."""


class RepositoryError(BacklogError):
    """The repository cannot be used right now (no repo, detached HEAD, merge in progress...)."""


class BrokenTaskFile(BacklogError):
    """A task file that does not parse or validate blocks the operation on that task."""
