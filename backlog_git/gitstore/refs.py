"""Refs and revisions: the checked-out branch and whether it may be written now, branch tips, the
compare-and-swap every writer moves a ref with, revision names read by libgit2 (never by a command),
and the refs under a prefix listed without listing every ref."""

from __future__ import annotations

import os
from pathlib import Path
from typing import cast

import pygit2
from pygit2.enums import RepositoryState

from ..errors import InvalidInput, RepositoryError
from .base import RepositoryBase

_STATE_NAMES = {
    RepositoryState.MERGE: ("a merge", "git merge --continue` or `git merge --abort"),
    RepositoryState.REVERT: ("a revert", "git revert --continue` or `git revert --abort"),
    RepositoryState.REVERT_SEQUENCE: ("a revert", "git revert --continue` or `git revert --abort"),
    RepositoryState.CHERRYPICK: ("a cherry-pick", "git cherry-pick --continue` or `git cherry-pick --abort"),
    RepositoryState.CHERRYPICK_SEQUENCE: (
        "a cherry-pick",
        "git cherry-pick --continue` or `git cherry-pick --abort",
    ),
    RepositoryState.BISECT: ("a bisect", "git bisect reset"),
    RepositoryState.REBASE: ("a rebase", "git rebase --continue` or `git rebase --abort"),
    RepositoryState.REBASE_INTERACTIVE: ("a rebase", "git rebase --continue` or `git rebase --abort"),
    RepositoryState.REBASE_MERGE: ("a rebase", "git rebase --continue` or `git rebase --abort"),
    RepositoryState.APPLY_MAILBOX: ("a `git am`", "git am --continue` or `git am --abort"),
    RepositoryState.APPLY_MAILBOX_OR_REBASE: ("a rebase", "git rebase --continue` or `git rebase --abort"),
}
_CAS_ATTEMPTS = 50
"""How often a writer rebuilds its commit on a ref that moved under it before giving up."""


