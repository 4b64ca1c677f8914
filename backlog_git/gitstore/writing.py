"""Writing commits at the object level: blobs and only the trees on the changed paths, commits on a ref
moved by compare-and-swap (retried while other writers move it), an agent branch's merge and operation
commits; and the retry of a whole write when a background gc removed an object directory under libgit2.
"""

from __future__ import annotations

import errno
import functools
import time
from collections.abc import Callable, Mapping
from typing import ParamSpec, TypeVar, cast

import pygit2
from pygit2.enums import FileMode

from ..errors import RepositoryError
from .ancestry import AncestryMixin
from .base import _MAX_REMEMBERED
from .housekeeping import HousekeepingMixin
from .refs import _CAS_ATTEMPTS, RefsMixin
from .trees import TreesMixin

OBJECT_WRITE_ATTEMPTS = 3
P = ParamSpec("P")
R = TypeVar("R")


def _object_dirs_may_vanish(write: Callable[P, R]) -> Callable[P, R]:
    """A background gc's ``prune-packed`` removes empty ``objects/xx`` directories; libgit2, unlike git,
    does not retry when the one it just made for a new object vanishes before the rename ("failed to
    rename lockfile ... No such file or directory"). Every write here is all-or-nothing (objects, then a
    compare-and-swap of the ref; the checkout journal rolls back), so doing it again is safe."""

    @functools.wraps(write)
    def retried(*args: P.args, **kwargs: P.kwargs) -> R:
        for _attempt in range(OBJECT_WRITE_ATTEMPTS - 1):
            try:
                return write(*args, **kwargs)
            except OSError as error:
                if error.errno not in (None, errno.ENOENT) or "No such file or directory" not in str(error):
                    raise
        return write(*args, **kwargs)

    return retried


