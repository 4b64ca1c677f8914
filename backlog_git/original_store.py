"""Reading a task store of the original ``backlog`` server (TypeScript, backloghq/backlog), to migrate it.

The original keeps a ``TASKDATA`` directory (2.x: an agentdb database over opslog)::

    meta/manifest.json                                the database's collections
    collections/<name>/manifest.json                  opslog: current snapshot, active op logs, archive segments
    collections/<name>/snapshots/snap-<ms>.jsonl      header line, then one {"id", "data"} line per record
    collections/<name>/ops/<writer>-<ms>.jsonl        operations after that snapshot (one file per writer)
    collections/<name>/archive/archive-YYYY-QN.json   archived records ({"period", "records": {uuid: record}})
    collections/<name>/blobs/<uuid>/doc               a task's markdown doc
    collections/<name>/text/                          the search index (derivable: never read)

The live records are the manifest's ``currentSnapshot`` with the operations of the op logs the manifest
names (``activeAgentOps``, else ``activeOps``) applied in (Lamport clock, writer) order; op logs it does
not name are leftovers of earlier checkpoints, already in the snapshot. A 1.x store is the same opslog
directly in ``TASKDATA`` (``manifest.json`` at the top, docs in ``docs/<uuid>.md``).

:func:`read_store` reads all of it (nothing is ever written there); :func:`convert` turns the records
into valid task fields, keeping every value the store cannot hold as a field in an annotation, so a
quirk of the original (a literal ``due: friday``, a dependency that is not a uuid, an unknown recurrence
pattern, two tasks given one id) never blocks a migration and never loses data.
"""

from __future__ import annotations

import json
import re
import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import InvalidInput, NotFound
from .layout import SEGMENT_RE, quarter
from .model import DATE_FIELDS, STATUSES, UUID_RE, Annotation, Task, attribute_problem, parse_timestamp
from .query import parse_recur

INTERNAL_KEYS = ("_id", "_version", "_blobs", "has_doc", "urgency", "uuid", "id")
"""Storage bookkeeping of the original (and values derived on read), never task fields here."""
NOTE_PREFIX = "backlog-git migrate:"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_EXTRA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*\Z")
_MIGRATION_NS = uuidlib.UUID("6f1d1c8e-6a4e-4c2a-9d7b-0b5c2e1f4a10")


@dataclass
class OriginalTask:
    """One record of the original store, as stored, with its doc and where it was found."""

    key: str
    """The record's key in the store (its uuid there)."""
    record: dict[str, Any]
    doc: str | None
    segment: str | None
    """The archive period (``2026-Q4``) of an archived record, as the original named it; None: live."""
    origin: str
    """The file it was read from, relative to the store (for messages)."""


@dataclass
class OriginalStore:
    root: Path
    collection: str
    live: list[OriginalTask] = field(default_factory=list)
    archived: list[OriginalTask] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the reader skipped or chose (malformed op lines, duplicated records), for the report."""


@dataclass
class Converted:
    """A record turned into task fields: ``data`` validates as a :class:`Task` once ``id`` is set."""

    data: dict[str, Any]
    original_id: int | None
    """The record's numeric id, when it had a usable one."""
    body: str
    segment: str | None
    notes: list[str]
    """What had to change, each kept on the task as an annotation."""


# ------------------------------------------------------------------------------------------ reading
def is_original_store(path: Path) -> bool:
    return (path / "meta" / "manifest.json").is_file() or (path / "collections").is_dir() or _is_opslog(path)


def _is_opslog(path: Path) -> bool:
    return (path / "manifest.json").is_file() and (path / "snapshots").is_dir()


def collections(root: Path) -> list[str]:
    """The collections (namespaces) of a 2.x store that hold an opslog."""
    base = root / "collections"
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir() and (p / "manifest.json").is_file())


def read_store(source: Path, collection: str | None = None, default: str = "tasks") -> OriginalStore:
    """Every task of one collection of the original store at ``source``: live and archived, with docs.

    ``collection`` names the collection (the original's ``BACKLOG_NAMESPACE``); without it, ``default``
    when the store has it, else the store's only collection."""
    root = Path(source).expanduser()
    if not root.is_dir():
        raise NotFound(f"{root} is not a directory; give --from the original server's TASKDATA directory.")
    name, directory = _locate(root, collection, default)
    store = OriginalStore(root, name)
    manifest = _json_file(directory / "manifest.json", root)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("currentSnapshot"), str):
        raise InvalidInput(f"{_rel(directory / 'manifest.json', root)} is not an opslog manifest (no currentSnapshot).")
    records = _snapshot(_inside(directory, manifest["currentSnapshot"], root), root)
    _apply_ops(directory, manifest, records, store)
    docs = _DocReader(directory)
    origin = _rel(directory / str(manifest["currentSnapshot"]), root)
    for key, record in records.items():
        store.live.append(OriginalTask(key, record, docs.read(key, record), None, origin))
    live_keys = set(records)
    seen: dict[str, OriginalTask] = {}
    for path in _segment_files(directory, manifest, root):
        period, segment_records = _segment(path, root)
        for key, record in segment_records.items():
            if key in live_keys:
                store.notes.append(f"task {key} is both live and in {_rel(path, root)}: kept the live copy")
                continue
            if key in seen:
                store.notes.append(f"task {key} is in two archive segments: kept the one in {_rel(path, root)}")
            seen[key] = OriginalTask(key, record, docs.read(key, record), period, _rel(path, root))
    store.archived = list(seen.values())
    return store


