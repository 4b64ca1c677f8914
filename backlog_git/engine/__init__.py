"""The engine: one API (:class:`Backlog`) over small modules, one concern each.

``state`` (view, index, lock, id resolver) · ``transaction`` (the write path) · ``messages`` (commit
messages and trailer names) · ``validate`` (field values) · ``adding`` / ``editing`` / ``recurrence``
(builders of new file contents) · ``archive`` · ``history`` · ``undo`` · ``sync`` (agent branches,
renumbering, remotes, resolve) · ``reads`` · ``setup`` (init/install).
"""

from .facade import Backlog
from .transaction import Outcome

__all__ = ["Backlog", "Outcome"]
