"""``backlog-git merge-driver %O %A %B %P``: what git runs for files under ``.backlog/``.

Writes the merged file into %A and exits 0, so no merge ever leaves conflict markers in a task.
Task files merge field by field (:mod:`backlog_git.merge`), the id counter by maximum; any other
file under ``.backlog/`` gets git's own line merge. Exits 1 (git then reports a conflict) only
when neither side of a task file parses.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

COUNTER_NAME = "next-id"


def merge_counter(*values: bytes | None) -> bytes:
    """The id counter merges by maximum: ids handed out anywhere are never handed out again."""
    numbers = []
    for value in values:
        try:
            numbers.append(int((value or b"0").decode().strip() or "0"))
        except ValueError:
            continue
    return f"{max(numbers, default=1)}\n".encode()


def main(base: str, ours: str, theirs: str, path: str) -> int:
    base_data, ours_data, theirs_data = (Path(p).read_bytes() for p in (base, ours, theirs))
    if path.endswith("/" + COUNTER_NAME):
        Path(ours).write_bytes(merge_counter(ours_data, theirs_data))
        return 0
    if not path.endswith(".md"):
        labels = ["-L", "ours", "-L", "base", "-L", "theirs"]
        proc = subprocess.run(["git", "merge-file", *labels, "--", ours, base, theirs], check=False)
        return 0 if proc.returncode == 0 else 1
    from .merge import merge_task_bytes

    result = merge_task_bytes(base_data or None, ours_data, theirs_data, path=path)
    Path(ours).write_bytes(result.data)
    if result.failed:
        print(f"backlog-git merge-driver: {path}: neither side parses; " + "; ".join(result.errors), file=sys.stderr)
        return 1
    return 0
