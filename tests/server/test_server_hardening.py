"""Hostile and malformed input to the MCP server gets the project's own answer, quickly, and never a crash.

* Parameters (``server/arguments.py``): a missing, mistyped, unknown, over-long or ``"null"`` parameter
  is refused with a message that names it and what it accepts, never pydantic's text or a URL.
* Slow paths (``inputs.py``): ``extra`` is tokenised in linear time (``shlex`` was quadratic in a
  word's length), tag edits use ordered sets; a megabyte of input is refused or handled in well under
  a second.
* Deep JSON: an import nested hundreds of levels deep is refused before anything recurses into it.
* The environment: a namespace or agent id too long to name a directory or a branch is a clear error
  on every call.
* The wire (``server/wire.py``): requests the SDK cannot read (a lone surrogate, ``params`` as an
  array, invalid JSON or UTF-8, a batch, a null id, deep nesting, an over-long line) are answered with
  the JSON-RPC error the spec names, carrying the request's id where it can be read, over a real
  ``backlog-git serve`` on stdio.
"""

from __future__ import annotations

import json
import queue
import shlex
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import head_count
from support.server import SERVE, base_env, make_repo, serve

from backlog_git import model
from backlog_git.errors import InvalidInput
from backlog_git.inputs import (
    MAX_IMPORT_DEPTH,
    parse_extra,
    parse_import,
    parse_int,
    parse_tag_edits,
    shell_words,
    task_edit,
)
from backlog_git.server import wire
from backlog_git.server.arguments import Param, coerce
from backlog_git.server.catalogue import TEXT_LIMIT

LIBRARY_TEXT = ("pydantic", "errors.pydantic.dev", "http://", "https://", "Traceback", "Input should", "type=")


def nest(depth: int) -> list[Any]:
    """A list nested ``depth`` levels deep, built without recursion."""
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def assert_own_words(text: str) -> None:
    for fragment in LIBRARY_TEXT:
        assert fragment not in text, text
    assert "Internal error" not in text, text


# ---------------------------------------------------------------------------------------------
# inputs: linear tokenising, sets, deep JSON


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="ab '\"\\ \t\n:+-#\x00é", max_size=40))
def test_shell_words_split_as_shlex_does(text: str) -> None:
    try:
        expected: Any = shlex.split(text)
    except ValueError:
        expected = ValueError
    try:
        got: Any = shell_words(text)
    except ValueError:
        got = ValueError
    assert got == expected


@pytest.mark.parametrize(
    "text",
    [
        "a" * 1_000_000,  # one megabyte-long word: shlex took minutes
        "'" + "a" * 1_000_000,  # an unclosed quote: shlex failed after 14 s
        '"' + "\\a" * 500_000,
        " ".join(f"+t{i}" for i in range(120_000)),  # 120,000 tag edits: quadratic list membership
        " ".join(f"-t{i} +t{i}" for i in range(60_000)),
        " ".join(f"k{i}:v" for i in range(100_000)),
    ],
    ids=["word", "unclosed", "escapes", "tags", "flip-flop", "attributes"],
)
def test_a_megabyte_of_extra_is_read(text: str) -> None:
    # How fast: `python -m backlog_git.bench --scale` ("parse extra: …"); a quadratic reader took minutes.
    extra = parse_extra(text)
    task_edit({}, ",".join(f"-x{i}" for i in range(50_000)), text)
    assert isinstance(extra.add_tags, list)


def test_tag_edits_keep_their_order_and_the_last_word_wins() -> None:
    extra = parse_extra("+a +b -a +c -d +d +a")
    assert (extra.add_tags, extra.remove_tags) == (["b", "c", "d", "a"], [])
    assert parse_tag_edits("+a,-b,c,-a") == (["c"], ["b", "a"])
    assert task_edit({}, "+x", "+x -x +y -z").kwargs == {"changes": {}, "add_tags": ["x", "y"], "remove_tags": ["z"]}


def test_an_import_nested_too_deeply_is_refused_before_anything_recurses() -> None:
    assert MAX_IMPORT_DEPTH >= model.MAX_ATTRIBUTE_DEPTH + 2  # an attribute the model allows still fits
    deep = '[{"description": "x", "a": ' + "[" * 258 + "]" * 258 + "}]"
    deeper = "[" * 100_000 + "]" * 100_000  # deeper than Python's own JSON parser goes
    for text in (deep, deeper, [{"description": "x", "a": nest(300)}]):
        with pytest.raises(InvalidInput, match="nested more than"):
            parse_import(text)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="JSON array"):
        parse_import("[" + "9" * 5000 + "]")  # more digits than Python converts: a message, not a crash
    with pytest.raises(InvalidInput, match="whole number"):
        parse_int("9" * 5000, "limit")
    fine = '[{"description": "x", "a": ' + "[" * 20 + "]" * 20 + "}]"
    assert parse_import(fine)[0]["description"] == "x"


