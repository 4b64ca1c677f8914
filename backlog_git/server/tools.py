"""The tool bodies: parse the inputs (:mod:`backlog_git.inputs`), make one engine call, shape the result
(:mod:`.plumbing`). Signatures declare the parameters as the original declared them; their descriptions
and the tools' are in :mod:`.catalogue`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from mcp.types import CallToolResult

from ..errors import BacklogError
from ..inputs import (
    archive_segment,
    list_filter,
    logged_task,
    new_task,
    parse_fields,
    parse_import,
    parse_int,
    parse_optional,
    parse_ref,
    task_edit,
)
from .catalogue import (
    D_AGENT,
    D_CLEAR,
    D_DEPENDS_NEW,
    D_DESCRIPTION,
    D_DUE,
    D_EXPECTED,
    D_EXTRA,
    D_FILTER,
    D_ID,
    D_PROJECT,
    D_RECUR,
    D_REQUEST_ID,
    D_SCHEDULED,
    D_TAGS_EDIT,
    D_TAGS_NEW,
    D_UNTIL,
    D_WAIT,
)
from .plumbing import (
    EditPriority,
    NewPriority,
    OptText,
    Text,
    dumps,
    items_result,
    param,
    result,
    select,
    tasks_result,
)
from .plumbing import call as run_body
from .plumbing import message_result as outcome_result

if TYPE_CHECKING:
    from ..engine import Backlog, Outcome

CURSOR_META = "backlog-git/cursor"
"""The ``_meta`` key holding, on every result, the change feed's cursor of what the call saw."""


def with_cursor(outcome: CallToolResult, cursor: str | None) -> CallToolResult:
    """``outcome`` with ``cursor`` in its ``_meta``, where clients that parse the content never look (a
    cursor already there stays: a mutation's, read just after its commit)."""
    meta = outcome.meta or {}
    if cursor is None or CURSOR_META in meta:
        return outcome
    return outcome.model_copy(update={"meta": {**meta, CURSOR_META: cursor}})


def call(tool: str, action: Callable[[Backlog], CallToolResult]) -> CallToolResult:
    """Run a tool body (:func:`.plumbing.call`) and give its result the cursor of what it saw. The cursor is
    read before the body runs: a change feed from it may repeat a change the body showed, never skip one."""
    seen: list[str] = []

    def run(b: Backlog) -> CallToolResult:
        cursor = getattr(b, "cursor", None)  # an engine without one (as for sync): results without it
        if cursor is not None:
            seen.append(cursor())
        return action(b)

    outcome = run_body(tool, run)
    return with_cursor(outcome, seen[0]) if seen else outcome


def message_result(outcome: Outcome, note: str = "") -> CallToolResult:
    """A mutation's result, with the cursor its transaction read just after its commit."""
    return with_cursor(outcome_result(outcome, note), outcome.cursor)

# ---------------------------------------------------------------------------------------------
# Reads


def task_list(
    filter: Annotated[Text, param(D_FILTER)],
    limit: Annotated[OptText, param("Return at most this many tasks (after offset).")] = None,
    offset: Annotated[OptText, param("Skip this many matching tasks first (for paging).")] = None,
    fields: Annotated[
        OptText, param('Only these fields of each task, comma-separated, e.g. "id,description,status,due".')
    ] = None,
    sort: Annotated[
        OptText, param('Order, e.g. "due+", "priority-,id+" (field then + or -). Default: most urgent first.')
    ] = None,
) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        selected = parse_fields(fields)
        tasks = b.list(
            list_filter(filter),
            sort=parse_optional(sort),
            limit=parse_int(limit, "limit", minimum=0),
            offset=parse_int(offset, "offset", minimum=0) or 0,
        )
        return tasks_result(select(tasks, selected))

    return call("task_list", run)


def task_info(id: Annotated[Text, param(D_ID)]) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        task = b.info(parse_ref(id))
        return result(dumps(task), {"tasks": [task]})

    return call("task_info", run)


