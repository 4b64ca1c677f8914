"""Input parity: the CLI and the MCP server read the same inputs the same way (one input layer,
``backlog_git.inputs``).

One table of calls runs through both surfaces, each against its own fresh repository: the CLI as a real
``python -m backlog_git`` process per row, the server over real MCP stdio (one session for the whole
table). Each row must be accepted or refused alike, leave the same task fields, and say the same thing
(the same result message, or the same error text — the CLI's in its own words: the MCP tool names an
error mentions become the commands a person types, through ``backlog_git.cli.words``). A row is written
once, as the tool call; the CLI command is derived from it (``task_add description=… tags=…`` →
``add -- … --tags …``).

Checking a parameter's *type* is each surface's own business: the MCP schema's enum refuses a priority
``Z`` and argparse's choices refuse ``--priority Z`` (exit 2), each with its own usage message. Rows of
that kind (``USAGE``) compare only that both refuse.
"""

from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from support.server import Client, make_repo, run_cli, serve, text_of

from backlog_git.cli.words import cli_words

pytestmark = pytest.mark.anyio

OK, ERROR, USAGE = "ok", "error", "usage"
USAGE_SAME = "usage, same message"  # the CLI refuses at parse time (exit 2), with the server's message

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIME_RE = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\dZ?)?")  # when the row ran differs by surface
VOLATILE = {"uuid", "entry", "modified", "start", "end", "urgency", "version"}  # version: a hash of uuid and times
READS = {"task_list", "task_count", "task_info", "task_history", "task_archive_load"}
ALL = "( status:pending or status:completed or status:deleted or status:recurring )"


@dataclass
class Row:
    tool: str
    args: dict[str, str]
    expect: str
    want: str | dict[str, Any] | None = None
    """For an error: text the message contains; for a success: fields of the first task of the result."""

    def label(self) -> str:
        return f"{self.tool}({', '.join(f'{k}={v!r}' for k, v in self.args.items())})"


def row(tool: str, expect: str = OK, want: str | dict[str, Any] | None = None, **args: str) -> Row:
    return Row(tool, args, expect, want)