class RefsMixin(RepositoryBase):
    """Reading, moving and listing refs; naming revisions."""

    _packed_refs: tuple[tuple[int, int, int, str], list[str]] | None
    """The last ``packed-refs`` read under a prefix: ((inode, size, mtime, prefix), the ref names)."""

    CAS_ATTEMPTS = _CAS_ATTEMPTS

    def branch_ref(self) -> str:
        """The checked-out branch (``refs/heads/...``), also when it has no commit yet."""
        if self.repo.head_is_detached:
            raise RepositoryError(
                "HEAD is detached, so there is no branch to record tasks on. "
                "Check out a branch first (`git switch <branch>` or `git switch -c <new-branch>`)."
            )
        target = self.repo.references["HEAD"].target
        return str(target)

    def check_writable(self) -> str:
        """Refuse to write in the middle of a merge/rebase or on a detached HEAD; return the branch."""
        state = RepositoryState(self.repo.state())
        if state != RepositoryState.NONE:
            what, fix = _STATE_NAMES.get(state, ("another git operation", "git status"))
            raise RepositoryError(
                f"The repository is in the middle of {what}; nothing was written. "
                f"Finish or abort it first (`{fix}`), then retry."
            )
        return self.branch_ref()

    def tip(self, ref: str) -> pygit2.Oid | None:
        try:
            return cast(pygit2.Oid, self.repo.references[ref].target)
        except KeyError:
            return None

    def head_tip(self) -> str | None:
        if self.repo.head_is_unborn:
            return None
        return str(self.repo.head.target)

    def head_oid(self) -> pygit2.Oid | None:
        return None if self.repo.head_is_unborn else cast(pygit2.Oid, self.repo.head.target)

    def swap_ref(self, ref: str, expected: pygit2.Oid | None, new: pygit2.Oid) -> bool:
        """Compare-and-swap ``ref`` from ``expected`` to ``new``; False when it moved (or is locked)."""
        subject = self.repo[new].peel(pygit2.Commit).message.split("\n", 1)[0]
        try:
            if expected is None:
                self.repo.references.create(ref, new)
            else:
                reference = self.repo.references[ref]
                if reference.target != expected:
                    return False
                reference.set_target(new, f"backlog-git: {subject}")
        except (pygit2.GitError, ValueError, OSError, KeyError):
            return False
        return True

    def set_ref(self, ref: str, target: str) -> bool:
        """Create ``ref`` at ``target`` unless it exists (compare-and-swap from absent)."""
        try:
            self.repo.references.create(ref, pygit2.Oid(hex=target))
        except (pygit2.AlreadyExistsError, pygit2.GitError, ValueError):
            return False
        return True

    def resolve_rev(self, rev: str) -> pygit2.Oid | None:
        """A revision (ref name, sha, ``HEAD~2``…) as a commit id; None when it names no commit. The text is
        read by libgit2's revision parser, never passed to a command."""
        try:
            return self.repo.revparse_single(rev).peel(pygit2.Commit).id
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            return None

    def resolve_revision(self, rev: str) -> str:
        """The commit a revision names (a branch, tag, ``origin/main``, ``HEAD~2``, a sha) as a sha.
        libgit2 reads it (no process, so user text never becomes an option); unknown → InvalidInput."""
        text = rev.strip()
        try:
            if not text or text.startswith("-"):
                raise KeyError(text)
            return str(self.repo.revparse_single(text).peel(pygit2.Commit).id)
        except (KeyError, ValueError, TypeError, pygit2.GitError):
            shown = text if len(text) <= 80 and text.isprintable() else repr(text[:80]) + "..."
            raise InvalidInput(
                f"Unknown revision '{shown}': name a branch, a tag, a remote branch (origin/main) or a commit."
            ) from None

    def branch_tips(self, prefix: str) -> dict[str, pygit2.Oid]:
        """Tips of the branches under ``refs/heads/<prefix>`` by their short name."""
        full = f"refs/heads/{prefix}"
        tips = {}
        for name in self._ref_names_under(full):
            if name.startswith(full):
                try:
                    tips[name[len(full) :]] = cast(pygit2.Oid, self.repo.references[name].resolve().target)
                except (KeyError, ValueError, pygit2.GitError):
                    continue
        return tips

    def _ref_names_under(self, prefix: str) -> list[str]:
        """Names of the refs under ``prefix``, without listing every ref: libgit2 can only list them all,
        and the store keeps one ref per request id and per published claim, so a listing of all refs
        would grow with every idempotent call. Loose refs are files under the git directory, packed
        ones lines of ``packed-refs``; another ref storage (reftable) falls back to the full listing."""
        if (self.get_config("extensions.refStorage") or "files").lower() != "files":
            return [name for name in self.repo.references if name.startswith(prefix)]
        root = Path(self.common_dir)
        names: set[str] = set()
        for directory, _dirs, files in os.walk(root / prefix.rstrip("/")):
            relative = Path(directory).relative_to(root).as_posix()
            names.update(f"{relative}/{name}" for name in files if not name.endswith(".lock"))
        names.update(self._packed_names_under(root / "packed-refs", prefix))
        return sorted(names)

    def _packed_names_under(self, packed: Path, prefix: str) -> list[str]:
        """The packed refs under ``prefix``, read again only when ``packed-refs`` was rewritten (git
        replaces it by rename, so its inode, size and mtime change): a host repository's can be large."""
        try:
            stat = packed.stat()
        except FileNotFoundError:
            return []
        key = (stat.st_ino, stat.st_size, stat.st_mtime_ns, prefix)
        cached = self._packed_refs
        if cached is not None and cached[0] == key:
            return cached[1]
        names = []
        with open(packed, "rb") as lines:
            for line in lines:
                fields = line.rstrip(b"\n").split(b" ", 1)
                if len(fields) == 2 and fields[1].startswith(prefix.encode()) and line[:1] not in (b"#", b"^"):
                    names.append(fields[1].decode("utf-8", "replace"))
        self._packed_refs = (key, names)
        return names
