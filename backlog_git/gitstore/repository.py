"""Everything git, and the only module that imports pygit2.

Local object work (blobs, trees, commits, compare-and-swap ref updates, the index entries of the
store's own paths) goes through pygit2; path history uses the ``git`` CLI, which prunes merge
history the way users expect from ``git log -- PATH``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import os
import re
import shlex
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ParamSpec, TypeVar, cast

import pygit2
from pygit2.enums import FileMode, ObjectType, RepositoryState, SortMode

from ..errors import InvalidInput, RepositoryError
from ..layout import write_lock_path
from .checkout import CheckoutWriter

Oid = pygit2.Oid
"""A git object id; modules above this one name the type through here, never through pygit2."""

TRAILER_PREFIX = "Backlog-"
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
GC_LOOSE_OBJECTS = 6700
OBJECT_WRITE_ATTEMPTS = 3
P = ParamSpec("P")
R = TypeVar("R")
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
"""git's own ``gc.auto`` default: past this many loose objects, ``git gc --auto`` packs them."""
_ZERO = pygit2.Oid(hex="0" * 40)
_MAX_REMEMBERED = 200_000
"""Ancestry answers, and written trees' blob ids, a process keeps before starting over."""


@dataclass(frozen=True)
class CommitInfo:
    """A commit as the store reads it: identity, time, message and its Backlog trailers."""

    sha: str
    parents: tuple[str, ...]
    time: datetime
    subject: str
    message: str

    @functools.cached_property
    def trailers(self) -> dict[str, list[str]]:
        return parse_trailers(self.message)

    def trailer(self, key: str) -> str | None:
        """The last value of one trailer (found with a regex: an import's message can hold
        thousands of Backlog-Task lines, and the log walk asks every commit for its writer)."""
        block = self.message.rstrip().rsplit("\n\n", 1)[-1]
        values = _trailer_re(key).findall(block)
        return values[-1].strip() if values else None


@functools.lru_cache(maxsize=32)
def _trailer_re(key: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(key)}: (.*)$", re.MULTILINE)


def _as_oid(value: pygit2.Oid | str) -> pygit2.Oid:
    return value if isinstance(value, pygit2.Oid) else pygit2.Oid(hex=value)


def format_message(subject: str, trailers: list[tuple[str, str]]) -> str:
    lines = [subject.replace("\n", " ").strip(), ""]
    lines += [f"{key}: {value}" for key, value in trailers]
    return "\n".join(lines) + "\n"