def _locate(root: Path, collection: str | None, default: str) -> tuple[str, Path]:
    if _is_opslog(root):  # a 1.x store, or a collection directory given directly
        return collection or root.name, root
    names = collections(root)
    if not names:
        raise NotFound(
            f"{root} holds no task store of the original backlog server (no collections/<name>/manifest.json "
            "and no manifest.json); give --from the TASKDATA directory the original server used."
        )
    if collection:
        if collection not in names:
            raise NotFound(f"{root} has no collection {collection!r}; it has: {', '.join(names)}.")
        return collection, root / "collections" / collection
    if default in names:
        return default, root / "collections" / default
    if len(names) == 1:
        return names[0], root / "collections" / names[0]
    raise InvalidInput(
        f"{root} holds several collections ({', '.join(names)}) and none is {default!r}; "
        "choose one with --namespace NAME."
    )


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _inside(directory: Path, relative: Any, root: Path) -> Path:
    """A path the manifest names, refused unless it stays inside the collection directory."""
    text = str(relative)
    candidate = (directory / text).resolve()
    if Path(text).is_absolute() or ".." in Path(text).parts or not candidate.is_relative_to(directory.resolve()):
        raise InvalidInput(f"{_rel(directory / 'manifest.json', root)} names a file outside the store: {text!r}.")
    return directory / text


def _read_text(path: Path, root: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"{_rel(path, root)} is missing; the original store is incomplete.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{_rel(path, root)} cannot be read: {exc}.") from None


def _json_file(path: Path, root: Path) -> Any:
    try:
        return json.loads(_read_text(path, root))
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{_rel(path, root)} is not valid JSON (line {exc.lineno}: {exc.msg}).") from None


def _snapshot(path: Path, root: Path) -> dict[str, dict[str, Any]]:
    """A snapshot: JSON lines (a header, then ``{"id", "data"}``), or the older one-document JSON."""
    text = _read_text(path, root)
    first = text.split("\n", 1)[0]
    try:
        header = json.loads(first)
    except json.JSONDecodeError:
        header = None
    if header is None or (isinstance(header, dict) and "records" in header):
        whole = _json_file(path, root) if header is None else header
        found = whole.get("records") if isinstance(whole, dict) else None
        if not isinstance(found, dict):
            raise InvalidInput(f"{_rel(path, root)} is not an opslog snapshot (no records).")
        return {str(k): v for k, v in found.items() if isinstance(v, dict)}
    records: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(text.split("\n")[1:], start=2):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{_rel(path, root)}:{number}: not valid JSON ({exc.msg}).") from None
        if isinstance(item, dict) and isinstance(item.get("data"), dict) and "id" in item:
            records[str(item["id"])] = item["data"]
    return records


def _apply_ops(directory: Path, manifest: dict[str, Any], records: dict[str, dict[str, Any]],
               store: OriginalStore) -> None:
    """Replay the operations after the snapshot, in the original's order (clock, then writer)."""
    agents = manifest.get("activeAgentOps")
    if isinstance(agents, dict) and agents:
        logs = [str(p) for p in agents.values()]
    elif isinstance(manifest.get("activeOps"), str):
        logs = [manifest["activeOps"]]
    else:
        logs = []
    ops: list[dict[str, Any]] = []
    for relative in dict.fromkeys(logs):
        path = _inside(directory, relative, store.root)
        if not path.exists():
            continue
        skipped = 0
        for line in _read_text(path, store.root).split("\n"):
            if not line.strip():
                continue
            try:
                op = json.loads(line)
            except json.JSONDecodeError:
                skipped += 1
                continue
            if not isinstance(op, dict) or op.get("op") not in ("set", "delete") or not isinstance(op.get("id"), str):
                skipped += 1
                continue
            ops.append(op)
        if skipped:
            store.notes.append(f"skipped {skipped} malformed line(s) of {_rel(path, store.root)}, as the original does")
    ops.sort(key=lambda op: (op.get("clock") if isinstance(op.get("clock"), int) else 0, str(op.get("agent") or "")))
    for op in ops:
        if op["op"] == "set" and isinstance(op.get("data"), dict):
            records[op["id"]] = op["data"]
        elif op["op"] == "delete":
            records.pop(op["id"], None)


