"""Which commits touched which files under the store's directory: a persistent, incremental index, so
one task's history is read without walking the whole log (a busy store makes thousands of commits a
day; ``git log -- PATH`` walks all of them on every call).

Built once by one ``git log`` over the directory, then extended on each use by the commits that
arrived since (``git log TIPS ^INDEXED``). A commit touched a path when the path differs from its
parent, or for a merge, from every parent (git's combined diff); no side branch is pruned. It is
never the truth: it is dropped and rebuilt when a tip it indexed is no longer
reachable from the refs asked about (a reset, a deleted unmerged branch), when its file is unreadable
or describes another directory. Two processes may extend it at once: each renames a complete file of
its own into place (``cachefile``), and either file is a correct index.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pygit2

from .. import cachefile
from ..errors import RepositoryError

FORMAT = 1
SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
LOG_SETTINGS = ("-c", "color.ui=never", "-c", "log.showSignature=false", "-c", "log.follow=false",
                "-c", "log.showRoot=true", "-c", "core.quotePath=true")
"""The user's git configuration may colour the log, add signature checks to it, follow one path or hide
the root commit's files: none of that may change what the index reads."""

Entry = tuple[int, str, str]
"""(sequence number, commit sha, directory of the file): a higher sequence number is a newer commit."""


class PathIndex:
    """The commits touching each file name under ``prefix``, kept in ``cache_file``."""

    def __init__(
        self, workdir: Path, cache_file: Path, prefix: str, is_ancestor: Callable[[str, str], bool] | None = None
    ) -> None:
        """``is_ancestor(a, b)``: whether commit ``a`` is ``b`` or an ancestor of it (an owner's cached
        answers); without it, one ``git rev-list`` answers for all tips (no repository object shared with
        another thread)."""
        self.workdir = workdir
        self.cache_file = cache_file
        self.prefix = prefix.rstrip("/")
        self._is_ancestor = is_ancestor
        self._tips: list[str] = []
        self._seq = 0
        self._names: dict[str, list[Entry]] = {}
        self._stamp: tuple[int, int, int] | None = None

    def touching_name(
        self, tips: Sequence[str], name: str, wanted: Callable[[str], bool]
    ) -> list[tuple[str, list[str]]]:
        """Commits reachable from ``tips`` (shas) that touched a file called ``name`` at a path ``wanted``
        accepts, newest first, each with the paths it touched (an archiving commit: two)."""
        tips = self.update(tips)
        if not tips:
            return []
        entries = [e for e in self._names.get(name, ()) if wanted(f"{e[2]}/{name}")]
        entries.sort(key=lambda e: -e[0])
        touched: dict[str, list[str]] = {}
        for _seq, sha, directory in entries:
            touched.setdefault(sha, []).append(f"{directory}/{name}")
        return list(touched.items())

    # ------------------------------------------------------------------ keeping it current
    def update(self, tips: Sequence[str]) -> list[str]:
        """Index every commit reachable from ``tips`` (shas) and keep the file in step; the tips, sorted."""
        tips = sorted(set(tips))
        if not all(SHA.fullmatch(tip) for tip in tips):  # a ref name would compare equal while it moves
            raise ValueError(f"history index: tips must be commit ids, got {tips!r}")
        if tips:
            self._bring_up_to(tips)
        return tips

    def _all_reachable(self, olds: list[str], tips: list[str]) -> bool:
        """Whether every commit of ``olds`` is one of ``tips`` or an ancestor of one (not when a gc removed it)."""
        if self._is_ancestor is None:  # one process: what the old tips reach and the new ones do not
            command = ["git", "rev-list", "--max-count=1", "--end-of-options", *olds, *(f"^{t}" for t in tips)]
            proc = subprocess.run(command, cwd=self.workdir, capture_output=True, check=False)
            return proc.returncode == 0 and not proc.stdout.strip()
        try:
            return all(any(old == new or self._is_ancestor(old, new) for new in tips) for old in olds)
        except (KeyError, ValueError, pygit2.GitError):
            return False

    def _bring_up_to(self, tips: list[str]) -> None:
        self._load_if_changed()
        if tips == self._tips:
            return
        if self._tips and not self._all_reachable(self._tips, tips):
            self._reset()  # a tip we indexed is gone from these refs: what we hold may not be reachable
        self._add(self._touches(tips, self._tips))
        self._tips = tips
        self._save()

    def _reset(self) -> None:
        self._tips, self._seq, self._names = [], 0, {}

    def _add(self, commits: list[tuple[str, list[str]]]) -> None:
        """Commits in ``git log`` order (newest first), all newer than what the index holds."""
        base = self._seq
        dirs: dict[str, str] = {}
        for offset, (sha, paths) in enumerate(commits):
            seq = base + len(commits) - offset
            for path in paths:
                directory, _, name = path.rpartition("/")
                self._names.setdefault(name, []).append((seq, sha, dirs.setdefault(directory, directory)))
        self._seq = base + len(commits)

    def _touches(self, tips: list[str], indexed: list[str]) -> list[tuple[str, list[str]]]:
        """(sha, paths under the prefix it touched) of commits reachable from ``tips`` and not from
        ``indexed``, newest first. Only shas reach the command line."""
        command = ["git", *LOG_SETTINGS, "log", "--date-order", "--format=%x00%H", "--name-only", "--no-renames", "-c",
                   "--full-history", "--end-of-options", *tips, *(f"^{sha}" for sha in indexed), "--", self.prefix]
        proc = subprocess.run(command, cwd=self.workdir, capture_output=True, check=False)
        if proc.returncode != 0:
            raise RepositoryError(f"git log failed: {proc.stderr.decode(errors='replace').strip()}")
        commits = []
        for record in proc.stdout.decode("utf-8", errors="surrogateescape").split("\0")[1:]:
            sha, _, rest = record.partition("\n")
            paths = [line for line in rest.splitlines() if line]
            if paths:
                commits.append((sha.strip(), paths))
        return commits

    # ------------------------------------------------------------------ the file
    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.cache_file)
        except OSError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns

    def _load_if_changed(self) -> None:
        stamp = self._file_stamp()
        if stamp is None or stamp == self._stamp:
            return
        data: Any = cachefile.read(self.cache_file)
        try:
            if data["format"] != FORMAT or data["prefix"] != self.prefix:
                raise ValueError("another index")
            tips, seq, names = list(data["tips"]), int(data["seq"]), dict(data["names"])
        except (ValueError, TypeError, KeyError):
            return  # unreadable or foreign: what we hold (maybe nothing) is rebuilt or extended
        self._tips, self._seq, self._names, self._stamp = tips, seq, names, stamp

    def _save(self) -> None:
        data = {"format": FORMAT, "prefix": self.prefix, "tips": self._tips, "seq": self._seq, "names": self._names}
        if cachefile.write(self.cache_file, data):  # a cache: failing to keep it costs time, never correctness
            self._stamp = self._file_stamp()
