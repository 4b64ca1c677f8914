"""The CLI's own commands: each parses its values through :mod:`backlog_git.inputs` (as the MCP
server does) and calls one :class:`~backlog_git.engine.Backlog` method; reads show text or ``--json``.
(For people, ``list`` and ``info`` ask once more: which listed tasks are blocked, and the ids and
descriptions of a task's dependencies. ``edit`` also asks ``check`` about the file it saved.)

To add a command, decorate its handler with ``@command(name, help, example..., arguments=...)``; the
commands other adapters serve are registered in ``backlog_git/main.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import BacklogError, InvalidInput
from ..inputs import (
    DEFAULT_LIST_FILTER,
    NEW_TASK_OPTIONS,
    Request,
    archive_segment,
    list_filter,
    logged_task,
    new_task,
    parse_assignments,
    parse_import,
    parse_int,
    parse_optional,
    parse_priority,
    parse_ref,
    task_edit,
)
from . import render
from .app import Context, command

EXTRA_HELP = "more edits as words: +tag, -tag, key:value (a field or a custom attribute; key: clears it)"
FILTER_HELP = ("filter words, e.g. project:web +bug -BLOCKED due.before:eow (the filter language of the README; "
               "no filter: pending tasks)")
ID_HELP = "the task: its numeric id, its uuid, or 8+ hex digits of the uuid"


def _whole(name: str, minimum: int | None = None) -> Callable[[str], int | None]:
    """An argparse type: a whole number read as the MCP server reads it (same message; exit 2)."""

    def convert(text: str) -> int | None:
        try:
            return parse_int(text, name, minimum=minimum)
        except InvalidInput as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


# ------------------------------------------------------------------ arguments
def _id(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", help=ID_HELP)


def _priority(parser: argparse.ArgumentParser, *, modify: bool) -> None:
    """H, M or L in any case; '' clears it on modify and means none on a new task."""
    parser.add_argument("--priority", type=parse_priority, choices=["H", "M", "L", ""], metavar="{H,M,L}",
                        help="priority: H, M or L" + (" ('' clears it)" if modify else ""))


def _common_task_options(parser: argparse.ArgumentParser, *, modify: bool) -> None:
    parser.add_argument("--project", help="project (dots for sub-projects: web.frontend)"
                        + ("; '' clears it" if modify else ""))
    parser.add_argument("--tags", help="comma-separated tags" + (" (+tag adds, -tag removes)" if modify else ""))
    _priority(parser, modify=modify)
    parser.add_argument("--agent", help="the agent that owns the task")
    parser.add_argument("--attr", action="append", default=[], metavar="KEY=VALUE",
                        help="a user-defined attribute (repeatable)")
    parser.add_argument("--extra", help=EXTRA_HELP)


def _task_options(parser: argparse.ArgumentParser, *, modify: bool) -> None:
    _common_task_options(parser, modify=modify)
    parser.add_argument("--due", help="due date: 2026-12-01, friday, eow, 3d, now+2h …")
    parser.add_argument("--wait", help="hide the task until this date")
    parser.add_argument("--scheduled", help="do not start before this date")
    parser.add_argument("--recur", help="recurrence: daily, weekly, monthly, 2w … (needs --due)")
    parser.add_argument("--until", help="stop recurring after this date")
    parser.add_argument("--depends", help="comma-separated ids or uuids of tasks this one waits for")


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("description", nargs="+", help="what to do (the words are joined)")
    _task_options(parser, modify=False)


def _log_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("description", nargs="+", help="what was done (the words are joined)")
    _common_task_options(parser, modify=False)


def _modify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("filter", nargs="+", help="an id, a uuid, or filter words naming the tasks to change")
    parser.add_argument("--description", help="a new description")
    _task_options(parser, modify=True)


def _duplicate_arguments(parser: argparse.ArgumentParser) -> None:
    _id(parser)
    parser.add_argument("--description", help="the copy's description (default: the original's)")
    _task_options(parser, modify=True)


def _filter_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("filter", nargs="*", help=FILTER_HELP)


def _list_arguments(parser: argparse.ArgumentParser) -> None:
    _filter_arguments(parser)
    parser.add_argument("--sort", help="sort keys, e.g. due+,id- (default: urgency, most urgent first)")
    parser.add_argument("--limit", type=_whole("limit", minimum=0), help="show at most this many tasks")
    parser.add_argument("--offset", type=_whole("offset", minimum=0), default=0,
                        help="skip this many tasks first (with --limit: pages)")


def _note_arguments(parser: argparse.ArgumentParser) -> None:
    _id(parser)
    parser.add_argument("text", nargs="+", help="the note's text (the words are joined)")


def _doc_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["read", "write", "delete"], help="what to do with the doc")
    _id(parser)
    file = parser.add_argument("--file", help="for write: read the doc from this file ('-': stdin; absent: "
                               "the editor on a terminal, else stdin)")
    file.complete = "file"  # type: ignore[attr-defined]


def _archive_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=["run", "list", "load"], default="run",
                        help="run: archive now (default); list: the segments; load: one segment's tasks")
    parser.add_argument("segment", nargs="?", help="for load: a quarter like 2026-Q1")
    parser.add_argument("--older-than-days", type=_whole("older_than_days"), default=90,
                        help="archive tasks completed or deleted at least this many days ago (default 90)")


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    file = parser.add_argument("file", help="a JSON file holding an array of task objects ('-': stdin)")
    file.complete = "file"  # type: ignore[attr-defined]


def _sync_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--remote", help="a configured git remote (its name) to fetch from, merge and push to")


def _completion_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell", choices=["bash", "zsh", "fish"], help="the shell to write the script for")


# ------------------------------------------------------------------ setup
@command("init", "create the store (and the repository if needed) and register the merge driver",
         "backlog-git init")
def init(ctx: Context) -> int:
    from ..engine import setup

    ctx.out(setup.init(ctx.args.repo))
    return 0


@command("install", "register the merge driver in this clone (git config is not cloned)", "backlog-git install")
def install(ctx: Context) -> int:
    from ..engine import setup

    ctx.out(setup.install_here(ctx.args.repo))
    return 0


# ------------------------------------------------------------------ adding and changing
def _request(args: argparse.Namespace, kind: str) -> Request:
    """The engine arguments of add, log, modify and duplicate, read as the MCP server reads its tools'."""
    attributes = parse_assignments(args.attr)
    if kind == "add":
        options = {name: getattr(args, name) for name in NEW_TASK_OPTIONS}
        return new_task(" ".join(args.description), options, args.tags, args.extra, attributes)
    if kind == "log":
        options = {name: getattr(args, name) for name in ("project", "priority", "agent")}
        return logged_task(" ".join(args.description), options, args.tags, args.extra, attributes)
    options = {name: getattr(args, name) for name in ("description", *NEW_TASK_OPTIONS)}
    return task_edit(options, args.tags, args.extra, attributes)