TABLE = [
    # seeds: tasks 1 and 2
    row("task_add", want={"id": 1, "tags": ["bug", "ui"]}, description="Seed one", project="web", tags="bug,ui"),
    row("task_add", want={"id": 2}, description="Seed two", project="api"),
    # tags
    row("task_add", want={"tags": ["bug", "urgent"]}, description="Tag plus", tags="+bug,urgent"),
    row("task_add", ERROR, "Invalid tag '-bug'", description="Tag minus on add", tags="-bug"),
    row("task_add", want={"tags": ["a", "b"]}, description="Tag JSON", tags='["a", "b"]'),
    row("task_add", ERROR, "each item must be a word", description="Tag object", tags='[{"a": 1}]'),
    row("task_modify", want={"tags": ["ui", "later"]}, filter="1", tags="-bug,+later"),
    row("task_modify", want={"tags": ["later", "now"]}, filter="1", tags="now,-ui"),
    row("task_modify", ERROR, "Invalid tag 'a b'", filter="1", tags="+a b,-now"),
    row("task_log", want={"status": "completed", "tags": ["x"]}, description="Logged", tags="+x"),
    # dates
    row("task_add", want={"due": "2030-01-15T00:00:00Z"}, description="Due ISO", due="2030-01-15"),
    row("task_add", description="Due named", due="tomorrow", scheduled="monday"),
    row("task_add", ERROR, "Invalid due", description="Bad due", due="someday-maybe"),
    row("task_modify", ERROR, "Invalid due", filter="2", due="garbage"),
    row("task_modify", want={"due": "2031-03-01T00:00:00Z"}, filter="2", due="2031-03-01"),
    row("task_modify", filter="2", due=""),
    # depends
    row("task_add", want={"depends": ["#1"]}, description="Dep by id", depends="1"),
    row("task_add", want={"depends": ["#1"]}, description="Dep by uuid", depends="{u1}"),
    row("task_add", want={"depends": ["#2"]}, description="Dep by prefix", depends="{p2}"),
    row("task_add", want={"depends": ["#1", "#2"]}, description="Dep JSON", depends='["1", "2"]'),
    row("task_add", ERROR, "Invalid dependency UUID: 'banana'", description="Dep garbage", depends="banana"),
    row("task_add", ERROR, "No task found matching '99'", description="Dep missing", depends="99"),
    row("task_modify", ERROR, "cannot depend on itself", filter="2", depends="2"),
    row("task_modify", filter="2", depends=""),
    # extra
    row("task_add", want={"estimate": "3h", "tags": ["x"], "due": "2030-02-01T00:00:00Z"}, description="Extra",
        extra="estimate:3h +x due:2030-02-01 please"),
    row("task_add", want={"project": "web"}, description="Explicit wins", project="web", extra="project:api"),
    row("task_add", want={"description": "From extra"}, description="", extra="description:'From extra'"),
    row("task_add", want={"tags": []}, description="Extra minus on add", extra="-old"),
    row("task_add", ERROR, "cannot be set this way", description="Extra reserved", extra="status:completed"),
    row("task_add", ERROR, "not a valid attribute name", description="Extra bad key", extra="9lives:yes"),
    row("task_modify", want={"tags": ["later", "now", "y"]}, filter="1", extra="+y -bug estimate:1d"),
    row("task_modify", filter="1", extra="estimate:"),
    row("task_log", want={"status": "completed"}, description="Logged extra", extra="due:2030-01-01 +done"),
    row("task_duplicate", want={"description": "Copy", "tags": ["later", "now", "y", "copy"]}, id="1",
        description="Copy", extra="+copy"),
    # priority
    row("task_add", want={"priority": "H"}, description="Lower-case priority", priority="h"),
    row("task_add", want={"priority": "M"}, description="Spaced priority", priority=" m "),
    row("task_add", description="Empty priority", priority=""),
    row("task_add", USAGE, description="Bad priority", priority="Z"),
    row("task_add", ERROR, "priority", description="Bad priority in extra", extra="priority:Z"),
    row("task_modify", want={"priority": "L"}, filter="2", priority="l"),
    row("task_modify", filter="2", priority=""),
    row("task_modify", USAGE, filter="2", priority="urgent"),
    # descriptions
    row("task_add", ERROR, "Description cannot be empty.", description=""),
    row("task_add", ERROR, "Description cannot be empty.", description="   "),
    row("task_add", ERROR, "at most 500", description="z" * 501),
    # id forms
    row("task_info", want={"id": 1}, id="1"),
    row("task_info", want={"id": 1}, id=" 1 "),
    row("task_info", want={"id": 1}, id="{u1}"),
    row("task_info", want={"id": 1}, id="{U1}"),
    row("task_info", want={"id": 2}, id="{p2}"),
    row("task_info", ERROR, "No task found matching 'abc'", id="abc"),
    row("task_info", ERROR, "No task found matching '99'", id="99"),
    row("task_info", id=""),  # the empty filter: the most urgent pending task
    row("task_start", want={"id": 2}, id="{p2}"),
    row("task_start", ERROR, "already started", id="2"),
    row("task_stop", want={"id": 2}, id=" 2"),
    row("task_annotate", want={"id": 1}, id="{u1}", text="a note"),
    row("task_history", id="1"),
    # filters
    row("task_list", filter=""),
    row("task_list", filter="project:web +bug"),
    row("task_list", filter="-bug", sort="id-", limit="3", offset="1"),
    row("task_list", filter="   ", limit="", offset=""),
    row("task_list", USAGE_SAME, "limit must be at least 0", filter="", limit="-1"),
    row("task_list", USAGE_SAME, "offset must be a whole number", filter="", offset="two"),
    row("task_list", ERROR, filter="( project:web"),
    row("task_list", ERROR, filter="due.before:whenever"),
    row("task_list", ERROR, filter="", sort="nonsense~"),
    row("task_count", filter="+READY"),
    row("task_count", filter="project:api or project:web"),
    row("task_count", ERROR, filter="status:bogus"),
    row("task_modify", ERROR, "needs a filter", filter="", priority="H"),
    row("task_modify", ERROR, "No matching tasks", filter="project:nothing", priority="H"),
    row("task_modify", filter="project:web", agent="explorer"),
    # import
    row("task_import", want={"tags": ["i"]}, tasks='[{"description": "Imp 1", "tags": ["i"]}, {"description": "I2"}]'),
    row("task_import", ERROR, "JSON array", tasks="[{"),
    row("task_import", ERROR, "JSON array", tasks='{"description": "x"}'),
    row("task_import", ERROR, "Task 1 of the import", tasks='[{"description": "x", "priority": "Q"}]'),
    row("task_import", ERROR, "Task 2 of the import", tasks='[{"description": "x"}, 3]'),
    # archive segments
    row("task_archive_load", ERROR, "not found", segment="archive/2020-Q1"),
    row("task_archive_load", ERROR, "not found", segment="archive-2020-Q1.json"),
    row("task_archive_load", ERROR, "Invalid archive segment name", segment="../../etc"),
    # both stores hold the same tasks
    row("task_list", filter=ALL),
]  # fmt: skip