def parse_trailers(message: str) -> dict[str, list[str]]:
    """Trailers of the message's last paragraph (``Key: value`` lines)."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return {}
    found: dict[str, list[str]] = {}
    for line in paragraphs[-1].splitlines():
        key, sep, value = line.partition(": ")
        if sep and key and " " not in key:
            found.setdefault(key, []).append(value.strip())
    return found


def merge_text_file(ours: str, base: str, theirs: str) -> bool:
    """``git merge-file`` in place on ``ours`` (the merge driver's fallback for non-task files).
    The names are temporary files git chose; ``--`` keeps any of them from reading as an option."""
    labels = ["-L", "ours", "-L", "base", "-L", "theirs"]
    proc = subprocess.run(["git", "merge-file", *labels, "--", ours, base, theirs], check=False)
    return proc.returncode == 0


def probe_merge_driver(command: str) -> str | None:
    """Run a registered merge-driver command the way git does (``sh -c`` with %O %A %B %P filled in)
    on a throw-away id-counter merge; None when it answered correctly, else what went wrong."""
    with tempfile.TemporaryDirectory(prefix="backlog-driver-probe-") as tmp:
        files = {name: Path(tmp) / name for name in ("base", "ours", "theirs")}
        for name, value in (("base", b"1\n"), ("ours", b"3\n"), ("theirs", b"5\n")):
            files[name].write_bytes(value)
        filled = (command.replace("%O", shlex.quote(str(files["base"])))
                  .replace("%A", shlex.quote(str(files["ours"])))
                  .replace("%B", shlex.quote(str(files["theirs"])))
                  .replace("%P", shlex.quote(".backlog/probe/next-id")))
        try:
            proc = subprocess.run(["sh", "-c", filled], capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
        if proc.returncode != 0:
            return (proc.stderr or proc.stdout).strip().splitlines()[-1:][0] if (proc.stderr or proc.stdout).strip() \
                else f"exit status {proc.returncode}"
        if files["ours"].read_bytes().strip() != b"5":
            return "it ran but did not merge the test file"
    return None


def _commit_info(commit: pygit2.Commit) -> CommitInfo:
    message = commit.message
    return CommitInfo(
        sha=str(commit.id),
        parents=tuple(str(p) for p in commit.parent_ids),
        time=datetime.fromtimestamp(commit.commit_time, UTC),
        subject=message.split("\n", 1)[0],
        message=message,
    )


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


class GitStore:
    """A repository with a working tree, seen through the operations the store needs."""

    def __init__(self, start: Path, *, create: bool = False) -> None:
        self.repo = self._open(start, create)
        if self.repo.workdir is None:
            raise RepositoryError(
                f"{start} is a bare repository; backlog-git needs a working tree. "
                "Clone it (`git clone`) and run backlog-git in the clone."
            )
        self.workdir = Path(self.repo.workdir).resolve()
        self.gitdir = Path(self.repo.path)
        self._oids: dict[bytes, pygit2.Oid] = {}
        self._ancestry: dict[tuple[pygit2.Oid, pygit2.Oid], bool] = {}
        """(ancestor, descendant) → answer. Commits never change, so an answer holds forever."""
        self._written: dict[str, tuple[pygit2.Oid, dict[str, bytes | None]]] = {}
        """Per agent branch: the tip this process committed and the contents it wrote there by path."""
        self._trees: dict[pygit2.Oid, dict[str, tuple[pygit2.Oid, int]]] = {}
        """Tree listings by tree id (trees never change)."""
        self._root_trees: dict[pygit2.Oid, pygit2.Oid] = {}
        """Commit id → its tree's id."""
        self._lock_depth = 0
        self._gc: subprocess.Popen[bytes] | None = None
        self._graph_due = False
        self._packed_refs: tuple[tuple[int, int, int, str], list[str]] | None = None
        """After a gc this process started, a commit-graph layer with changed-path filters follows."""

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

    # ----------------------------------------------------------------- branch and state
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

    # ----------------------------------------------------------------- writing
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

    def _commit_on(
        self, tip: pygit2.Oid | None, files: Mapping[str, bytes | None], message: str, others: list[pygit2.Oid]
    ) -> pygit2.Oid:
        base_tree = self.repo[tip].peel(pygit2.Tree) if tip is not None else None
        tree = self._updated_tree(base_tree, self._changed_blobs(base_tree, files))
        parents = ([tip] if tip is not None else []) + list(others)
        signature = self.signature()
        return self.repo.create_commit(None, signature, signature, message, tree, parents)

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

    def matches_checked_out(self, path: str, data: bytes) -> bool:
        """Whether ``data`` is what the checked-out branch's tip holds at ``path``."""
        head = self.head_oid()
        return head is not None and self.blob_id_at(head, path) == pygit2.hash(data)

    def user_identity(self) -> str:
        """The git user (``user.name <user.email>``), as a person's own commits name them."""
        name, email = self.get_config("user.name"), self.get_config("user.email")
        if name and email:
            return f"{name} <{email}>"
        return name or email or self.signature().name

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

    def recover(self) -> bool:
        """Repair what a killed writer left half done; the caller holds the writer lock."""
        return self.checkout.recover()

    @functools.cached_property
    def checkout(self) -> CheckoutWriter:
        return CheckoutWriter(self)

    CAS_ATTEMPTS = _CAS_ATTEMPTS

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

    def signature(self) -> pygit2.Signature:
        try:
            return self.repo.default_signature
        except (KeyError, pygit2.GitError):
            return pygit2.Signature("backlog-git", "backlog-git@localhost")

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

    # ----------------------------------------------------------------- reading history
    def commit(self, sha: str) -> CommitInfo:
        return _commit_info(self.repo[sha].peel(pygit2.Commit))

    def log(self, ref: str) -> Iterator[CommitInfo]:
        """Every commit reachable from ``ref``, newest first (merged side branches included)."""
        oid = self.tip(ref)
        if oid is None:
            return
        # TIME order is lazy (TOPOLOGICAL walks the whole history first), but commits of one second
        # come out in any order, ancestors possibly first: callers that need the order within a
        # second (undo) collect that whole second and order it by parent links.
        for commit in self.repo.walk(oid, SortMode.TIME):
            yield _commit_info(commit)

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

    def resolve_rev(self, rev: str) -> pygit2.Oid | None:
        """A revision (ref name, sha, ``HEAD~2``…) as a commit id; None when it names no commit. The text is
        read by libgit2's revision parser, never passed to a command."""
        try:
            return self.repo.revparse_single(rev).peel(pygit2.Commit).id
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            return None

    def set_ref(self, ref: str, target: str) -> bool:
        """Create ``ref`` at ``target`` unless it exists (compare-and-swap from absent)."""
        try:
            self.repo.references.create(ref, pygit2.Oid(hex=target))
        except (pygit2.AlreadyExistsError, pygit2.GitError, ValueError):
            return False
        return True

    def changed_paths(
        self, sha: str, prefix: str, only: Callable[[str], bool] | None = None
    ) -> list[tuple[str, bytes | None, bytes | None]]:
        """Paths under ``prefix`` that the commit changed against its first parent: (path, old, new);
        with ``only``, just the paths it accepts (their blobs alone are read: an import touches thousands)."""
        commit = self.repo[sha].peel(pygit2.Commit)
        parent = commit.parent_ids[0] if commit.parent_ids else None
        changes = [c for c in self.tree_diff(parent, commit.id, prefix) if only is None or only(c[0])]
        return sorted((path, self.blob(old), self.blob(new)) for path, old, new in changes)

    def path_log(self, paths: list[str], refs: list[str]) -> list[CommitInfo]:
        """Commits reachable from ``refs`` that touched any of ``paths``, newest first (``git log``)."""
        refs = [r for r in refs if self.tip(r) is not None]
        if not refs:
            return []
        proc = subprocess.run(
            ["git", "log", "--format=%H", "--end-of-options", *refs, "--", *paths],
            cwd=self.workdir,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RepositoryError(f"git log failed: {proc.stderr.strip()}")
        return [self.commit(sha) for sha in proc.stdout.split()]

    # ----------------------------------------------------------------- revisions (review, board --at)
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

    def commits_between(self, base: str | None, head: str) -> list[tuple[CommitInfo, str]]:
        """Commits reachable from ``head`` but not from ``base`` (``git log BASE..HEAD``), newest
        first (children before parents), each with its author's name."""
        walker = self.repo.walk(_as_oid(head), SortMode.TOPOLOGICAL | SortMode.TIME)
        if base is not None:
            walker.hide(_as_oid(base))
        return [(_commit_info(c), c.author.name or c.author.email) for c in walker]

    def files_at(self, sha: str, prefix: str, *, skip: tuple[str, ...] = ()) -> dict[str, bytes]:
        """Every file under the directory ``prefix`` in a commit's tree (path → contents), not
        descending into the directories ``skip`` names."""
        tree = self.repo[_as_oid(sha)].peel(pygit2.Tree)
        try:
            top = tree[prefix]
        except KeyError:
            return {}
        files: dict[str, bytes] = {}
        stack: list[tuple[str, pygit2.Object]] = [(prefix, top)]
        while stack:
            path, entry = stack.pop()
            if entry.type_str == "tree" and path not in skip:
                stack.extend((f"{path}/{child.name}", child) for child in cast(pygit2.Tree, self.repo[entry.id]))
            elif entry.type_str == "blob":
                files[path] = cast(pygit2.Blob, self.repo[entry.id]).data
        return files

    # ----------------------------------------------------------------- remotes
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

    # ----------------------------------------------------------------- configuration
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

    # ----------------------------------------------------------------- many writers
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

    def head_oid(self) -> pygit2.Oid | None:
        return None if self.repo.head_is_unborn else cast(pygit2.Oid, self.repo.head.target)

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

    def tree_diff(
        self, old: pygit2.Oid | None, new: pygit2.Oid, prefix: str
    ) -> list[tuple[str, pygit2.Oid | None, pygit2.Oid | None]]:
        """Blobs under ``prefix`` that differ between two commits: (path, old blob, new blob)."""
        new_tree = self.repo[new].peel(pygit2.Tree)
        if old is None:
            diff = new_tree.diff_to_tree(swap=True)
        else:
            diff = self.repo[old].peel(pygit2.Tree).diff_to_tree(new_tree)
        result = []
        for delta in diff.deltas:
            old_id = None if delta.old_file.id == _ZERO else delta.old_file.id
            new_id = None if delta.new_file.id == _ZERO else delta.new_file.id
            path = delta.new_file.path if new_id is not None else delta.old_file.path
            if path.startswith(prefix + "/"):
                result.append((path, old_id, new_id))
        return result

    def blob(self, oid: pygit2.Oid | None) -> bytes | None:
        return None if oid is None else cast(pygit2.Blob, self.repo[oid]).data

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

    def parents_of(self, oid: pygit2.Oid) -> tuple[pygit2.Oid, ...]:
        return tuple(self.repo[oid].peel(pygit2.Commit).parent_ids)

    def blob_id_at(self, commit: pygit2.Oid, path: str) -> pygit2.Oid | None:
        """The blob at ``path`` in a commit's tree. The overlay asks this for every path of every branch,
        and the branches share almost all their trees: each tree is read once and kept as a listing."""
        oid: pygit2.Oid | None = self._root_tree(commit)
        for name in path.split("/"):
            listing = self._listing(oid) if oid is not None else None
            entry = listing.get(name) if listing is not None else None
            if entry is None:
                return None
            oid = entry[0]
        return oid

    def store_diff(
        self, old: pygit2.Oid | None, new: pygit2.Oid, prefix: str
    ) -> list[tuple[str, pygit2.Oid | None, pygit2.Oid | None]]:
        """``tree_diff`` for the overlay's hot path (the same changes, by name within each directory): it
        descends only into the directories under ``prefix`` whose trees differ (cached listings), so a commit
        that changed a few task files costs a few listing comparisons however many tasks and commits the
        store has."""
        result: list[tuple[str, pygit2.Oid | None, pygit2.Oid | None]] = []
        old_dir = self._subtree(self._root_tree(old), prefix) if old is not None else None
        self._diff_trees(prefix, old_dir, self._subtree(self._root_tree(new), prefix), result)
        return result

    def _diff_trees(
        self,
        path: str,
        old: pygit2.Oid | None,
        new: pygit2.Oid | None,
        out: list[tuple[str, pygit2.Oid | None, pygit2.Oid | None]],
    ) -> None:
        if old == new:
            return
        before = self._listing(old) if old is not None else {}
        after = self._listing(new) if new is not None else {}
        for name in sorted(before.keys() | after.keys()):
            a, b = before.get(name), after.get(name)
            if a == b:
                continue
            a_tree = a[0] if a is not None and a[1] == FileMode.TREE else None
            b_tree = b[0] if b is not None and b[1] == FileMode.TREE else None
            a_blob = a[0] if a is not None and a_tree is None else None
            b_blob = b[0] if b is not None and b_tree is None else None
            if a_blob is not None or b_blob is not None:
                out.append((f"{path}/{name}", a_blob, b_blob))
            if a_tree is not None or b_tree is not None:
                self._diff_trees(f"{path}/{name}", a_tree, b_tree, out)

    def _root_tree(self, commit: pygit2.Oid) -> pygit2.Oid:
        oid = self._root_trees.get(commit)
        if oid is None:
            if len(self._root_trees) > _MAX_REMEMBERED:
                self._root_trees.clear()
            oid = self._root_trees[commit] = self.repo[commit].peel(pygit2.Tree).id
        return oid

    def _subtree(self, tree: pygit2.Oid, path: str) -> pygit2.Oid | None:
        oid: pygit2.Oid | None = tree
        for name in path.split("/"):
            entry = self._listing(oid).get(name) if oid is not None else None
            if entry is None or entry[1] != FileMode.TREE:
                return None
            oid = entry[0]
        return oid

    def _listing(self, tree: pygit2.Oid) -> dict[str, tuple[pygit2.Oid, int]]:
        """A tree's entries by name: (id, file mode). Trees never change, so each is read once."""
        listing = self._trees.get(tree)
        if listing is None:
            obj = self.repo[tree]
            if obj.type != ObjectType.TREE:
                return {}
            if len(self._trees) > 50_000:
                self._trees.clear()
            listing = self._trees[tree] = {
                str(entry.name): (entry.id, int(entry.filemode)) for entry in cast(pygit2.Tree, obj)
            }
        return listing

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

    def stage_resolved(self, files: Mapping[str, bytes | None]) -> None:
        """Write resolved contents and mark them resolved in the index."""
        self.checkout.stage(files, resolve_conflicts=True)