@command("add", "add a pending task", "backlog-git add Fix the login redirect --project web.auth --tags bug "
         "--priority H --due friday", arguments=_add_arguments, json=True)
def add(ctx: Context) -> int:
    request = _request(ctx.args, "add")
    return ctx.outcome(ctx.backlog.add(*request.args, **request.kwargs), request.note)


@command("log", "record work that is already done", "backlog-git log Reviewed the auth PR --project web",
         arguments=_log_arguments, json=True)
def log(ctx: Context) -> int:
    request = _request(ctx.args, "log")
    return ctx.outcome(ctx.backlog.log(*request.args, **request.kwargs), request.note)


@command("modify", "change the tasks matching a filter",
         "backlog-git modify 12 --tags +urgent,-bug --due eow", "backlog-git modify project:web +bug --priority H",
         arguments=_modify_arguments, json=True)
def modify(ctx: Context) -> int:
    request = _request(ctx.args, "modify")
    return ctx.outcome(ctx.backlog.modify(parse_ref(" ".join(ctx.args.filter)), **request.kwargs), request.note)


@command("duplicate", "copy a task (with changes)", "backlog-git duplicate 12 --description 'Same for the API'",
         arguments=_duplicate_arguments, json=True)
def duplicate(ctx: Context) -> int:
    request = _request(ctx.args, "duplicate")
    return ctx.outcome(ctx.backlog.duplicate(parse_ref(ctx.args.id), **request.kwargs), request.note)


