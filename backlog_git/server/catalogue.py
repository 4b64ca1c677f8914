"""The MCP server's catalogue, as data: the instructions, tool descriptions, parameter descriptions,
titles, annotations (read-only / destructive / idempotent) and output schemas, in tools/list order.

Nothing here runs: :mod:`.tools` takes its parameter descriptions from here, and the package's
``build_tools`` joins each tool function with its entry.
"""

from __future__ import annotations

from typing import Any, NamedTuple

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
# Parameter descriptions

D_FILTER = (
    'Filter expression. "" means pending tasks. Examples: "project:web +bug", "+OVERDUE", "+READY", '
    '"agent:explorer", "status:completed end.after:now-7d", "( project:web or project:api )", "login error" '
    "(text search)."
)
D_ID = "Task id (number), uuid, or a uuid prefix of at least 8 characters."
D_EXPECTED = (
    "Optional: the task's `version` as you read it. If the task changed since, nothing is written and the "
    "error says which fields changed, by whom and when."
)
D_REQUEST_ID = (
    "Optional: an id of this request. A repeat with the same id (after a lost response or a restart) returns "
    "the first call's result and writes nothing."
)
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

# ---------------------------------------------------------------------------------------------
# What each parameter accepts, for the messages that refuse a parameter (see .arguments)

_DATE_FORMS = 'a date such as "2026-12-31", "friday", "eow" or "now+3d" ("" = none)'
_NUMBER_FORMS = 'a whole number, such as 20 or "20"'
PARAM_FORMS: dict[str, str] = {
    "filter": 'a filter expression such as "project:web +bug" ("" = pending tasks)',
    "id": "a task id (number), a uuid, or a uuid prefix of at least 8 characters",
    "description": "one line of text, at most 500 characters",
    "text": "the annotation's text",
    "content": "the doc, as markdown text",
    "tasks": 'a JSON array of task objects, such as [{"description": "Write tests"}]',
    "segment": 'an archive segment such as "2026-Q1"',
    "project": 'a project name such as "web.frontend"',
    "tags": 'tags, comma-separated ("bug,urgent") or as a JSON array',
    "depends": "task uuids (or ids), comma-separated or as a JSON array",
    "fields": 'field names, comma-separated ("id,description,due") or as a JSON array',
    "sort": 'sort keys such as "due+,id-"',
    "limit": _NUMBER_FORMS,
    "offset": _NUMBER_FORMS,
    "older_than_days": _NUMBER_FORMS,
    "due": _DATE_FORMS,
    "wait": _DATE_FORMS,
    "scheduled": _DATE_FORMS,
    "until": _DATE_FORMS,
    "recur": 'a period such as "daily", "weekly" or "3d"',
    "agent": 'a name such as "explorer"',
    "extra": 'words such as "+tag -tag key:value"',
    "remote": 'the name of a git remote configured in this repository, such as "origin"',
}
TEXT_LIMIT = 64 * 1024
"""The longest text a parameter takes, in characters, unless PARAM_LIMITS says otherwise (descriptions are
limited further by the model: 500)."""
PARAM_LIMITS: dict[str, int] = {"content": 1024 * 1024, "tasks": 4 * 1024 * 1024}
"""A task's doc up to 1 MiB, an import's JSON up to 4 MiB."""
EDIT_TOOLS = frozenset({"task_modify", "task_duplicate"})
NEW_TASK_TOOLS = frozenset({"task_add", "task_log"})
CLEARABLE = frozenset({"project", "priority", "due", "depends", "wait", "scheduled", "recur", "until", "agent"})
"""Fields that ``""`` clears on task_modify / task_duplicate."""


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
        "has_doc: true when the task has a doc; task_info only: not_ready (strings) when a pending task is "
        "not +READY."
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
Hints = tuple[bool, bool, bool]
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

