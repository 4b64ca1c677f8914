"""The MCP server (``backlog-git serve``): the original backlog server's 24 tools, plus additive ones.

A thin adapter. Each tool parses its loose text inputs (:mod:`backlog_git.inputs`), makes one call
on the engine, and shapes the result the way the original did:

* task arrays → ``structuredContent {tasks: [...]}``, text = the same as compact JSON
  (``task_info``: text = the single task object);
* ``task_count`` → ``{count}``, text = the number; name lists → ``{items}``;
* ``task_doc_read`` → ``{content}``, text = the doc; mutations → ``{message, commit?, tasks}``, text = message.

Every anticipated failure (:class:`~backlog_git.errors.BacklogError`) becomes an ``isError`` result
whose text is the engine's message and nothing else; any other exception is logged to stderr and
reported as ``Internal error in TOOL: …`` while the server keeps serving.

Startup imports only the MCP SDK, so ``initialize`` is answered as soon as the SDK is loaded; the
engine (pygit2, YAML, the query language) is imported and the store opened by a background thread
just after start, or by the first tool call if that comes first. Sync tools run on worker threads;
the engine serialises writers itself and every call sees other writers' commits and hand edits.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BeforeValidator, Field

from . import __version__
from .errors import BacklogError
from .hooks import project_dir
from .inputs import (
    list_filter,
    parse_depends,
    parse_extra,
    parse_fields,
    parse_int,
    parse_tag_edits,
    parse_tags,
    to_text,
)

if TYPE_CHECKING:
    from .engine import Backlog, Outcome

log = logging.getLogger("backlog_git.server")

SERVER_NAME = "backlog"

INSTRUCTIONS = """\
backlog keeps this project's tasks in its git repository (.backlog/, one markdown file per task, one \
commit per change), so they persist across sessions and are shared by every agent and human working here.
- Find work with task_list (filter "" = pending; "+READY" = actionable; "+ACTIVE" = in progress) and \
task_info. Use ids and uuids from results of this session only.
- Track work with task_add, task_start, task_annotate, task_done. Descriptions are one line (max 500 \
characters); put specs and longer context in the task's doc with task_doc_write.
- Every change can be reverted with task_undo; task_history shows who changed what and when."""

LOCAL_NOTE = "\n\nRuns locally on this project's git-backed task store: no network, no authentication, no rate limits."
VERIFY_NOTE = (
    "\n\nVerify the id first: take it from a task_list or task_info result in this session. Never act on an "
    "id recalled from memory, an earlier session or the user's recollection; ids can be stale."
)

# ---------------------------------------------------------------------------------------------
# The engine, opened on first use


class _Store:
    """The process's one Backlog, opened lazily; a failed open is retried on the next call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._backlog: Backlog | None = None

    def get(self) -> Backlog:
        backlog = self._backlog
        if backlog is None:
            with self._lock:
                backlog = self._backlog
                if backlog is None:
                    from .engine import Backlog

                    backlog = Backlog.open(cwd=project_dir())
                    self._backlog = backlog
        return backlog


_store = _Store()
WARM_UP_DELAY = 0.3  # seconds after start: clients send initialize at once, and it must not wait

# ---------------------------------------------------------------------------------------------
# Results


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _tasks_text(tasks: Sequence[Mapping[str, Any]]) -> str:
    """Compact JSON array (no spaces, no line breaks: about 250 bytes a task, against 330 indented)."""
    return _dumps(tasks)


