"""Which commit descends from which: parents, merge bases, ancestry answers remembered (commits never
change) or derived from the parents' known answers, and the first-parent steps of one writer."""

from __future__ import annotations

import pygit2

from .base import _MAX_REMEMBERED, RepositoryBase, _as_oid


class AncestryMixin(RepositoryBase):
    """Ancestry questions, answered once."""

    _ancestry: dict[tuple[pygit2.Oid, pygit2.Oid], bool]
    """(ancestor, descendant) → answer. Commits never change, so an answer holds forever."""

    def parents_of(self, oid: pygit2.Oid) -> tuple[pygit2.Oid, ...]:
        return tuple(self.repo[oid].peel(pygit2.Commit).parent_ids)

    def merge_base(self, a: pygit2.Oid | None, b: pygit2.Oid) -> pygit2.Oid | None:
        if a is None:
            return None
        return self.repo.merge_base(a, b)

    def is_ancestor(self, ancestor: pygit2.Oid | str, descendant: pygit2.Oid | str | None) -> bool:
        """Whether ``ancestor`` is ``descendant`` or one of its ancestors.

        libgit2 answers by walking both histories down to their merge base: the longer the unmerged
        history of agent branches, the longer the walk. So answers are remembered (commits never change),
        and a question about a commit whose parents' answers are known is answered from them, as are the
        facts a writer knows when it creates a commit (``_remember_new``): a writer's questions about its
        own new tips then cost no walk."""
        if descendant is None:
            return False
        a, d = _as_oid(ancestor), _as_oid(descendant)
        if a == d:
            return True
        known = self._ancestry.get((a, d))
        if known is None:
            known = self._ancestry_from_parents(a, d)
            if known is None:
                known = self.repo.descendant_of(d, a)
            self._remember_ancestry(a, d, known)
        return known

    def _ancestry_from_parents(self, a: pygit2.Oid, d: pygit2.Oid) -> bool | None:
        """``a`` is an ancestor of ``d`` if it is a parent or an ancestor of one, and is not if no parent
        is and none has it as an ancestor; None when a parent's answer is not known."""
        parents = self.parents_of(d)
        if a in parents or any(self._ancestry.get((a, parent)) for parent in parents):
            return True
        if all(self._ancestry.get((a, parent)) is False for parent in parents):
            return False  # (a root commit has no ancestor at all)
        return None

    def _remember_ancestry(self, a: pygit2.Oid, d: pygit2.Oid, answer: bool) -> None:
        if len(self._ancestry) > _MAX_REMEMBERED:
            self._ancestry.clear()
        self._ancestry[(a, d)] = answer

    def _remember_new(self, commit: pygit2.Oid, existing: list[pygit2.Oid]) -> None:
        """What creating ``commit`` tells about commits that already existed: none of them has it as an
        ancestor, and whether each is its ancestor follows from its parents' known answers."""
        for other in existing:
            self._remember_ancestry(commit, other, False)
            derived = self._ancestry_from_parents(other, commit)
            if derived is not None:
                self._remember_ancestry(other, commit, derived)

    def own_steps(self, old: pygit2.Oid, tip: pygit2.Oid, limit: int = 4) -> list[tuple[pygit2.Oid, pygit2.Oid]] | None:
        """The single-parent commits from ``old`` to ``tip`` along first parents, oldest first, as
        (parent, commit) pairs; merge commits on the way are skipped (their content is other
        writers'). None when ``old`` is not within ``limit`` first-parent steps of ``tip``."""
        steps: list[tuple[pygit2.Oid, pygit2.Oid]] = []
        current = tip
        for _ in range(limit):
            parents = self.parents_of(current)
            if not parents:
                return None
            if len(parents) == 1:
                steps.append((parents[0], current))
            if parents[0] == old:
                return list(reversed(steps))
            current = parents[0]
        return None