# ---------------------------------------------------------------------------------------------
# arguments: the project's own words for every bad parameter

ADD = (
    Param("description", True),
    Param("project", False),
    Param("tags", False),
    Param("priority", False, None, ("H", "M", "L")),
    Param("extra", False),
)
MODIFY = (Param("filter", True), Param("priority", False, None, ("H", "M", "L", "")), Param("due", False))


X = {"description": "x"}
PRIORITIES = "priority must be H, M or L (any case)"


@pytest.mark.parametrize(
    ("tool", "params", "arguments", "says"),
    [
        ("task_add", ADD, {}, "description is missing: give one line of text"),
        ("task_add", ADD, {"description": None}, "description is missing"),
        ("task_add", ADD, {"description": {"a": 1}}, "description must be one line of text, at most 500 characters, "
                                                     "not a JSON object"),
        ("task_add", ADD, {"descripton": "x"}, "task_add has no parameter 'descripton'; its parameters are descr"),
        ("task_add", ADD, {**X, "priority": "urgent"}, f"{PRIORITIES}, got 'urgent'"),
        ("task_modify", MODIFY, {"filter": "1", "priority": "X"}, f"{PRIORITIES} or \"\" to clear it, got 'X'"),
        ("task_add", ADD, {**X, "project": "null"}, 'project: "null" is not a value; leave project out if the task'),
        ("task_modify", MODIFY, {"filter": "1", "due": " null "}, 'leave due out to keep it as it is, or pass ""'),
        ("task_add", ADD, {**X, "extra": "e" * (TEXT_LIMIT + 1)}, "extra is too long: 65,537 characters, at most"),
        ("task_add", ADD, {"description": "x\ud800"}, "description contains a lone UTF-16 surrogate"),
        ("task_add", ADD, {**X, "tags": nest(2000)}, "tags must be tags"),
    ],
)  # fmt: skip
def test_a_bad_parameter_is_named_with_what_it_accepts(
    tool: str, params: tuple[Param, ...], arguments: dict[str, Any], says: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        coerce(tool, params, arguments)
    text = str(refused.value)
    assert text.startswith(f"Parameter validation error in {tool}: "), text
    assert says in text, text
    assert_own_words(text)


def test_every_problem_of_a_call_is_reported_at_once() -> None:
    with pytest.raises(InvalidInput) as refused:
        coerce("task_add", ADD, {"project": "null", "priority": "Q", "bogus": 1})
    text = str(refused.value)
    assert "description is missing" in text and '"null"' in text and "'Q'" in text and "'bogus'" in text


def test_good_parameters_are_read_as_clients_send_them() -> None:
    kwargs = coerce(
        "task_add", ADD, {"description": 12, "tags": ["a", "b"], "priority": " h ", "project": None, "extra": True}
    )
    assert kwargs == {"description": "12", "project": None, "tags": '["a", "b"]', "priority": "H", "extra": "true"}
    assert coerce("task_add", ADD, {"description": "x", "priority": ""})["priority"] is None
    assert coerce("task_modify", MODIFY, {"filter": "1", "priority": ""})["priority"] == ""
    # "null" is only refused where it stands for a missing value: a required text takes it as text.
    assert coerce("task_add", ADD, {"description": "null"})["description"] == "null"


# ---------------------------------------------------------------------------------------------
# The same, end to end over MCP

anyio_test = pytest.mark.anyio  # the async tests below (the file also holds plain ones)


@anyio_test
async def test_bad_parameters_over_mcp_get_the_projects_messages_quickly(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    async with serve(repo) as client:
        await client.add("Seed")
        before = head_count(repo)

        text = await client.fail("task_add")
        assert "description is missing" in text
        assert_own_words(text)
        text = await client.fail("task_modify", filter="1", priority="X")
        assert "priority must be H, M or L" in text
        assert_own_words(text)
        text = await client.fail("task_add", description="x", project="null")
        assert "leave project out" in text
        created = await client.ok("task_add", description="Null project", project=None)
        assert created["tasks"][0].get("project") is None

        big = "+t " * 350_000  # about a megabyte
        text = await client.fail("task_sync", remote="origin\x00" + "r" * 1_000_000)
        assert "is not a configured git remote" in text and len(text) < 1000
        for name, arguments in [
            ("task_add", {"description": "x", "extra": big}),
            ("task_modify", {"filter": "1", "extra": "a" * 1_000_000}),
            ("task_list", {"filter": "x " * 500_000}),
            ("task_doc_write", {"id": "1", "content": "d" * (2 * 1024 * 1024)}),
        ]:
            text = await client.fail(name, **arguments)  # how fast: the benchmark's "mcp refusal" figure
            assert "is too long" in text, text
            assert_own_words(text)
        text = await client.fail("task_sync", remote="a\x00b")
        assert text.startswith("Parameter validation error in task_sync: remote: 'a\\x00b' is not a configured git")

        text = await client.fail("task_add", description="x", extra=" ".join(f"+t{i}" for i in range(9000)))
        assert "Too many tags" in text

        # A deep import: refused, nothing committed (depth 260, and deeper than any parser goes).
        for tasks in ('[{"description": "d", "a": ' + "[" * 260 + "]" * 260 + "}]", "[" * 1_000_000):
            text = await client.fail("task_import", tasks=tasks)
            assert "nested more than" in text and "nothing was imported" in text, text
        # One the model refuses (an attribute 22 levels deep) names the attribute.
        text = await client.fail("task_import", tasks='[{"description": "d", "a": ' + "[" * 22 + "]" * 22 + "}]")
        assert "Attribute 'a' is nested more than 20 levels" in text, text
        assert head_count(repo) == before + 1  # only the "Null project" add


@anyio_test
@pytest.mark.parametrize("variable", ["BACKLOG_NAMESPACE", "BACKLOG_AGENT_ID"])
async def test_a_namespace_or_agent_id_too_long_is_a_clear_error_on_every_call(tmp_path: Path, variable: str) -> None:
    repo = make_repo(tmp_path / "repo")
    async with serve(repo, env={variable: "n" * 300}) as client:
        for _ in range(2):
            for name, arguments in [("task_add", {"description": "x"}), ("task_list", {"filter": ""})]:
                text = await client.fail(name, **arguments)
                assert "300 characters long; at most 100 are allowed" in text, text
                assert variable in text
    assert head_count(repo) == 0


# ---------------------------------------------------------------------------------------------
# The wire: raw JSON-RPC lines to a real `backlog-git serve`


class RawServer:
    """``backlog-git serve`` spoken to line by line: what a client that is not the SDK would send."""

    def __init__(self, repo: Path, log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            SERVE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(log, "wb"),  # noqa: SIM115 - closed with the process
            env=base_env(BACKLOG_REPO=str(repo)),
            cwd=str(repo),
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def send(self, raw: bytes | str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw) + b"\n")
        self.proc.stdin.flush()

    def receive(self, timeout: float = 30) -> dict[str, Any]:
        try:
            return json.loads(self.lines.get(timeout=timeout))
        except queue.Empty:
            raise AssertionError("no answer") from None

    def ask(self, raw: bytes | str) -> dict[str, Any]:
        self.send(raw)
        return self.receive()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def request(ident: Any, method: str, params: Any = None) -> str:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": ident, "method": method}
    if params is not None:
        message["params"] = params
    return json.dumps(message)


def call(ident: Any, name: str, arguments: dict[str, Any]) -> str:
    return request(ident, "tools/call", {"name": name, "arguments": arguments})


def test_requests_the_sdk_cannot_read_are_answered_with_the_json_rpc_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    server = RawServer(repo, tmp_path / "raw.log")
    try:
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
        assert server.ask(request(0, "initialize", hello))["id"] == 0
        server.send('{"jsonrpc": "2.0", "method": "notifications/initialized"}')

        def error_of(answer: dict[str, Any]) -> tuple[Any, int]:
            assert "error" in answer, answer
            assert_own_words(answer["error"]["message"])
            return answer["id"], answer["error"]["code"]

        # A lone UTF-16 surrogate inside an argument (the raw JSON text "\ud800").
        lone = call(1, "task_add", {"description": "@"}).replace('"@"', '"\\ud800"')
        answer = server.ask(lone)
        assert error_of(answer) == (1, -32602)
        assert "params.arguments.description" in answer["error"]["message"]
        # params as an array
        assert error_of(server.ask(request(2, "tools/call", ["task_add", {"description": "x"}]))) == (2, -32602)
        # not JSON at all; JSON with a raw control character (the id is still read); not UTF-8
        assert error_of(server.ask("this is not json")) == (None, -32700)
        assert error_of(server.ask(call(4, "task_list", {"filter": "x"}).replace('"x"', '"\x01"'))) == (4, -32700)
        not_utf8 = call(5, "task_add", {"description": "x"}).encode().replace(b'"x"', b'"\xff"')
        assert error_of(server.ask(not_utf8)) == (5, -32700)
        assert error_of(server.ask("NaN")) == (None, -32700)
        # a batch; a null id; a fractional id; no method; the wrong jsonrpc version
        assert error_of(server.ask("[" + call(6, "task_list", {"filter": ""}) + "]")) == (None, -32600)
        assert error_of(server.ask(call(None, "task_list", {"filter": ""}))) == (None, -32600)
        assert error_of(server.ask(call(1.5, "task_list", {"filter": ""}))) == (None, -32600)
        assert error_of(server.ask('{"jsonrpc": "2.0", "id": 8}')) == (8, -32600)
        assert error_of(server.ask(call(9, "task_list", {"filter": ""}).replace('"2.0"', '"1.0"'))) == (9, -32600)
        # arguments nested deeper than the SDK's parser goes, and deeper than any parser here goes
        nested = call(10, "task_add", {"description": "x", "extra": "@"}).replace('"@"', "[" * 260 + "]" * 260)
        assert error_of(server.ask(nested)) == (10, -32602)
        bottomless = call(11, "task_add", {"extra": "@"}).replace('"@"', "[" * 100_000 + "]" * 100_000)
        assert error_of(server.ask(bottomless)) == (None, -32700)
        # a line longer than the server reads
        assert error_of(server.ask(call(12, "task_add", {"description": "x" * (wire.MAX_LINE + 10)}))) == (None, -32600)
        # A malformed notification is not answered: the next answer is the ping's.
        server.send('{"jsonrpc": "2.0", "method": "notifications/cancelled", "params": [1]}')
        assert server.ask(request(13, "ping")) == {"jsonrpc": "2.0", "id": 13, "result": {}}
        # Arguments that are not an object: the SDK's own answer.
        assert error_of(server.ask(request(14, "tools/call", {"name": "task_list", "arguments": "x"}))) == (14, -32602)

        # The server is alive, and none of the above wrote anything.
        answer = server.ask(call(15, "task_add", {"description": "After the noise"}))
        assert answer["id"] == 15 and not answer["result"]["isError"], answer
        listed = server.ask(call(16, "task_list", {"filter": ""}))["result"]["structuredContent"]["tasks"]
        assert [task["description"] for task in listed] == ["After the noise"]
    finally:
        server.close()
    assert "Traceback" not in server.log.read_text(errors="replace")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", None),
        (b"   ", None),
        (b'{"jsonrpc":"2.0","id":1,"method":"ping"}', "pass"),
        (b'{"jsonrpc":"2.0","method":"notifications/initialized"}', "pass"),
        (b'{"jsonrpc":"2.0","id":1,"result":{}}', "pass"),
        (b'{"jsonrpc":"2.0","id":"a","method":"x","params":{"k":"\\udc00"}}', ("a", -32602)),
        (b'{"jsonrpc":"2.0","id":"\\ud800","method":"x"}', (None, -32600)),
        (b'{"jsonrpc":"2.0","id":true,"method":"x"}', (None, -32600)),
        (b'{"jsonrpc":"2.0","id":2,"method":3}', (2, -32600)),
        (b'{"jsonrpc":"2.0","id":3,"method":"x","params":"p"}', (3, -32602)),
        (b'{"jsonrpc":"2.0","id":4,"method":"x"} trailing', (4, -32700)),
        (b'"just a string"', (None, -32600)),
        (b'{"jsonrpc":"2.0","id":7,"method":"x","params":{"n":' + b"9" * 5000 + b"}}", (7, -32700)),
        (b'{"jsonrpc":"2.0","method":"x","params":{"a":{"id":5,"b":"\x01"}},"id":8}', (8, -32700)),
        (b'{"jsonrpc":"2.0","id":5,"result":"\\ud800"}', "drop"),
        (b'{"jsonrpc":"2.0","method":"x","params":[1]}', "drop"),
    ],
)
def test_each_line_is_passed_answered_or_dropped(raw: bytes, expected: Any) -> None:
    text, reply = wire.check(raw)
    if expected is None or expected == "drop":
        assert (text, reply) == (None, None)
    elif expected == "pass":
        assert text == raw.decode() and reply is None
    else:
        assert text is None and reply is not None
        assert (reply.id, reply.error.code) == expected


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)
ENVELOPES = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.sampled_from(["2.0", "1.0", 2]),
        "id": JSON_VALUES,
        "method": st.sampled_from(["ping", "tools/call", "notifications/initialized"]) | JSON_VALUES,
        "params": JSON_VALUES,
        "result": JSON_VALUES,
    },
)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=120),
        ENVELOPES.map(lambda m: json.dumps(m).encode()),
        JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    )
)
def test_every_line_is_passed_answered_or_dropped_without_fail(raw: bytes) -> None:
    text, reply = wire.check(raw)
    assert text is None or reply is None
    if reply is not None:
        assert reply.error.code in (-32700, -32600, -32602)
        assert reply.id is None or isinstance(reply.id, int | str)
        assert_own_words(reply.error.message)
        reply.model_dump_json(by_alias=True, exclude_unset=True)  # what the transport writes