def _result(text: str, structured: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def _error(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def _tasks_result(tasks: list[dict[str, Any]]) -> CallToolResult:
    return _result(_tasks_text(tasks), {"tasks": tasks})


def _message_result(outcome: Outcome, note: str = "") -> CallToolResult:
    structured: dict[str, Any] = {"message": outcome.message + note, "tasks": list(outcome.tasks)}
    if outcome.commit:
        structured["commit"] = outcome.commit
    return _result(outcome.message + note, structured)


def _select(tasks: list[dict[str, Any]], fields: list[str] | None) -> list[dict[str, Any]]:
    if fields is None:
        return tasks
    return [{name: task[name] for name in fields if name in task} for task in tasks]


def _with_warnings(result: CallToolResult, broken: list[str]) -> CallToolResult:
    """A second text item names unreadable task files (the first stays the tool's plain result)."""
    if not broken:
        return result
    warning = f"Warning: {len(broken)} task file(s) could not be read and are left out:\n" + "\n".join(broken)
    return result.model_copy(update={"content": [*result.content, TextContent(type="text", text=warning)]})


def _call(tool: str, action: Callable[[Backlog], CallToolResult]) -> CallToolResult:
    """Run one tool body against the store; turn failures into isError results."""
    try:
        backlog = _store.get()
        return _with_warnings(action(backlog), backlog.broken_files())
    except BacklogError as exc:
        return _error(str(exc) or type(exc).__name__)
    except Exception as exc:
        log.exception("Internal error in %s", tool)
        return _error(f"Internal error in {tool}: {type(exc).__name__}: {exc} — please report")


# ---------------------------------------------------------------------------------------------
# Parameter types: declared as the original declared them (strings, priority enums), but lenient
# about what arrives (numbers, real lists, lower-case priorities).


def _priority(value: Any) -> Any:
    value = to_text(value)
    return value.strip().upper() if isinstance(value, str) else value


def _priority_or_absent(value: Any) -> Any:
    value = _priority(value)
    return None if value == "" else value


Text = Annotated[str, BeforeValidator(to_text)]
OptText = Annotated[str | None, BeforeValidator(to_text)]
NewPriority = Annotated[Literal["H", "M", "L"] | None, BeforeValidator(_priority_or_absent)]
EditPriority = Annotated[Literal["H", "M", "L", ""] | None, BeforeValidator(_priority)]

D_FILTER = (
    'Filter expression. "" means pending tasks. Examples: "project:web +bug", "+OVERDUE", "+READY", '
    '"agent:explorer", "status:completed end.after:now-7d", "( project:web or project:api )", "login error" '
    "(text search)."
)
D_ID = "Task id (number), uuid, or a uuid prefix of at least 8 characters."
D_DESCRIPTION = "One-line summary, at most 500 characters; put long content in the task's doc."
D_PROJECT = "Project name: letters, digits, '_' and '-', with '.' between levels (web.frontend)."
D_TAGS_NEW = 'Tags, comma-separated ("bug,urgent") or a JSON array ("[\\"bug\\", \\"urgent\\"]").'
D_TAGS_EDIT = 'Tag edits, comma-separated: "+tag" or "tag" adds, "-tag" removes ("+urgent,-later").'
D_DUE = 'Due date: ISO ("2026-12-31") or a name ("tomorrow", "friday", "eow", "now+3d", "2w").'
D_WAIT = "Hide the task from ready work until this date (same forms as due)."
D_SCHEDULED = "Earliest date to start (same forms as due); the task is not +READY before it."
D_RECUR = 'Recurrence period ("daily", "weekly", "weekdays", "monthly", "3d", "2w"); needs a due date.'
D_UNTIL = "Date after which a recurring task stops producing instances."
D_AGENT = 'Owner: the agent (or person) responsible, e.g. "explorer".'
D_DEPENDS_NEW = "UUIDs of tasks that must be finished first, comma-separated."
D_EXTRA = (
    'More edits as words: "+tag", "-tag", and "key:value" for any field above or a custom attribute '
    '("estimate:3h"); "key:" clears it.'
)
D_CLEAR = ' "" clears it.'


def _p(description: str) -> Any:
    return Field(description=description)


# ---------------------------------------------------------------------------------------------
# The tools (registered in the original's order; additive tools follow)


def task_list(
    filter: Annotated[Text, _p(D_FILTER)],
    limit: Annotated[OptText, _p("Return at most this many tasks (after offset).")] = None,
    offset: Annotated[OptText, _p("Skip this many matching tasks first (for paging).")] = None,
    fields: Annotated[
        OptText, _p('Only these fields of each task, comma-separated, e.g. "id,description,status,due".')
    ] = None,
    sort: Annotated[
        OptText, _p('Order, e.g. "due+", "priority-,id+" (field then + or -). Default: most urgent first.')
    ] = None,
) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        selected = parse_fields(fields)
        tasks = b.list(
            list_filter(filter),
            sort=(sort or "").strip() or None,
            limit=parse_int(limit, "limit", minimum=0),
            offset=parse_int(offset, "offset", minimum=0) or 0,
        )
        return _tasks_result(_select(tasks, selected))

    return _call("task_list", run)


def task_info(id: Annotated[Text, _p(D_ID)]) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        task = b.info(id.strip())
        return _result(_dumps(task), {"tasks": [task]})

    return _call("task_info", run)


def task_count(filter: Annotated[Text, _p(D_FILTER)]) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        count = b.count(list_filter(filter))
        return _result(str(count), {"count": count})

    return _call("task_count", run)


def _items(names: list[str]) -> CallToolResult:
    return _result(_dumps(names), {"items": names})


def task_projects() -> CallToolResult:
    return _call("task_projects", lambda b: _items(b.projects()))


def task_tags() -> CallToolResult:
    return _call("task_tags", lambda b: _items(b.tags()))


def task_add(
    description: Annotated[Text, _p(D_DESCRIPTION)],
    project: Annotated[OptText, _p(D_PROJECT)] = None,
    tags: Annotated[OptText, _p(D_TAGS_NEW)] = None,
    priority: Annotated[NewPriority, _p("Priority: H (high), M (medium) or L (low).")] = None,
    due: Annotated[OptText, _p(D_DUE)] = None,
    depends: Annotated[OptText, _p(D_DEPENDS_NEW)] = None,
    wait: Annotated[OptText, _p(D_WAIT)] = None,
    scheduled: Annotated[OptText, _p(D_SCHEDULED)] = None,
    recur: Annotated[OptText, _p(D_RECUR)] = None,
    until: Annotated[OptText, _p(D_UNTIL)] = None,
    agent: Annotated[OptText, _p(D_AGENT)] = None,
    extra: Annotated[OptText, _p(D_EXTRA)] = None,
) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        ex = parse_extra(extra)
        explicit = {
            "project": project,
            "priority": priority,
            "due": due,
            "wait": wait,
            "scheduled": scheduled,
            "recur": recur,
            "until": until,
            "agent": agent,
            "depends": depends,
        }
        values = _merge_new(explicit, ex.fields)
        tag_list = parse_tags(tags)
        tag_list += [tag for tag in ex.add_tags if tag not in tag_list]
        outcome = b.add(
            _description(description, ex.fields),
            project=values.get("project"),
            tags=tag_list,
            priority=values.get("priority"),
            due=values.get("due"),
            depends=parse_depends(values.get("depends")),
            wait=values.get("wait"),
            scheduled=values.get("scheduled"),
            recur=values.get("recur"),
            until=values.get("until"),
            agent=values.get("agent"),
            attributes={k: v for k, v in ex.attributes.items() if v != ""} or None,
        )
        return _message_result(outcome, ex.note())

    return _call("task_add", run)


def _description(explicit: str | None, from_extra: Mapping[str, str]) -> str:
    if explicit is not None and explicit != "":
        return explicit
    return from_extra.get("description", explicit or "")


def _merge_new(explicit: Mapping[str, str | None], from_extra: Mapping[str, str]) -> dict[str, str]:
    """Values for a new task: explicit parameters win over ``extra``; empty values mean absent."""
    values = {key: value for key, value in from_extra.items() if value != "" and key != "description"}
    values.update({key: value for key, value in explicit.items() if value is not None and value != ""})
    return values


def _changes(
    explicit: Mapping[str, str | None], ex_fields: Mapping[str, str], attributes: Mapping[str, str]
) -> dict[str, Any]:
    """Field changes for an existing task: omitted = untouched, "" = clear; explicit wins over extra."""
    changes: dict[str, Any] = {}
    for key, value in list(attributes.items()) + list(ex_fields.items()):
        changes[key] = value
    for key, value in explicit.items():
        if value is not None:
            changes[key] = value
    if changes.get("description") == "":
        del changes["description"]  # a task always has a description: "" leaves it as it is
    if "depends" in changes and changes["depends"] != "":
        changes["depends"] = parse_depends(changes["depends"])
    return changes


def _mutation(tool: str, method: str, ref: str, *args: Any) -> CallToolResult:
    return _call(tool, lambda b: _message_result(getattr(b, method)(ref.strip(), *args)))


def task_done(id: Annotated[Text, _p(D_ID)]) -> CallToolResult:
    return _mutation("task_done", "done", id)


def task_delete(id: Annotated[Text, _p(D_ID)]) -> CallToolResult:
    return _mutation("task_delete", "delete", id)


def task_start(id: Annotated[Text, _p(D_ID)]) -> CallToolResult:
    return _mutation("task_start", "start", id)


def task_stop(id: Annotated[Text, _p(D_ID)]) -> CallToolResult:
    return _mutation("task_stop", "stop", id)


def task_log(
    description: Annotated[Text, _p(D_DESCRIPTION)],
    project: Annotated[OptText, _p(D_PROJECT)] = None,
    tags: Annotated[OptText, _p(D_TAGS_NEW)] = None,
    priority: Annotated[NewPriority, _p("Priority: H, M or L.")] = None,
    agent: Annotated[OptText, _p("Who did the work.")] = None,
    extra: Annotated[OptText, _p(D_EXTRA)] = None,
) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        ex = parse_extra(extra)
        values = _merge_new({"project": project, "priority": priority, "agent": agent}, ex.fields)
        attributes = {k: v for k, v in ex.attributes.items() if v != ""}
        # A finished task has no use for dates, recurrence or dependencies: say they were skipped.
        for key in ("due", "wait", "scheduled", "recur", "until", "depends"):
            if key in values:
                ex.ignored.append(f"{key}:{values[key]}")
        tag_list = parse_tags(tags)
        tag_list += [tag for tag in ex.add_tags if tag not in tag_list]
        outcome = b.log(
            _description(description, ex.fields),
            project=values.get("project"),
            tags=tag_list,
            priority=values.get("priority"),
            agent=values.get("agent"),
            attributes=attributes or None,
        )
        return _message_result(outcome, ex.note())

    return _call("task_log", run)


def task_duplicate(
    id: Annotated[Text, _p(D_ID)],
    description: Annotated[OptText, _p("Description of the copy (default: the same).")] = None,
    project: Annotated[OptText, _p(D_PROJECT + D_CLEAR)] = None,
    tags: Annotated[OptText, _p(D_TAGS_EDIT)] = None,
    priority: Annotated[EditPriority, _p('Priority H, M or L; "" clears it.')] = None,
    due: Annotated[OptText, _p(D_DUE + D_CLEAR)] = None,
    agent: Annotated[OptText, _p(D_AGENT + D_CLEAR)] = None,
    extra: Annotated[OptText, _p(D_EXTRA)] = None,
) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        ex = parse_extra(extra)
        changes = _changes(
            {"description": description, "project": project, "priority": priority, "due": due, "agent": agent},
            ex.fields,
            ex.attributes,
        )
        add, remove = _tag_edits(tags, ex.add_tags, ex.remove_tags)
        outcome = b.duplicate(id.strip(), changes=changes, add_tags=add, remove_tags=remove)
        return _message_result(outcome, ex.note())

    return _call("task_duplicate", run)


def _tag_edits(tags: str | None, add_extra: list[str], remove_extra: list[str]) -> tuple[list[str], list[str]]:
    add, remove = parse_tag_edits(tags)
    for tag in add_extra:
        if tag not in add and tag not in remove:
            add.append(tag)
    for tag in remove_extra:
        if tag not in add and tag not in remove:
            remove.append(tag)
    return add, remove


def task_modify(
    filter: Annotated[
        Text, _p('Which tasks: an id ("12"), a uuid, or a filter ("project:web +bug"). Must not be empty.')
    ],
    description: Annotated[OptText, _p("New description.")] = None,
    project: Annotated[OptText, _p(D_PROJECT + D_CLEAR)] = None,
    tags: Annotated[OptText, _p(D_TAGS_EDIT)] = None,
    priority: Annotated[EditPriority, _p('Priority H, M or L; "" clears it.')] = None,
    due: Annotated[OptText, _p(D_DUE + D_CLEAR)] = None,
    depends: Annotated[OptText, _p("UUIDs this task waits for, comma-separated; replaces the list." + D_CLEAR)] = None,
    wait: Annotated[OptText, _p(D_WAIT + D_CLEAR)] = None,
    scheduled: Annotated[OptText, _p(D_SCHEDULED + D_CLEAR)] = None,
    recur: Annotated[OptText, _p(D_RECUR + D_CLEAR)] = None,
    until: Annotated[OptText, _p(D_UNTIL + D_CLEAR)] = None,
    agent: Annotated[OptText, _p(D_AGENT + D_CLEAR)] = None,
    extra: Annotated[OptText, _p(D_EXTRA)] = None,
) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        ex = parse_extra(extra)
        explicit = {
            "description": description,
            "project": project,
            "priority": priority,
            "due": due,
            "depends": depends,
            "wait": wait,
            "scheduled": scheduled,
            "recur": recur,
            "until": until,
            "agent": agent,
        }
        changes = _changes(explicit, ex.fields, ex.attributes)
        add, remove = _tag_edits(tags, ex.add_tags, ex.remove_tags)
        outcome = b.modify(filter.strip(), changes=changes, add_tags=add, remove_tags=remove)
        return _message_result(outcome, ex.note())

    return _call("task_modify", run)


def task_annotate(
    id: Annotated[Text, _p(D_ID)],
    text: Annotated[Text, _p("The note to add (timestamped).")],
) -> CallToolResult:
    return _mutation("task_annotate", "annotate", id, text)


def task_denotate(
    id: Annotated[Text, _p(D_ID)],
    text: Annotated[Text, _p("The exact text of the annotation to remove.")],
) -> CallToolResult:
    return _mutation("task_denotate", "denotate", id, text)


def task_undo() -> CallToolResult:
    return _call("task_undo", lambda b: _message_result(b.undo()))


def task_purge(id: Annotated[Text, _p(D_ID)]) -> CallToolResult:
    return _mutation("task_purge", "purge", id)


def task_import(
    tasks: Annotated[
        Text,
        _p(
            'A JSON array of task objects, e.g. [{"description": "Write tests", "project": "api", '
            '"tags": ["test"], "priority": "M"}]. Each needs a description.'
        ),
    ],
) -> CallToolResult:
    return _call("task_import", lambda b: _message_result(b.import_tasks(tasks)))


def task_doc_write(
    id: Annotated[Text, _p(D_ID)],
    content: Annotated[Text, _p("The whole doc, in markdown; replaces any previous doc.")],
) -> CallToolResult:
    return _mutation("task_doc_write", "doc_write", id, content)


def task_doc_read(id: Annotated[Text, _p(D_ID)]) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        content = b.doc_read(id.strip())
        return _result(content, {"content": content})

    return _call("task_doc_read", run)


def task_doc_delete(id: Annotated[Text, _p(D_ID)]) -> CallToolResult:
    return _mutation("task_doc_delete", "doc_delete", id)


def task_archive(
    older_than_days: Annotated[
        OptText, _p('Archive completed and deleted tasks that ended more than this many days ago (default "90").')
    ] = "90",
) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        days = parse_int(older_than_days, "older_than_days")
        return _message_result(b.archive(90 if days is None else days))

    return _call("task_archive", run)


def task_archive_list() -> CallToolResult:
    return _call("task_archive_list", lambda b: _items(b.archive_list()))


def task_archive_load(
    segment: Annotated[Text, _p('A segment from task_archive_list, or its period such as "2026-Q1".')],
) -> CallToolResult:
    return _call("task_archive_load", lambda b: _tasks_result(b.archive_load(segment.strip())))


def task_history(id: Annotated[Text, _p(D_ID)]) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        entries = b.history(id.strip())
        return _result(_tasks_text(entries), {"history": entries})

    return _call("task_history", run)


def task_sync(
    remote: Annotated[
        OptText, _p('A git remote ("origin") to also fetch from, merge and push to. Default: local merge only.')
    ] = None,
) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        sync = getattr(b, "sync", None)
        if sync is None:
            raise BacklogError("task_sync is not available in this version of backlog-git.")
        return _message_result(sync((remote or "").strip() or None))

    return _call("task_sync", run)


# ---------------------------------------------------------------------------------------------
# Descriptions, annotations, schemas

# Items are described, not itemised: a per-field schema makes clients that validate results (the
# Python SDK does) spend about 13 ms per 84 tasks, against under 1 ms for this one.
_TASK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "A task: uuid, id (integer), description, status (pending|completed|deleted|recurring), urgency "
        "(number), and whichever of project, priority (H|M|L), tags (strings), due, wait, scheduled, recur, "
        "until, depends (uuids), parent, agent, start, end, entry, modified (UTC timestamps "
        "YYYY-MM-DDTHH:MM:SSZ), annotations ([{entry, description}]) and custom attributes are set; "
        "has_doc: true when the task has a doc."
    ),
}


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


