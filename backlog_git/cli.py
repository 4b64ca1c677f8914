"""``backlog-git``: the command line, a thin adapter over the engine (argparse → Backlog → text).

Exit status: 0 success, 1 a user error (message on stderr), 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from .errors import BacklogError

READ_COLUMNS = (("id", "ID"), ("priority", "P"), ("project", "Project"), ("tags", "Tags"), ("due", "Due"),
                ("description", "Description"), ("urgency", "Urg"))


def _task_options(parser: argparse.ArgumentParser, *, modify: bool) -> None:
    parser.add_argument("--project", help="project (dots for sub-projects: web.frontend); '' clears")
    parser.add_argument("--tags", help="comma-separated tags" + (" (+tag adds, -tag removes)" if modify else ""))
    parser.add_argument("--priority", choices=["H", "M", "L", ""] if modify else ["H", "M", "L"])
    parser.add_argument("--due", help="due date: 2026-12-01, friday, eow, 3d, now+2h …")
    parser.add_argument("--wait", help="hide the task until this date")
    parser.add_argument("--scheduled", help="do not start before this date")
    parser.add_argument("--recur", help="recurrence: daily, weekly, monthly, 2w …")
    parser.add_argument("--until", help="stop recurring after this date")
    parser.add_argument("--depends", help="comma-separated ids or uuids of tasks this one waits for")
    parser.add_argument("--agent", help="the agent that owns the task")
    parser.add_argument("--attr", action="append", default=[], metavar="KEY=VALUE",
                        help="a user-defined attribute (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backlog-git", description="A git-native task store for agents and humans.")
    parser.add_argument("--repo", help="the git repository holding the store (default: BACKLOG_REPO, TASKDATA, "
                        "TASKDATA_ROOT, or the repository containing the current directory)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, *, json_flag: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        if json_flag:
            p.add_argument("--json", action="store_true", help="print JSON instead of a table")
        return p

    command("init", "create the store (and the repository if needed) and register the merge driver")
    p = command("add", "add a pending task", json_flag=True)
    p.add_argument("description", nargs="+")
    _task_options(p, modify=False)
    p = command("log", "record work that is already done", json_flag=True)
    p.add_argument("description", nargs="+")
    p.add_argument("--project")
    p.add_argument("--tags")
    p.add_argument("--priority", choices=["H", "M", "L"])
    p.add_argument("--agent")
    p.add_argument("--attr", action="append", default=[], metavar="KEY=VALUE")
    for name, help in (("list", "list tasks matching a filter (default: pending)"),
                       ("count", "count tasks matching a filter")):
        p = command(name, help, json_flag=True)
        p.add_argument("filter", nargs="*", help="filter words, e.g. project:web +bug due.before:eow")
        if name == "list":
            p.add_argument("--sort", help="sort keys, e.g. due+,id-")
            p.add_argument("--limit", type=int)
            p.add_argument("--offset", type=int, default=0)
    p = command("info", "show one task", json_flag=True)
    p.add_argument("id")
    p = command("modify", "change the tasks matching a filter", json_flag=True)
    p.add_argument("filter", help="an id, uuid, or filter (quote it)")
    p.add_argument("--description")
    _task_options(p, modify=True)
    p = command("duplicate", "copy a task", json_flag=True)
    p.add_argument("id")
    p.add_argument("--description")
    _task_options(p, modify=True)
    for name, help in (("done", "complete a task"), ("delete", "delete a task (soft; undo restores it)"),
                       ("start", "start working on a task"), ("stop", "stop working on a task"),
                       ("purge", "remove a deleted task for good")):
        p = command(name, help, json_flag=True)
        p.add_argument("id")
    for name, help in (("annotate", "add a note to a task"), ("denotate", "remove a note from a task")):
        p = command(name, help, json_flag=True)
        p.add_argument("id")
        p.add_argument("text", nargs="+")
    command("undo", "revert your latest operation (again: the one before)", json_flag=True)
    p = command("history", "a task's commits and field changes", json_flag=True)
    p.add_argument("id")
    p = command("doc", "read, write or delete a task's doc (the file's body)", json_flag=True)
    p.add_argument("action", choices=["read", "write", "delete"])
    p.add_argument("id")
    p.add_argument("--file", help="for write: read the doc from this file ('-' or absent: stdin)")
    p = command("archive", "move old completed/deleted tasks to quarterly segments; list or load them",
                json_flag=True)
    p.add_argument("action", nargs="?", choices=["run", "list", "load"], default="run")
    p.add_argument("segment", nargs="?", help="for load: a quarter like 2026-Q1")
    p.add_argument("--older-than-days", type=int, default=90)
    p = command("import", "create tasks from a JSON array (a file or '-' for stdin), in one commit", json_flag=True)
    p.add_argument("file")
    command("projects", "projects with pending tasks", json_flag=True)
    command("tags", "tags on pending tasks", json_flag=True)
    command("recur", "create the instances recurring tasks are owed now", json_flag=True)
    command("check", "report broken task files and repository setup problems", json_flag=True)
    command("serve", "run the MCP server on stdio")
    p = command("sync", "merge agent branches into the checked-out branch; with --remote also fetch and push",
                json_flag=True)
    p.add_argument("--remote", help="a git remote to fetch from, merge and push to")
    command("resolve", "finish a conflicted git merge of task files (edits win over deletes)", json_flag=True)
    command("install", "register the merge driver in this clone (git config is not cloned)")
    p = command("merge-driver", "git merge driver: merge task files field by field (called by git)")
    for name in ("base", "ours", "theirs", "path"):
        p.add_argument(name)
    p = command("hook", "handle a Claude Code hook event (JSON on stdin)")
    p.add_argument("event")
    return parser


# ------------------------------------------------------------------ formatting
def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.1f}"
    text = str(value)
    if len(text) == 20 and text.endswith("Z") and text[10] == "T":
        return text[:10] if text.endswith("T00:00:00Z") else text[:16].replace("T", " ")
    return text


def format_table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def format_tasks(tasks: list[dict[str, Any]]) -> str:
    if not tasks:
        return "No matching tasks."
    rows = [[_cell(t.get(key)) for key, _ in READ_COLUMNS] for t in tasks]
    return format_table(rows, [h for _, h in READ_COLUMNS]) + f"\n\n{len(tasks)} task(s)"


def format_task(task: dict[str, Any]) -> str:
    rows = []
    for key, value in task.items():
        if key == "annotations":
            for note in value:
                rows.append(["annotation", f"{_cell(note['entry'])}  {note['description']}"])
        else:
            rows.append([key, _cell(value)])
    return format_table(rows, ["Name", "Value"])


def format_history(entries: list[dict[str, Any]]) -> str:
    lines = []
    for entry in entries:
        lines.append(f"{entry['commit'][:10]}  {_cell(entry['time'])}  {entry['writer']}  {entry['op']}")
        for name, (old, new) in entry["changes"].items():
            lines.append(f"    {name}: {_short(old)} → {_short(new)}")
    return "\n".join(lines)


def _short(value: Any) -> str:
    text = "∅" if value in (None, "", []) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "…"


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(text)


# ------------------------------------------------------------------ commands
def _split_tags(text: str | None) -> tuple[list[str], list[str]]:
    added: list[str] = []
    removed: list[str] = []
    for item in (text or "").split(","):
        item = item.strip()
        if item.startswith("-"):
            removed.append(item[1:])
        elif item:
            added.append(item.removeprefix("+"))
    return added, removed


def _attrs(pairs: list[str]) -> dict[str, str]:
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise BacklogError(f"--attr takes KEY=VALUE, got {pair!r}.")
        result[key.strip()] = value
    return result


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in ("description", "project", "priority", "due", "wait", "scheduled", "recur", "until", "agent",
                 "depends"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    changes.update(_attrs(args.attr))
    return changes


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        from . import server

        return server.main()
    if args.command == "hook":
        from . import hooks

        return hooks.main(args.event, sys.stdin)
    if args.command == "merge-driver":
        from . import driver

        return driver.main(args.base, args.ours, args.theirs, args.path)
    if args.command == "install":
        from . import setup_repo

        print(setup_repo.install_here(args.repo))
        return 0
    if args.command == "init":
        from .engine import Backlog

        return _init(Backlog, args)

    from .engine import Backlog

    backlog = Backlog.open(args.repo)
    try:
        return _command(backlog, args)
    finally:
        if args.command != "check":  # check lists them itself
            for problem in backlog.broken_files():
                print(f"backlog-git: warning: {problem}", file=sys.stderr)


def _command(backlog: Any, args: argparse.Namespace) -> int:
    from .engine import Outcome

    cmd = args.command
    if cmd in ("list", "count"):
        text = " ".join(args.filter)
        if cmd == "count":
            count = backlog.count(text)
            _emit(args, {"count": count}, str(count))
        else:
            tasks = backlog.list(text, sort=args.sort, limit=args.limit, offset=args.offset)
            _emit(args, tasks, format_tasks(tasks))
        return 0
    if cmd == "info":
        task = backlog.info(args.id)
        _emit(args, task, format_task(task))
        return 0
    if cmd == "history":
        entries = backlog.history(args.id)
        _emit(args, entries, format_history(entries))
        return 0
    if cmd in ("projects", "tags"):
        items = getattr(backlog, cmd)()
        _emit(args, items, "\n".join(items) or f"No {cmd}.")
        return 0
    if cmd == "check":
        problems = backlog.check()
        text = "\n".join(f"{p['path']}:{p['line'] or ''}: {p['reason']}" for p in problems) or "No problems found."
        _emit(args, problems, text)
        return 1 if problems else 0
    if cmd == "doc" and args.action == "read":
        content = backlog.doc_read(args.id)
        _emit(args, {"content": content}, content.rstrip("\n"))
        return 0
    if cmd == "archive" and args.action == "list":
        items = backlog.archive_list()
        _emit(args, items, "\n".join(items) or "No archive segments.")
        return 0
    if cmd == "archive" and args.action == "load":
        if not args.segment:
            raise BacklogError("archive load needs a segment, e.g. `backlog-git archive load 2026-Q1`.")
        tasks = backlog.archive_load(args.segment)
        _emit(args, tasks, format_tasks(tasks))
        return 0
    outcome: Outcome = _mutation(backlog, args)
    text = outcome.message + (f"  [{outcome.commit[:10]}]" if outcome.commit else "")
    _emit(args, {"message": outcome.message, "commit": outcome.commit, "tasks": outcome.tasks}, text)
    return 0


def _mutation(backlog: Any, args: argparse.Namespace) -> Any:
    cmd = args.command
    if cmd == "add":
        added, _ = _split_tags(args.tags)
        return backlog.add(" ".join(args.description), project=args.project, tags=added, priority=args.priority,
                           due=args.due, depends=args.depends or (), wait=args.wait, scheduled=args.scheduled,
                           recur=args.recur, until=args.until, agent=args.agent, attributes=_attrs(args.attr))
    if cmd == "log":
        added, _ = _split_tags(args.tags)
        return backlog.log(" ".join(args.description), project=args.project, tags=added, priority=args.priority,
                           agent=args.agent, attributes=_attrs(args.attr))
    if cmd in ("modify", "duplicate"):
        added, removed = _split_tags(args.tags)
        if cmd == "modify":
            return backlog.modify(args.filter, changes=_changes(args), add_tags=added, remove_tags=removed)
        return backlog.duplicate(args.id, changes=_changes(args), add_tags=added, remove_tags=removed)
    if cmd in ("done", "delete", "start", "stop", "purge"):
        return getattr(backlog, cmd)(args.id)
    if cmd in ("annotate", "denotate"):
        return getattr(backlog, cmd)(args.id, " ".join(args.text))
    if cmd == "undo":
        return backlog.undo()
    if cmd == "sync":
        return backlog.sync(args.remote)
    if cmd == "resolve":
        return backlog.resolve()
    if cmd == "recur":
        return backlog.catch_up()
    if cmd == "doc":
        if args.action == "delete":
            return backlog.doc_delete(args.id)
        content = sys.stdin.read() if args.file in (None, "-") else _read_file(args.file)
        return backlog.doc_write(args.id, content)
    if cmd == "archive":
        return backlog.archive(args.older_than_days)
    if cmd == "import":
        text = sys.stdin.read() if args.file == "-" else _read_file(args.file)
        return backlog.import_tasks(text)
    raise BacklogError(f"unknown command {cmd}")


def _read_file(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _init(backlog_cls: Any, args: argparse.Namespace) -> int:
    from . import setup_repo as setup

    message = setup.init(args.repo)
    print(message)
    return 0


def _attach_tag_values(argv: Sequence[str]) -> list[str]:
    """``--tags -old,+new`` as ``--tags=-old,+new``: argparse would read ``-old`` as an unknown option."""
    result: list[str] = []
    items = list(argv)
    position = 0
    while position < len(items):
        item = items[position]
        if item == "--tags" and position + 1 < len(items) and items[position + 1].startswith("-"):
            result.append(f"--tags={items[position + 1]}")
            position += 2
            continue
        result.append(item)
        position += 1
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_attach_tag_values(sys.argv[1:] if argv is None else argv))
    try:
        return _run(args)
    except BacklogError as exc:
        print(f"backlog-git: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"backlog-git: {exc}", file=sys.stderr)
        return 1

