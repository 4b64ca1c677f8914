"""The stdio transport's front door: every line the client sends is checked before the MCP SDK reads it.

The SDK's stdio reader validates each line as a JSON-RPC message and, when that fails, hands an exception
to its dispatcher, which drops it: a request it cannot read (invalid JSON, a lone UTF-16 surrogate in an
argument, ``params`` as an array, a missing ``method``, nesting deeper than its parser goes) never gets an
answer, and the client waits forever. This module reads the lines itself, passes on the ones the SDK's
own validator accepts (unchanged: the SDK parses them again), and answers the others with the error
JSON-RPC 2.0 names, carrying the request's ``id`` whenever it can be read:

* ``-32700`` parse error: not UTF-8, not JSON (``NaN`` included), trailing text, or nested deeper than
  any parser here goes;
* ``-32600`` invalid request: not an object (a batch array included), ``jsonrpc`` not ``"2.0"``, no
  string ``method``, an ``id`` that is neither a string nor an integer (``null`` included: MCP forbids
  it), a line longer than :data:`MAX_LINE` bytes;
* ``-32602`` invalid params: ``params`` not an object, a lone surrogate in a parameter, parameters
  nested deeper than the SDK's parser goes (:data:`SDK_MAX_DEPTH`).

Malformed notifications and responses are logged to stderr and dropped (JSON-RPC answers neither).
Standard input is claimed the way the SDK claims it: the wire is read from a private duplicate and
descriptor 0 points at the null device, so no child process (git) can read the client's messages.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
from collections.abc import Iterable
from typing import IO, Any, cast

import anyio
import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    JSONRPCNotification,
    jsonrpc_message_adapter,
)

log = logging.getLogger("backlog_git.server")

MAX_LINE = 16 * 1024 * 1024
"""The longest message read (bytes); a longer line is skipped and answered with -32600."""
SDK_MAX_DEPTH = 200
"""How deeply ``params`` (itself level 1) may nest for the SDK's JSON parser (``jiter``'s recursion limit)."""
_SURROGATE = re.compile("[\ud800-\udfff]")
_CHUNK = 1024 * 1024
# Reads only an id: an integer of more digits than Python converts (never an id) may become 0.
_LENIENT = json.JSONDecoder(strict=False, parse_int=lambda digits: int(digits) if len(digits) <= 4000 else 0)


# ---------------------------------------------------------------------------------------------
# One line → pass it on, answer it, or drop it


def check(raw: bytes) -> tuple[str | None, JSONRPCError | None]:
    """What to do with one line the client sent: ``(text, None)`` to pass it to the SDK, ``(None, error)``
    to answer it with ``error``, ``(None, None)`` to drop it (blank, or a malformed notification or response)."""
    if not raw.strip():
        return None, None
    try:
        text = raw.decode("utf-8")
        message = jsonrpc_message_adapter.validate_json(text, by_name=False)
    except Exception:  # any refusal of the SDK's validator is diagnosed below
        return None, diagnose(raw)
    if isinstance(message, JSONRPCNotification) and '"id"' in text:
        # A request whose id is not a string or an integer (null, 1.5, true) reads as a notification:
        # the client waits for an answer that would never come.
        return None, diagnose(raw)
    return text, None


def diagnose(raw: bytes) -> JSONRPCError | None:
    """The error answering a line the SDK cannot read (None: a notification or response, dropped)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "replace")
        return _error(PARSE_ERROR, "Parse error: the message is not valid UTF-8", _recover_id(text))
    try:
        message = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        return _error(PARSE_ERROR, "Parse error: the message is nested too deeply", None)
    except ValueError as exc:
        return _error(PARSE_ERROR, f"Parse error: not valid JSON ({_first_line(exc)})", _recover_id(text))
    if isinstance(message, list):
        return _error(INVALID_REQUEST, "Invalid Request: batches are not supported; send one message per line", None)
    if not isinstance(message, dict):
        return _error(INVALID_REQUEST, "Invalid Request: a message must be a JSON object", None)
    ident = message.get("id")
    valid_id = _is_request_id(ident)
    reply_id = ident if valid_id else None
    if "method" not in message and ("result" in message or "error" in message):
        log.warning("Dropped a malformed response from the client (id %s)", _short(ident))
        return None
    if "method" in message and "id" not in message:
        log.warning("Dropped a malformed notification from the client (method %s)", _short(message.get("method")))
        return None
    if message.get("jsonrpc") != "2.0":
        return _error(INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"', reply_id)
    if not valid_id:
        return _error(INVALID_REQUEST, "Invalid Request: id must be a string or an integer", None)
    method = message.get("method")
    if not isinstance(method, str) or _SURROGATE.search(method):
        return _error(INVALID_REQUEST, "Invalid Request: method must be a string", reply_id)
    params = message.get("params")
    if params is not None and not isinstance(params, dict):
        kind = "an array" if isinstance(params, list) else "not an object"
        return _error(
            INVALID_PARAMS, f"Invalid params: params is {kind}; MCP takes parameters by name, as an object", reply_id
        )
    depth, where = _scan(params)
    if where is not None:
        return _error(
            INVALID_PARAMS,
            f"Invalid params: {where} contains a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape); "
            "send valid Unicode text",
            reply_id,
        )
    if depth > SDK_MAX_DEPTH:
        return _error(INVALID_PARAMS, f"Invalid params: nested more than {SDK_MAX_DEPTH} levels deep", reply_id)
    return _error(INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 request", reply_id)


def _error(code: int, message: str, ident: Any) -> JSONRPCError:
    return JSONRPCError(jsonrpc="2.0", id=ident, error=ErrorData(code=code, message=message))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _is_request_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and not _SURROGATE.search(value)


def _recover_id(text: str) -> Any:
    """The id of a message that is not valid JSON, where a lenient reading still finds one (raw control
    characters in strings, invalid UTF-8 replaced, text after the object), so the client's request is
    answered; else None."""
    with contextlib.suppress(ValueError, RecursionError):
        message, _ = _LENIENT.raw_decode(text.lstrip())
        if isinstance(message, dict) and _is_request_id(message.get("id")):
            return message["id"]
    return None


def _scan(value: Any) -> tuple[int, str | None]:
    """How deeply ``value`` nests, and the path of the first string holding a lone surrogate (or None);
    without recursion, in one pass."""
    deepest = 0
    stack: list[tuple[Any, int, str]] = [(value, 0, "params")]
    while stack:
        item, depth, path = stack.pop()
        children: Iterable[tuple[Any, str]]
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return deepest, path
            continue
        if isinstance(item, dict):
            for key in item:
                if _SURROGATE.search(key):
                    return deepest, f"a key of {path}"
            children = ((child, f"{path}.{key}") for key, child in item.items())
        elif isinstance(item, list):
            children = ((child, f"{path}[{index}]") for index, child in enumerate(item))
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        stack.extend((child, depth, child_path) for child, child_path in children)
    return deepest, None


# ---------------------------------------------------------------------------------------------
# The transport


def _claim_stdin() -> IO[bytes]:
    """The wire, read from a private duplicate of descriptor 0, which then points at the null device
    (as the SDK does for its own reader). Falls back to ``sys.stdin.buffer`` where that cannot be done."""
    try:
        private = os.dup(0)
        os.set_inheritable(private, False)
        null = os.open(os.devnull, os.O_RDONLY)
        try:
            os.dup2(null, 0)
        finally:
            os.close(null)
    except (OSError, ValueError):
        return sys.stdin.buffer
    return os.fdopen(private, "rb", buffering=_CHUNK)


class GuardedLines:
    """The client's lines as the SDK's stdio reader iterates them (``async for line in stdin``), with the
    lines it cannot read answered here (through ``replies``, the SDK's own write stream) instead."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.replies: Any = None
        self._ready = anyio.Event()

    def attach(self, write_stream: Any) -> None:
        self.replies = write_stream
        self._ready.set()

    def __aiter__(self) -> GuardedLines:
        return self

    async def __anext__(self) -> str:
        while True:
            raw = await anyio.to_thread.run_sync(self._readline)
            if raw is None:
                raise StopAsyncIteration
            text: str | None
            reply: JSONRPCError | None
            if len(raw) > MAX_LINE:
                text = None
                reply = _error(INVALID_REQUEST, f"Invalid Request: the message is longer than {MAX_LINE} bytes", None)
            else:
                text, reply = check(raw)
            if text is not None:
                return text
            if reply is not None:
                await self._answer(reply)

    def _readline(self) -> bytes | None:
        """One line (without reading more than :data:`MAX_LINE` bytes of it into memory); None at the end.
        An over-long line is consumed to its end and returned as ``MAX_LINE + 1`` bytes."""
        line = self._source.readline(MAX_LINE + 1)
        if not line:
            return None
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            while True:
                rest = self._source.readline(_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
        return line

    async def _answer(self, reply: JSONRPCError) -> None:
        await self._ready.wait()
        try:
            await self.replies.send(SessionMessage(reply))
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            log.warning("Could not answer a malformed message: the connection is closing")


async def serve_stdio(server: MCPServer) -> None:
    """Serve ``server`` on stdio until the client closes it, with every incoming line checked first."""
    lines = GuardedLines(_claim_stdin())
    async with stdio_server(stdin=cast(Any, lines)) as (read_stream, write_stream):
        lines.attach(write_stream)
        # MCPServer.run_stdio_async does exactly this with the SDK's own stdin reader.
        lowlevel = server._lowlevel_server  # no public way to serve given streams
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