OUT_TASKS = _object({"tasks": {"type": "array", "items": _TASK_SCHEMA}}, ["tasks"])
OUT_COUNT = _object({"count": {"type": "integer"}}, ["count"])
OUT_ITEMS = _object({"items": {"type": "array", "items": {"type": "string"}}}, ["items"])
OUT_CONTENT = _object({"content": {"type": "string"}}, ["content"])
OUT_MESSAGE = _object(
    {
        "message": {"type": "string"},
        "commit": {"type": "string", "description": "The git commit that recorded the change."},
        "tasks": {"type": "array", "items": {"type": "object"}, "description": "The tasks as they are now."},
    },
    ["message"],
)
OUT_HISTORY = _object(
    {
        "history": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "commit": {"type": "string"},
                    "time": {"type": "string"},
                    "writer": {"type": ["string", "null"]},
                    "op": {"type": ["string", "null"]},
                    "subject": {"type": "string"},
                    "changes": {"type": "object"},
                },
                "additionalProperties": True,
            },
        }
    },
    ["history"],
)

# (readOnly, destructive, idempotent) as the original declared them; openWorld is false everywhere.
_READ = (True, False, True)
_IDEMPOTENT = (False, False, True)
_DESTRUCTIVE = (False, True, True)
_ADDITIVE = (False, False, False)

