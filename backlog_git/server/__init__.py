"""The MCP server (``backlog-git serve``): the original backlog server's 24 tools, plus additive ones.

A thin adapter: :mod:`.tools` (each tool parses its loose text inputs with :mod:`backlog_git.inputs`,
makes one call on the engine and shapes the result), :mod:`.plumbing` (the store and the session's writer
identity, failures as ``isError`` results, result shapes, the SDK's objects), :mod:`.arguments` (every
tool argument checked and coerced, every refusal in the project's words), :mod:`.wire` (each stdio line
checked before the SDK reads it, so a malformed request gets its JSON-RPC error) and :mod:`.catalogue`
(descriptions, annotations, output schemas and what each parameter accepts, as data).

Startup imports only the MCP SDK, so ``initialize`` is answered as soon as the SDK is loaded; the
engine (pygit2, YAML, the query language) is imported, the store opened and its view loaded (the parse
cache, the index) by a background thread just after start, or by the first tool call if that comes
first. Sync tools run on worker threads; the engine serialises writers itself and every call sees other
writers' commits and hand edits.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool

from .catalogue import COORDINATION_SPECS, SERVER_NAME, SYNC_SPEC, TOOL_SPECS
from .plumbing import make_server, make_tool, run_stdio
from .tools import FUNCTIONS

__all__ = ["SERVER_NAME", "build_tools", "create_server", "main"]


def build_tools(include_sync: bool = True) -> list[Tool]:
    """The tool objects, in tools/list order."""
    specs = [*TOOL_SPECS, SYNC_SPEC, *COORDINATION_SPECS] if include_sync else TOOL_SPECS
    return [make_tool(spec, FUNCTIONS[spec.name]) for spec in specs]


def create_server(include_sync: bool = True) -> MCPServer:
    """The MCP server object (used by :func:`main`, and by tests with an in-memory client)."""
    return make_server(build_tools(include_sync))


def main(server: MCPServer | None = None) -> int:
    """``backlog-git serve``: run the MCP server (``server``, else a new one) on stdio until the client
    closes it."""
    return run_stdio(server or create_server())
