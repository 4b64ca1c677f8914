"""Migration from the original backlog server: every task of its store (``TASKDATA``) in one commit.

Ids and uuids are kept; annotations, docs (the body), recurring templates and their instances come
along; archived tasks go to archive paths (their segment's quarter). The original's files are only
read. A clash with a task already in this store (same uuid, or same numeric id) refuses the whole
migration before anything is written; afterwards the id counter is above every imported id.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ..errors import BacklogError, InvalidInput, WrongState
from ..layout import uuid_of
from ..model import Annotation
from ..original_store import NOTE_PREFIX, Converted, OriginalStore, convert, read_store
from ..taskfile import TaskFileError, dump, parse
from ..view import parse_entry
from . import validate
from .archive import archive_files
from .state import StoreState
from .transaction import Build, Change, next_id

SHOWN = 10
"""Clashes and adjustments named one by one in a message (the rest are counted)."""


def migrate(state: StoreState, source: Path, *, collection: str | None = None) -> Build:
    """Import the original store at ``source`` (its collection ``collection``, by default this store's
    namespace when it has one, else its only one) into this namespace, as one commit."""

    def build(change: Change, now: datetime) -> str:
        store = read_store(Path(source), collection, default=state.namespace)
        items = convert(store, now)
        _refuse_clashes(state, items, store)
        adjusted = sum(1 for item in items if item.notes)
        renumbered = _write(state, change, items, now)
        _raise_counter(state, change)
        change.subject = _subject(store, items)
        return _message(store, items, renumbered, adjusted)

    return build


# ------------------------------------------------------------------------------------------ clashes
def _refuse_clashes(state: StoreState, items: list[Converted], store: OriginalStore) -> None:
    """All or nothing: a uuid or numeric id this store already has refuses the whole migration."""
    here = _tasks_here(state)
    ids = {number: (task_uuid, label) for task_uuid, (number, label) in here.items() if number is not None}
    problems = []
    same_uuid = 0
    for item in items:
        task_uuid = item.data["uuid"]
        path = state.layout.task(task_uuid)
        if task_uuid in here or (state.git.workdir / path).exists():
            number, label = here.get(task_uuid, (None, path))
            problems.append(f"uuid {task_uuid} is already task {number or '?'} here ({label})")
            same_uuid += 1
        elif item.original_id is not None and item.original_id in ids:
            other, label = ids[item.original_id]
            problems.append(
                f"id {item.original_id} ({item.data['description']!r}) is already task {other} here ({label})"
            )
    if not problems:
        return
    if same_uuid == len(items):
        raise WrongState(
            f"Nothing was migrated: every one of the {len(items)} task(s) in {store.root} is already in namespace "
            f"'{state.namespace}' of this repository (was it migrated before?)."
        )
    shown = "; ".join(problems[:SHOWN]) + (f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else "")
    raise WrongState(
        f"Nothing was migrated: {len(problems)} of the {len(items)} task(s) in {store.root} clash with tasks "
        f"of namespace '{state.namespace}' in this repository: {shown}. Migrate into a repository (or a "
        "namespace: BACKLOG_NAMESPACE=<name>) that does not hold them yet."
    )


def _tasks_here(state: StoreState) -> dict[str, tuple[int | None, str]]:
    """uuid → (numeric id, a label) of every task of this namespace, archived and unreadable ones too."""
    here: dict[str, tuple[int | None, str]] = {}
    for entry in state.view.entries.values():
        if not state.layout.is_active_task(entry.path):
            continue
        if entry.error is None:
            here[entry.uuid] = (entry.task.id, repr(entry.task.description))
        else:
            here[entry.uuid] = (entry.claimed_id(), f"{entry.path}, a file that does not parse")
    for files in archive_files(state).values():
        for path, raw in files.items():
            archived = parse_entry(path, raw)
            found: tuple[int | None, str]
            if archived.error is None:
                found = (archived.task.id, f"{archived.task.description!r}, archived")
            else:
                found = (archived.claimed_id(), f"{path}, a file that does not parse")
            here.setdefault(uuid_of(path), found)
    return here


# ------------------------------------------------------------------------------------------ writing
def _write(state: StoreState, change: Change, items: list[Converted], now: datetime) -> list[str]:
    """Write every task; ids the original gave out twice (or not at all) are renumbered. Returns the
    renumbering lines for the message."""
    holder: dict[int, Converted] = {}
    for item in sorted(items, key=lambda i: (i.data["entry"], i.data["uuid"])):
        if item.original_id is not None and item.original_id not in holder:
            holder[item.original_id] = item
    later: list[Converted] = []
    for item in items:
        if item.original_id is not None and holder[item.original_id] is item:
            _write_one(state, change, item, item.original_id, now)
        else:
            later.append(item)
    renumbered = []
    for item in later:  # after every kept id is taken, so new ids are above all of them
        number = next_id(state, change)
        if item.original_id is not None:
            other = holder[item.original_id].data["uuid"]
            reason = f"id {item.original_id} was also task {other}'s in the original store (ids clashed there)"
        else:
            reason = "the original store gave the task no usable id"
        item.notes.append(f"{NOTE_PREFIX} {reason}; the task is now id {number}")
        renumbered.append(f"{item.data['uuid']} → id {number}")
        _write_one(state, change, item, number, now)
    return renumbered


def _write_one(state: StoreState, change: Change, item: Converted, number: int, now: datetime) -> None:
    notes = [Annotation(entry=now, description=text) for text in item.notes]
    data = {**item.data, "id": number, "annotations": [*item.data.get("annotations", []), *notes]}
    try:
        task = validate.validated(data)
    except BacklogError as exc:
        raise InvalidInput(f"Nothing was migrated: task {data['uuid']} of the original store: {exc}") from None
    layout = state.layout
    path = layout.task(task.uuid) if item.segment is None else layout.archived(item.segment, task.uuid)
    raw = dump(task, item.body)
    try:
        parse(raw, path)
    except TaskFileError as exc:  # never write a file this store would then report as broken
        raise InvalidInput(f"Nothing was migrated: task {task.uuid} would not read back ({exc.reason}).") from None
    change.files[path] = raw
    change.touch(task)


def _raise_counter(state: StoreState, change: Change) -> None:
    """The counter above every imported id (and every id in use): the next id ``next_id`` would hand
    out, given back."""
    number = next_id(state, change)
    change.files[state.layout.counter] = f"{number}\n".encode()


# ------------------------------------------------------------------------------------------ messages
def _subject(store: OriginalStore, items: list[Converted]) -> str:
    where = " ".join(str(store.root).split())
    return f"migrate {len(items)} task(s) from the original backlog store {where} ({store.collection})"


def _message(store: OriginalStore, items: list[Converted], renumbered: list[str], adjusted: int) -> str:
    archived = sum(1 for i in items if i.segment is not None)
    docs = sum(1 for i in items if i.body)
    parts = [
        f"Migrated {len(items)} task(s) from {store.root} (collection '{store.collection}'): "
        f"{len(items) - archived} live, {archived} archived, {docs} with a doc."
    ]
    if renumbered:
        parts.append(f"Renumbered {len(renumbered)} (ids the original gave out twice): "
                     + ", ".join(renumbered[:SHOWN]) + ("…" if len(renumbered) > SHOWN else "") + ".")
    if adjusted:
        parts.append(
            f"{adjusted} task(s) had values this store cannot hold as fields; each keeps them in an "
            f"annotation starting '{NOTE_PREFIX}'."
        )
    parts += [f"Note: {note}." for note in store.notes[:SHOWN]]
    parts.append("The original store was only read; nothing there changed.")
    return " ".join(parts)