def _segment_files(directory: Path, manifest: dict[str, Any], root: Path) -> list[Path]:
    """Archive segments: those the manifest lists and any other ``archive/archive-*.json``, by period."""
    named = manifest.get("archiveSegments")
    paths = {_inside(directory, p, root) for p in named if isinstance(p, str)} if isinstance(named, list) else set()
    archive = directory / "archive"
    if archive.is_dir():
        paths.update(p for p in archive.glob("archive-*.json") if p.is_file())
    return sorted((p for p in paths if p.exists()), key=lambda p: p.name)


def _segment(path: Path, root: Path) -> tuple[str, dict[str, dict[str, Any]]]:
    data = _json_file(path, root)
    records = data.get("records") if isinstance(data, dict) else None
    if not isinstance(records, dict):
        raise InvalidInput(f"{_rel(path, root)} is not an archive segment (no records).")
    period = str(data.get("period") or path.name.removeprefix("archive-").removesuffix(".json"))
    return period, {str(k): v for k, v in records.items() if isinstance(v, dict)}


class _DocReader:
    """Docs: ``blobs/<uuid>/doc`` (2.x), else ``docs/<uuid>.md`` (1.x). Archived tasks' docs stay on the
    original's disk (its archive orphans them), so they come back too."""

    def __init__(self, directory: Path) -> None:
        self.places = [(directory / "blobs", "{}/doc"), (directory / "docs", "{}.md")]

    def read(self, key: str, record: dict[str, Any]) -> str | None:
        for name in dict.fromkeys([key, str(record.get("_id") or key)]):
            if not _SAFE_NAME.match(name):
                continue
            for base, pattern in self.places:
                path = base / pattern.format(name)
                if path.is_file():
                    return path.read_bytes().decode("utf-8", errors="replace")
        return None


# ------------------------------------------------------------------------------------------ converting
def new_uuid(old: str) -> str:
    """The uuid a record whose key is not a uuid gets (the same one on every run)."""
    return str(uuidlib.uuid5(_MIGRATION_NS, old))


def convert(store: OriginalStore, now: datetime) -> list[Converted]:
    """Task fields of every record; uuids that are not uuids are replaced (and references to them)."""
    uuids = {item.key: _uuid_for(item) for item in store.live + store.archived}
    items, seen = [], set()
    for item in store.live + store.archived:  # two keys naming one uuid (case): the first (live) wins
        if uuids[item.key] in seen:
            store.notes.append(f"record {item.key} names task {uuids[item.key]} a second time: left out")
            continue
        seen.add(uuids[item.key])
        items.append(item)
    return [_convert_one(item, uuids, now) for item in items]


def _uuid_for(item: OriginalTask) -> str:
    """The record's key is its identity in the original (``_id``/``uuid`` in the record repeat it)."""
    for candidate in (item.key, item.record.get("_id"), item.record.get("uuid")):
        text = str(candidate or "").strip().lower()
        if UUID_RE.match(text):
            return text
    return new_uuid(item.key)


def _note(field: str, value: Any, reason: str) -> str:
    shown = json.dumps(value, ensure_ascii=False, default=str)
    return f"{NOTE_PREFIX} the original's {field} was {shown}; {reason}"


def _convert_one(item: OriginalTask, uuids: dict[str, str], now: datetime) -> Converted:
    record = item.record
    notes: list[str] = []
    task_uuid = uuids[item.key]
    if task_uuid == new_uuid(item.key):
        notes.append(_note("uuid", item.key, f"not a uuid, so the task is now {task_uuid}"))
    data: dict[str, Any] = {k: v for k, v in record.items() if k not in INTERNAL_KEYS and not k.startswith("_")}
    data["uuid"] = task_uuid
    original_id = record.get("id")
    if isinstance(original_id, bool) or not isinstance(original_id, int) or original_id < 1:
        if original_id is not None:
            notes.append(_note("id", original_id, "not a whole number ≥ 1, so the task got a new id"))
        original_id = None
    _fix_status(data, notes)
    _fix_dates(data, notes, now)
    _fix_lists(data, uuids, notes)
    _fix_recur(data, notes)
    _fix_extras(data, notes)
    _fix_by_model(data, notes)
    if data.get("status") in ("completed", "deleted") and data.get("end") is None:
        data["end"] = data["modified"]
        notes.append(f"{NOTE_PREFIX} the task had no end date; it is set to its last modification")
    segment = item.segment
    if segment is not None and not SEGMENT_RE.match(segment):  # archived, in a segment of another name
        segment = quarter(data.get("end") or data["modified"])
    return Converted(data, original_id, item.doc or "", segment, notes)