class WritingMixin(RefsMixin, AncestryMixin, TreesMixin, HousekeepingMixin):
    """Commits at the object level (no index, no working tree)."""

    _oids: dict[bytes, pygit2.Oid]
    """Blob ids by contents (merged contents repeat from one commit to the next)."""
    _written: dict[str, tuple[pygit2.Oid, dict[str, bytes | None]]]
    """Per agent branch: the tip this process committed and the contents it wrote there by path."""

    @_object_dirs_may_vanish
    def commit_files(self, ref: str, files: Mapping[str, bytes | None], message: str) -> str:
        """Commit the files onto ``ref`` at the object level only; compare-and-swap the ref, retrying."""
        for attempt in range(_CAS_ATTEMPTS):
            tip = self.tip(ref)
            new = self._commit_on(tip, files, message, [])
            if self.swap_ref(ref, tip, new):
                return str(new)
            time.sleep(min(0.002 * (attempt + 1), 0.05))
        raise RepositoryError(f"Could not update {ref}: it kept moving under us. Retry the operation.")

    def _commit_on(
        self, tip: pygit2.Oid | None, files: Mapping[str, bytes | None], message: str, others: list[pygit2.Oid]
    ) -> pygit2.Oid:
        base_tree = self.repo[tip].peel(pygit2.Tree) if tip is not None else None
        tree = self._updated_tree(base_tree, self._changed_blobs(base_tree, files))
        parents = ([tip] if tip is not None else []) + list(others)
        signature = self.signature()
        return self.repo.create_commit(None, signature, signature, message, tree, parents)

    def matches_checked_out(self, path: str, data: bytes) -> bool:
        """Whether ``data`` is what the checked-out branch's tip holds at ``path``."""
        head = self.head_oid()
        return head is not None and self.blob_id_at(head, path) == pygit2.hash(data)

    @_object_dirs_may_vanish
    def commit_on_agent_branch(
        self,
        ref: str,
        view_files: Mapping[str, bytes | None],
        op_files: Mapping[str, bytes | None],
        message: str,
        seen: list[pygit2.Oid],
        merge_message: str,
    ) -> str:
        """Commit an operation at the object level on an agent branch (no index, no working tree).

        When the writer saw other agents' branches (or a checked-out tip its branch lacks), the
        operation's parent is first a merge commit of all of them whose tree is the merged view
        (``view_files``: the merged contents of every store path they changed). The operation's
        own commit then changes only ``op_files``, against exactly what the writer saw, so every
        later merge finds the true common ancestor of each change.
        """
        signature = self.signature()
        for attempt in range(_CAS_ATTEMPTS):
            tip = self.tip(ref)
            head = self.head_oid()
            parents = self._merge_parents(tip, head, seen)
            existing = [c for c in (head, tip, *seen) if c is not None]
            # Start from the writer's previous tree unless the checked-out branch moved on (its tree
            # then brings the user's code).
            start = head if head is not None and head in parents[1:] else (parents[0] if parents else None)
            base_tree = self.repo[start].peel(pygit2.Tree) if start is not None else None
            last = self._written.get(ref)
            known = last[1] if last is not None and start is not None and start == last[0] else None
            if len(parents) > 1:
                merge_tree = self._updated_tree(base_tree, self._changed_blobs(base_tree, view_files, known))
                parent = self.repo.create_commit(None, signature, signature, merge_message, merge_tree, parents)
                self._remember_new(parent, existing)
                base_tree = cast(pygit2.Tree, self.repo[merge_tree])
            else:
                parent = parents[0] if parents else None  # type: ignore[assignment]  # no parent: a root commit
            tree = self._updated_tree(base_tree, self._changed_blobs(base_tree, op_files))
            new = self.repo.create_commit(None, signature, signature, message, tree, [parent] if parent else [])
            self._remember_new(new, existing)
            if self.swap_ref(ref, tip, new):
                written = known if known is not None and len(known) <= _MAX_REMEMBERED else {}
                if len(parents) > 1:
                    written.update(view_files)
                written.update(op_files)
                self._written[ref] = (new, written)
                self.pack_in_background()
                return str(new)
            time.sleep(min(0.002 * (attempt + 1), 0.05))
        raise RepositoryError(f"Could not update {ref}: it kept moving under us. Retry the operation.")

    def _merge_parents(
        self, tip: pygit2.Oid | None, head: pygit2.Oid | None, seen: list[pygit2.Oid]
    ) -> list[pygit2.Oid]:
        """First parent: the writer's previous operation (or the checked-out tip once that is
        merged); then the checked-out tip if it moved on, and the other agents' tips it saw —
        skipping those its previous commit already had as parents (graph walks are costly)."""
        own_unmerged = tip is not None and tip != head and not self.is_ancestor(tip, head)
        first = tip if own_unmerged else head
        if first is None:
            return []
        parents = [first]
        known = set(self.parents_of(first))
        if own_unmerged and head is not None and head not in known and not self.is_ancestor(head, first):
            parents.append(head)
        for other in seen:
            if other not in parents and other not in known and other != tip:
                parents.append(other)
        return parents

    def _changed_blobs(
        self,
        tree: pygit2.Tree | None,
        files: Mapping[str, bytes | None],
        written: Mapping[str, bytes | None] | None = None,
    ) -> dict[str, pygit2.Oid | None]:
        """Blob ids of the files that differ from ``tree`` (hashing is cheaper than writing). ``written``:
        contents ``tree`` is known to hold (this process wrote them), so a path whose contents are still
        the very same object is skipped without a look into the tree: the merged view a writer commits
        holds every path unmerged agents changed, and only the few the last operations touched differ."""
        changed: dict[str, pygit2.Oid | None] = {}
        for path, data in files.items():
            if written and path in written and written[path] is data:
                continue
            try:
                existing = tree[path].id if tree is not None else None
            except KeyError:
                existing = None
            if data is None:
                if existing is not None:
                    changed[path] = None
                continue
            oid = self._oids.get(data)  # merged contents repeat from one commit to the next
            if oid is None:
                if len(self._oids) > 50_000:
                    self._oids.clear()
                oid = self._oids[data] = pygit2.hash(data)
            if existing is None or existing != oid:
                changed[path] = self.repo.create_blob(data)
        return changed

    def _updated_tree(self, base: pygit2.Tree | None, blobs: Mapping[str, pygit2.Oid | None]) -> pygit2.Oid:
        changes: dict[tuple[str, ...], pygit2.Oid | None] = {tuple(p.split("/")): oid for p, oid in blobs.items()}
        result = self._update_subtree(base, changes)
        if result is None:
            return self.repo.TreeBuilder().write()
        return result

    def _update_subtree(
        self, tree: pygit2.Tree | None, changes: Mapping[tuple[str, ...], pygit2.Oid | None]
    ) -> pygit2.Oid | None:
        """Rewrite only the trees along the changed paths (cheap at 10,000+ files when sharded)."""
        builder = self.repo.TreeBuilder(tree) if tree is not None else self.repo.TreeBuilder()
        nested: dict[str, dict[tuple[str, ...], pygit2.Oid | None]] = {}
        changed = False
        for parts, oid in changes.items():
            if len(parts) == 1:
                existing = builder.get(parts[0])
                if oid is None:
                    if existing is not None:
                        builder.remove(parts[0])
                        changed = True
                elif existing is None or existing.id != oid:
                    builder.insert(parts[0], oid, FileMode.BLOB)
                    changed = True
            else:
                nested.setdefault(parts[0], {})[parts[1:]] = oid
        for name, sub_changes in nested.items():
            entry = tree[name] if tree is not None and name in tree else None
            subtree = cast(pygit2.Tree, self.repo[entry.id]) if entry is not None and entry.type_str == "tree" else None
            new_sub = self._update_subtree(subtree, sub_changes)
            if new_sub is None:
                if builder.get(name) is not None:
                    builder.remove(name)
                    changed = True
            elif entry is None or entry.id != new_sub:
                builder.insert(name, new_sub, FileMode.TREE)
                changed = True
        if len(builder) == 0:
            return None
        if not changed and tree is not None:
            return tree.id  # untouched subtrees are not rewritten
        return builder.write()
