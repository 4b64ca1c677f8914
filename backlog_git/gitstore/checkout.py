"""Writing store files into the checked-out branch so that no kill leaves a state a user can trip on.

A mutation of the checked-out branch changes three things: the working tree, the index and the
branch ref. They cannot change at once, so the writer keeps a journal (``.git/backlog/journal.json``)
of what it is about to do, and orders the steps so that every intermediate state is harmless:

1. blobs of the new contents, and of the paths' current working-tree contents, go to the object store;
2. the journal records, per path: the new blob, the old working-tree blob and the old index entry;
3. the working tree gets the new files (atomic renames);
4. the index gets the new entries;
5. the ref moves by compare-and-swap (the commit is built on whatever the tip is then);
6. the journal is removed.

A kill before step 5 leaves an operation that was never acknowledged: the next writer or reader
(under the writer lock) finds the journal and rolls back every path the kill left holding our new
contents, in the working tree and in the index, unless the branch now holds them (a user's commit
took them) or somebody edited the file since. A kill after step 5 leaves only the journal, which is
then simply removed. Between steps 4 and 5 a user's ``git commit`` would commit the store's change
under the user's name, never revert it; the working tree and index never disagree with the branch
in the direction that would make a user's commit undo a store commit. A failure in steps 3–5 (an
``index.lock`` or a ref lock left by a crashed git) rolls back the same way and says which lock.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pygit2

from ..errors import RepositoryError
from ..layout import journal_path

if TYPE_CHECKING:
    from .repository import GitStore

INDEX_ATTEMPTS = 40
REF_LOCK_PATIENCE = 3.0
"""Seconds a writer waits for another git command's ref lock (a user's commit, a gc) before it gives up."""
REF_LOCK_WAITS = 200
TMP_PREFIX = ".tmp-"


def write_atomically(path: Path, data: bytes, scratch: Path | None = None) -> None:
    """Write ``data`` at ``path`` via a temporary file and a rename; a new file follows the umask,
    a rewritten one keeps its mode. The temporary file lives in ``scratch`` (inside ``.git``, where
    no ``git add -A`` after a kill can pick it up) unless that is on another file system."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode: int | None = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    if scratch is not None:
        scratch.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=scratch or path.parent, prefix=TMP_PREFIX, suffix=".md")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        try:
            os.replace(tmp, path)
        except OSError as exc:
            if exc.errno != errno.EXDEV or scratch is None:
                raise
            os.unlink(tmp)
            write_atomically(path, data)  # .git is on another file system: a temporary file beside it
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def remove_file(path: Path, stop_at: Path) -> None:
    """Delete ``path`` and the directories it leaves empty, up to ``stop_at``."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    parent = path.parent
    while parent != stop_at and parent.is_relative_to(stop_at):
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent


class CheckoutWriter:
    """The journaled write of store files to the working tree, the index and the checked-out ref."""

    def __init__(self, store: GitStore) -> None:
        self.store = store
        self.repo = store.repo
        self.journal_path = journal_path(Path(store.gitdir))
        self.scratch = self.journal_path.parent / "tmp"
        self._index_obj: pygit2.Index | None = None
        self._index_stamp: tuple[int, int, int] | None = None

    # ------------------------------------------------------------------ the write
    def write(
        self, ref: str, files: Mapping[str, bytes | None], make_commit: Callable[[pygit2.Oid | None], pygit2.Oid]
    ) -> str:
        """Write ``files`` everywhere and move ``ref`` to ``make_commit(tip)`` (called again with the new
        tip when the ref moved under us); roll back and raise if any step fails."""
        self.refuse_links(files)
        repo = self.repo
        new = {path: (None if data is None else repo.create_blob(data)) for path, data in files.items()}
        index = self._fresh_index()
        journal = {
            "ref": ref,
            "pid": os.getpid(),
            "paths": {
                path: {"new": _hex(oid), "work": _hex(self._worktree_blob(path)), "index": _entry_of(index, path)}
                for path, oid in new.items()
            },
        }
        self._write_journal(journal)
        try:
            self._write_worktree(files)
            self._update_index(new)
            sha = self._move_ref(ref, make_commit)
        except BaseException:
            self._roll_back(journal)
            raise
        self._remove_journal()
        return sha

    def refuse_links(self, paths: Iterable[str]) -> None:
        """Never write through a symbolic link: a linked ``.backlog``, shard directory or task file
        would carry the write outside the store (or the repository)."""
        workdir = self.store.workdir
        for path in paths:
            current = workdir
            for part in path.split("/"):
                current = current / part
                if current.is_symlink():
                    shown = current.relative_to(workdir)
                    raise RepositoryError(
                        f"{shown} is a symbolic link; backlog-git never writes through links. Replace it with a "
                        f"real directory or file (e.g. `git rm {shown}` and commit), then retry. Nothing was written."
                    )

    def _move_ref(self, ref: str, make_commit: Callable[[pygit2.Oid | None], pygit2.Oid]) -> str:
        store = self.store
        locked_since: float | None = None
        for attempt in range(store.CAS_ATTEMPTS + REF_LOCK_WAITS):
            tip = store.tip(ref)
            new = make_commit(tip)
            if store.swap_ref(ref, tip, new):
                return str(new)
            lock = self._ref_lock(ref)
            if lock is None:
                locked_since = None
            elif locked_since is None:
                locked_since = time.monotonic()
            elif time.monotonic() - locked_since > REF_LOCK_PATIENCE:
                raise RepositoryError(
                    f"Could not update {ref}: {lock} exists, so another git command is writing it or one crashed "
                    f"while it did. If no git command is running, delete {lock} and retry. Nothing was written."
                )
            time.sleep(min(0.002 * (attempt + 1), 0.05))
        raise RepositoryError(f"Could not update {ref}: it kept moving under us. Retry the operation.")

    def _ref_lock(self, ref: str) -> Path | None:
        lock = Path(self.store.common_dir) / f"{ref}.lock"
        return lock if lock.exists() else None

    # ------------------------------------------------------------------ recovery
    def recover(self) -> bool:
        """Undo what a killed writer left half done (see the module docstring); True if it found a
        journal. The caller holds the writer lock."""
        try:
            journal = json.loads(self.journal_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return False
        except (OSError, ValueError):
            self._remove_journal()  # a journal torn by the kill itself: nothing after it was written
            return True
        self._clear_locks_of_dead_writer(journal)
        self._roll_back(journal)
        return True

    def _clear_locks_of_dead_writer(self, journal: Mapping[str, Any]) -> None:
        """A writer killed inside libgit2's index or ref update leaves ``index.lock`` or ``<ref>.lock``,
        which would block every git command. The journal names the writer: if that process is gone,
        the locks are its own leftovers (the caller holds the writer lock, so no store writer is
        running) and are removed."""
        pid = journal.get("pid")
        if not isinstance(pid, int) or _alive(pid):
            return
        locks = [Path(self.store.gitdir) / "index.lock"]
        ref = journal.get("ref")
        if isinstance(ref, str) and ref.startswith("refs/heads/"):
            locks.append(Path(self.store.common_dir) / f"{ref}.lock")
        for lock in locks:
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()

    def _roll_back(self, journal: Mapping[str, Any]) -> None:
        tip = self.store.tip(str(journal.get("ref", "")))
        tree = self.repo[tip].peel(pygit2.Tree) if tip is not None else None
        index = self._fresh_index()
        index_changed = False
        for path, step in dict(journal.get("paths", {})).items():
            new = step.get("new")
            if _hex(_tree_blob(tree, path)) == new:
                continue  # the branch holds our contents: committed (by us, or a user's commit took them)
            if _hex(self._worktree_hash(path)) == new:  # else somebody edited the file since: theirs stays
                self._restore_worktree(path, step.get("work"))
            staged = _entry_of(index, path)
            if (staged[0] if staged else None) == new:
                index_changed |= self._restore_index(index, path, step.get("index"))
        if index_changed:
            self._write_index(index)
        self._sweep_temporaries(journal)
        self._remove_journal()

    def _restore_worktree(self, path: str, blob_hex: str | None) -> None:
        target = self.store.workdir / path
        if blob_hex is None:
            remove_file(target, self.store.workdir)
        else:
            write_atomically(target, self.repo[pygit2.Oid(hex=blob_hex)].peel(pygit2.Blob).data, self.scratch)

    def _restore_index(self, index: pygit2.Index, path: str, entry: list[Any] | None) -> bool:
        if entry is None:
            if path in index:
                index.remove(path)
                return True
            return False
        index.add(pygit2.IndexEntry(path, pygit2.Oid(hex=entry[0]), pygit2.enums.FileMode(int(entry[1]))))
        return True

    def _sweep_temporaries(self, journal: Mapping[str, Any]) -> None:
        """Temporary files a killed write left in the scratch directory or next to the paths it was
        writing (only store writers make ``.tmp-*`` files there, and the caller holds their lock)."""
        directories = {(self.store.workdir / path).parent for path in journal.get("paths", {})}
        directories.add(self.scratch)
        for directory in directories:
            if directory.is_dir():
                for leftover in directory.glob(TMP_PREFIX + "*"):
                    with contextlib.suppress(OSError):
                        leftover.unlink()

    # ------------------------------------------------------------------ the three places
    def _write_worktree(self, files: Mapping[str, bytes | None]) -> None:
        workdir = self.store.workdir
        for path, data in files.items():
            if data is None:
                remove_file(workdir / path, workdir)
            else:
                write_atomically(workdir / path, data, self.scratch)

    def _update_index(self, blobs: Mapping[str, pygit2.Oid | None], *, resolve_conflicts: bool = False) -> None:
        """Stage exactly these paths; wait while a user's git holds index.lock, then fail clearly."""
        for attempt in range(INDEX_ATTEMPTS):
            try:
                index = self._fresh_index()
                for path, oid in blobs.items():
                    if resolve_conflicts and index.conflicts is not None and path in index.conflicts:
                        del index.conflicts[path]
                    if oid is None:
                        if path in index:
                            index.remove(path)
                    else:
                        index.add(path)  # from the file just written, so the entry carries its stat data
                self._write_index(index)
                return
            except (pygit2.GitError, OSError):
                self._index_stamp = None
                time.sleep(min(0.005 * (attempt + 1), 0.1))
        lock = Path(self.store.gitdir) / "index.lock"
        raise RepositoryError(
            f"Could not update git's index: {lock} stayed locked. If no git command is running, delete it "
            "and retry. Nothing was written."
        )

    def stage(self, files: Mapping[str, bytes | None], *, resolve_conflicts: bool = False) -> None:
        """Write files and stage them, outside any commit (finishing a user's conflicted merge)."""
        self.refuse_links(files)
        self._write_worktree(files)
        new = {path: (None if data is None else self.repo.create_blob(data)) for path, data in files.items()}
        self._update_index(new, resolve_conflicts=resolve_conflicts)

    def _write_index(self, index: pygit2.Index) -> None:
        index.write()
        self._index_stamp = self._index_file_stamp()

    def _index_file_stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = os.stat(Path(self.store.gitdir) / "index")
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def _fresh_index(self) -> pygit2.Index:
        """The repository index, re-read only when someone else wrote it since our last write."""
        if self._index_obj is None:
            self._index_obj = self.repo.index
            self._index_stamp = None
        stamp = self._index_file_stamp()
        if stamp is None or stamp != self._index_stamp:
            self._index_obj.read(force=True)
        return self._index_obj

    def _index_entry(self, path: str) -> list[Any] | None:
        return _entry_of(self._fresh_index(), path)

    def _worktree_blob(self, path: str) -> pygit2.Oid | None:
        """The blob id of the working-tree file (stored, so a roll-back can put it back)."""
        try:
            data = (self.store.workdir / path).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        return self.repo.create_blob(data)

    def _worktree_hash(self, path: str) -> pygit2.Oid | None:
        try:
            return pygit2.hash((self.store.workdir / path).read_bytes())
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    # ------------------------------------------------------------------ the journal file
    def _write_journal(self, journal: Mapping[str, Any]) -> None:
        self.journal_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.journal_path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(journal), encoding="utf-8")
        os.replace(tmp, self.journal_path)

    def _remove_journal(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.journal_path.unlink()

    def has_journal(self) -> bool:
        return self.journal_path.exists()


def _entry_of(index: pygit2.Index, path: str) -> list[Any] | None:
    """An index entry as the journal records it: [blob id, mode], or None."""
    if path not in index:
        return None
    entry = index[path]
    return [str(entry.id), int(entry.mode)]


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _hex(oid: pygit2.Oid | None) -> str | None:
    return None if oid is None else str(oid)


def _tree_blob(tree: pygit2.Tree | None, path: str) -> pygit2.Oid | None:
    if tree is None:
        return None
    try:
        return tree[path].id
    except KeyError:
        return None
