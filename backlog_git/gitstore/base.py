"""The repository a ``GitStore`` stands on: finding or creating it (never over someone else's data), its
directories, its configuration and the identity its commits are made with.

Every other part of ``GitStore`` (the mixins of this package) builds on ``RepositoryBase``.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pygit2

from ..errors import RepositoryError

Oid = pygit2.Oid
"""A git object id; modules above this one name the type through here, never through pygit2."""
_MAX_REMEMBERED = 200_000
"""Ancestry answers, and written trees' blob ids, a process keeps before starting over."""


def _as_oid(value: pygit2.Oid | str) -> pygit2.Oid:
    return value if isinstance(value, pygit2.Oid) else pygit2.Oid(hex=value)


ORIGINAL_STORE_MARKERS = ("meta/manifest.json", "collections/tasks")


def _refuse_foreign_data(path: Path) -> None:
    """A directory that is neither a repository nor empty holds someone else's data: never ``git init``
    it implicitly (a TASKDATA directory of the original server above all)."""
    entries = sorted(p.name for p in path.iterdir())
    if not entries:
        return
    if all((path / marker).exists() for marker in ORIGINAL_STORE_MARKERS):
        raise RepositoryError(
            f"{path} holds a task store of the original backlog server (meta/manifest.json, collections/tasks/); "
            "backlog-git never writes into it. Import its tasks into a git repository with "
            f"`backlog-git migrate --from {shlex.quote(str(path))}` (run it inside that repository), then point "
            "TASKDATA/BACKLOG_REPO at the repository."
        )
    shown = ", ".join(entries[:5]) + (", …" if len(entries) > 5 else "")
    raise RepositoryError(
        f"{path} is not a git repository and is not empty (it holds {shown}); backlog-git only makes an empty "
        "directory its repository. Point TASKDATA at an empty or new directory, or run `git init` there yourself "
        "if it should hold the tasks."
    )


class RepositoryBase:
    """The opened repository, its directories and its configuration."""

    repo: pygit2.Repository
    workdir: Path
    """The working tree (resolved)."""
    gitdir: Path
    """This worktree's git directory (a linked worktree has its own; see ``common_dir``)."""

    @staticmethod
    def _open(start: Path, create: bool) -> pygit2.Repository:
        if create:
            start.mkdir(parents=True, exist_ok=True)
            if not (start / ".git").exists():
                _refuse_foreign_data(start)
                return pygit2.init_repository(str(start), bare=False, initial_head="main")
            return pygit2.Repository(str(start))
        if not start.exists():
            raise RepositoryError(f"{start} does not exist. Point --repo/BACKLOG_REPO at a git repository.")
        found = pygit2.discover_repository(str(start))
        if found is None:
            raise RepositoryError(
                f"No git repository at or above {start}. Create one with `git init` (or `backlog-git init`), "
                "or choose a store with --repo, BACKLOG_REPO, TASKDATA or TASKDATA_ROOT."
            )
        return pygit2.Repository(found)

    def get_config(self, key: str) -> str | None:
        try:
            return str(self.repo.config[key])
        except KeyError:
            return None

    def set_config(self, key: str, value: str) -> None:
        """Write to the repository's own config (.git/config; shared by linked worktrees)."""
        local = pygit2.Config(str(Path(self.common_dir) / "config"))
        local[key] = value

    @property
    def common_dir(self) -> str:
        """The git directory shared by all worktrees (where config and refs live)."""
        commondir = self.gitdir / "commondir"
        if commondir.exists():
            return str((self.gitdir / commondir.read_text().strip()).resolve())
        return str(self.gitdir)

    def signature(self) -> pygit2.Signature:
        try:
            return self.repo.default_signature
        except (KeyError, pygit2.GitError):
            return pygit2.Signature("backlog-git", "backlog-git@localhost")

    def user_identity(self) -> str:
        """The git user (``user.name <user.email>``), as a person's own commits name them."""
        name, email = self.get_config("user.name"), self.get_config("user.email")
        if name and email:
            return f"{name} <{email}>"
        return name or email or self.signature().name
