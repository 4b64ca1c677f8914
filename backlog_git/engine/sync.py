"""Integrating other writers: sync (agent branches into the checked-out branch, one merge commit),
renumbering of ids handed out twice, remote sync through the git CLI, and ``resolve`` for a human's
conflicted merge of task files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import RepositoryError
from ..layout import AGENT_PREFIX, STORE_DIR, active_path_of, agent_ref, archived_copies, in_store, is_archived
from ..layout import uuid_of as uuid_of_path
from ..merge import merge_file
from ..model import UUID_RE
from ..overlay import AgentOverlay, WorkingContents
from . import claims, messages
from .fields import parse_or_none
from .renumber import renumber
from .state import StoreState
from .transaction import Outcome

PUSH_ATTEMPTS = 5


def merge_file_bytes(path: str, base: bytes | None, ours: bytes | None, theirs: bytes | None) -> bytes | None:
    return merge_file(path, base, ours, theirs, "ours", "theirs")


def sync(state: StoreState, remote: str | None) -> Outcome:
    """Merge every agent branch into the checked-out branch (one merge commit a reviewer can read),
    renumber clashing ids, and with ``remote``: fetch, merge, push (retrying a rejected push)."""
    name = state.git.configured_remote(remote) if remote else None
    messages_out = [sync_local(state).message]
    if name:
        messages_out.append(sync_remote(state, name))
    return Outcome(" ".join(messages_out), [], state.git.head_tip())


def sync_local(state: StoreState) -> Outcome:
    git = state.git
    with state.lock, git.writer_lock():
        branch = git.check_writable()
        overlay = AgentOverlay(git, STORE_DIR)
        pending = overlay.pending_branches()
        files: dict[str, bytes | None] = {}
        if pending:
            current = WorkingContents(git.workdir)
            merged = overlay.merged(current)
            files = {p: d for p, d in merged.items() if d != current.get(p)}
            files.update(reconcile_moves(files, current))
        state.refresh()
        renumbered = renumber(state, files)
        if not pending and not renumbered:
            return Outcome("Nothing to sync: no agent branch has unmerged operations.")
        subject, body = _sync_message(state, pending, renumbered)
        extra = [(messages.MERGED, f"{AGENT_PREFIX}{name} {tip}") for name, tip in pending.items()]
        extra += [(messages.RENUMBER, line) for line in renumbered]
        message = messages.op_message(subject, "sync", state.namespace, state.writer, extra=extra, body=body)
        sha = git.merge_into_branch(branch, list(pending.values()), files, message)
        state.refresh()
        return Outcome(subject + ".", [], sha)


def _sync_message(state: StoreState, pending: Mapping[str, Any], renumbered: list[str]) -> tuple[str, str]:
    parts = []
    lines = []
    head = state.git.head_oid()
    for name in pending:
        ops = [
            commit.subject
            for commit in state.git.log_range(agent_ref(name), head)
            if commit.trailer(messages.OP) and commit.trailer(messages.AGENT) == name
        ]
        parts.append(f"{name} ({len(ops)} op{'s' if len(ops) != 1 else ''})")
        lines.append(f"{name}:")
        lines += [f"  - {subject}" for subject in reversed(ops[:200])]
    if renumbered:
        lines.append("renumbered (ids handed out twice):")
        lines += [f"  - {line}" for line in renumbered]
    subject = f"sync: merge {', '.join(parts)}" if parts else "sync: renumber clashing ids"
    return subject, "\n".join(lines)


def reconcile_moves(
    files: Mapping[str, bytes | None],
    current: Mapping[str, bytes | None],
    bases: Mapping[str, bytes | None] | None = None,
) -> dict[str, bytes | None]:
    """A task both archived (moved) on one side and edited on the other exists twice after the
    merge; fold the edit into one copy: archived if the task is still closed, else active.

    ``bases`` holds the common ancestor of an active path where the merge knows it (a conflict's
    stage 1): the archived copy and the edit then merge field by field against it, so both sides'
    changes survive. Without it the archived copy is the base (the edit wins where they differ)."""
    fixes: dict[str, bytes | None] = {}
    archived = {p.rsplit("/", 1)[1]: p for p, d in files.items() if d is not None and is_archived(p)}
    for archive_path in archived.values():
        if not UUID_RE.match(uuid_of_path(archive_path)):
            continue
        active_path = active_path_of(archive_path)
        active = files.get(active_path, current.get(active_path))
        if active is None:
            continue
        moved = files[archive_path]
        base = (bases or {}).get(active_path, moved)
        merged = merge_file_bytes(active_path, base, active, moved)
        parsed = parse_or_none(merged, active_path)
        if parsed is not None and parsed.task.status in ("completed", "deleted"):
            fixes[archive_path], fixes[active_path] = merged, None
        else:
            fixes[archive_path], fixes[active_path] = None, merged
    return fixes


def sync_remote(state: StoreState, remote: str) -> str:
    """Fetch, merge (the git CLI, so the merge driver and the user's credentials work), push; retry a
    rejected push. ``remote`` is a configured remote's name (checked by ``GitStore.configured_remote``)."""
    git = state.git
    branch = git.check_writable().removeprefix("refs/heads/")
    claims_report = ""
    for attempt in range(PUSH_ATTEMPTS):
        git.run_git("fetch", "--", remote)
        tip = git.tip(f"refs/remotes/{remote}/{branch}")
        if tip is not None and not git.is_ancestor(tip, git.head_oid()):
            _merge_upstream(state, remote, branch)
            sync_local(state)
        if attempt == 0:
            claims_report = _check_claims(state, remote)
        push = git.run_git("push", "--", remote, f"HEAD:refs/heads/{branch}", check=False)
        if push.returncode == 0:
            return f"Pushed {branch} to {remote}." + claims_report
        if not any(word in push.stderr for word in ("rejected", "fetch first", "non-fast-forward")):
            raise RepositoryError(f"`git push {remote}` failed: {push.stderr.strip()} (nothing local was lost)")
    raise RepositoryError(f"{remote} kept moving; pushes were rejected {PUSH_ATTEMPTS} times. Run sync again.")


def _check_claims(state: StoreState, remote: str) -> str:
    """Claims go to the claim remote (not necessarily the one synced); an agent's hand-over commit lands on
    its branch, so the checked-out branch takes it in before the push."""
    claim_remote = claims.claim_remote(state)
    if claim_remote is None:
        return ""
    report = claims.reconcile_remote(state, claim_remote)
    if state.agent_ref is not None:
        sync_local(state)
    return f" {report}" if report else ""


def _merge_upstream(state: StoreState, remote: str, branch: str) -> None:
    git = state.git
    with state.lock, git.writer_lock():
        before = git.head_oid()
        result = git.run_git(
            "merge", "--no-edit", "-m", f"sync: merge {remote}/{branch}", "--", f"{remote}/{branch}", check=False
        )
        if result.returncode == 0:
            _reopen_archived(state, before)
            return
        if git.conflicts():
            outside = [p for p, *_ in git.conflicts() if not in_store(p)]
            if not outside:
                resolve_conflicts(state)
                git.run_git("commit", "--no-edit")
                return
            git.run_git("merge", "--abort", check=False)
            raise RepositoryError(
                f"Merging {remote}/{branch} conflicts outside the task store ({', '.join(outside)}); "
                "nothing was changed. Merge it by hand (`git pull`), then run `backlog-git resolve` and sync."
            )
        raise RepositoryError(f"`git merge {remote}/{branch}` failed: {(result.stderr or result.stdout).strip()}")


def _reopen_archived(state: StoreState, before: Any) -> None:
    """A git merge that followed an archive move (a rename) into an edit that reopened the task leaves an
    open task in the archive, where reads do not look: move it back to the active store, in a commit."""
    git = state.git
    head = git.head_oid()
    if before is None or head is None:
        return
    files: dict[str, bytes | None] = {}
    for path, _old, new in git.tree_diff(before, head, STORE_DIR):
        if new is None or not is_archived(path):
            continue
        data = git.blob(new)
        parsed = parse_or_none(data, path)
        active = active_path_of(path)
        if parsed is None or parsed.task.status in ("completed", "deleted") or (git.workdir / active).exists():
            continue
        files[path], files[active] = None, data
    if files:
        tasks = sorted({uuid_of_path(p) for p in files})
        subject = f"sync: move {len(tasks)} reopened task(s) out of the archive"
        message = messages.op_message(subject, "sync", state.namespace, state.writer, tasks=tasks)
        git.commit_worktree_files(files, message)


def resolve(state: StoreState) -> int:
    """Finish a conflicted ``git merge`` of task files the way sync would (edits win over deletes);
    the number of task files resolved."""
    with state.lock, state.git.writer_lock():
        return resolve_conflicts(state)


def resolve_conflicts(state: StoreState) -> int:
    git = state.git
    resolved: dict[str, bytes | None] = {}
    bases: dict[str, bytes | None] = {}
    for path, base, ours, theirs in git.conflicts():
        if in_store(path):
            resolved[path] = merge_file_bytes(path, base, ours, theirs)
            bases[path] = base
    if not resolved:
        return 0
    current = WorkingContents(git.workdir)
    for path in [p for p, d in resolved.items() if d is not None and not is_archived(p)]:
        # An archive move against an edit: git staged the archived copy as a plain add, so fold it in too.
        for copy in archived_copies(git.workdir, path):
            resolved.setdefault(copy, (git.workdir / copy).read_bytes())
    resolved.update(reconcile_moves(resolved, current, bases))
    git.stage_resolved(resolved)
    state.refresh()
    return len(resolved)

