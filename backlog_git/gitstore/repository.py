"""``GitStore``: the one object the layers above hold for everything git.

Its parts live in this package's modules, one concern each: ``base`` (opening the repository, config),
``refs``, ``trees``, ``ancestry``, ``history``, ``writing`` (object-level commits), ``housekeeping``
(background gc) and ``remotes`` (the git CLI). This module adds the checked-out branch: the writers'
lock and the journaled writes of ``checkout``.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path

import pygit2

from ..errors import RepositoryError
from ..layout import write_lock_path
from .checkout import CheckoutWriter
from .history import HistoryMixin
from .remotes import RemotesMixin
from .writing import WritingMixin, _object_dirs_may_vanish


class GitStore(WritingMixin, HistoryMixin, RemotesMixin):
    """A repository with a working tree, seen through the operations the store needs."""

    _lock_depth: int
    """How deeply this GitStore holds the writers' lock (it is re-entrant)."""

    def __init__(self, start: Path, *, create: bool = False) -> None:
        self.repo = self._open(start, create)
        if self.repo.workdir is None:
            raise RepositoryError(
                f"{start} is a bare repository; backlog-git needs a working tree. "
                "Clone it (`git clone`) and run backlog-git in the clone."
            )
        self.workdir = Path(self.repo.workdir).resolve()
        self.gitdir = Path(self.repo.path)
        # The caches and state of the mixins (each documents its own).
        self._oids = {}
        self._ancestry = {}
        self._written = {}
        self._trees = {}
        self._root_trees = {}
        self._lock_depth = 0
        self._gc = None
        self._graph_due = False
        self._packed_refs = None

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Serialise this repository's backlog writers (other processes too); waiting, never failing
        (a killed holder's ``flock`` is released by the kernel). Re-entrant within one GitStore.
        Whoever takes it first repairs what a killed writer left half done."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        with open(write_lock_path(self.gitdir), "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            self._lock_depth = 1
            try:
                self.checkout.recover()
                yield
            finally:
                self._lock_depth = 0
                fcntl.flock(handle, fcntl.LOCK_UN)

    def repair_if_needed(self) -> None:
        """For readers: if a killed writer left a journal, repair it (under the writer lock) first."""
        if not self._lock_depth and self.checkout.has_journal():
            with self.writer_lock():
                pass

    def recover(self) -> bool:
        """Repair what a killed writer left half done; the caller holds the writer lock."""
        return self.checkout.recover()

    @functools.cached_property
    def checkout(self) -> CheckoutWriter:
        return CheckoutWriter(self)

    @_object_dirs_may_vanish
    def commit_worktree_files(
        self, files: Mapping[str, bytes | None], message: str, *, ref: str | None = None
    ) -> str:
        """Write files (None = delete) to the working tree and commit exactly them on the branch.

        The commit's tree is the branch tip's tree with only these paths changed; the index entries
        of these paths are updated so ``git status`` stays clean for them; everything else in the
        index and the working tree is untouched. The write is journaled (see ``checkout``).
        """
        ref = ref or self.check_writable()
        sha = self.checkout.write(ref, files, lambda tip: self._commit_on(tip, files, message, []))
        self.pack_in_background()
        return sha

    @_object_dirs_may_vanish
    def merge_into_branch(
        self, ref: str, others: list[pygit2.Oid], files: Mapping[str, bytes | None], message: str
    ) -> str:
        """A merge commit on the checked-out branch with ``others`` as extra parents and ``files``
        written to the tree, the working tree and the index (only those paths)."""
        return self.checkout.write(ref, files, lambda tip: self._commit_on(tip, files, message, others))

    def stage_resolved(self, files: Mapping[str, bytes | None]) -> None:
        """Write resolved contents and mark them resolved in the index."""
        self.checkout.stage(files, resolve_conflicts=True)