FILTER_HELP = """

Filter language: words combine with AND (implicit or "and"), "or", and parentheses.
- Attributes: project:web, priority:H, status:completed, agent:explorer, id:12, uuid:<uuid>, has_doc:true.
- Modifiers: due.before:friday, end.after:now-7d, due.by:eow, project.not:web, project.none:, \
agent.any:, description.contains:auth, description.startswith:Fix, tags.has:bug.
- Tags: +bug (has), -bug (has not). Virtual tags: +PENDING +COMPLETED +DELETED +ACTIVE +OVERDUE +BLOCKED \
+BLOCKING +READY +WAITING +TODAY +TOMORROW +WEEK +TAGGED +ANNOTATED +PROJECT +PRIORITY +DUE +SCHEDULED.
- Bare words search the description (whole words, any case).
- Dates: 2026-03-15, now, today, tomorrow, monday..sunday, eow, eom, now-7d, today+2w, 3d."""

_DESCRIPTIONS: dict[str, str] = {
    "task_list": (
        "List the tasks that match a filter, as compact JSON, most urgent first. "
        'The filter is required: pass "" for all pending tasks. Each task shows uuid, id, description, '
        "status, urgency and whichever other fields are set (project, priority, tags, due, wait, scheduled, "
        "recur, until, depends, parent, agent, start, end, entry, modified, annotations, custom attributes); "
        "has_doc is true when the task has a doc. On big backlogs use limit/offset to page and fields to "
        "return only what you need." + FILTER_HELP
    ),
    "task_info": (
        "Show one task in full, by numeric id, uuid or uuid prefix (a filter also works: its most urgent "
        "match). Fails when no task matches. "
        "Use it to confirm an id before changing a task, and task_doc_read for its spec."
    ),
    "task_count": (
        'Count the tasks that match a filter (same language as task_list; "" counts pending tasks). '
        "Cheaper than listing when only the number matters."
    ),
    "task_projects": "List the project names used by pending and recurring tasks.",
    "task_tags": "List the tags used by pending and recurring tasks (including the 'doc' tag of tasks with a doc).",
    "task_add": (
        "Create a pending task. Only the description is required; keep it to one line (at most 500 "
        "characters) and attach any spec or long context afterwards with task_doc_write. Giving recur (and a "
        "due date) makes a recurring template that produces instances. Dates accept ISO dates and names like "
        "tomorrow, friday, eow, now+3d. depends lists the uuids this task waits for. Fails with a message on "
        "an empty or too long description, a bad project name, an unknown date or a bad dependency. The "
        "result names the new task's id and uuid."
    ),
    "task_done": (
        "Mark a task completed (records the end time). Fails when no task matches. If the task is a "
        "recurrence instance, the next instance appears as the series requires."
    ),
    "task_delete": (
        "Delete a task (status deleted; it keeps its id and can be restored with task_undo). Use task_purge "
        "to remove a deleted task for good. Fails when no task matches."
    ),
    "task_start": (
        "Mark a pending task as being worked on now (it shows in +ACTIVE). Fails when no task matches, or when "
        "the task is not pending or is already started."
    ),
    "task_stop": "Stop working on a started task; it stays pending. Fails when no task matches or it is not started.",
    "task_log": (
        "Record work that is already finished: creates the task directly as completed. Same description "
        "rules as task_add."
    ),
    "task_duplicate": (
        "Copy a task into a new pending task, optionally changing description, project, tags, priority, "
        'due or agent ("" clears a field). Completion and start times are not copied.'
    ),
    "task_modify": (
        "Change fields of the tasks that match a filter (an id, a uuid, or any filter); only the given "
        'fields change, "" clears a field, tags take +tag/-tag edits, depends replaces the whole list. '
        "The filter cannot be empty. Changing many tasks is one commit, undone by one task_undo. Fails "
        "when nothing matches or a value is invalid (nothing is changed then)."
    ),
    "task_annotate": (
        "Add a timestamped note to a task, for progress, findings or handoff context. For long text use task_doc_write."
    ),
    "task_denotate": (
        "Remove the annotation whose text is exactly the given text (the first one if several are equal). "
        "Fails when the task has no such annotation; the message lists the ones it has."
    ),
    "task_undo": (
        "Revert your own most recent change (one tool call = one change), by adding a revert commit; call "
        "again to go further back. Fails when there is nothing left to undo, or when a later change by "
        "someone else touches the same tasks."
    ),
    "task_purge": ("Remove a deleted task from the store for good (delete it first). Its history stays in git."),
    "task_import": (
        "Create many tasks at once from a JSON array of task objects. Each needs a description; any other task "
        "field may be given (project, tags, priority, due, wait, scheduled, until, recur, depends, agent, "
        "status, entry, end, annotations, uuid), plus custom attributes and doc (the task's doc). All or "
        "nothing: one invalid task, or a uuid that already exists, means none is created. One commit."
    ),
    "task_doc_write": (
        "Attach a markdown doc (spec, design notes, acceptance criteria, handoff) to a task, replacing any "
        "previous one. The doc is the body of the task's file; tasks with a doc have the tag 'doc' and "
        "has_doc:true."
    ),
    "task_doc_read": "Read a task's markdown doc. Fails when the task has no doc.",
    "task_doc_delete": "Remove a task's doc (earlier versions stay in git history). Fails when it has none.",
    "task_archive": (
        "Move completed and deleted tasks that ended more than older_than_days days ago (default 90) out "
        "of the active store into quarterly archive segments. They can still be read with task_archive_load."
    ),
    "task_archive_list": "List the archive segments, oldest first.",
    "task_archive_load": "Read the tasks of one archive segment (read-only).",
    "task_history": (
        "Show the history of one task from git: each commit that changed it, with time, writer, operation "
        "and the fields changed (old and new values), oldest first."
    ),
    "task_sync": (
        "Bring the backlog together: merge every agent's operations (their backlog/<agent> branches) into the "
        "checked-out branch as one commit, renumbering clashing ids. With remote, also fetch, merge and push "
        "(through the git command line, so your credentials and SSH keys apply). Reports what was merged."
    ),
}

