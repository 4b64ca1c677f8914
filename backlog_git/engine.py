"""The one engine API: ``Backlog``. The CLI, the MCP server, the hooks and the merge tooling call it.

Every mutation follows one path: take the writer lock, refresh the working-tree view, build the new
file contents from it, commit exactly those files (one commit, trailers naming op, tasks and
writer), and update the view. Reads refresh the view (only changed files are re-parsed) and run
the query layer over the parsed tasks.
"""

from __future__ import annotations

import json
import re
import threading
import uuid as uuidlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import config as configmod
from .branches import AGENT_PREFIX, AgentOverlay, MergedView, WorkingContents, merge_counter, merge_file
from .errors import (
    AmbiguousId,
    BacklogError,
    BrokenTaskFile,
    InvalidInput,
    NotFound,
    NothingToUndo,
    RepositoryError,
    UndoConflict,
    WrongState,
)
from .gitstore import CommitInfo, GitStore, format_message
from .model import UUID_RE, Annotation, Task, utc_now, validate_extra_key
from .query import (
    QueryContext,
    TaskIndex,
    compile_filter,
    parse_recur,
    plan_instances,
    resolve_date,
    sort_tasks,
    urgency,
)
from .taskfile import TaskFile, TaskFileError, dump, parse
from .view import Entry, WorkingView, parse_entry

STORE_DIR = configmod.STORE_DIR
COUNTER_FILE = "next-id"
ARCHIVE_DIR = "archive"
SEGMENT_RE = re.compile(r"^\d{4}-Q[1-4]$")
UUID_PREFIX_RE = re.compile(r"^[0-9a-f]{8}[0-9a-f-]*$")
SETTABLE_FIELDS = (
    "description", "project", "priority", "due", "wait", "scheduled", "recur", "until", "agent", "depends",
    "parent", "start", "end", "entry",
)
DATE_INPUT_FIELDS = ("due", "wait", "scheduled", "until", "start", "end", "entry")
NOT_SETTABLE = ("uuid", "id", "status", "modified", "annotations", "tags", "has_doc", "urgency")
IMPORT_FIELDS = (
    "uuid", "description", "status", "project", "priority", "tags", "due", "wait", "scheduled", "recur",
    "until", "depends", "parent", "agent", "start", "end", "entry", "modified", "annotations",
)


@dataclass
class Outcome:
    """What a mutation did: a message for people, the tasks it touched, and its commit (None = no change)."""

    message: str
    tasks: list[dict[str, Any]] = field(default_factory=list)
    commit: str | None = None


@dataclass
class _Change:
    """The files one operation writes, with what the commit message needs."""

    op: str
    files: dict[str, bytes | None] = field(default_factory=dict)
    touched: dict[str, Task] = field(default_factory=dict)
    trailers: list[tuple[str, str]] = field(default_factory=list)


def _quarter(moment: datetime) -> str:
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def _label(task: Task) -> str:
    text = task.description.replace("\n", " ")
    return f"#{task.id}: {text[:72]}"


