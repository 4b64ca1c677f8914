"""What a range of commits did to the backlog (``review``), and the backlog at one revision (``snapshot``).

``review`` compares the namespace's tree at the range's base with its tree at the head — it never
replays commits, so a task added and completed on the branch reads as one added task, and a change
made and reverted reads as nothing. Each task file that differs is classified (added, completed,
deleted, reopened, archived, restored, purged), its fields compared old → new (``modified`` left
out; the body as a doc added/changed/removed; the ``agent`` field and a ``lease`` attribute as a
claim), and the range's own commits that touched it name who did it: their ``Backlog-Agent``
trailer, else the commit's git author. Merge commits credit nobody (the merged commits do).

Ranges read as git reads them: ``BASE..HEAD``, ``BASE...HEAD`` (from the merge base: what a pull
request shows) and a single ``REV`` (``REV^..REV``; a root commit against the empty tree).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput, NotFound
from ..gitstore import Oid
from ..layout import AGENT_PREFIX, file_name, is_task_name, uuid_of
from ..taskfile import FIELD_ORDER
from ..view import Entry, parse_entry
from . import messages
from .fields import field_changes, fields_of
from .history import history
from .state import StoreState

EVENTS = ("added", "completed", "deleted", "reopened", "archived", "restored", "purged")
"""The task-level categories, in the order a review lists them."""
CLOSED = ("completed", "deleted")
IGNORED_FIELDS = ("modified", "doc")
"""Not field changes: ``modified`` moves with every edit, the doc is reported on its own."""
CLAIM_FIELDS = ("agent", "lease")


@dataclass
class _Side:
    """One task file on one side of the range: where it is, and its parse."""

    entry: Entry
    archived: bool

    @property
    def fields(self) -> dict[str, Any]:
        return fields_of(self.entry.file) if self.entry.file is not None else {}


def parse_range(state: StoreState, text: str) -> tuple[str | None, str]:
    """(base sha or None for the empty tree, head sha) of ``A..B``, ``A...B`` or ``REV``."""
    git = state.git
    spec = str(text).strip()
    if not spec:
        raise InvalidInput("No range given: pass BASE..HEAD, BASE...HEAD or one revision (e.g. origin/main...HEAD).")
    if "..." in spec:
        left, _, right = spec.partition("...")
        a, b = git.resolve_revision(left or "HEAD"), git.resolve_revision(right or "HEAD")
        base = git.merge_base(Oid(hex=a), Oid(hex=b))
        return (str(base) if base is not None else None), b
    if ".." in spec:
        left, _, right = spec.partition("..")
        return git.resolve_revision(left or "HEAD"), git.resolve_revision(right or "HEAD")
    head = git.resolve_revision(spec)
    parents = git.commit(head).parents
    return (parents[0] if parents else None), head


def review(state: StoreState, rev_range: str) -> dict[str, Any]:
    """What ``rev_range`` does to the backlog's tasks: see the module docstring for the categories.

    Returns ``range``/``base``/``head``, ``commits`` (non-merge commits of the range that touched the
    store) and ``writers``; per category a list of task uuids ordered by id (``added`` … ``purged``,
    ``changed``: tasks on both sides with field or doc changes, ``claims``, ``docs`` with
    ``added``/``changed``/``removed``); ``tasks``: one record per task the range touched (``id``,
    ``description``, ``status``, ``was``, ``events``, ``changes`` {field: [old, new]}, ``doc``,
    ``claim``, ``by``, ``segment``); ``refs``: id and description of every task a ``depends``/``parent``
    change names; ``broken``: task files at the head that do not parse."""
    base, head = parse_range(state, rev_range)
    sides = _changed_sides(state, base, head)
    writers, by_task, commits = _writers(state, base, head)
    data: dict[str, Any] = {
        "range": str(rev_range).strip(), "base": base, "head": head, "namespace": state.namespace,
        "commits": commits, "writers": writers,
        **{event: [] for event in EVENTS}, "changed": [], "claims": [],
        "docs": {"added": [], "changed": [], "removed": []}, "tasks": [], "refs": {}, "broken": [],
    }
    records = []
    for task_uuid, (before, after) in sides.items():
        if after is not None and after.entry.error is not None:
            data["broken"].append(str(after.entry.error))
            continue
        record = _task_record(task_uuid, before, after)
        if record is None:
            continue
        record["by"] = by_task.get(task_uuid, [])
        records.append(record)
    records.sort(key=lambda r: (r["id"], r["uuid"]))
    for record in records:
        for event in record["events"]:
            data[event].append(record["uuid"])
        if record["changes"] or (record["doc"] and "added" not in record["events"]):
            data["changed"].append(record["uuid"])
        if record["doc"]:
            data["docs"][record["doc"]].append(record["uuid"])
        if record["claim"]:
            data["claims"].append(record["uuid"])
    data["tasks"] = records
    data["refs"] = _refs(state, records, sides, head, base)
    return data


def _changed_sides(state: StoreState, base: str | None, head: str) -> dict[str, tuple[_Side | None, _Side | None]]:
    """For every task whose file differs between the two trees: its file before and after."""
    git, layout = state.git, state.layout
    before: dict[str, _Side] = {}
    after: dict[str, _Side] = {}
    base_oid = Oid(hex=base) if base is not None else None
    for path, old, new in git.tree_diff(base_oid, Oid(hex=head), layout.ns_dir):
        archived = layout.segment_of(path) is not None
        if not is_task_name(file_name(path)) or not (archived or layout.is_active_task(path)):
            continue  # the id counter, shard keepers, stray files
        task_uuid = uuid_of(path)
        for oid, found in ((old, before), (new, after)):
            data = git.blob(oid)
            if data is not None and (task_uuid not in found or found[task_uuid].archived):
                found[task_uuid] = _Side(parse_entry(path, data), archived)
    sides = {}
    for task_uuid in before.keys() | after.keys():
        b, a = before.get(task_uuid), after.get(task_uuid)
        # An archived copy appeared or went while the active file stayed as it was: that file is the
        # task on the other side. (A changed active file is in the diff itself.)
        if b is None and a is not None and a.archived:
            b = _unchanged(state, base_oid, task_uuid)
        if a is None and b is not None and b.archived:
            a = _unchanged(state, Oid(hex=head), task_uuid)
        sides[task_uuid] = (b, a)
    return sides


def _unchanged(state: StoreState, commit: Oid | None, task_uuid: str) -> _Side | None:
    if commit is None:
        return None
    path = state.layout.task(task_uuid)
    blob = state.git.blob_id_at(commit, path)
    data = state.git.blob(blob)
    return None if data is None else _Side(parse_entry(path, data), False)


def _task_record(task_uuid: str, before: _Side | None, after: _Side | None) -> dict[str, Any] | None:
    old = before.fields if before is not None else {}
    new = after.fields if after is not None else {}
    shown = new or old
    if not shown:
        return None  # broken on both sides: nothing readable to report
    events = _events(before, after, old, new)
    changes: dict[str, list[Any]] = {}
    if old and new:  # (a side that does not parse has no fields to compare)
        for key in sorted(set(old) | set(new), key=_field_rank):
            a, b = old.get(key), new.get(key)
            if key not in IGNORED_FIELDS and a != b and not (a in (None, [], "") and b in (None, [], "")):
                changes[key] = [a, b]
    claim = {k: v for k, v in changes.items() if k in CLAIM_FIELDS}
    if before is None:
        claim = {k: [None, new[k]] for k in CLAIM_FIELDS if new.get(k) not in (None, "")}
    return {
        "uuid": task_uuid,
        "id": shown.get("id"),
        "description": shown.get("description", ""),
        "status": new.get("status"),
        "was": old.get("status"),
        "project": shown.get("project"),
        "priority": shown.get("priority"),
        "tags": [t for t in shown.get("tags") or [] if t != "doc"],
        "due": shown.get("due"),
        "events": events,
        "changes": changes,
        "doc": _doc_change(old.get("doc") or "", new.get("doc") or "") if after is not None else None,
        "claim": claim or None,
        "segment": _segment(after) if "archived" in events else None,
    }


def _field_rank(key: str) -> tuple[int, str]:
    """File order: the known fields as a task file lists them, then extra attributes by name."""
    return (FIELD_ORDER.index(key) if key in FIELD_ORDER else len(FIELD_ORDER), key)


def _events(before: _Side | None, after: _Side | None, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    if before is None:
        return ["added"]
    if after is None:
        return ["purged"]
    events = []
    was, now = old.get("status"), new.get("status")
    if was != now and old:
        if now in CLOSED:
            events.append(str(now))
        elif was in CLOSED:
            events.append("reopened")
    if after.archived and not before.archived:
        events.append("archived")
    elif before.archived and not after.archived:
        events.append("restored")
    return events


def _doc_change(old: str, new: str) -> str | None:
    if old == new:
        return None
    if not old.strip():
        return "added" if new.strip() else None
    return "removed" if not new.strip() else "changed"


def _segment(side: _Side | None) -> str | None:
    if side is None:
        return None
    parts = side.entry.path.rsplit("/", 3)
    return parts[-3] if len(parts) == 4 else None


def _writers(state: StoreState, base: str | None, head: str) -> tuple[list[str], dict[str, list[str]], int]:
    """Who wrote in the range (oldest first), who touched each task, and how many commits touched the store."""
    git, layout = state.git, state.layout
    everyone: dict[str, None] = {}
    by_task: dict[str, dict[str, None]] = {}
    count = 0
    for commit, author in reversed(git.commits_between(base, head)):
        if len(commit.parents) > 1:
            continue  # a merge: the merged commits are in the range and credit their writers
        parent = Oid(hex=commit.parents[0]) if commit.parents else None
        oid = Oid(hex=commit.sha)
        if parent is not None and git.blob_id_at(oid, layout.ns_dir) == git.blob_id_at(parent, layout.ns_dir):
            continue  # a commit of code, not of tasks: one tree lookup
        changed = [p for p, _, _ in git.tree_diff(parent, oid, layout.ns_dir)]
        if not changed:
            continue
        count += 1
        writer = commit.trailer(messages.AGENT) or author
        everyone.setdefault(writer)
        for path in changed:
            if is_task_name(file_name(path)):
                by_task.setdefault(uuid_of(path), {}).setdefault(writer)
    return list(everyone), {u: list(w) for u, w in by_task.items()}, count


def _refs(
    state: StoreState, records: list[dict[str, Any]], sides: dict[str, tuple[_Side | None, _Side | None]],
    head: str, base: str | None,
) -> dict[str, dict[str, Any]]:
    """Id and description of each task a ``depends``/``parent`` value names, so no reader sees a bare uuid."""
    named: set[str] = set()
    for record in records:
        for key in ("depends", "parent"):
            for value in record["changes"].get(key, []):
                named.update(value if isinstance(value, list) else [value] if value else [])
    refs = {}
    for task_uuid in sorted(named):
        side = next((s for s in sides.get(task_uuid, ()) if s is not None and s.entry.file is not None), None)
        side = side or _unchanged(state, Oid(hex=head), task_uuid)
        side = side or _unchanged(state, Oid(hex=base) if base else None, task_uuid)
        if side is not None and side.entry.file is not None:
            refs[task_uuid] = {"id": side.entry.task.id, "description": side.entry.task.description}
    return refs


# ---------------------------------------------------------------------- the backlog at a revision
@dataclass
class Snapshot:
    """The active tasks at a revision (or as reads see them now): what the board shows."""

    key: str
    """Changes whenever the tasks do (a commit sha, or a hash of the merged view's files)."""
    at: str | None
    tasks: list[dict[str, Any]]
    """Each task's record (as ``list`` returns it, without urgency) plus ``body``: its doc."""
    broken: list[str]


def snapshot(state: StoreState, rev: str | None = None) -> Snapshot:
    """The namespace's active tasks at ``rev`` (read from that commit's tree), or — ``rev`` None —
    the merged view every read sees (the caller refreshed it under the lock)."""
    if rev is None:
        entries: list[Entry] = list(state.view.entries.values())
        at = None
    else:
        at = state.git.resolve_revision(rev)
        files = state.git.files_at(at, state.layout.ns_dir, skip=(state.layout.archive_dir,))
        entries = [parse_entry(p, d) for p, d in sorted(files.items()) if state.layout.is_active_task(p)]
    key = snapshot_key(state, rev)
    tasks = []
    broken = []
    for entry in entries:
        if entry.file is None:
            broken.append(str(entry.error))
            continue
        tasks.append({**entry.record(), "body": entry.file.body})
    tasks.sort(key=lambda t: (t["id"], t["uuid"]))
    return Snapshot(key, at, tasks, broken)


def snapshot_key(state: StoreState, rev: str | None = None) -> str:
    """What ``snapshot`` would return changes exactly when this does: the commit ``rev`` names, or a
    hash of the merged view's files (bytes hash once, so this costs little at 10,000 tasks)."""
    if rev is not None:
        return state.git.resolve_revision(rev)
    return f"{hash(tuple((e.path, e.raw) for e in state.view.entries.values())) & (2**64 - 1):016x}"


def histories(state: StoreState, uuids: Iterable[str], at: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Many tasks' histories, each as ``history`` gives it (newest first), from one walk of the log:
    the commits ``at`` contains, else the checked-out branch's and the agent branches'. A commit that
    left the namespace's tree as a parent had it costs one tree lookup; the walk stops once every
    task's creation is found (board pages embed hundreds of histories: one ``git log`` each would
    re-read every big import commit per task)."""
    git, ns_dir = state.git, state.layout.ns_dir
    found: dict[str, list[dict[str, Any]]] = {u: [] for u in uuids}
    open_tasks = set(found)
    head = git.head_tip()
    walks = [git.commits_between(None, at)] if at is not None else [git.commits_between(None, head)] if head else []
    if at is None:
        walks += [git.commits_between(head, str(tip)) for tip in git.branch_tips(AGENT_PREFIX).values()]
    commits = [c for walk in walks for c, _ in walk]
    if len(walks) > 1:
        commits.sort(key=lambda c: c.time, reverse=True)  # stable: ties keep each walk's order
    for commit in commits:
        if not open_tasks:
            break
        oid = Oid(hex=commit.sha)
        parents = [Oid(hex=p) for p in commit.parents]
        if git.blob_id_at(oid, ns_dir) in [git.blob_id_at(p, ns_dir) for p in parents]:
            continue  # the store is as one parent had it: nothing to show for any task
        sides: dict[str, tuple[bytes | None, bytes | None]] = {}
        for path, old, new in git.tree_diff(parents[0] if parents else None, oid, ns_dir):
            task_uuid = uuid_of(path)
            if task_uuid not in open_tasks or not is_task_name(file_name(path)):
                continue
            if any(git.blob_id_at(p, path) == new for p in parents[1:]):
                continue  # a merge that took this file from another parent: that parent's commits show it
            before, after = sides.get(task_uuid, (None, None))
            sides[task_uuid] = (before or git.blob(old), after or git.blob(new))
        for task_uuid, (before, after) in sides.items():
            found[task_uuid].append({
                "commit": commit.sha, "time": commit.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "writer": commit.trailer(messages.AGENT) or "(git)", "op": commit.trailer(messages.OP) or "edit",
                "subject": commit.subject, "changes": field_changes(before, after),
            })
            if before is None:
                open_tasks.discard(task_uuid)  # its creation: nothing older
    return found


def history_at(state: StoreState, task_uuid: str, at: str | None = None) -> list[dict[str, Any]]:
    """A task's history (``Backlog.history``), limited to the commits ``at`` contains; [] if none."""
    try:
        entries = history(state, task_uuid)
    except NotFound:
        return []
    if at is None:
        return entries
    return [e for e in entries if state.git.is_ancestor(e["commit"], at)]