def _fix_status(data: dict[str, Any], notes: list[str]) -> None:
    status = data.get("status") or "pending"
    if status not in STATUSES:
        notes.append(_note("status", status, "not a status here, so the task is pending"))
        status = "pending"
    data["status"] = status


def _fix_dates(data: dict[str, Any], notes: list[str], now: datetime) -> None:
    for name in DATE_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if value in (None, ""):
            data.pop(name)
            continue
        try:
            data[name] = parse_timestamp(value, name)
        except ValueError:
            data.pop(name)
            notes.append(_note(name, value, "not a date, so the field is left empty"))
    data["entry"] = data.get("entry") or data.get("modified") or now
    data["modified"] = data.get("modified") or data["entry"]


def _fix_lists(data: dict[str, Any], uuids: dict[str, str], notes: list[str]) -> None:
    for name, check, reason in (("tags", _tag, "not tags here (one word, no leading + or -)"),
                                ("depends", lambda v: _reference(v, uuids), "not task uuids")):
        value = data.get(name)
        if value is None:
            continue
        kept, dropped = [], []
        for item in value if isinstance(value, list) else [value]:
            good = check(item)
            if good is None:
                dropped.append(item)
            else:
                kept.append(good)
        data[name] = kept
        if dropped:
            notes.append(_note(name, dropped, f"{reason}, so they were left out"))
    parent = data.get("parent")
    if parent not in (None, ""):
        reference = _reference(parent, uuids)
        if reference is not None:
            data["parent"] = reference
        else:
            data.pop("parent")
            notes.append(_note("parent", parent, "not a task uuid, so the field is left empty"))
    annotations = data.get("annotations")
    if annotations is not None:
        valid: list[Annotation] = []
        bad: list[Any] = []
        for note in annotations if isinstance(annotations, list) else [annotations]:
            try:
                valid.append(Annotation.model_validate(note))
            except (ValidationError, ValueError, TypeError):
                bad.append(note)
        data["annotations"] = valid
        if bad:
            notes.append(_note("annotations", bad, "not annotations here (entry and description), kept in this note"))


def _tag(item: Any) -> str | None:
    text = "" if isinstance(item, (list, dict)) else str(item)
    if not text or len(text) > 100 or any(c.isspace() for c in text) or text.startswith(("+", "-")):
        return None
    return text


def _reference(item: Any, uuids: dict[str, str]) -> str | None:
    """A dependency or parent: the uuid of a task (renamed if the original's was not a uuid)."""
    text = uuids.get(str(item), str(item).strip().lower())
    return text if UUID_RE.match(text) else None


def _fix_recur(data: dict[str, Any], notes: list[str]) -> None:
    recur = data.get("recur")
    if recur in (None, ""):
        data.pop("recur", None)
        return
    try:
        parse_recur(str(recur))
    except ValueError:
        data["recur"] = "daily"
        notes.append(_note("recur", recur, "a pattern the original did not know either; it recurred daily, as here"))


def _fix_extras(data: dict[str, Any], notes: list[str]) -> None:
    for key in [k for k in data if k not in Task.model_fields]:
        value = data[key]
        problem = None if _EXTRA_KEY.match(key) else "not an attribute name here"
        problem = problem or attribute_problem(key, value)
        if problem is not None:
            data.pop(key)
            notes.append(_note(f"attribute {key!r}", value, f"{problem.rstrip('.')}; kept in this note"))


def _fix_by_model(data: dict[str, Any], notes: list[str]) -> None:
    """Whatever the model still refuses: a description gets a placeholder, any other field is emptied;
    the old value is kept in a note."""
    for _ in range(len(data) + 1):
        try:
            Task.model_validate({**data, "id": 1})
            return
        except ValidationError as exc:
            error = exc.errors()[0]
            name = str(error["loc"][0]) if error["loc"] else str((error.get("ctx") or {}).get("attribute", ""))
            if name not in data:
                raise InvalidInput(f"a record of the original store cannot be read: {error['msg']}") from None
            value = data.pop(name)
            reason = str(error["msg"]).removeprefix("Value error, ").rstrip(".")
            if name == "description":
                data["description"] = _description(value)
                notes.append(_note("description", value, f"{reason}; this note keeps it whole"))
            else:
                notes.append(_note(name, value, f"{reason}; the field is left empty"))
    raise InvalidInput("a record of the original store cannot be read.")  # pragma: no cover


def _description(value: Any) -> str:
    text = " ".join(str(value or "").split())
    return text[:500] if text else "(no description in the original store)"