class Backlog:
    """A task store in a git repository: the operations of the original server, one commit each."""

    def __init__(self, store: configmod.StoreConfig) -> None:
        self.config = store
        self.git = GitStore(store.repo_path or Path.cwd(), create=store.create_repo)
        self.namespace = store.namespace
        self.ns_dir = f"{STORE_DIR}/{self.namespace}"
        self.writer = store.agent_id or configmod.default_writer()
        self.agent_ref = f"refs/heads/{AGENT_PREFIX}{store.agent_id}" if store.agent_id else None
        cache = Path(self.git.gitdir) / "backlog" / f"view-{self.namespace}.pickle"
        working = WorkingView(self.git.workdir, self.ns_dir, cache_path=cache)
        self._view = MergedView(working, AgentOverlay(self.git, STORE_DIR))
        self._index = TaskIndex.build([])
        self._lock = threading.RLock()

    @classmethod
    def open(
        cls, repo: str | None = None, *, env: Mapping[str, str] | None = None, cwd: str | None = None
    ) -> Backlog:
        return cls(configmod.resolve(repo, env, cwd))

    # ================================================================ paths
    def task_path(self, task_uuid: str) -> str:
        if not UUID_RE.match(task_uuid):
            raise InvalidInput(f"Not a task uuid: {task_uuid!r}")
        return f"{self.ns_dir}/{task_uuid[:2]}/{task_uuid}.md"

    def archive_path(self, segment: str, task_uuid: str) -> str:
        if not SEGMENT_RE.match(segment) or not UUID_RE.match(task_uuid):
            raise InvalidInput(f"Invalid archive location {segment!r}/{task_uuid!r}")
        return f"{self.ns_dir}/{ARCHIVE_DIR}/{segment}/{task_uuid[:2]}/{task_uuid}.md"

    @property
    def counter_path(self) -> str:
        return f"{self.ns_dir}/{COUNTER_FILE}"

    # ================================================================ the view
    def _refresh(self) -> MergedView:
        """Bring the view up to date with the disk and the agent branches; keep the index in step."""
        removed, changed = self._view.refresh()
        for entry in removed:
            if entry.file is not None and self._view.by_uuid.get(entry.uuid) is None:
                self._index.remove(entry.task)
        for entry in changed:
            if entry.file is not None:
                self._index.add(entry.task)
        return self._view

    def _context(self, now: datetime | None = None) -> QueryContext:
        by_uuid = self._view.by_uuid
        return QueryContext(
            now or utc_now(), _TaskMap(by_uuid), has_doc=lambda t: by_uuid[t.uuid].has_doc, index=self._index
        )

    def _record(self, entry: Entry, ctx: QueryContext) -> dict[str, Any]:
        record = dict(entry.record())
        record["urgency"] = urgency(entry.task, ctx)
        return record

    def _records(self, tasks: Iterable[Task], ctx: QueryContext) -> list[dict[str, Any]]:
        by_uuid = self._view.by_uuid
        return [self._record(by_uuid[t.uuid], ctx) for t in tasks]

    # ================================================================ id resolution
    def _resolve(self, ref: str | int) -> Entry:
        """One resolver for every command: numeric id, full uuid, or a unique uuid prefix (8+ hex)."""
        text = str(ref).strip()
        view = self._view
        if not text:
            raise InvalidInput("No task given: pass a numeric id, a uuid, or a uuid prefix of 8+ hex digits.")
        if text.isdigit():
            number = int(text)
            matches = [view.by_uuid[u] for u in self._index.by_id.get(number, ()) if u in view.by_uuid]
            broken = [e for e in view.broken() if e.claimed_id() == number]
            if not matches and not broken and len(text) >= 8:
                # No such numeric id: 8+ decimal digits may be a uuid prefix ("26066905" of "26066905-…").
                matches = [e for u, e in view.by_uuid.items() if u.startswith(text)]
                broken = [e for e in view.broken() if e.uuid.startswith(text)]
        elif UUID_RE.match(text.lower()):
            entry = view.by_uuid.get(text.lower())
            matches = [entry] if entry else []
            broken = [e for e in view.broken() if e.uuid == text.lower()]
        elif UUID_PREFIX_RE.match(text.lower()):
            prefix = text.lower()
            matches = [e for u, e in view.by_uuid.items() if u.startswith(prefix)]
            broken = [e for e in view.broken() if e.uuid.startswith(prefix)]
        else:
            raise NotFound(
                f"No task found matching '{text}'. Name a task by its numeric id, its uuid, or a uuid prefix "
                "of at least 8 hex digits (task_list shows them)."
            )
        if len(matches) == 1 and not broken:
            return matches[0]
        if not matches and len(broken) == 1:
            raise BrokenTaskFile(str(broken[0].error))
        if not matches:
            raise NotFound(f"No task found matching '{text}'. Check the id with task_list or task_info.")
        candidates = ", ".join(f"{e.task.id} ({e.uuid})" for e in matches) + "".join(
            f", {e.path} (broken file)" for e in broken
        )
        raise AmbiguousId(f"'{text}' matches more than one task: {candidates}. Use the full uuid.")

    # ================================================================ reads
    def list(
        self, filter: str = "", *, sort: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        with self._lock:
            self._refresh()
            ctx = self._context()
            matches = self._select(filter, ctx)
            ordered = sort_tasks(matches, ctx, sort)
            if offset:
                ordered = ordered[max(offset, 0) :]
            if limit is not None:
                ordered = ordered[: max(limit, 0)]
            return self._records(ordered, ctx)

    def count(self, filter: str = "") -> int:
        with self._lock:
            self._refresh()
            return len(self._select(filter, self._context()))

    def _select(self, text: str, ctx: QueryContext) -> list[Task]:
        try:
            return compile_filter(text).select(ctx, self._index)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None

    def info(self, ref: str) -> dict[str, Any]:
        with self._lock:
            self._refresh()
            ctx = self._context()
            text = str(ref).strip()
            if text.isdigit() or UUID_PREFIX_RE.match(text.lower()):
                return self._record(self._resolve(text), ctx)
            matches = sort_tasks(self._select(text, ctx), ctx, None)
            if not matches:
                raise NotFound(f"No task found matching '{text}'. Check the id with task_list.")
            return self._records(matches[:1], ctx)[0]

    def projects(self) -> list[str]:
        with self._lock:
            self._refresh()
            seen: dict[str, None] = {}
            for task in self._live_tasks():
                if task.project:
                    seen.setdefault(task.project)
            return sorted(seen)

    def tags(self) -> list[str]:
        with self._lock:
            self._refresh()
            seen: dict[str, None] = {}
            for task in self._live_tasks():
                for tag in task.tags:
                    seen.setdefault(tag)
            return sorted(seen)

    def _live_tasks(self) -> list[Task]:
        return [e.task for e in self._view.by_uuid.values() if e.task.status in ("pending", "recurring")]

    def doc_read(self, ref: str) -> str:
        with self._lock:
            self._refresh()
            entry = self._resolve(ref)
            assert entry.file is not None
            if not entry.file.body.strip():
                raise NotFound(
                    f"No doc attached to this task. (Task {entry.task.id} has no doc; write one with task_doc_write.)"
                )
            return entry.file.body

    def broken_files(self) -> list[str]:
        """Task files that do not parse or validate (path:line: reason), as of the latest call.
        Adapters show these with every result, so one broken file is never silently skipped."""
        return [str(entry.error) for entry in self._view.broken() if entry.error is not None]

    def summary(self) -> dict[str, int]:
        """Counts for the session-start line: pending, active, overdue, blocked."""
        with self._lock:
            self._refresh()
            ctx = self._context()
            return {
                name: len(self._select(text, ctx))
                for name, text in (
                    ("pending", "status:pending"),
                    ("active", "+ACTIVE"),
                    ("overdue", "+OVERDUE"),
                    ("blocked", "+BLOCKED status:pending"),
                )
            }

    def check(self) -> list[dict[str, Any]]:
        """Problems in the store: files that do not parse or validate, duplicate ids, merge setup."""
        with self._lock:
            self._refresh()
            problems: list[dict[str, Any]] = [
                {"path": e.path, "line": e.error.line, "reason": e.error.reason}
                for e in self._view.broken()
                if e.error is not None
            ]
            seen: dict[int, Entry] = {}
            for entry in sorted(self._view.by_uuid.values(), key=lambda e: e.path):
                other = seen.setdefault(entry.task.id, entry)
                if other is not entry:
                    problems.append(
                        {
                            "path": entry.path,
                            "line": 3,
                            "reason": f"id {entry.task.id} is also used by {other.path}; "
                            "run `backlog-git sync` to renumber one of them",
                        }
                    )
            problems.extend(self._setup_problems())
            return problems

    def _setup_problems(self) -> list[dict[str, Any]]:
        """A clone whose config lacks the merge driver: git would silently fall back to a text merge."""
        from . import setup_repo

        if setup_repo.driver_registered(self.git):
            return []
        return [{
            "path": ".git/config",
            "line": None,
            "reason": "the `backlog` merge driver is not registered in this clone, so git would merge task "
            "files as text and could leave conflict markers; run `backlog-git install` (git config is not cloned)",
        }]

    # ================================================================ history
    def history(self, ref: str) -> list[dict[str, Any]]:
        """A task's commits, newest first: sha, time, writer, operation, fields changed old → new."""
        with self._lock:
            self._refresh()
            text = str(ref).strip().lower()
            task_uuid = text if UUID_RE.match(text) else self._history_uuid(ref)
            active = self.task_path(task_uuid)
            archived = f"{self.ns_dir}/{ARCHIVE_DIR}/*/{task_uuid[:2]}/{task_uuid}.md"
            refs = ["HEAD"] if self.git.head_oid() is not None else []
            refs += [f"refs/heads/{AGENT_PREFIX}{name}" for name in self.git.branch_tips(AGENT_PREFIX)]
            commits = self.git.path_log([active, archived], refs)
            if not commits:
                raise NotFound(f"No history for task '{ref}': no commit touched it.")
            return [self._history_entry(c, active, archived) for c in commits]

    def _history_uuid(self, ref: str) -> str:
        """The uuid of an active task, or of an archived one named by its numeric id or uuid prefix."""
        try:
            return self._resolve(ref).uuid
        except NotFound:
            text = str(ref).strip().lower()
            archived = [
                entry
                for files in self._archive_files().values()
                for entry in (parse_entry(path, data) for path, data in files.items())
                if entry.error is None
            ]
            if text.isdigit():
                matches = [e for e in archived if e.task.id == int(text)]
            if not text.isdigit() or not matches:
                prefixed = UUID_PREFIX_RE.match(text) is not None
                matches = [e for e in archived if prefixed and e.uuid.startswith(text)]
            if len(matches) > 1:
                names = ", ".join(f"{e.task.id} ({e.uuid})" for e in matches)
                raise AmbiguousId(f"'{ref}' matches more than one archived task: {names}. Use the full uuid.") from None
            if matches:
                return matches[0].uuid
            raise

    def _history_entry(self, commit: CommitInfo, active: str, archived_glob: str) -> dict[str, Any]:
        prefix, _, tail = archived_glob.partition("/*/")
        before = after = None
        for path, old, new in self.git.changed_paths(commit.sha, self.ns_dir):
            if path == active or (path.startswith(prefix + "/") and path.endswith("/" + tail)):
                before = before or old
                after = after or new
        return {
            "commit": commit.sha,
            "time": commit.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "writer": commit.trailer("Backlog-Agent") or "(git)",
            "op": commit.trailer("Backlog-Op") or "edit",
            "subject": commit.subject,
            "changes": _field_changes(before, after),
        }

    # ================================================================ mutation machinery
    def _mutate(self, op: str, build: Callable[[_Change, datetime], str]) -> Outcome:
        """Run one operation as one commit. ``build`` fills the change and returns the message."""
        with self._lock, self.git.writer_lock():
            branch = self._write_target()
            self._refresh()
            change = _Change(op)
            now = utc_now()
            message = build(change, now)
            if not change.files:
                return Outcome(message, self._touched_records(change), None)
            commit_message = format_message(self._subject(change), self._trailers(change))
            sha = self._commit(branch, change.files, commit_message)
            self._refresh()
            return Outcome(message, self._touched_records(change), sha)

    def _write_target(self) -> str:
        """The ref this writer commits to: its agent branch, or the checked-out branch."""
        if self.agent_ref is not None:
            return self.agent_ref
        return self.git.check_writable()

    def _commit(self, ref: str, files: Mapping[str, bytes | None], message: str) -> str:
        """Commit what the operation wrote. While agent branches are unmerged, the commit is also a
        merge of them (its tree holds the merged view the operation was computed from), so every
        later merge has a true common ancestor; on the checked-out branch that integrates them."""
        view = self._view
        seen = list(view.pending_tips)
        names = ", ".join(sorted(self._view.overlay.pending)) or "the checked-out branch"
        into = ref.removeprefix("refs/heads/")
        merge_message = format_message(
            f"merge {names} into {into} (what {self.writer} read)",
            [("Backlog-Op", "merge"), ("Backlog-Namespace", self.namespace), ("Backlog-Merged-By", self.writer)],
        )
        if ref == self.agent_ref:
            return self.git.commit_on_agent_branch(ref, view.merged_all, files, message, seen, merge_message)
        if seen:  # the checked-out branch integrates the agent branches it read, then records the op
            self.git.merge_into_branch(ref, seen, view.merged_all, merge_message)
        return self.git.commit_worktree_files(files, message, ref=ref)

    def _subject(self, change: _Change) -> str:
        tasks = list(change.touched.values())
        if len(tasks) == 1:
            return f"{change.op} {_label(tasks[0])}"
        ids = ", ".join(f"#{t.id}" for t in tasks[:10]) + (", …" if len(tasks) > 10 else "")
        return f"{change.op} {len(tasks)} tasks: {ids}"

    def _trailers(self, change: _Change) -> list[tuple[str, str]]:
        trailers = [("Backlog-Op", change.op), ("Backlog-Namespace", self.namespace)]
        trailers += [("Backlog-Task", u) for u in change.touched]
        trailers += change.trailers
        trailers.append(("Backlog-Agent", self.writer))
        return trailers

    def _touched_records(self, change: _Change) -> list[dict[str, Any]]:
        ctx = self._context()
        records = []
        for task_uuid, task in change.touched.items():
            entry = self._view.by_uuid.get(task_uuid)
            if entry is not None:
                records.append(self._record(entry, ctx))
            else:
                records.append(task.to_record())
        return records

    def _editable(self, ref: str) -> Entry:
        entry = self._resolve(ref)
        if entry.error is not None:
            raise BrokenTaskFile(str(entry.error))
        return entry

    def _write(self, change: _Change, task: Task, body: str) -> None:
        change.files[self.task_path(task.uuid)] = dump(task, body)
        change.touched[task.uuid] = task

    def _next_id(self, change: _Change) -> int:
        """Next numeric id: above every id in use and the persisted counter, so ids are never reused."""
        counter_text = change.files.get(self.counter_path)
        if counter_text is None:
            try:
                counter_text = (self.git.workdir / self.counter_path).read_bytes()
            except FileNotFoundError:
                counter_text = b"1"
            counter_text = merge_counter(counter_text, self._view.counter)
        try:
            counter = int(counter_text.decode().strip() or "1")
        except ValueError:
            counter = 1
        in_use = self._view.max_id
        taken = max((t.id for t in change.touched.values()), default=0)
        number = max(counter, in_use + 1, taken + 1)
        change.files[self.counter_path] = f"{number + 1}\n".encode()
        return number

    # ================================================================ input helpers
    def _date(self, name: str, value: Any, now: datetime) -> datetime | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, datetime):
            return value
        try:
            return resolve_date(str(value), now)
        except ValueError as exc:
            raise InvalidInput(f"Invalid {name}: {exc}") from None

    def _validated(self, data: Mapping[str, Any]) -> Task:
        try:
            return Task.model_validate(dict(data))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "missing":
                message = f"the field '{where}' is required"
            elif where and where not in message:
                message = f"{where}: {message}"
            raise InvalidInput(message) from None

    def _check_recurrence(self, data: dict[str, Any]) -> None:
        if not data.get("recur"):
            return
        try:
            parse_recur(str(data["recur"]))
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        if not data.get("due"):
            raise InvalidInput(
                f"A recurring task needs a due date: give `due` along with recur:{data['recur']} "
                "(instances are due one period apart starting there)."
            )

    def _depends(self, value: Any) -> list[str]:
        if value is None or value == "":
            return []
        items = value if isinstance(value, (list, tuple)) else str(value).split(",")
        result = []
        for item in items:
            text = str(item).strip()
            if not text:
                continue
            if not UUID_RE.match(text.lower()):
                if text.isdigit() or UUID_PREFIX_RE.match(text.lower()):
                    text = self._resolve(text).uuid
                else:
                    raise InvalidInput(f"Invalid dependency UUID: '{text}'")
            result.append(text.lower())
        return result

    def _attributes(self, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in (attributes or {}).items():
            if key in Task.model_fields or key in ("has_doc", "urgency"):
                raise InvalidInput(f"'{key}' is a built-in field; set it with its own parameter.")
            try:
                validate_extra_key(key)
            except ValueError as exc:
                raise InvalidInput(str(exc)) from None
            result[key] = value
        return result

    # ================================================================ add / log / import
    def add(
        self,
        description: str,
        *,
        project: str | None = None,
        tags: Sequence[str] = (),
        priority: str | None = None,
        due: Any = None,
        depends: Any = (),
        wait: Any = None,
        scheduled: Any = None,
        recur: str | None = None,
        until: Any = None,
        agent: str | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> Outcome:
        def build(change: _Change, now: datetime) -> str:
            data: dict[str, Any] = {
                "uuid": str(uuidlib.uuid4()),
                "description": description,
                "status": "recurring" if recur else "pending",
                "project": project or None,
                "priority": priority or None,
                "tags": list(tags),
                "due": self._date("due", due, now),
                "wait": self._date("wait", wait, now),
                "scheduled": self._date("scheduled", scheduled, now),
                "recur": recur or None,
                "until": self._date("until", until, now),
                "depends": self._depends(depends),
                "agent": agent or None,
                "entry": now,
                "modified": now,
                **self._attributes(attributes),
            }
            self._check_recurrence(data)
            self._check_description(description)
            data["id"] = self._next_id(change)
            task = self._validated(data)
            self._write(change, task, "")
            self._spawn_instances(change, task, now)
            return f"Created task {task.uuid} (id {task.id})."

        return self._mutate("add", build)

    @staticmethod
    def _check_description(description: str) -> None:
        if not isinstance(description, str) or not description.strip():
            raise InvalidInput("Description cannot be empty.")

    def log(
        self,
        description: str,
        *,
        project: str | None = None,
        tags: Sequence[str] = (),
        priority: str | None = None,
        agent: str | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> Outcome:
        def build(change: _Change, now: datetime) -> str:
            self._check_description(description)
            data = {
                "uuid": str(uuidlib.uuid4()),
                "description": description,
                "status": "completed",
                "project": project or None,
                "priority": priority or None,
                "tags": list(tags),
                "agent": agent or None,
                "entry": now,
                "modified": now,
                "end": now,
                **self._attributes(attributes),
            }
            data["id"] = self._next_id(change)
            task = self._validated(data)
            self._write(change, task, "")
            return f"Task logged as {task.uuid} (id {task.id})."

        return self._mutate("log", build)

    def import_tasks(self, items: list[dict[str, Any]] | str) -> Outcome:
        """Create many tasks in one commit; all are validated first, and one bad item writes nothing."""
        if isinstance(items, str):
            try:
                items = json.loads(items)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"tasks must be a JSON array of task objects: {exc}") from None
        if not isinstance(items, list):
            raise InvalidInput("tasks must be a JSON array of task objects, e.g. [{\"description\": \"…\"}].")

        def build(change: _Change, now: datetime) -> str:
            # uuids taken: the archived tasks' too (an import must not resurrect a second copy)
            fresh = {p.rsplit("/", 1)[-1][:-3] for files in self._archive_files().values() for p in files}
            for number, item in enumerate(items, start=1):
                try:
                    task, body = self._import_one(item, change, now, fresh)
                except BacklogError as exc:
                    reason = str(exc).rstrip()
                    reason += "" if reason.endswith((".", "!", "?")) else "."
                    raise type(exc)(f"Task {number} of the import: {reason} Nothing was imported.") from None
                self._write(change, task, body)
            return f"Imported {len(items)} task(s)."

        return self._mutate("import", build)

    def _import_one(self, item: Any, change: _Change, now: datetime, fresh: set[str]) -> tuple[Task, str]:
        if not isinstance(item, dict):
            raise InvalidInput(f"each task must be a JSON object, got {item!r}.")
        data: dict[str, Any] = {}
        for key, value in item.items():
            if key in ("id", "urgency", "has_doc", "doc"):
                continue
            if key not in IMPORT_FIELDS:
                self._attributes({key: value})
            data[key] = value
        if not isinstance(data.get("description"), str) or not data["description"].strip():
            raise InvalidInput("Imported task description cannot be empty.")
        task_uuid = str(data.get("uuid") or uuidlib.uuid4()).lower()
        if not UUID_RE.match(task_uuid):
            raise InvalidInput(f"uuid {data.get('uuid')!r} is not a uuid.")
        exists_on_disk = (self.git.workdir / self.task_path(task_uuid)).exists()
        if task_uuid in self._view.by_uuid or task_uuid in fresh or exists_on_disk:
            raise InvalidInput(f"a task with uuid {task_uuid} already exists; remove the uuid to import a copy.")
        fresh.add(task_uuid)
        data["uuid"] = task_uuid
        for name in DATE_INPUT_FIELDS:
            if name in data:
                data[name] = self._date(name, data[name], now)
        data.setdefault("entry", now)
        data["modified"] = data.get("modified") or now
        if "depends" in data:
            data["depends"] = self._depends(data["depends"])
        if data.get("recur") and "status" not in data:
            data["status"] = "recurring"
        if data.get("status") in ("completed", "deleted") and not data.get("end"):
            data["end"] = now
        if data.get("recur"):
            self._check_recurrence(data)
        data["id"] = self._next_id(change)
        return self._validated(data), str(item.get("doc") or "")

    # ================================================================ modify / duplicate
    def modify(
        self,
        filter: str,
        *,
        changes: Mapping[str, Any] | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
    ) -> Outcome:
        if not str(filter).strip():
            raise InvalidInput(
                "task_modify needs a filter naming the tasks to change (an id, a uuid, or e.g. project:web); "
                "an empty filter would change every task."
            )

        def build(change: _Change, now: datetime) -> str:
            targets = self._modify_targets(filter)
            for entry in targets:
                task = self._apply_changes(entry.task, changes or {}, add_tags, remove_tags, now)
                assert entry.file is not None
                if task != entry.task:
                    task = task.model_copy(update={"modified": now})
                    self._write(change, task, entry.file.body)
            if not change.files:
                return f"No change: the {len(targets)} matching task(s) already have these values."
            return f"Modified {len(change.touched)} task(s)."

        return self._mutate("modify", build)

    def _modify_targets(self, text: str) -> list[Entry]:
        stripped = text.strip()
        if stripped.isdigit() or UUID_RE.match(stripped.lower()):
            return [self._editable(stripped)]
        matches = self._select(text, self._context())
        if not matches:
            raise NotFound("No matching tasks. Check the filter with task_list first.")
        return [self._view.by_uuid[t.uuid] for t in matches]

    def _apply_changes(
        self,
        task: Task,
        changes: Mapping[str, Any],
        add_tags: Sequence[str],
        remove_tags: Sequence[str],
        now: datetime,
    ) -> Task:
        data = task.model_dump()
        data.update(task.extras)
        for key, value in changes.items():
            if key in NOT_SETTABLE:
                raise InvalidInput(f"'{key}' cannot be set with modify; " + _how_to_set(key))
            if key == "description":
                if value is None or not str(value).strip():
                    continue
                data[key] = value
            elif key in DATE_INPUT_FIELDS:
                data[key] = self._date(key, value, now)
            elif key == "depends":
                data[key] = self._depends(value)
            elif key in Task.model_fields:
                data[key] = value if value not in ("", None) else None
            else:
                self._attributes({key: value})
                if value in ("", None):
                    data.pop(key, None)
                else:
                    data[key] = value
        if task.uuid in (data.get("depends") or []):
            raise InvalidInput(f"Task {task.id} cannot depend on itself.")
        tags = [t for t in data.get("tags") or [] if t not in set(remove_tags)]
        tags += [t for t in add_tags if t not in tags and t not in remove_tags]
        data["tags"] = tags
        if "recur" in changes:
            self._recur_status(data)
        return self._validated(data)

    def _recur_status(self, data: dict[str, Any]) -> None:
        """Setting recur makes a pending task a template; clearing it makes a template pending."""
        if data.get("recur"):
            self._check_recurrence(data)
            if data.get("status") == "pending":
                data["status"] = "recurring"
        elif data.get("status") == "recurring":
            data["status"] = "pending"

    def duplicate(
        self,
        ref: str,
        *,
        changes: Mapping[str, Any] | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
    ) -> Outcome:
        def build(change: _Change, now: datetime) -> str:
            source = self._editable(ref).task
            copy = source.model_copy(
                update={
                    "uuid": str(uuidlib.uuid4()),
                    "status": "recurring" if source.recur else "pending",
                    "start": None,
                    "end": None,
                    "parent": None,
                    "entry": now,
                    "modified": now,
                    "tags": [t for t in source.tags if t != "doc"],
                },
                deep=True,
            )
            task = self._apply_changes(copy, changes or {}, add_tags, remove_tags, now)
            task = task.model_copy(update={"id": self._next_id(change)})
            self._write(change, task, "")
            return f"Task duplicated as {task.uuid} (id {task.id})."

        return self._mutate("duplicate", build)

    # ================================================================ lifecycle
    def _transition(self, op: str, ref: str, apply: Callable[[Task, datetime], Task], message: str) -> Outcome:
        def build(change: _Change, now: datetime) -> str:
            entry = self._editable(ref)
            assert entry.file is not None
            task = apply(entry.task, now).model_copy(update={"modified": now})
            self._write(change, task, entry.file.body)
            if op == "done" and task.parent:
                self._spawn_for_parent(change, task, now)
            return message.format(id=task.id, uuid=task.uuid)

        return self._mutate(op, build)

    def done(self, ref: str) -> Outcome:
        def apply(task: Task, now: datetime) -> Task:
            if task.status == "completed":
                when = f" (at {task.end:%Y-%m-%d %H:%M} UTC)" if task.end else ""
                raise WrongState(f"Task {task.id} is already completed{when}.")
            if task.status == "deleted":
                raise WrongState(f"Task {task.id} is deleted; restore it with task_undo before completing it.")
            return task.model_copy(update={"status": "completed", "end": now, "start": None})

        return self._transition("done", ref, apply, "Task {id} completed.")

    def delete(self, ref: str) -> Outcome:
        def apply(task: Task, now: datetime) -> Task:
            if task.status == "deleted":
                raise WrongState(f"Task {task.id} is already deleted; task_purge removes it for good.")
            return task.model_copy(update={"status": "deleted", "end": now, "start": None})

        return self._transition("delete", ref, apply, "Task {id} deleted.")

    def start(self, ref: str) -> Outcome:
        def apply(task: Task, now: datetime) -> Task:
            if task.status != "pending":
                raise WrongState(f"Task {task.id} is {task.status}; only pending tasks can be started.")
            if task.start is not None:
                raise WrongState(f"Task {task.id} is already started (since {task.start:%Y-%m-%d %H:%M} UTC).")
            return task.model_copy(update={"start": now})

        return self._transition("start", ref, apply, "Task {id} started.")

    def stop(self, ref: str) -> Outcome:
        def apply(task: Task, now: datetime) -> Task:
            if task.start is None:
                raise WrongState(f"Task {task.id} is not started, so there is nothing to stop.")
            return task.model_copy(update={"start": None})

        return self._transition("stop", ref, apply, "Task {id} stopped.")

    def annotate(self, ref: str, text: str) -> Outcome:
        def apply(task: Task, now: datetime) -> Task:
            note = Annotation(entry=now, description=str(text))
            return task.model_copy(update={"annotations": [*task.annotations, note]})

        return self._transition("annotate", ref, apply, "Task {id} annotated.")

    def denotate(self, ref: str, text: str) -> Outcome:
        def apply(task: Task, now: datetime) -> Task:
            notes = list(task.annotations)
            for position, note in enumerate(notes):
                if note.description == text:
                    del notes[position]
                    return task.model_copy(update={"annotations": notes})
            existing = "; ".join(repr(n.description) for n in notes) or "none"
            raise NotFound(f"Task {task.id} has no annotation with exactly that text. Its annotations: {existing}.")

        return self._transition("denotate", ref, apply, "Annotation removed from task {id}.")

    def purge(self, ref: str) -> Outcome:
        def build(change: _Change, now: datetime) -> str:
            entry = self._editable(ref)
            if entry.task.status != "deleted":
                raise WrongState(
                    f"Can only purge deleted tasks: task {entry.task.id} is {entry.task.status}. "
                    "Delete it first (task_delete)."
                )
            change.files[entry.path] = None
            change.touched[entry.uuid] = entry.task
            return f"Task {entry.uuid} purged."

        return self._mutate("purge", build)

    # ================================================================ docs
    def doc_write(self, ref: str, content: str) -> Outcome:
        def build(change: _Change, now: datetime) -> str:
            entry = self._editable(ref)
            tags = entry.task.tags if "doc" in entry.task.tags else [*entry.task.tags, "doc"]
            task = entry.task.model_copy(update={"tags": tags, "modified": now})
            self._write(change, task, str(content))
            return f"Doc written for task {task.uuid}."

        return self._mutate("doc-write", build)

    def doc_delete(self, ref: str) -> Outcome:
        def build(change: _Change, now: datetime) -> str:
            entry = self._editable(ref)
            assert entry.file is not None
            if not entry.file.body and "doc" not in entry.task.tags:
                raise NotFound(f"No doc attached to this task (task {entry.task.id}); nothing to delete.")
            tags = [t for t in entry.task.tags if t != "doc"]
            task = entry.task.model_copy(update={"tags": tags, "modified": now})
            self._write(change, task, "")
            return f"Doc deleted for task {task.uuid}."

        return self._mutate("doc-delete", build)

    # ================================================================ recurrence
    def _spawn_instances(self, change: _Change, template: Task, now: datetime) -> None:
        if template.status != "recurring" or not template.recur or template.due is None:
            return
        children = [e.task for e in self._view.by_uuid.values() if e.task.parent == template.uuid]
        children += [t for t in change.touched.values() if t.parent == template.uuid]
        merged = {t.uuid: t for t in children}
        try:
            dues = plan_instances(template, list(merged.values()), now)
        except ValueError as exc:  # a hand-edited template with a pattern that does not parse
            raise InvalidInput(f"Task {template.id} (recurring template): {exc}") from None
        for due in dues:
            instance = Task(
                uuid=str(uuidlib.uuid4()),
                id=self._next_id(change),
                description=template.description,
                status="pending",
                project=template.project,
                priority=template.priority,
                tags=list(template.tags),
                agent=template.agent,
                due=due,
                parent=template.uuid,
                entry=now,
                modified=now,
            )
            self._write(change, instance, "")

    def _spawn_for_parent(self, change: _Change, instance: Task, now: datetime) -> None:
        parent = self._view.by_uuid.get(instance.parent or "")
        if parent is not None and parent.file is not None:
            self._spawn_instances(change, parent.task, now)

    def catch_up(self) -> Outcome:
        """Create the instances every recurring template is owed now (one commit, or none)."""

        def build(change: _Change, now: datetime) -> str:
            for entry in list(self._view.by_uuid.values()):
                if entry.task.status == "recurring":
                    self._spawn_instances(change, entry.task, now)
            created = [t for t in change.touched.values() if t.parent]
            return f"Created {len(created)} recurring instance(s)." if created else "No instances due."

        return self._mutate("recur", build)

    # ================================================================ archive
    def archive(self, older_than_days: int | str = 90) -> Outcome:
        try:
            days = int(str(older_than_days).strip())
        except ValueError:
            raise InvalidInput(f"older_than_days must be a whole number of days, got {older_than_days!r}.") from None
        if days < 0:
            raise InvalidInput("older_than_days cannot be negative.")

        def build(change: _Change, now: datetime) -> str:
            cutoff = now - timedelta(days=days)
            for entry in sorted(self._view.by_uuid.values(), key=lambda e: e.task.id):
                task = entry.task
                if task.status in ("completed", "deleted") and task.end is not None and task.end <= cutoff:
                    change.files[entry.path] = None
                    change.files[self.archive_path(_quarter(task.end), task.uuid)] = entry.raw
                    change.touched[task.uuid] = task
            if not change.touched:
                return "No tasks to archive."
            return f"Archived {len(change.touched)} task(s) older than {days} days."

        return self._mutate("archive", build)

    def archive_list(self) -> list[str]:
        """Archive segments (quarters), from the working tree and the unmerged agent branches."""
        with self._lock:
            self._refresh()
            return sorted(f"{ARCHIVE_DIR}/{name}" for name in self._archive_files())

    def _archive_files(self) -> dict[str, dict[str, bytes]]:
        """Archived task files by segment: the working tree's, overlaid by the agent branches'."""
        root = self.git.workdir / self.ns_dir / ARCHIVE_DIR
        prefix = f"{self.ns_dir}/{ARCHIVE_DIR}/"
        files: dict[str, bytes | None] = {}
        if root.is_dir():
            for path in root.glob("*/*/*.md"):
                files[str(path.relative_to(self.git.workdir))] = None  # read lazily below
        files.update({p: d for p, d in self._view.merged_all.items() if p.startswith(prefix)})
        segments: dict[str, dict[str, bytes]] = {}
        for path, data in files.items():
            segment = path[len(prefix) :].split("/", 1)[0]
            if not SEGMENT_RE.match(segment):
                continue
            if data is None and path not in self._view.merged_all:
                data = _read_current(self.git.workdir / path)
            if data is not None:
                segments.setdefault(segment, {})[path] = data
        return segments

    def archive_load(self, segment: str) -> list[dict[str, Any]]:
        name = str(segment).strip()
        for prefix in ("archive/archive-", "archive/", "archive-"):
            name = name.removeprefix(prefix)
        name = name.removesuffix(".json")
        if not SEGMENT_RE.match(name):
            raise InvalidInput(
                f"Invalid archive segment name '{segment}'. Use a quarter like 2026-Q1 (see task_archive_list)."
            )
        with self._lock:
            self._refresh()
            segments = self._archive_files()
        if name not in segments:
            available = ", ".join(f"{ARCHIVE_DIR}/{s}" for s in sorted(segments)) or "none"
            raise NotFound(f"Archive segment '{segment}' not found. Available: {available}.")
        records = []
        for path, data in sorted(segments[name].items()):
            entry = parse_entry(path, data)
            if entry.error is not None:
                raise BrokenTaskFile(str(entry.error))
            records.append(entry.record())
        return sorted(records, key=lambda r: r["id"])

    # ================================================================ undo
    def undo(self) -> Outcome:
        """Revert this writer's latest operation that is not yet undone, as a new commit."""
        with self._lock, self.git.writer_lock():
            branch = self._write_target()
            self._refresh()
            target = self._undo_target(branch)
            files = self._revert_files(target)
            op = target.trailer("Backlog-Op") or "?"
            subject = f"undo {op}: {target.subject.partition(': ')[2] or target.subject}"
            trailers = [("Backlog-Op", "undo"), ("Backlog-Namespace", self.namespace), ("Backlog-Undoes", target.sha)]
            trailers += [("Backlog-Task", u) for u in target.trailers.get("Backlog-Task", [])]
            trailers.append(("Backlog-Agent", self.writer))
            sha = self._commit(branch, files, format_message(subject, trailers))
            self._refresh()
            by_uuid = self._view.by_uuid
            touched = [by_uuid[u] for u in target.trailers.get("Backlog-Task", []) if u in by_uuid]
            ctx = self._context()
            return Outcome(
                f"Undo completed: reverted '{target.subject}' ({target.sha[:8]}).",
                [self._record(e, ctx) for e in touched],
                sha,
            )

    def _undo_target(self, branch: str) -> CommitInfo:
        undone: set[str] = set()
        candidates: list[CommitInfo] = []  # mine, not undone, all of the newest second seen so far
        same_second: dict[str, tuple[str, ...]] = {}  # parents of every commit of that second
        for commit in self.git.log(branch):
            if candidates and commit.time < candidates[0].time:
                break  # an undo is never older than what it undoes
            if candidates:
                same_second[commit.sha] = commit.parents
            if commit.trailer("Backlog-Agent") != self.writer:
                continue
            if commit.trailer("Backlog-Namespace") not in (None, self.namespace):
                continue
            op = commit.trailer("Backlog-Op")
            if op == "undo":
                undone.update(commit.trailers.get("Backlog-Undoes", []))
            elif op not in (None, "sync", "init", "merge") and commit.sha not in undone:
                candidates.append(commit)
                same_second[commit.sha] = commit.parents
        candidates = [c for c in candidates if c.sha not in undone]
        if candidates:
            return _newest(candidates, same_second)
        raise NothingToUndo(f"Nothing to undo: {self.writer} has no operation left that is not undone.")

    def _revert_files(self, target: CommitInfo) -> dict[str, bytes | None]:
        files: dict[str, bytes | None] = {}
        own = {u + ".md" for u in target.trailers.get("Backlog-Task", [])}
        for path, before, after in self.git.changed_paths(target.sha, self.ns_dir):
            if path.rsplit("/", 1)[-1] not in own:
                continue  # the counter never goes back; paths merged in from other writers are theirs
            current = self._view.raw(path) if path in self._view.entries else _read_current(self.git.workdir / path)
            if current == after:
                files[path] = before
            elif before is None or after is None or current is None:
                raise UndoConflict(
                    f"Cannot undo '{target.subject}': {path} was changed again after it "
                    "(created, moved or deleted). Undo the later change first, or edit the task directly."
                )
            else:
                files[path] = _revert_fields(path, before, after, current, target.subject)
        return files


    # ================================================================ many writers
    def pending_agents(self) -> list[str]:
        """Agent branches with operations the checked-out branch has not merged yet."""
        with self._lock:
            self._refresh()
            return sorted(self._view.overlay.pending)

    def sync(self, remote: str | None = None) -> Outcome:
        """Merge every agent branch into the checked-out branch (one merge commit a reviewer can read),
        renumber clashing ids, and with ``remote``: fetch, merge, push (retrying a rejected push)."""
        name = self.git.configured_remote(remote) if remote else None
        messages = [self._sync_local().message]
        if name:
            messages.append(self._sync_remote(name))
        return Outcome(" ".join(messages), [], self.git.head_tip())

    def _sync_local(self) -> Outcome:
        with self._lock, self.git.writer_lock():
            branch = self.git.check_writable()
            overlay = AgentOverlay(self.git, STORE_DIR)
            pending = overlay.pending_branches()
            files: dict[str, bytes | None] = {}
            if pending:
                current = WorkingContents(self.git.workdir)
                merged = overlay.merged(current)
                files = {p: d for p, d in merged.items() if d != current.get(p)}
                files.update(self._reconcile_moves(files, current))
            self._refresh()
            renumbered = self._renumber(files)
            if not pending and not renumbered:
                return Outcome("Nothing to sync: no agent branch has unmerged operations.")
            subject, body = self._sync_message(pending, renumbered)
            trailers = [("Backlog-Op", "sync"), ("Backlog-Namespace", self.namespace)]
            trailers += [("Backlog-Merged", f"{AGENT_PREFIX}{name} {tip}") for name, tip in pending.items()]
            trailers += [("Backlog-Renumber", line) for line in renumbered]
            trailers.append(("Backlog-Agent", self.writer))
            message = format_message(subject, trailers)
            if body:
                first, _, rest = message.partition("\n\n")
                message = f"{first}\n\n{body}\n\n{rest}"
            sha = self.git.merge_into_branch(branch, list(pending.values()), files, message)
            self._refresh()
            return Outcome(subject + ".", [], sha)

    def _sync_message(self, pending: Mapping[str, Any], renumbered: list[str]) -> tuple[str, str]:
        parts = []
        lines = []
        head = self.git.head_oid()
        for name in pending:
            ops = [
                commit.subject
                for commit in self.git.log_range(f"refs/heads/{AGENT_PREFIX}{name}", head)
                if commit.trailer("Backlog-Op") and commit.trailer("Backlog-Agent") == name
            ]
            parts.append(f"{name} ({len(ops)} op{'s' if len(ops) != 1 else ''})")
            lines.append(f"{name}:")
            lines += [f"  - {subject}" for subject in reversed(ops[:200])]
        if renumbered:
            lines.append("renumbered (ids handed out twice):")
            lines += [f"  - {line}" for line in renumbered]
        subject = f"sync: merge {', '.join(parts)}" if parts else "sync: renumber clashing ids"
        return subject, "\n".join(lines)

    def _reconcile_moves(
        self, files: Mapping[str, bytes | None], current: Mapping[str, bytes | None]
    ) -> dict[str, bytes | None]:
        """A task both archived (moved) on one side and edited on the other exists twice after the
        merge; fold the edit into one copy: archived if the task is still closed, else active."""
        fixes: dict[str, bytes | None] = {}
        archived = {p.rsplit("/", 1)[1]: p for p, d in files.items() if d is not None and f"/{ARCHIVE_DIR}/" in p}
        for name, archive_path in archived.items():
            task_uuid = name.removesuffix(".md")
            if not UUID_RE.match(task_uuid):
                continue
            ns_dir = archive_path.split(f"/{ARCHIVE_DIR}/", 1)[0]
            active_path = f"{ns_dir}/{task_uuid[:2]}/{name}"
            active = files.get(active_path, current.get(active_path))
            if active is None:
                continue
            moved = files[archive_path]
            merged = merge_file_bytes(active_path, moved, active, moved)
            parsed = _parse_or_none(merged, active_path)
            if parsed is not None and parsed.task.status in ("completed", "deleted"):
                fixes[archive_path], fixes[active_path] = merged, None
            else:
                fixes[archive_path], fixes[active_path] = None, merged
        return fixes

    def _renumber(self, files: dict[str, bytes | None]) -> list[str]:
        """Give every task but one of a clashing numeric id a new id: the earliest entry keeps it."""
        tasks: dict[str, Task] = {u: e.task for u, e in self._view.working.by_uuid.items()}
        for path, data in files.items():
            if path.startswith(self.ns_dir + "/") and f"/{ARCHIVE_DIR}/" not in path:
                task_uuid = path.rsplit("/", 1)[-1].removesuffix(".md")
                parsed = _parse_or_none(data, path)
                if parsed is None:
                    tasks.pop(task_uuid, None)
                else:
                    tasks[task_uuid] = parsed.task
        by_id: dict[int, list[Task]] = {}
        for task in tasks.values():
            by_id.setdefault(task.id, []).append(task)
        clashes = {n: sorted(ts, key=lambda t: (t.entry, t.uuid)) for n, ts in by_id.items() if len(ts) > 1}
        if not clashes:
            return []
        counter_path = self.counter_path
        counter = int(merge_counter(files.get(counter_path), _read_current(self.git.workdir / counter_path)))
        number = max(counter, max(by_id) + 1)
        lines = []
        for old_id in sorted(clashes):
            for task in clashes[old_id][1:]:
                path = self.task_path(task.uuid)
                data = files.get(path) or _read_current(self.git.workdir / path)
                parsed = _parse_or_none(data, path)
                if parsed is None:
                    continue
                files[path] = dump(parsed.task.model_copy(update={"id": number}), parsed.body)
                lines.append(f"#{old_id} -> #{number} {task.uuid}")
                number += 1
        files[counter_path] = f"{number}\n".encode()
        return lines

    def _sync_remote(self, remote: str) -> str:
        branch = self.git.check_writable().removeprefix("refs/heads/")
        for _attempt in range(5):
            self.git.run_git("fetch", "--", remote)
            upstream = f"refs/remotes/{remote}/{branch}"
            tip = self.git.tip(upstream)
            if tip is not None and not self.git.is_ancestor(tip, self.git.head_oid()):
                self._merge_upstream(remote, branch)
                self._sync_local()
            push = self.git.run_git("push", "--", remote, f"HEAD:refs/heads/{branch}", check=False)
            if push.returncode == 0:
                return f"Pushed {branch} to {remote}."
            if not any(word in push.stderr for word in ("rejected", "fetch first", "non-fast-forward")):
                raise RepositoryError(f"`git push {remote}` failed: {push.stderr.strip()} (nothing local was lost)")
        raise RepositoryError(f"{remote} kept moving; pushes were rejected 5 times. Run sync again.")

    def _merge_upstream(self, remote: str, branch: str) -> None:
        with self._lock, self.git.writer_lock():
            before = self.git.head_oid()
            result = self.git.run_git("merge", "--no-edit", "-m", f"sync: merge {remote}/{branch}",
                                      "--", f"{remote}/{branch}", check=False)
            if result.returncode == 0:
                self._reopen_archived(before)
                return
            if self.git.conflicts():
                outside = [p for p, *_ in self.git.conflicts() if not p.startswith(STORE_DIR + "/")]
                if not outside:
                    self._resolve_locked()
                    self.git.run_git("commit", "--no-edit")
                    return
                self.git.run_git("merge", "--abort", check=False)
                raise RepositoryError(
                    f"Merging {remote}/{branch} conflicts outside the task store ({', '.join(outside)}); "
                    "nothing was changed. Merge it by hand (`git pull`), then run `backlog-git resolve` and sync."
                )
            raise RepositoryError(f"`git merge {remote}/{branch}` failed: {(result.stderr or result.stdout).strip()}")

    def _reopen_archived(self, before: Any) -> None:
        """A git merge that followed an archive move (a rename) into an edit that reopened the task leaves an
        open task in the archive, where reads do not look: move it back to the active store, in a commit."""
        head = self.git.head_oid()
        if before is None or head is None:
            return
        files: dict[str, bytes | None] = {}
        for path, _old, new in self.git.tree_diff(before, head, STORE_DIR):
            if new is None or f"/{ARCHIVE_DIR}/" not in path:
                continue
            data = self.git.blob(new)
            parsed = _parse_or_none(data, path)
            ns_dir, name = path.split(f"/{ARCHIVE_DIR}/", 1)[0], path.rsplit("/", 1)[1]
            active = f"{ns_dir}/{name[:2]}/{name}"
            if parsed is None or parsed.task.status in ("completed", "deleted") or (self.git.workdir / active).exists():
                continue
            files[path], files[active] = None, data
        if files:
            tasks = sorted({p.rsplit("/", 1)[1].removesuffix(".md") for p in files})
            trailers = [("Backlog-Op", "sync"), ("Backlog-Namespace", self.namespace)]
            trailers += [("Backlog-Task", u) for u in tasks] + [("Backlog-Agent", self.writer)]
            message = format_message(f"sync: move {len(tasks)} reopened task(s) out of the archive", trailers)
            self.git.commit_worktree_files(files, message)

    def resolve(self) -> Outcome:
        """Finish a conflicted `git merge` of task files the way sync would (edits win over deletes)."""
        with self._lock, self.git.writer_lock():
            count = self._resolve_locked()
            if not count:
                raise WrongState("No conflicted task files: nothing to resolve.")
            remaining = [p for p, *_ in self.git.conflicts()]
            note = (f" Other files are still conflicted: {', '.join(remaining)}." if remaining
                    else " Run `git commit` to conclude the merge.")
            return Outcome(f"Resolved {count} task file(s).{note}")

    def _resolve_locked(self) -> int:
        resolved: dict[str, bytes | None] = {}
        for path, base, ours, theirs in self.git.conflicts():
            if path.startswith(STORE_DIR + "/"):
                resolved[path] = merge_file_bytes(path, base, ours, theirs)
        if not resolved:
            return 0
        current = WorkingContents(self.git.workdir)
        for path in [p for p, d in resolved.items() if d is not None and f"/{ARCHIVE_DIR}/" not in p]:
            # An archive move against an edit: git staged the archived copy as a plain add, so fold it in too.
            ns_dir, shard, name = path.rsplit("/", 2)
            for copy in sorted((self.git.workdir / ns_dir / ARCHIVE_DIR).glob(f"*/{shard}/{name}")):
                resolved.setdefault(str(copy.relative_to(self.git.workdir)), copy.read_bytes())
        resolved.update(self._reconcile_moves(resolved, current))
        self.git.stage_resolved(resolved)
        self._refresh()
        return len(resolved)

# ==================================================================== module helpers
def _how_to_set(key: str) -> str:
    return {
        "status": "use task_done, task_delete, task_start/stop or task_undo.",
        "tags": "use add_tags/remove_tags (+tag / -tag).",
        "annotations": "use task_annotate / task_denotate.",
    }.get(key, "it is managed by backlog-git.")


def _newest(candidates: list[CommitInfo], parents: Mapping[str, tuple[str, ...]]) -> CommitInfo:
    """Among commits of one second (time order cannot tell them apart), the one that no other
    candidate descends from, found by walking parent links inside that second."""
    reached: set[str] = set()
    for candidate in candidates:
        stack = list(parents.get(candidate.sha, ()))
        while stack:
            sha = stack.pop()
            if sha in reached or sha not in parents:
                continue
            reached.add(sha)
            stack.extend(parents[sha])
    for candidate in candidates:
        if candidate.sha not in reached:
            return candidate
    return candidates[0]


def _read_current(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _parse_or_none(data: bytes | None, path: str) -> TaskFile | None:
    if data is None:
        return None
    try:
        return parse(data, path)
    except TaskFileError:
        return None


def _fields_of(file: TaskFile) -> dict[str, Any]:
    data = file.task.model_dump(mode="json")
    data.update(file.task.extras)
    data["doc"] = file.body
    return data


def _field_changes(before: bytes | None, after: bytes | None) -> dict[str, list[Any]]:
    old = _parse_or_none(before, "before")
    new = _parse_or_none(after, "after")
    old_fields = _fields_of(old) if old else {}
    new_fields = _fields_of(new) if new else {}
    changes = {}
    for key in sorted(set(old_fields) | set(new_fields)):
        a, b = old_fields.get(key), new_fields.get(key)
        if a != b and not (a in (None, [], "") and b in (None, [], "")):
            changes[key] = [a, b]
    return changes


def _revert_fields(path: str, before: bytes, after: bytes, current: bytes, subject: str) -> bytes:
    """Put back the fields the undone operation changed, keeping later changes to other fields."""
    old, new, now = (_parse_or_none(d, path) for d in (before, after, current))
    if old is None or new is None or now is None:
        raise BrokenTaskFile(f"Cannot undo '{subject}': {path} does not parse; fix it by hand first.")
    old_fields, new_fields, now_fields = _fields_of(old), _fields_of(new), _fields_of(now)
    result = dict(now_fields)
    for key in set(old_fields) | set(new_fields):
        if key == "modified" or old_fields.get(key) == new_fields.get(key):
            continue
        if now_fields.get(key) == new_fields.get(key):
            result[key] = old_fields.get(key)
        elif now_fields.get(key) != old_fields.get(key):
            raise UndoConflict(
                f"Cannot undo '{subject}': the field '{key}' was changed again after it "
                f"(now {now_fields.get(key)!r}). Undo the later change first, or set the field directly."
            )
    body = result.pop("doc") or ""
    result = {k: v for k, v in result.items() if v is not None}
    result["modified"] = utc_now()
    return dump(Task.model_validate(result), body)


__all__ = ["Backlog", "Outcome"]


def merge_file_bytes(path: str, base: bytes | None, ours: bytes | None, theirs: bytes | None) -> bytes | None:
    return merge_file(path, base, ours, theirs, "ours", "theirs")


class _TaskMap(Mapping[str, Task]):
    """The view's tasks by uuid, without copying 10,000 entries per read."""

    __slots__ = ("_entries",)

    def __init__(self, entries: Mapping[str, Entry]) -> None:
        self._entries = entries

    def __getitem__(self, key: str) -> Task:
        return self._entries[key].task

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str, default: Any = None) -> Any:
        entry = self._entries.get(key)
        return default if entry is None else entry.task

    def values(self) -> list[Task]:  # type: ignore[override]
        return [entry.task for entry in self._entries.values()]