_VERIFY = {
    "task_done",
    "task_delete",
    "task_start",
    "task_stop",
    "task_duplicate",
    "task_modify",
    "task_annotate",
    "task_denotate",
    "task_purge",
    "task_doc_write",
    "task_doc_delete",
}

# name, function, title, hints, output schema — in the original's order, then the additive tools.
TOOLS: list[tuple[str, Callable[..., CallToolResult], str, tuple[bool, bool, bool], dict[str, Any]]] = [
    ("task_list", task_list, "List Tasks", _READ, OUT_TASKS),
    ("task_info", task_info, "Task Info", _READ, OUT_TASKS),
    ("task_count", task_count, "Count Tasks", _READ, OUT_COUNT),
    ("task_projects", task_projects, "List Projects", _READ, OUT_ITEMS),
    ("task_tags", task_tags, "List Tags", _READ, OUT_ITEMS),
    ("task_add", task_add, "Add Task", _ADDITIVE, OUT_MESSAGE),
    ("task_done", task_done, "Complete Task", _IDEMPOTENT, OUT_MESSAGE),
    ("task_delete", task_delete, "Delete Task", _IDEMPOTENT, OUT_MESSAGE),
    ("task_start", task_start, "Start Task", _IDEMPOTENT, OUT_MESSAGE),
    ("task_stop", task_stop, "Stop Task", _IDEMPOTENT, OUT_MESSAGE),
    ("task_log", task_log, "Log Completed Task", _ADDITIVE, OUT_MESSAGE),
    ("task_duplicate", task_duplicate, "Duplicate Task", _ADDITIVE, OUT_MESSAGE),
    ("task_modify", task_modify, "Modify Task", _ADDITIVE, OUT_MESSAGE),
    ("task_annotate", task_annotate, "Annotate Task", _ADDITIVE, OUT_MESSAGE),
    ("task_denotate", task_denotate, "Remove Annotation", _IDEMPOTENT, OUT_MESSAGE),
    ("task_undo", task_undo, "Undo", _ADDITIVE, OUT_MESSAGE),
    ("task_purge", task_purge, "Purge Task", _DESTRUCTIVE, OUT_MESSAGE),
    ("task_import", task_import, "Import Tasks", _ADDITIVE, OUT_MESSAGE),
    ("task_doc_write", task_doc_write, "Write Task Doc", _IDEMPOTENT, OUT_MESSAGE),
    ("task_doc_read", task_doc_read, "Read Task Doc", _READ, OUT_CONTENT),
    ("task_doc_delete", task_doc_delete, "Delete Task Doc", _DESTRUCTIVE, OUT_MESSAGE),
    ("task_archive", task_archive, "Archive Old Tasks", _IDEMPOTENT, OUT_MESSAGE),
    ("task_archive_list", task_archive_list, "List Archive Segments", _READ, OUT_ITEMS),
    ("task_archive_load", task_archive_load, "Load Archived Tasks", _READ, OUT_TASKS),
    ("task_history", task_history, "Task History", _READ, OUT_HISTORY),
]
SYNC_TOOL = ("task_sync", task_sync, "Sync Backlog", (False, False, False), OUT_MESSAGE)