COMMANDS = {
    "task_add": "add", "task_log": "log", "task_modify": "modify", "task_duplicate": "duplicate",
    "task_info": "info", "task_start": "start", "task_stop": "stop", "task_done": "done",
    "task_annotate": "annotate", "task_history": "history", "task_list": "list", "task_count": "count",
    "task_import": "import",
}  # fmt: skip
POSITIONAL = ("description", "id", "filter", "text")  # description only on add and log (an option elsewhere)


def cli_argv(tool: str, args: dict[str, str]) -> tuple[list[str], str | None]:
    """The CLI command for a tool call, and its stdin: ``--name value`` options, then ``--`` and the
    positional arguments (so that a filter such as ``-bug`` is not read as an option)."""
    if tool == "task_import":
        return ["import", "--json", "--", "-"], args["tasks"]
    if tool == "task_archive_load":
        return ["archive", "--json", "--", "load", args["segment"]], None
    positional_names = POSITIONAL if tool in ("task_add", "task_log") else POSITIONAL[1:]
    options: list[str] = []
    for name, value in args.items():
        if name not in positional_names:
            options += [f"--{name.replace('_', '-')}", value]
    positional = [args[name] for name in positional_names if name in args]
    return [COMMANDS[tool], *options, "--json", "--", *positional], None


@dataclass
class Seen:
    """What one surface answered for one row, made comparable across surfaces."""

    status: str  # ok, error or usage
    data: Any = None
    error: str = ""


@dataclass
class Surface:
    """One surface's repository state: the uuids it handed out, by task id."""

    uuids: dict[str, int] = field(default_factory=dict)

    def fill(self, args: dict[str, str]) -> dict[str, str]:
        by_id = {number: uuid for uuid, number in self.uuids.items()}

        def placeholder(match: re.Match[str]) -> str:
            kind, number = match.group(1), int(match.group(2))
            uuid = by_id[number]
            return {"u": uuid, "U": uuid.upper(), "p": uuid[:8]}[kind]

        return {k: re.sub(r"\{([uUp])(\d+)\}", placeholder, v) for k, v in args.items()}

    def learn(self, tasks: list[dict[str, Any]]) -> None:
        for task in tasks:
            if "uuid" in task and "id" in task:
                self.uuids[task["uuid"]] = task["id"]

    def text(self, text: str) -> str:
        text = UUID_RE.sub(lambda m: f"<#{self.uuids[m.group(0)]}>" if m.group(0) in self.uuids else "<uuid>", text)
        return TIME_RE.sub("<time>", text)

    def task(self, task: dict[str, Any]) -> dict[str, Any]:
        shaped = {k: v for k, v in task.items() if k not in VOLATILE}
        if "depends" in shaped:
            shaped["depends"] = [f"#{self.uuids.get(u, '?')}" for u in shaped["depends"]]
        if "annotations" in shaped:
            shaped["annotations"] = [note["description"] for note in shaped["annotations"]]
        return shaped

    def seen(self, tool: str, data: dict[str, Any]) -> Seen:
        """Comparable data: the message (uuids as ids) and the tasks (without what differs by time or uuid)."""
        tasks = data.get("tasks")
        if tasks is not None:
            self.learn(tasks)
            data = {**data, "tasks": [self.task(t) for t in tasks]}
        if "message" in data:
            data["message"] = self.text(data["message"])
        if "history" in data:
            data = {"history": [(entry["op"], sorted(set(entry["changes"]) - VOLATILE)) for entry in data["history"]]}
        data.pop("commit", None)
        return Seen(OK, data)


def cli_structured(tool: str, output: Any) -> dict[str, Any]:
    """The CLI's ``--json`` output in the MCP result's shape."""
    if tool in ("task_list", "task_archive_load"):
        return {"tasks": output}
    if tool == "task_info":
        return {"tasks": [output]}
    if tool == "task_history":
        return {"history": output}
    return output


def cli_seen(surface: Surface, entry: Row, proc: subprocess.CompletedProcess[str]) -> Seen:
    if proc.returncode == 0:
        return surface.seen(entry.tool, cli_structured(entry.tool, json.loads(proc.stdout)))
    if proc.returncode == 2:
        return Seen(USAGE, error=proc.stderr)
    assert proc.returncode == 1 and proc.stdout == "", (entry.label(), proc)
    return Seen(ERROR, error=surface.text(proc.stderr.removeprefix("backlog-git: ").removesuffix("\n")))


