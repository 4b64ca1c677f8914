"""The tool surface: names, order, titles, annotations, schemas (S01–S08), over real stdio and in memory."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from mcp import Client as MemoryClient
from support.server import TOOL_NAMES, make_repo, serve

from backlog_git import __version__
from backlog_git.server import create_server

pytestmark = pytest.mark.anyio

READ_ONLY = {
    "task_list", "task_info", "task_count", "task_projects", "task_tags", "task_doc_read",
    "task_archive_list", "task_archive_load", "task_history",
}  # fmt: skip
DESTRUCTIVE = {"task_purge", "task_doc_delete"}
IDEMPOTENT_WRITES = {
    "task_done", "task_delete", "task_start", "task_stop", "task_denotate", "task_doc_write", "task_archive",
}  # fmt: skip


@pytest.fixture(scope="module")
async def listing(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    repo = make_repo(tmp_path_factory.mktemp("tools") / "repo")
    async with serve(repo) as client:
        init_tools = await client.session.list_tools()
        yield {"tools": init_tools.tools, "client": client}


@pytest.fixture
def tools(listing: dict[str, Any]) -> dict[str, Any]:
    return {tool.name: tool for tool in listing["tools"]}


async def test_s01_the_24_original_tools_in_order_then_additive_ones(listing: dict[str, Any]) -> None:
    names = [tool.name for tool in listing["tools"]]
    assert names[:24] == TOOL_NAMES
    assert set(names[24:]) <= {"task_history", "task_sync", "task_claim", "task_release", "task_changes"}
    assert "task_history" in names


async def test_s02_title_description_and_all_four_hints(tools: dict[str, Any]) -> None:
    for tool in tools.values():
        assert tool.title and tool.description, tool.name
        hints = tool.annotations
        for hint in ("read_only_hint", "destructive_hint", "idempotent_hint", "open_world_hint"):
            assert getattr(hints, hint) is not None, (tool.name, hint)


async def test_s03_every_input_schema_is_an_object(tools: dict[str, Any]) -> None:
    for tool in tools.values():
        assert tool.input_schema["type"] == "object", tool.name


async def test_s04_read_tools_are_read_only(tools: dict[str, Any]) -> None:
    for name in READ_ONLY:
        assert tools[name].annotations.read_only_hint is True, name
        assert tools[name].annotations.destructive_hint is False, name
        assert tools[name].annotations.idempotent_hint is True, name


async def test_s05_purge_and_doc_delete_are_destructive(tools: dict[str, Any]) -> None:
    for name in DESTRUCTIVE:
        assert tools[name].annotations.destructive_hint is True, name
        assert tools[name].annotations.read_only_hint is False, name


async def test_annotation_table_of_the_original(tools: dict[str, Any]) -> None:
    for name in IDEMPOTENT_WRITES:
        hints = tools[name].annotations
        assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == (False, False, True), name
    for name in ("task_add", "task_log", "task_duplicate", "task_modify", "task_annotate", "task_undo", "task_import"):
        hints = tools[name].annotations
        assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == (False, False, False), name


async def test_s06_no_tool_is_open_world(tools: dict[str, Any]) -> None:
    for tool in tools.values():
        assert tool.annotations.open_world_hint is False, tool.name


async def test_s07_task_add_parameters(tools: dict[str, Any]) -> None:
    props = tools["task_add"].input_schema["properties"]
    for name in ("description", "project", "tags", "priority", "due", "depends", "recur", "until", "agent"):
        assert name in props, name
    assert set(props) >= {"wait", "scheduled", "extra"}
    assert tools["task_add"].input_schema["required"] == ["description"]


async def test_s08_task_modify_requires_filter(tools: dict[str, Any]) -> None:
    assert "filter" in tools["task_modify"].input_schema["required"]


async def test_parameters_as_the_original_declared_them(tools: dict[str, Any]) -> None:
    """Strings everywhere, priority enums, filter required on list/count, older_than_days a string."""
    assert tools["task_list"].input_schema["required"] == ["filter"]
    assert tools["task_count"].input_schema["required"] == ["filter"]
    assert tools["task_archive"].input_schema["properties"]["older_than_days"]["type"] == "string"
    assert tools["task_add"].input_schema["properties"]["priority"]["enum"] == ["H", "M", "L"]
    assert tools["task_modify"].input_schema["properties"]["priority"]["enum"] == ["H", "M", "L", ""]
    assert tools["task_duplicate"].input_schema["properties"]["priority"]["enum"] == ["H", "M", "L", ""]
    assert tools["task_import"].input_schema["required"] == ["tasks"]
    assert tools["task_annotate"].input_schema["required"] == ["id", "text"]
    assert tools["task_archive_load"].input_schema["required"] == ["segment"]
    for tool in tools.values():
        for name, prop in tool.input_schema.get("properties", {}).items():
            assert prop.get("type") == "string", (tool.name, name, prop)
            assert prop.get("description"), (tool.name, name)
            assert "anyOf" not in prop and "title" not in prop, (tool.name, name)
    assert set(tools["task_list"].input_schema["properties"]) == {"filter", "limit", "offset", "fields", "sort"}


async def test_schemas_are_valid_json_schema(tools: dict[str, Any]) -> None:
    for tool in tools.values():
        Draft202012Validator.check_schema(tool.input_schema)
        assert tool.output_schema is not None, tool.name
        Draft202012Validator.check_schema(tool.output_schema)
        assert tool.output_schema["type"] == "object"


async def test_example_arguments_validate_against_the_input_schemas(tools: dict[str, Any]) -> None:
    examples = {
        "task_list": {"filter": "project:web +bug", "limit": "10", "fields": "id,description"},
        "task_add": {"description": "Fix login", "priority": "H", "tags": "bug,urgent", "due": "friday"},
        "task_modify": {"filter": "12", "priority": "", "tags": "+a,-b"},
        "task_archive": {"older_than_days": "30"},
        "task_import": {"tasks": '[{"description": "x"}]'},
        "task_undo": {},
    }
    for name, arguments in examples.items():
        Draft202012Validator(tools[name].input_schema).validate(arguments)
    bad = Draft202012Validator(tools["task_add"].input_schema)
    assert not bad.is_valid({"description": "x", "priority": "X"})
    assert not bad.is_valid({"priority": "H"})


async def test_descriptions_carry_the_local_and_verify_notes(tools: dict[str, Any]) -> None:
    verify = {
        "task_done", "task_delete", "task_start", "task_stop", "task_duplicate", "task_modify",
        "task_annotate", "task_denotate", "task_purge", "task_doc_write", "task_doc_delete",
    }  # fmt: skip
    for tool in tools.values():
        assert "no authentication" in tool.description, tool.name
        assert ("Verify the id" in tool.description) == (tool.name in verify), tool.name


async def test_server_identity_and_instructions(tmp_path: Any) -> None:
    async with serve(make_repo(tmp_path / "repo")) as client:
        info = client.init
        assert info.server_info.name == "backlog"
        assert info.server_info.version == __version__
        assert "task_list" in (info.instructions or "")


async def test_in_memory_listing_matches(tools: dict[str, Any]) -> None:
    async with MemoryClient(create_server(), raise_exceptions=True) as client:
        listed = (await client.list_tools()).tools
    assert [t.name for t in listed] == list(tools)
    for tool in listed:
        assert json.dumps(tool.input_schema, sort_keys=True) == json.dumps(
            tools[tool.name].input_schema, sort_keys=True
        )


# ------------------------------------------------------------------------------------------ in memory
@pytest.fixture
def fresh_store(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The server's store (in its plumbing module), reset and pointed at a fresh repository (for in-memory clients)."""
    from backlog_git.server import plumbing as server

    repo = make_repo(tmp_path / "repo")
    for name in ("BACKLOG_NAMESPACE", "BACKLOG_AUTO_NAMESPACE", "BACKLOG_AGENT_ID", "TASKDATA", "TASKDATA_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    monkeypatch.setenv("BACKLOG_REPO", str(repo))
    monkeypatch.setattr(server, "_store", server._Store())
    return server


async def test_in_memory_round_trip(fresh_store: Any) -> None:
    async with MemoryClient(create_server()) as client:
        added = await client.call_tool("task_add", {"description": "In memory", "tags": ["a", "b"]})
        assert not added.is_error
        assert added.structured_content["tasks"][0]["tags"] == ["a", "b"]
        listed = await client.call_tool("task_list", {"filter": ""})
        assert [t["description"] for t in listed.structured_content["tasks"]] == ["In memory"]
        missing = await client.call_tool("task_done", {"id": "99"})
        assert missing.is_error and "No task found" in missing.content[0].text


async def test_unexpected_exceptions_are_reported_and_the_server_keeps_serving(
    fresh_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        def list(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

        def count(self, *args: Any, **kwargs: Any) -> int:
            return 7

        def broken_files(self) -> list[str]:
            return []

    monkeypatch.setattr(fresh_store._store, "get", lambda: Broken())
    async with MemoryClient(create_server()) as client:
        result = await client.call_tool("task_list", {"filter": ""})
        assert result.is_error
        assert result.content[0].text == "Internal error in task_list: RuntimeError: boom — please report"
        count = await client.call_tool("task_count", {"filter": ""})
        assert not count.is_error and count.structured_content == {"count": 7}
