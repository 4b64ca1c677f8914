"""The MCP server's plumbing: the store opened on first use, running a tool body (failures become
``isError`` results), shaping and rendering results, the parameter types, and making the SDK's tool
and server objects from the catalogue.

Results are shaped the way the original server shaped them:

* task arrays → ``structuredContent {tasks: [...]}``, text = the same as compact JSON
  (``task_info``: text = the single task object);
* ``task_count`` → ``{count}``, text = the number; name lists → ``{items}``;
* ``task_doc_read`` → ``{content}``, text = the doc; mutations → ``{message, commit?, tasks}``, text = message.

Every anticipated failure (:class:`~backlog_git.errors.BacklogError`) becomes an ``isError`` result
whose text is the engine's message and nothing else; any other exception is logged to stderr and
reported as ``Internal error in TOOL: …`` while the server keeps serving.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BeforeValidator, Field

from .. import __version__
from ..config import project_dir
from ..errors import BacklogError
from ..inputs import parse_priority, to_text
from .catalogue import INSTRUCTIONS, SERVER_NAME, ToolSpec, description

if TYPE_CHECKING:
    from ..engine import Backlog, Outcome

log = logging.getLogger("backlog_git.server")

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
                    from ..engine import Backlog

                    backlog = Backlog.open(cwd=project_dir())
                    self._backlog = backlog
        return backlog


_store = _Store()
WARM_UP_DELAY = 0.3  # seconds after start: clients send initialize at once, and it must not wait

# ---------------------------------------------------------------------------------------------
# Results


def dumps(value: Any) -> str:
    """Compact JSON (no spaces, no line breaks: about 250 bytes a task, against 330 indented)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def result(text: str, structured: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def error(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def tasks_result(tasks: list[dict[str, Any]]) -> CallToolResult:
    return result(dumps(tasks), {"tasks": tasks})


def items_result(names: list[str]) -> CallToolResult:
    return result(dumps(names), {"items": names})


def message_result(outcome: Outcome, note: str = "") -> CallToolResult:
    structured: dict[str, Any] = {"message": outcome.message + note, "tasks": list(outcome.tasks)}
    if outcome.commit:
        structured["commit"] = outcome.commit
    return result(outcome.message + note, structured)


def select(tasks: list[dict[str, Any]], fields: list[str] | None) -> list[dict[str, Any]]:
    """Only ``fields`` of each task (all of them when None)."""
    if fields is None:
        return tasks
    return [{name: task[name] for name in fields if name in task} for task in tasks]


def _with_warnings(outcome: CallToolResult, broken: list[str]) -> CallToolResult:
    """A second text item names unreadable task files (the first stays the tool's plain result)."""
    if not broken:
        return outcome
    warning = f"Warning: {len(broken)} task file(s) could not be read and are left out:\n" + "\n".join(broken)
    return outcome.model_copy(update={"content": [*outcome.content, TextContent(type="text", text=warning)]})


def call(tool: str, action: Callable[[Backlog], CallToolResult]) -> CallToolResult:
    """Run one tool body against the store; turn failures into isError results."""
    try:
        backlog = _store.get()
        return _with_warnings(action(backlog), backlog.broken_files())
    except BacklogError as exc:
        return error(str(exc) or type(exc).__name__)
    except Exception as exc:
        log.exception("Internal error in %s", tool)
        return error(f"Internal error in {tool}: {type(exc).__name__}: {exc} — please report")


# ---------------------------------------------------------------------------------------------
# Parameter types: declared as the original declared them (strings, priority enums), but lenient
# about what arrives (numbers, real lists, lower-case priorities).


def _priority_or_absent(value: Any) -> Any:
    value = parse_priority(value)
    return None if value == "" else value


Text = Annotated[str, BeforeValidator(to_text)]
OptText = Annotated[str | None, BeforeValidator(to_text)]
NewPriority = Annotated[Literal["H", "M", "L"] | None, BeforeValidator(_priority_or_absent)]
EditPriority = Annotated[Literal["H", "M", "L", ""] | None, BeforeValidator(parse_priority)]


def param(text: str) -> Any:
    """A parameter's published description."""
    return Field(description=text)


# ---------------------------------------------------------------------------------------------
# The SDK's objects


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


def make_tool(spec: ToolSpec, fn: Callable[..., CallToolResult]) -> Tool:
    """The tool object of one catalogue entry and its function."""
    read_only, destructive, idempotent = spec.hints
    tool = Tool.from_function(
        fn,
        name=spec.name,
        title=spec.title,
        description=description(spec.name),
        annotations=ToolAnnotations(
            title=spec.title,
            read_only_hint=read_only,
            destructive_hint=destructive,
            idempotent_hint=idempotent,
            open_world_hint=False,
        ),
    )
    tool.parameters = _clean_schema(tool.parameters)
    # Published, not re-validated on the way out: the engine's records are JSON-ready already.
    tool.fn_metadata.output_schema = spec.output_schema
    return tool


def make_server(tools: list[Tool]) -> MCPServer:
    return MCPServer(SERVER_NAME, version=__version__, instructions=INSTRUCTIONS, tools=tools, log_level="WARNING")


def _warm_up(delay: float) -> None:
    """Open the store in the background once the handshake is over, so the first call is fast.
    A failure is left for the first tool call to report (it opens the store again)."""

    def run() -> None:
        time.sleep(delay)
        with contextlib.suppress(Exception):
            _store.get()

    threading.Thread(target=run, name="backlog-warm-up", daemon=True).start()


def run_stdio(server: MCPServer) -> int:
    """Serve on stdio until the client closes it, opening the store just after start."""
    print(f"backlog-git {__version__}: MCP server running on stdio", file=sys.stderr, flush=True)
    _warm_up(WARM_UP_DELAY)
    with contextlib.suppress(KeyboardInterrupt):
        server.run("stdio")
    return 0
