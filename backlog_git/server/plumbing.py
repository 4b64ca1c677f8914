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
reported as ``Internal error in TOOL: …`` while the server keeps serving. Arguments are read by
:mod:`.arguments` (not by the SDK's pydantic validation), so a bad parameter gets the project's message too.

**Writer identity.** Without ``BACKLOG_AGENT_ID`` the session writes as ``<client> (mcp) <user>@<host>``,
``<client>`` being the ``clientInfo.name`` of the MCP ``initialize`` request (see :func:`mcp_writer`):
never as the human's CLI (``<user>@<host>``), so ``task_undo`` never reverts the human's work and history
credits the client. The store is opened with that writer once the client has introduced itself.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BeforeValidator, Field

from .. import __version__
from ..config import default_writer, project_dir
from ..errors import BacklogError, RepositoryError
from ..inputs import parse_priority, shorten, to_text
from .arguments import Param, coerce, params_of
from .catalogue import INSTRUCTIONS, SERVER_NAME, ToolSpec, description

if TYPE_CHECKING:
    from ..engine import Backlog, Outcome

log = logging.getLogger("backlog_git.server")

# ---------------------------------------------------------------------------------------------
# The engine, opened on first use


MCP_CLIENT_FALLBACK = "mcp-client"
MAX_STORE_NAME = 100
"""The longest namespace or agent id: each names a file (``.backlog/<namespace>/``, the branch
``backlog/<agent-id>``), and file names end at 255 bytes."""
_CLIENT_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")
IDENTITY_WAIT = 30.0  # seconds the warm-up waits for the client's initialize


def mcp_writer(client_name: str | None) -> str:
    """The writer an MCP session records without ``BACKLOG_AGENT_ID``: ``<client> (mcp) <user>@<host>``.

    ``<client>`` is the client's ``clientInfo.name`` with every run of characters other than letters,
    digits, ``.``, ``_`` and ``-`` replaced by ``-`` and at most 64 characters (``mcp-client`` when it
    gives none), so no client can write a line break into a commit's trailers. The same client run by the
    same user is the same writer in every session: undo reaches back across restarts, as for an agent id."""
    name = _CLIENT_NAME_RE.sub("-", client_name or "").strip("-.")[:64].strip("-.")
    return f"{name or MCP_CLIENT_FALLBACK} (mcp) {default_writer()}"


def check_environment() -> None:
    """Refuse a namespace or an agent id too long to name a directory or a branch, with a message
    (opening the store would otherwise fail deep in the file system on every call)."""
    from ..config import resolve

    config = resolve(cwd=project_dir())
    for value, what, variable in (
        (config.namespace, "namespace (it names the directory .backlog/<namespace>/)", "BACKLOG_NAMESPACE"),
        (config.agent_id, "agent id (it names the branch backlog/<agent-id>)", "BACKLOG_AGENT_ID"),
    ):
        if value is not None and len(value) > MAX_STORE_NAME:
            raise RepositoryError(
                f"The {what} {shorten(value, 40)} is {len(value)} characters long; at most {MAX_STORE_NAME} are "
                f"allowed. Set a shorter {variable} in the server's environment and restart it."
            )


class _Store:
    """The process's one Backlog, opened lazily with the session's writer; a failed open is retried
    on the next call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._backlog: Backlog | None = None
        self._writer: str | None = None
        self.identified = threading.Event()

    def identify(self, client_name: str | None) -> None:
        """Record who the client is (its ``initialize``); the first introduction wins, so the writer
        stays the same for the whole session."""
        with self._lock:
            if self._writer is None:
                self._writer = mcp_writer(client_name)
        self.identified.set()

    @property
    def writer(self) -> str:
        if self._writer is None:
            self.identify(None)  # a call before any introduction: still never the human's identity
        assert self._writer is not None
        return self._writer

    def get(self) -> Backlog:
        backlog = self._backlog
        if backlog is None:
            writer = self.writer
            with self._lock:
                backlog = self._backlog
                if backlog is None:
                    from ..engine import Backlog

                    check_environment()
                    backlog = Backlog.open(cwd=project_dir(), writer=writer)
                    backlog.state.keeps_heap = True  # the store stays loaded for the whole session
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
# Parameter types: declared as the original declared them (strings, priority enums). They make the
# published schema; what arrives is read by .arguments (numbers, real lists, lower-case priorities), not
# by these validators.


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


class BacklogTool(Tool):
    """A tool whose arguments are read by :mod:`.arguments` instead of the SDK's pydantic validation
    (whose messages name pydantic internals and link to its web site), and which learns the client's
    identity on its first call if no ``initialize`` told it."""

    @cached_property
    def params(self) -> tuple[Param, ...]:
        fields = self.fn_metadata.arg_model.model_fields
        defaults = {name: info.default for name, info in fields.items() if not info.is_required()}
        return params_of(self.parameters, defaults)

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        if not _store.identified.is_set():
            _store.identify(_client_name(context))
        try:
            kwargs = coerce(self.name, self.params, arguments)
        except BacklogError as exc:
            return error(str(exc))
        try:
            return await self.fn_metadata.call_fn(self.fn, self.is_async, kwargs)
        except Exception as exc:  # the bodies report their own failures (see call); this is a bug
            log.exception("Internal error in %s", self.name)
            return error(f"Internal error in {self.name}: {type(exc).__name__} — please report")


def _client_name(context: Any) -> str | None:
    """``clientInfo.name`` of the session a tool call came on (None when it gave none)."""
    try:
        params = context.session.client_params
    except Exception:  # no request context (a direct call): no name
        return None
    name = getattr(getattr(params, "client_info", None), "name", None)
    return name if isinstance(name, str) else None


async def identify_client(ctx: Any, call_next: Callable[[Any], Any]) -> Any:
    """Server middleware: once ``initialize`` succeeds, take the writer identity from its ``clientInfo``
    (before the first tool call, so the warm-up opens the store with it)."""
    outcome = await call_next(ctx)
    if ctx.method == "initialize" and isinstance(ctx.params, Mapping):
        info = ctx.params.get("clientInfo")
        name = info.get("name") if isinstance(info, Mapping) else None
        _store.identify(name if isinstance(name, str) else None)
    return outcome


def make_tool(spec: ToolSpec, fn: Callable[..., CallToolResult]) -> Tool:
    """The tool object of one catalogue entry and its function."""
    read_only, destructive, idempotent = spec.hints
    tool = BacklogTool.from_function(
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
    return MCPServer(
        SERVER_NAME,
        version=__version__,
        instructions=INSTRUCTIONS,
        tools=tools,
        log_level="WARNING",
        middleware=[identify_client],
    )


def _warm_up(delay: float) -> None:
    """Load the engine in the background once the handshake is under way, and open the store as soon
    as the client has introduced itself, so the first call is fast. A failure is left for the first
    tool call to report (it opens the store again)."""

    def run() -> None:
        time.sleep(delay)
        with contextlib.suppress(Exception):
            from .. import engine  # noqa: F401 - the import is most of the cost

            if _store.identified.wait(IDENTITY_WAIT):
                backlog = _store.get()
                backlog.pending_agents()  # a read: loads the view (the parse cache, the index)
                backlog.prepare_history()  # a git process on the other core; the store stays free

    threading.Thread(target=run, name="backlog-warm-up", daemon=True).start()


def run_stdio(server: MCPServer) -> int:
    """Serve on stdio until the client closes it, opening the store just after start. Every line the
    client sends is checked first (:mod:`.wire`), so a malformed request is answered, never left hanging."""
    from .wire import serve_stdio

    print(f"backlog-git {__version__}: MCP server running on stdio", file=sys.stderr, flush=True)
    _warm_up(WARM_UP_DELAY)
    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(serve_stdio, server)
    return 0