def task_count(filter: Annotated[Text, param(D_FILTER)]) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        count = b.count(list_filter(filter))
        return result(str(count), {"count": count})

    return call("task_count", run)


def task_projects() -> CallToolResult:
    return call("task_projects", lambda b: items_result(b.projects()))


def task_tags() -> CallToolResult:
    return call("task_tags", lambda b: items_result(b.tags()))


# ---------------------------------------------------------------------------------------------
# New tasks


def task_add(
    description: Annotated[Text, param(D_DESCRIPTION)],
    project: Annotated[OptText, param(D_PROJECT)] = None,
    tags: Annotated[OptText, param(D_TAGS_NEW)] = None,
    priority: Annotated[NewPriority, param("Priority: H (high), M (medium) or L (low).")] = None,
    due: Annotated[OptText, param(D_DUE)] = None,
    depends: Annotated[OptText, param(D_DEPENDS_NEW)] = None,
    wait: Annotated[OptText, param(D_WAIT)] = None,
    scheduled: Annotated[OptText, param(D_SCHEDULED)] = None,
    recur: Annotated[OptText, param(D_RECUR)] = None,
    until: Annotated[OptText, param(D_UNTIL)] = None,
    agent: Annotated[OptText, param(D_AGENT)] = None,
    extra: Annotated[OptText, param(D_EXTRA)] = None,
    request_id: Annotated[OptText, param(D_REQUEST_ID)] = None,
) -> CallToolResult:
    options = {
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

    def run(b: Backlog) -> CallToolResult:
        request = new_task(description, options, tags, extra)
        outcome = b.add(*request.args, **request.kwargs, request_id=parse_optional(request_id))
        return message_result(outcome, request.note)

    return call("task_add", run)


def task_log(
    description: Annotated[Text, param(D_DESCRIPTION)],
    project: Annotated[OptText, param(D_PROJECT)] = None,
    tags: Annotated[OptText, param(D_TAGS_NEW)] = None,
    priority: Annotated[NewPriority, param("Priority: H, M or L.")] = None,
    agent: Annotated[OptText, param("Who did the work.")] = None,
    extra: Annotated[OptText, param(D_EXTRA)] = None,
    request_id: Annotated[OptText, param(D_REQUEST_ID)] = None,
) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        request = logged_task(description, {"project": project, "priority": priority, "agent": agent}, tags, extra)
        outcome = b.log(*request.args, **request.kwargs, request_id=parse_optional(request_id))
        return message_result(outcome, request.note)

    return call("task_log", run)


def task_import(
    tasks: Annotated[
        Text,
        param(
            'A JSON array of task objects, e.g. [{"description": "Write tests", "project": "api", '
            '"tags": ["test"], "priority": "M"}]. Each needs a description.'
        ),
    ],
    request_id: Annotated[OptText, param(D_REQUEST_ID)] = None,
) -> CallToolResult:
    return call(
        "task_import",
        lambda b: message_result(b.import_tasks(parse_import(tasks), request_id=parse_optional(request_id))),
    )


# ---------------------------------------------------------------------------------------------
# Changing tasks


def task_duplicate(
    id: Annotated[Text, param(D_ID)],
    description: Annotated[OptText, param("Description of the copy (default: the same).")] = None,
    project: Annotated[OptText, param(D_PROJECT + D_CLEAR)] = None,
    tags: Annotated[OptText, param(D_TAGS_EDIT)] = None,
    priority: Annotated[EditPriority, param('Priority H, M or L; "" clears it.')] = None,
    due: Annotated[OptText, param(D_DUE + D_CLEAR)] = None,
    agent: Annotated[OptText, param(D_AGENT + D_CLEAR)] = None,
    extra: Annotated[OptText, param(D_EXTRA)] = None,
) -> CallToolResult:
    options = {"description": description, "project": project, "priority": priority, "due": due, "agent": agent}

    def run(b: Backlog) -> CallToolResult:
        request = task_edit(options, tags, extra)
        return message_result(b.duplicate(parse_ref(id), **request.kwargs), request.note)

    return call("task_duplicate", run)


def task_modify(
    filter: Annotated[
        Text, param('Which tasks: an id ("12"), a uuid, or a filter ("project:web +bug"). Must not be empty.')
    ],
    description: Annotated[OptText, param("New description.")] = None,
    project: Annotated[OptText, param(D_PROJECT + D_CLEAR)] = None,
    tags: Annotated[OptText, param(D_TAGS_EDIT)] = None,
    priority: Annotated[EditPriority, param('Priority H, M or L; "" clears it.')] = None,
    due: Annotated[OptText, param(D_DUE + D_CLEAR)] = None,
    depends: Annotated[
        OptText, param("UUIDs this task waits for, comma-separated; replaces the list." + D_CLEAR)
    ] = None,
    wait: Annotated[OptText, param(D_WAIT + D_CLEAR)] = None,
    scheduled: Annotated[OptText, param(D_SCHEDULED + D_CLEAR)] = None,
    recur: Annotated[OptText, param(D_RECUR + D_CLEAR)] = None,
    until: Annotated[OptText, param(D_UNTIL + D_CLEAR)] = None,
    agent: Annotated[OptText, param(D_AGENT + D_CLEAR)] = None,
    extra: Annotated[OptText, param(D_EXTRA)] = None,
    expected_version: Annotated[OptText, param(D_EXPECTED)] = None,
) -> CallToolResult:
    options = {
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

    def run(b: Backlog) -> CallToolResult:
        request = task_edit(options, tags, extra)
        outcome = b.modify(parse_ref(filter), **request.kwargs, expected_version=parse_optional(expected_version))
        return message_result(outcome, request.note)

    return call("task_modify", run)


def _on_task(tool: str, method: str, ref: str, *args: Any, expected_version: str | None = None) -> CallToolResult:
    """One engine method on one task (``ref``), with any further arguments as given."""
    version = parse_optional(expected_version)
    return call(
        tool, lambda b: message_result(getattr(b, method)(parse_ref(ref), *args, expected_version=version))
    )


def task_done(
    id: Annotated[Text, param(D_ID)], expected_version: Annotated[OptText, param(D_EXPECTED)] = None
) -> CallToolResult:
    return _on_task("task_done", "done", id, expected_version=expected_version)


def task_delete(
    id: Annotated[Text, param(D_ID)], expected_version: Annotated[OptText, param(D_EXPECTED)] = None
) -> CallToolResult:
    return _on_task("task_delete", "delete", id, expected_version=expected_version)


def task_start(
    id: Annotated[Text, param(D_ID)], expected_version: Annotated[OptText, param(D_EXPECTED)] = None
) -> CallToolResult:
    return _on_task("task_start", "start", id, expected_version=expected_version)


def task_stop(
    id: Annotated[Text, param(D_ID)], expected_version: Annotated[OptText, param(D_EXPECTED)] = None
) -> CallToolResult:
    return _on_task("task_stop", "stop", id, expected_version=expected_version)


def task_annotate(
    id: Annotated[Text, param(D_ID)],
    text: Annotated[Text, param("The note to add (timestamped).")],
) -> CallToolResult:
    return _on_task("task_annotate", "annotate", id, text)


def task_denotate(
    id: Annotated[Text, param(D_ID)],
    text: Annotated[Text, param("The exact text of the annotation to remove.")],
) -> CallToolResult:
    return _on_task("task_denotate", "denotate", id, text)


def task_undo() -> CallToolResult:
    return call("task_undo", lambda b: message_result(b.undo()))


def task_purge(id: Annotated[Text, param(D_ID)]) -> CallToolResult:
    return _on_task("task_purge", "purge", id)


# ---------------------------------------------------------------------------------------------
# Docs, archive, history, sync


def task_doc_write(
    id: Annotated[Text, param(D_ID)],
    content: Annotated[Text, param("The whole doc, in markdown; replaces any previous doc.")],
) -> CallToolResult:
    return _on_task("task_doc_write", "doc_write", id, content)


def task_doc_read(id: Annotated[Text, param(D_ID)]) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        content = b.doc_read(parse_ref(id))
        return result(content, {"content": content})

    return call("task_doc_read", run)


def task_doc_delete(id: Annotated[Text, param(D_ID)]) -> CallToolResult:
    return _on_task("task_doc_delete", "doc_delete", id)


def task_archive(
    older_than_days: Annotated[
        OptText, param('Archive completed and deleted tasks that ended more than this many days ago (default "90").')
    ] = "90",
) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        days = parse_int(older_than_days, "older_than_days")
        return message_result(b.archive(90 if days is None else days))

    return call("task_archive", run)


def task_archive_list() -> CallToolResult:
    return call("task_archive_list", lambda b: items_result(b.archive_list()))


def task_archive_load(
    segment: Annotated[Text, param('A segment from task_archive_list, or its period such as "2026-Q1".')],
) -> CallToolResult:
    return call("task_archive_load", lambda b: tasks_result(b.archive_load(archive_segment(segment))))


def task_history(id: Annotated[Text, param(D_ID)]) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        entries = b.history(parse_ref(id))
        return result(dumps(entries), {"history": entries})

    return call("task_history", run)


def task_claim(
    id: Annotated[OptText, param("The task to claim. Leave it out to claim the most urgent free task matching filter.")]
    = None,
    filter: Annotated[OptText, param('Which tasks a claim without an id picks from (default "+READY").')] = None,
    lease: Annotated[OptText, param("How long the claim holds unless renewed: 30m (default), 2h, 1d.")] = None,
    expected_version: Annotated[OptText, param(D_EXPECTED)] = None,
    request_id: Annotated[OptText, param(D_REQUEST_ID)] = None,
) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        ref = parse_optional(id)
        outcome = b.claim(
            parse_ref(ref) if ref else None, filter=parse_optional(filter) or "+READY", lease=parse_optional(lease),
            expected_version=parse_optional(expected_version), request_id=parse_optional(request_id),
        )
        return message_result(outcome)

    return call("task_claim", run)


def task_release(
    id: Annotated[Text, param(D_ID)],
    force: Annotated[OptText, param('"true" to release a claim someone else holds (the commit records it).')] = None,
) -> CallToolResult:
    forced = (parse_optional(force) or "").strip().lower() in ("true", "yes", "1")
    return call("task_release", lambda b: message_result(b.release(parse_ref(id), force=forced)))


def task_changes(
    since: Annotated[OptText, param("The cursor an earlier task_changes returned, or any commit (e.g. HEAD~5).")]
    = None,
    limit: Annotated[OptText, param("At most this many changes (1-500, default 100).")] = None,
    offset: Annotated[OptText, param("Skip this many changes (paging).")] = None,
) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        page = parse_int(parse_optional(limit), "limit", minimum=1)
        skip = parse_int(parse_optional(offset), "offset", minimum=0)
        feed = b.changes(parse_optional(since), limit=100 if page is None else page, offset=skip or 0)
        return with_cursor(result(dumps(feed), feed), feed["cursor"])

    return call("task_changes", run)


def task_sync(
    remote: Annotated[
        OptText, param('A git remote ("origin") to also fetch from, merge and push to. Default: local merge only.')
    ] = None,
) -> CallToolResult:
    def run(b: Backlog) -> CallToolResult:
        sync = getattr(b, "sync", None)
        if sync is None:
            raise BacklogError("task_sync is not available in this version of backlog-git.")
        return message_result(sync(parse_optional(remote)))

    return call("task_sync", run)


# Each tool's function by its name (the catalogue gives the order).
FUNCTIONS: dict[str, Callable[..., CallToolResult]] = {
    fn.__name__: fn
    for fn in (
        task_list, task_info, task_count, task_projects, task_tags, task_add, task_done, task_delete,
        task_start, task_stop, task_log, task_duplicate, task_modify, task_annotate, task_denotate, task_undo,
        task_purge, task_import, task_doc_write, task_doc_read, task_doc_delete, task_archive,
        task_archive_list, task_archive_load, task_history, task_sync, task_claim, task_release, task_changes,
    )
}  # fmt: skip
