"""Background housekeeping: libgit2 writes loose objects and never packs them, so after a write this
process may start ``git gc --auto`` detached, and after it a commit-graph layer with changed-path
filters (a task's ``git log -- PATH`` then skips the commits that did not touch it)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .base import RepositoryBase

GC_LOOSE_OBJECTS = 6700
"""git's own ``gc.auto`` default: past this many loose objects, ``git gc --auto`` packs them."""
GC_COMMAND = [
    # Packing only: no ref packing and no reflog expiry, which would lock refs writers move.
    "git", "-c", "gc.autoDetach=false", "-c", "gc.packRefs=false", "-c", "gc.reflogExpire=never",
    "-c", "gc.reflogExpireUnreachable=never", "gc", "--auto", "--quiet",
]
GRAPH_COMMAND = [
    # A task's history is `git log -- <its file>`, a walk of the whole log: changed-path Bloom filters in
    # the commit-graph let git skip the commits that did not touch the file (10x at 100,000 commits).
    # Split layers: each run adds the new commits only.
    "git", "commit-graph", "write", "--reachable", "--changed-paths", "--split", "--no-progress",
]


class HousekeepingMixin(RepositoryBase):
    """At most one background gc (then commit-graph) process of this process's own at a time."""

    _gc: subprocess.Popen[bytes] | None
    """The housekeeping process this process started, while it may still run."""
    _graph_due: bool
    """After a gc this process started, a commit-graph layer with changed-path filters follows."""

    def pack_in_background(self) -> None:
        """libgit2 writes loose objects and never packs them; a busy store would grow ``.git`` by tens of
        KB per operation until a user's git met a long automatic gc. When the sample directory git itself
        looks at holds more loose objects than ``gc.auto`` allows, start ``git gc --auto`` detached (and
        after it a commit-graph layer): it never blocks a call, git's own ``gc.pid`` lock keeps two from
        running at once, and this process never has two of its own running."""
        if self._gc is not None:
            if self._gc.poll() is None:
                return
            self._gc = None
            if self._graph_due:
                self._graph_due = False
                self._gc = self._background(GRAPH_COMMAND)
                return
        try:
            limit = int(self.get_config("gc.auto") or GC_LOOSE_OBJECTS)  # the user's setting; 0 turns it off
        except ValueError:
            limit = GC_LOOSE_OBJECTS
        sample = Path(self.common_dir) / "objects" / "17"
        try:
            loose = len(os.listdir(sample))
        except FileNotFoundError:
            return
        if limit <= 0 or loose <= -(-limit // 256):  # git's own estimate: more than ceil(limit / 256) there
            return
        self._gc = self._background(GC_COMMAND)
        self._graph_due = True

    def _background(self, command: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            command, cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )
