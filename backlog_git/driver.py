"""``backlog-git merge-driver %O %A %B %P``: what git runs for files under ``.backlog/``.

Writes the merged file into %A and exits 0, so no merge ever leaves conflict markers in a task.
Task files merge field by field (:mod:`backlog_git.merge`), the id counter by maximum; any other
file under ``.backlog/`` gets git's own line merge. Exits 1 (git then reports a conflict) only
when neither side of a task file parses.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .layout import is_counter, is_task_file
from .merge import merge_counter, merge_task_bytes


def main(base: str, ours: str, theirs: str, path: str) -> int:
    base_data, ours_data, theirs_data = (Path(p).read_bytes() for p in (base, ours, theirs))
    if is_counter(path):
        Path(ours).write_bytes(merge_counter(ours_data, theirs_data))
        return 0
    if not is_task_file(path):
        from .gitstore import merge_text_file  # only non-task files need git (and pygit2's import)

        return 0 if merge_text_file(ours, base, theirs) else 1
    result = merge_task_bytes(base_data or None, ours_data, theirs_data, path=path)
    Path(ours).write_bytes(result.data)
    if result.failed:
        print(f"backlog-git merge-driver: {path}: neither side parses; " + "; ".join(result.errors), file=sys.stderr)
        return 1
    return 0