DESCRIPTIONS: dict[str, str] = {
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
        "match). Fails when no task matches. A pending task that is not +READY carries not_ready: why (blocked "
        "by which open tasks, waiting until, scheduled for, held by which agent until). "
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
        "result names the new task's id and uuid, and up to three open tasks whose descriptions are nearly the "
        "same: check they are not the same work."
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
    "task_claim": (
        "Take a task to work on: start it and hold it for a lease (default 30m) so no other agent takes it. "
        "With id, that task; without, the most urgent free task matching filter (default +READY). Exactly one "
        "of several racing claimers wins; the others get an error naming the holder and the expiry. Your own "
        "changes to the task renew the lease; task_done/task_stop end it."
    ),
    "task_release": "Give back a task you claimed (force: someone else's claim; the commit records it).",
    "task_changes": (
        "What changed after a cursor: task, operation, fields old -> new, writer, time, across every agent "
        "branch; paged. Poll this instead of re-listing everything; pass the returned cursor next time."
    ),
}

VERIFY = {
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


class ToolSpec(NamedTuple):
    name: str
    title: str
    hints: Hints
    output_schema: dict[str, Any]


# In the original's order, then the additive tools.
TOOL_SPECS = [
    ToolSpec("task_list", "List Tasks", _READ, OUT_TASKS),
    ToolSpec("task_info", "Task Info", _READ, OUT_TASKS),
    ToolSpec("task_count", "Count Tasks", _READ, OUT_COUNT),
    ToolSpec("task_projects", "List Projects", _READ, OUT_ITEMS),
    ToolSpec("task_tags", "List Tags", _READ, OUT_ITEMS),
    ToolSpec("task_add", "Add Task", _ADDITIVE, OUT_MESSAGE),
    ToolSpec("task_done", "Complete Task", _IDEMPOTENT, OUT_MESSAGE),
    ToolSpec("task_delete", "Delete Task", _IDEMPOTENT, OUT_MESSAGE),
    ToolSpec("task_start", "Start Task", _IDEMPOTENT, OUT_MESSAGE),
    ToolSpec("task_stop", "Stop Task", _IDEMPOTENT, OUT_MESSAGE),
    ToolSpec("task_log", "Log Completed Task", _ADDITIVE, OUT_MESSAGE),
    ToolSpec("task_duplicate", "Duplicate Task", _ADDITIVE, OUT_MESSAGE),
    ToolSpec("task_modify", "Modify Task", _ADDITIVE, OUT_MESSAGE),
    ToolSpec("task_annotate", "Annotate Task", _ADDITIVE, OUT_MESSAGE),
    ToolSpec("task_denotate", "Remove Annotation", _IDEMPOTENT, OUT_MESSAGE),
    ToolSpec("task_undo", "Undo", _ADDITIVE, OUT_MESSAGE),
    ToolSpec("task_purge", "Purge Task", _DESTRUCTIVE, OUT_MESSAGE),
    ToolSpec("task_import", "Import Tasks", _ADDITIVE, OUT_MESSAGE),
    ToolSpec("task_doc_write", "Write Task Doc", _IDEMPOTENT, OUT_MESSAGE),
    ToolSpec("task_doc_read", "Read Task Doc", _READ, OUT_CONTENT),
    ToolSpec("task_doc_delete", "Delete Task Doc", _DESTRUCTIVE, OUT_MESSAGE),
    ToolSpec("task_archive", "Archive Old Tasks", _IDEMPOTENT, OUT_MESSAGE),
    ToolSpec("task_archive_list", "List Archive Segments", _READ, OUT_ITEMS),
    ToolSpec("task_archive_load", "Load Archived Tasks", _READ, OUT_TASKS),
    ToolSpec("task_history", "Task History", _READ, OUT_HISTORY),
]
SYNC_SPEC = ToolSpec("task_sync", "Sync Backlog", _ADDITIVE, OUT_MESSAGE)
OUT_CHANGES = _object(
    {
        "cursor": {"type": "string", "description": "Pass it as `since` next time."},
        "changes": {"type": "array", "items": {"type": "object"}},
        "more": {"type": "boolean"},
    },
    ["cursor", "changes"],
)
COORDINATION_SPECS = [
    ToolSpec("task_claim", "Claim Task", _ADDITIVE, OUT_MESSAGE),
    ToolSpec("task_release", "Release Claim", _IDEMPOTENT, OUT_MESSAGE),
    ToolSpec("task_changes", "Task Changes", _READ, OUT_CHANGES),
]


def description(name: str) -> str:
    """A tool's published description: its text, the verify-the-id note where it acts on an id, the local note."""
    return DESCRIPTIONS[name] + (VERIFY_NOTE if name in VERIFY else "") + LOCAL_NOTE
