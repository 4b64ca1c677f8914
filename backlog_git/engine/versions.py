"""Version checks: a mutation that names the version it read is refused, writing nothing, when the
task changed since; the refusal says which fields changed, by whom and when."""

from __future__ import annotations

from datetime import datetime

from ..errors import InvalidInput, WrongState
from ..layout import file_name
from ..view import version_of
from . import messages
from .fields import field_changes
from .state import StoreState
from .transaction import Build, Change


def guarded(state: StoreState, ref: str, expected: str | None, build: Build) -> Build:
    """``build``, run only if the task ``ref`` is still at version ``expected`` (None: no check)."""
    if expected is None or not str(expected).strip():
        return build
    wanted = str(expected).strip().lower()
    if not all(c in "0123456789abcdef" for c in wanted) or len(wanted) < 4:
        raise InvalidInput(f"expected_version {expected!r} is not a version: use the `version` of a task as read.")

    def checked(change: Change, now: datetime) -> str:
        entry = state.editable(ref)
        current = version_of(entry.raw)
        if not current.startswith(wanted[: len(current)]):
            raise WrongState(_changed_since(state, entry.path, entry.task.id, wanted, current))
        return build(change, now)

    return checked


def _changed_since(state: StoreState, path: str, task_id: int, wanted: str, current: str) -> str:
    """What happened to the task since version ``wanted``: fields, writers, times (newest first)."""
    git = state.git
    fields: dict[str, None] = {}
    who: list[str] = []
    commits = [commit for commit, _paths in state.commits_touching(file_name(path), path.__eq__)]
    # The commits that wrote the version the caller read; what changed since is every other commit
    # touching the task that is not already behind one of them (time order alone cannot tell, within a second).
    seen = [c.sha for c in commits if str(git.blob_id_at(git.resolve_rev(c.sha), path)).startswith(wanted)]  # type: ignore[arg-type]
    for commit in commits:
        if commit.sha in seen or any(git.is_ancestor(commit.sha, s) for s in seen):
            continue
        for _changed, old, new in git.path_changes(commit.sha, [path]):
            for name in field_changes(old, new):
                if name != "modified":
                    fields.setdefault(name)
        writer = commit.trailer(messages.AGENT) or "(git)"
        who.append(f"{writer} at {commit.time:%Y-%m-%d %H:%M:%S} UTC")
    changed = ", ".join(fields) or "its file (edited by hand, not yet committed)"
    by = "; ".join(who[:5]) or "a hand edit"
    return (
        f"Task {task_id} changed since version {wanted} (now {current}): {changed} changed, by {by}. "
        "Nothing was written. Read the task again and retry with its new version."
    )