def run_cli_table(repo: Path) -> list[Seen]:
    """One process per row. Rows that change nothing (reads, and calls that must fail) between two
    changes run side by side: they see the same store either way."""
    surface = Surface()
    results: list[Seen] = []
    batch: list[tuple[Row, Future[subprocess.CompletedProcess[str]]]] = []

    def finish_batch() -> None:
        results.extend(cli_seen(surface, entry, future.result()) for entry, future in batch)
        batch.clear()

    with ThreadPoolExecutor(max_workers=4) as pool:
        for entry in TABLE:
            argv, stdin = cli_argv(entry.tool, surface.fill(entry.args))
            if entry.expect == OK and entry.tool not in READS:
                finish_batch()
                results.append(cli_seen(surface, entry, run_cli(repo, *argv, stdin=stdin)))
            else:
                batch.append((entry, pool.submit(run_cli, repo, *argv, stdin=stdin)))
        finish_batch()
    return results


async def run_mcp_table(client: Client) -> list[Seen]:
    surface = Surface()
    results = []
    for entry in TABLE:
        result = await client.call(entry.tool, **surface.fill(entry.args))
        text = text_of(result)
        if not result.is_error:
            assert isinstance(result.structured_content, dict)
            results.append(surface.seen(entry.tool, result.structured_content))
        elif "validation error" in text:
            results.append(Seen(USAGE, error=text))
        else:
            results.append(Seen(ERROR, error=surface.text(text)))
    return results


CLI_STATUS = {OK: OK, ERROR: ERROR, USAGE: USAGE, USAGE_SAME: USAGE}
MCP_STATUS = {OK: OK, ERROR: ERROR, USAGE: USAGE, USAGE_SAME: ERROR}


def mismatch(entry: Row, cli: Seen, mcp: Seen) -> str | None:
    """Why the two surfaces (or the row's expectation) disagree; None when they agree."""
    if cli.status != CLI_STATUS[entry.expect] or mcp.status != MCP_STATUS[entry.expect]:
        return f"expected {entry.expect}; CLI: {cli.status} {cli.error!r}; MCP: {mcp.status} {mcp.error!r}"
    if isinstance(entry.want, str) and entry.want not in mcp.error:
        return f"error {mcp.error!r} does not say {entry.want!r}"
    if entry.expect == ERROR and cli.error != cli_words(mcp.error):
        return f"different errors: CLI {cli.error!r}, MCP {mcp.error!r}"
    if entry.expect == USAGE_SAME and mcp.error not in cli.error:
        return f"CLI usage error {cli.error!r} does not carry the server's {mcp.error!r}"
    if entry.expect != OK:
        return None
    if cli.data != mcp.data:
        return f"different results:\n  CLI {cli.data}\n  MCP {mcp.data}"
    if isinstance(entry.want, dict):
        first = mcp.data["tasks"][0]
        got = {key: first.get(key, [] if key == "tags" else None) for key in entry.want}
        if got != entry.want:
            return f"task fields {got}, wanted {entry.want}"
    return None


async def test_cli_and_server_accept_refuse_and_record_alike(tmp_path: Path) -> None:
    cli_repo = make_repo(tmp_path / "cli")
    mcp_repo = make_repo(tmp_path / "mcp")
    outcome: dict[str, list[Seen]] = {}

    async def cli_side() -> None:
        outcome["cli"] = await anyio.to_thread.run_sync(run_cli_table, cli_repo)

    async with serve(mcp_repo) as client, anyio.create_task_group() as group:
        group.start_soon(cli_side)
        outcome["mcp"] = await run_mcp_table(client)

    problems = []
    for entry, cli, mcp in zip(TABLE, outcome["cli"], outcome["mcp"], strict=True):
        why = mismatch(entry, cli, mcp)
        if why:
            problems.append(f"{entry.label()}: {why}")
    assert not problems, "\n".join(problems)


def test_the_table_covers_every_input_kind() -> None:
    """A guard on the table itself: each kind of input the surfaces share has rows that pass and rows that fail."""
    kinds = {(r.tool, name, r.expect) for r in TABLE for name in r.args}
    for tool, name in [
        ("task_add", "tags"),
        ("task_add", "due"),
        ("task_add", "depends"),
        ("task_add", "extra"),
        ("task_modify", "tags"),
        ("task_modify", "filter"),
        ("task_info", "id"),
        ("task_list", "filter"),
        ("task_import", "tasks"),
    ]:
        assert (tool, name, OK) in kinds and (tool, name, ERROR) in kinds, (tool, name)