def _clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Publish the input schema the way the original did: plain ``string``/``enum`` properties,
    no pydantic titles, no ``null`` alternatives or ``default: null``."""
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
        variants = prop.pop("anyOf", None)
        if variants is not None:
            non_null = [v for v in variants if v.get("type") != "null"]
            if len(non_null) == 1:
                prop.update(non_null[0])
            else:
                prop["anyOf"] = non_null
        if prop.get("default", 0) is None:
            del prop["default"]
        if "enum" in prop and "const" in prop:
            prop.pop("const")
    return schema


def build_tools(include_sync: bool = True) -> list[Tool]:
    """The tool objects, in tools/list order."""
    specs = list(TOOLS)
    if include_sync:
        specs.append(SYNC_TOOL)
    tools: list[Tool] = []
    for name, fn, title, (read_only, destructive, idempotent), output_schema in specs:
        description = _DESCRIPTIONS[name] + (VERIFY_NOTE if name in _VERIFY else "") + LOCAL_NOTE
        tool = Tool.from_function(
            fn,
            name=name,
            title=title,
            description=description,
            annotations=ToolAnnotations(
                title=title,
                read_only_hint=read_only,
                destructive_hint=destructive,
                idempotent_hint=idempotent,
                open_world_hint=False,
            ),
        )
        tool.parameters = _clean_schema(tool.parameters)
        # Published, not re-validated on the way out: the engine's records are JSON-ready already.
        tool.fn_metadata.output_schema = output_schema
        tools.append(tool)
    return tools


def create_server(include_sync: bool = True) -> MCPServer:
    """The MCP server object (used by :func:`main`, and by tests with an in-memory client)."""
    return MCPServer(
        SERVER_NAME,
        version=__version__,
        instructions=INSTRUCTIONS,
        tools=build_tools(include_sync),
        log_level="WARNING",
    )


def _warm_up(delay: float) -> None:
    """Open the store in the background once the handshake is over, so the first call is fast.
    A failure is left for the first tool call to report (it opens the store again)."""

    def run() -> None:
        time.sleep(delay)
        with contextlib.suppress(Exception):
            _store.get()

    threading.Thread(target=run, name="backlog-warm-up", daemon=True).start()


def main() -> int:
    """``backlog-git serve``: run the MCP server on stdio until the client closes it."""
    server = create_server()
    print(f"backlog-git {__version__}: MCP server running on stdio", file=sys.stderr, flush=True)
    _warm_up(WARM_UP_DELAY)
    with contextlib.suppress(KeyboardInterrupt):
        server.run("stdio")
    return 0