def _transition(name: str, help: str) -> None:
    @command(name, help, f"backlog-git {name} 12", arguments=_id, json=True)
    def handler(ctx: Context) -> int:
        return ctx.outcome(getattr(ctx.backlog, name)(parse_ref(ctx.args.id)))


for _name, _help in (("done", "complete a task"), ("delete", "delete a task (soft; undo restores it)"),
                     ("start", "start working on a task"), ("stop", "stop working on a task"),
                     ("purge", "remove a deleted task for good (its history stays in git)")):
    _transition(_name, _help)


@command("annotate", "add a note to a task", "backlog-git annotate 12 Asked the API team about the token",
         arguments=_note_arguments, json=True)
def annotate(ctx: Context) -> int:
    return ctx.outcome(ctx.backlog.annotate(parse_ref(ctx.args.id), " ".join(ctx.args.text)))


@command("denotate", "remove a note from a task (give its text or the start of it)",
         "backlog-git denotate 12 Asked the API team", arguments=_note_arguments, json=True)
def denotate(ctx: Context) -> int:
    return ctx.outcome(ctx.backlog.denotate(parse_ref(ctx.args.id), " ".join(ctx.args.text)))


@command("edit", "open a task's file in $VISUAL or $EDITOR (else vi) and check it when you save",
         "backlog-git edit 12", "EDITOR=nano backlog-git edit 12", arguments=_id)
def edit(ctx: Context) -> int:
    from .editor import edit_task

    return edit_task(ctx, parse_ref(ctx.args.id))


@command("undo", "revert your latest operation (again: the one before)", "backlog-git undo", json=True)
def undo(ctx: Context) -> int:
    return ctx.outcome(ctx.backlog.undo())


@command("doc", "read, write or delete a task's doc (the markdown body of its file)",
         "backlog-git doc write 12 --file spec.md", "backlog-git doc write 12   # on a terminal: opens your editor",
         "backlog-git doc read 12", arguments=_doc_arguments, json=True)
def doc(ctx: Context) -> int:
    args, backlog = ctx.args, ctx.backlog
    ref = parse_ref(args.id)
    if args.action == "read":
        content = backlog.doc_read(ref)
        ctx.show({"content": content}, content.rstrip("\n"))
        return 0
    if args.action == "delete":
        return ctx.outcome(backlog.doc_delete(ref))
    if args.file is None and sys.stdin.isatty():
        from .editor import edit_doc

        return edit_doc(ctx, ref)
    content = sys.stdin.read() if args.file in (None, "-") else _read_file(args.file)
    return ctx.outcome(backlog.doc_write(ref, content))


@command("import", "create tasks from a JSON array (a file, or '-' for stdin) in one commit",
         "backlog-git import tasks.json", "echo '[{\"description\": \"x\"}]' | backlog-git import -",
         arguments=_import_arguments, json=True)
def import_(ctx: Context) -> int:
    text = sys.stdin.read() if ctx.args.file == "-" else _read_file(ctx.args.file)
    return ctx.outcome(ctx.backlog.import_tasks(parse_import(text)))


@command("recur", "create the instances recurring tasks are owed now", "backlog-git recur", json=True)
def recur(ctx: Context) -> int:
    return ctx.outcome(ctx.backlog.catch_up())


@command("archive", "move old completed/deleted tasks to quarterly segments; list or load them",
         "backlog-git archive --older-than-days 30", "backlog-git archive list", "backlog-git archive load 2026-Q1",
         arguments=_archive_arguments, json=True)
def archive(ctx: Context) -> int:
    args, backlog = ctx.args, ctx.backlog
    if args.action == "list":
        items = backlog.archive_list()
        ctx.show(items, "\n".join(items) or "No archive segments.")
        return 0
    if args.action == "load":
        if args.segment is None:
            raise BacklogError("archive load needs a segment, e.g. `backlog-git archive load 2026-Q1`.")
        tasks = backlog.archive_load(archive_segment(args.segment))
        ctx.show(tasks, lambda: render.task_table(tasks, ctx.term, show_status=True))
        return 0
    return ctx.outcome(backlog.archive(90 if args.older_than_days is None else args.older_than_days))


