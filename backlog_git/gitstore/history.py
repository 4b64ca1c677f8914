"""Reading history: single commits, log walks (whole, ranges, between sets of revisions), what one
commit changed. A path's history is ``pathindex``'s."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from typing import cast

import pygit2
from pygit2.enums import SortMode

from .base import _as_oid
from .commits import CommitInfo, _commit_info
from .refs import RefsMixin
from .trees import TreesMixin


class HistoryMixin(RefsMixin, TreesMixin):
    """Commits and logs."""

    def commit(self, sha: str) -> CommitInfo:
        return _commit_info(self.repo[sha].peel(pygit2.Commit))

    def log(self, ref: str) -> Iterator[CommitInfo]:
        """Every commit reachable from ``ref``, newest first (merged side branches included)."""
        oid = self.tip(ref)
        if oid is None:
            return
        # Newest commit time first, found by following parents: a caller that stops after a few
        # commits reads only those (libgit2's TIME-sorted walk reads the whole history before its
        # first commit: 100 ms at 100,000 commits). Commits of one second come out in any order:
        # callers that need the order within a second (undo) collect that second and order it by
        # parent links.
        first = cast(pygit2.Commit, self.repo[oid])
        queue = [(-first.commit_time, 0, first)]
        seen = {oid}
        while queue:
            _time, _n, commit = heapq.heappop(queue)
            yield _commit_info(commit)
            for parent_id in commit.parent_ids:
                if parent_id not in seen:
                    seen.add(parent_id)
                    parent = cast(pygit2.Commit, self.repo[parent_id])
                    heapq.heappush(queue, (-parent.commit_time, len(seen), parent))

    def log_range(self, ref: str, exclude: pygit2.Oid | None) -> Iterator[CommitInfo]:
        """Commits reachable from ``ref`` but not from ``exclude`` (``git log EXCLUDE..REF``)."""
        oid = self.tip(ref)
        if oid is None:
            return
        walker = self.repo.walk(oid, SortMode.TIME)
        if exclude is not None:
            walker.hide(exclude)
        for commit in walker:
            yield _commit_info(commit)

    def log_between(self, refs: list[str], exclude: list[str]) -> Iterator[CommitInfo]:
        """Commits reachable from any of ``refs`` and from none of ``exclude`` (revisions or shas that
        do not resolve are ignored), newest first."""
        tips = [oid for oid in (self.resolve_rev(r) for r in refs) if oid is not None]
        if not tips:
            return
        walker = self.repo.walk(tips[0], SortMode.TIME)
        for tip in tips[1:]:
            walker.push(tip)
        for rev in exclude:
            oid = self.resolve_rev(rev)
            if oid is not None:
                walker.hide(oid)
        for commit in walker:
            yield _commit_info(commit)

    def changed_paths(
        self, sha: str, prefix: str, only: Callable[[str], bool] | None = None
    ) -> list[tuple[str, bytes | None, bytes | None]]:
        """Paths under ``prefix`` that the commit changed against its first parent: (path, old, new);
        with ``only``, just the paths it accepts (their blobs alone are read: an import touches thousands)."""
        commit = self.repo[sha].peel(pygit2.Commit)
        parent = commit.parent_ids[0] if commit.parent_ids else None
        changes = [c for c in self.tree_diff(parent, commit.id, prefix) if only is None or only(c[0])]
        return sorted((path, self.blob(old), self.blob(new)) for path, old, new in changes)

    def path_changes(self, sha: str, paths: Iterable[str]) -> list[tuple[str, bytes | None, bytes | None]]:
        """What the commit did to each of ``paths`` against its first parent, (path, old, new), for those
        it changed: a few tree lookups per path, where ``changed_paths`` diffs whole trees."""
        commit = self.repo[sha].peel(pygit2.Commit)
        parent = commit.parent_ids[0] if commit.parent_ids else None
        changes = []
        for path in sorted(set(paths)):
            old = self.blob_id_at(parent, path) if parent is not None else None
            new = self.blob_id_at(commit.id, path)
            if old != new:
                changes.append((path, self.blob(old), self.blob(new)))
        return changes

    def commits_between(self, base: str | None, head: str) -> list[tuple[CommitInfo, str]]:
        """Commits reachable from ``head`` but not from ``base`` (``git log BASE..HEAD``), newest
        first (children before parents), each with its author's name."""
        walker = self.repo.walk(_as_oid(head), SortMode.TOPOLOGICAL | SortMode.TIME)
        if base is not None:
            walker.hide(_as_oid(base))
        return [(_commit_info(c), c.author.name or c.author.email) for c in walker]

