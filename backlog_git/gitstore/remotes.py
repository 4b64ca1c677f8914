"""Remotes and the git CLI that talks to them: sync's fetch, merge and push run as ``git`` processes (so
the user's credentials and merge drivers work), only ever with the name of a configured remote; the
conflicts such a merge leaves in the index are read here."""

from __future__ import annotations

import subprocess
from typing import cast

import pygit2

from ..errors import InvalidInput, RepositoryError
from .refs import RefsMixin


class RemotesMixin(RefsMixin):
    """Checked remote names, the git CLI, and the index's conflicts after a CLI merge."""

    def configured_remote(self, name: str) -> str:
        """``name`` if it is a remote configured in this repository, else a clear refusal.

        Remote text comes from users and agents; accepting only a configured remote's name (never a URL,
        a path or anything that looks like an option) means it can neither run a command through git's
        transport options nor push the store somewhere nobody configured."""
        name = name.strip()
        configured = sorted(n for n in self.repo.remotes.names() if n)
        if name in configured and not name.startswith("-"):
            return name
        shown = name if len(name) <= 80 and name.isprintable() else repr(name[:80]) + "..."
        known = ", ".join(configured) if configured else "none (add one with `git remote add NAME URL`)"
        raise InvalidInput(
            f"'{shown}' is not a configured git remote. Name one of this repository's remotes: {known}."
        )

    def upstream_remote(self) -> str | None:
        """The remote the checked-out branch tracks (``branch.<name>.remote``), when it is a configured one."""
        if self.repo.head_is_detached:
            return None
        name = self.get_config(f"branch.{self.branch_ref().removeprefix('refs/heads/')}.remote")
        return name if name and name in self.repo.remotes.names() and not name.startswith("-") else None

    def run_git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """The git CLI, for network operations and merges that must run the user's drivers."""
        proc = subprocess.run(["git", *args], cwd=self.workdir, capture_output=True, text=True, check=False)
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip()
            raise RepositoryError(f"`git {' '.join(args)}` failed: {detail}")
        return proc

    def conflicts(self) -> list[tuple[str, bytes | None, bytes | None, bytes | None]]:
        """Unmerged paths of the index: (path, base, ours, theirs) contents."""
        index = self.repo.index
        index.read(force=True)
        if index.conflicts is None:
            return []
        result = []
        for base, ours, theirs in index.conflicts:
            path = (ours or theirs or base).path
            result.append(
                (path, *(None if e is None else cast(pygit2.Blob, self.repo[e.id]).data for e in (base, ours, theirs)))
            )
        return result