# ------------------------------------------------------------------ reads
def _filter_text(words: Sequence[str]) -> str:
    return list_filter(" ".join(words))


def _spans_all_statuses(query: str) -> bool:
    """Any filter but the empty one (pending tasks) spans every status: then a Status column is shown."""
    return query.strip() not in (DEFAULT_LIST_FILTER, '""', "''")


@command("list", "list tasks matching a filter (default: pending tasks), most urgent first",
         "backlog-git list project:web +bug", "backlog-git list -BLOCKED due.before:eow --sort due+",
         "backlog-git list status:completed end.after:now-7d", arguments=_list_arguments, json=True)
def list_(ctx: Context) -> int:
    args, backlog = ctx.args, ctx.backlog
    query = _filter_text(args.filter)
    tasks = backlog.list(query, sort=parse_optional(args.sort), limit=args.limit, offset=args.offset or 0)
    if ctx.json:
        ctx.show(tasks, "")
        return 0
    blocked: set[str] = set()
    if any(t.get("depends") and t.get("status") == "pending" for t in tasks):
        # Whether a dependency is still open is the engine's +BLOCKED, asked only when a row has one.
        try:
            blocked = {t["uuid"] for t in backlog.list(f"( {query} ) +BLOCKED")}
        except BacklogError:  # a filter that does not nest: the rows are shown without the mark
            blocked = set()
    ctx.out(render.task_table(tasks, ctx.term, show_status=_spans_all_statuses(query), blocked=blocked))
    return 0


@command("count", "count tasks matching a filter (default: pending tasks)", "backlog-git count +OVERDUE",
         "backlog-git count -bug project:web", arguments=_filter_arguments, json=True)
def count(ctx: Context) -> int:
    number = ctx.backlog.count(_filter_text(ctx.args.filter))
    ctx.show({"count": number}, str(number))
    return 0


@command("info", "show one task: every field, its dependencies, notes and the path of its file",
         "backlog-git info 12", arguments=_id, json=True)
def info(ctx: Context) -> int:
    backlog = ctx.backlog
    task = backlog.info(parse_ref(ctx.args.id))
    if ctx.json:
        ctx.show(task, "")
        return 0
    uuid = task["uuid"]
    linked = [*task.get("depends", []), *([task["parent"]] if task.get("parent") else [])]
    found = backlog.list(" or ".join([*(f"uuid:{u}" for u in linked), f"depends.has:{uuid}"]))
    related = {t["uuid"]: t for t in found if t["uuid"] in linked}
    blocking = [t for t in found if uuid in t.get("depends", []) and t.get("status") == "pending"]
    ctx.out(render.info_text(task, path=_shown_path(backlog, uuid), related=related, blocking=blocking,
                             term=ctx.term))
    return 0


def _shown_path(backlog: Any, uuid: str) -> str:
    """The task file's path, relative to the current directory when it is below it."""
    full = backlog.git.workdir / backlog.task_path(uuid)
    shown = os.path.relpath(full)
    shown = str(full) if shown.startswith("..") else shown
    if not full.exists():
        shown += " (not in the working tree yet: on an agent branch until `backlog-git sync`)"
    return shown


@command("history", "a task's commits and field changes, newest first", "backlog-git history 12",
         arguments=_id, json=True)
def history(ctx: Context) -> int:
    entries = ctx.backlog.history(parse_ref(ctx.args.id))
    ctx.show(entries, lambda: render.history_text(entries, ctx.term))
    return 0


def _names(kind: str) -> Callable[[Context], int]:
    def handler(ctx: Context) -> int:
        items = getattr(ctx.backlog, kind)()
        ctx.show(items, "\n".join(render.clean(i) for i in items) or f"No {kind}.")
        return 0

    return handler


command("projects", "projects with pending tasks", "backlog-git projects", json=True)(_names("projects"))
command("tags", "tags on pending tasks", "backlog-git tags", json=True)(_names("tags"))


@command("check", "report broken task files and repository setup problems (exit 1 if any)", "backlog-git check",
         json=True)
def check(ctx: Context) -> int:
    problems = ctx.backlog.check()
    ctx.show(problems, lambda: "\n".join(render.problem_line(p) for p in problems) or "No problems found.")
    return 1 if problems else 0


# ------------------------------------------------------------------ many writers
@command("sync", "merge agent branches into the checked-out branch; with --remote also fetch and push",
         "backlog-git sync", "backlog-git sync --remote origin", arguments=_sync_arguments, json=True)
def sync(ctx: Context) -> int:
    return ctx.outcome(ctx.backlog.sync(parse_optional(ctx.args.remote)))


@command("resolve", "finish a conflicted git merge of task files (edits win over deletes)", "backlog-git resolve",
         json=True)
def resolve(ctx: Context) -> int:
    return ctx.outcome(ctx.backlog.resolve())


# ------------------------------------------------------------------ claims and the change feed
def _claim_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", nargs="?",
                        help="the task to claim; without it, the most urgent free task matching --filter")
    parser.add_argument("--filter", default="+READY", help="which tasks a claim without an id picks from (+READY)")
    parser.add_argument("--lease", help="how long the claim holds unless renewed: 30m (default), 2h, 1d")
    parser.add_argument("--request-id", help="a repeat with the same id returns the first result, writing nothing")


@command("claim", "take a task (start it, name you as its holder) for a lease; exactly one claimer wins",
         "backlog-git claim 12", "backlog-git claim --filter 'project:web +READY' --lease 2h",
         arguments=_claim_arguments, json=True)
def claim(ctx: Context) -> int:
    args = ctx.args
    ref = parse_ref(args.id) if args.id else None
    return ctx.outcome(ctx.backlog.claim(ref, filter=args.filter, lease=args.lease, request_id=args.request_id))


def _release_arguments(parser: argparse.ArgumentParser) -> None:
    _id(parser)
    parser.add_argument("--force", action="store_true", help="release another holder's claim (recorded in the commit)")


@command("release", "give a claim back (yours; someone else's with --force)", "backlog-git release 12",
         arguments=_release_arguments, json=True)
def release(ctx: Context) -> int:
    return ctx.outcome(ctx.backlog.release(parse_ref(ctx.args.id), force=ctx.args.force))


def _changes_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", help="a cursor from an earlier `changes --json`, or any commit (HEAD~5)")
    parser.add_argument("--limit", type=int, default=100, help="at most this many changes (1-500)")
    parser.add_argument("--offset", type=int, default=0, help="skip this many (paging)")


@command("changes", "task-level changes after a cursor or commit, across every branch, newest first",
         "backlog-git changes --since HEAD~5", "backlog-git changes --json   # the cursor to poll from next",
         arguments=_changes_arguments, json=True)
def changes(ctx: Context) -> int:
    args = ctx.args
    feed = ctx.backlog.changes(parse_optional(args.since), limit=args.limit, offset=args.offset)

    def text() -> str:
        lines = [
            f"{c['time']}  #{c['id']} {c['op']:<10} {c['writer']}: "
            + (", ".join(f"{k} {v[0]!r} → {v[1]!r}" for k, v in c["fields"].items()) or "(no field change)")
            for c in feed["changes"]
        ]
        return "\n".join(lines or ["No changes."]) + f"\ncursor: {feed['cursor']}"

    ctx.show(feed, text)
    return 0


# ------------------------------------------------------------------ the shell
@command("completion", "print a shell completion script (bash, zsh or fish)",
         'eval "$(backlog-git completion bash)"            # in ~/.bashrc',
         "backlog-git completion zsh > ~/.zfunc/_backlog-git  # with fpath+=~/.zfunc before compinit",
         "backlog-git completion fish > ~/.config/fish/completions/backlog-git.fish",
         arguments=_completion_arguments, store=False)
def completion(ctx: Context) -> int:
    import shtab

    from .app import build_parser

    parser = build_parser()
    kinds = {"file": shtab.FILE, "directory": shtab.DIRECTORY}
    for action in _actions(parser):
        kind = getattr(action, "complete", None)
        if isinstance(kind, str):
            action.complete = kinds[kind]  # type: ignore[attr-defined]
    ctx.out(shtab.complete(parser, shell=ctx.args.shell).rstrip("\n"))
    return 0


def _actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    found = []
    for action in parser._actions:
        found.append(action)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _actions(sub)
    return found


def _read_file(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def noun(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


__all__: list[str] = []
_unused: Mapping[str, Any] = {}
