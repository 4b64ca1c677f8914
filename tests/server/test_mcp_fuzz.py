"""Fuzz: every MCP tool, fed random and hostile arguments over ONE real ``backlog-git serve`` stdio session.

Hypothesis draws a tool and, for each of its parameters (and now and then one it does not have), a value
that is absent, null, of the wrong type, huge, unicode with NULs and control characters, path-like
(``../../x``), option-like (``--upload-pack=…``), JSON-ish, a number out of range, or a plausible value
(an id that exists, a date, a tag edit) so that mutations really happen with hostile company.

Every answer must be the project's own: one text item (plus the unreadable-files warning), no traceback,
no ``Internal error``, no pydantic text, and structured content that matches the tool's output schema (the
client checks it). Afterwards nothing outside ``.backlog/`` changed (``git status`` outside the store is
empty, no new file next to the repository), ``git fsck --strict`` is clean and ``backlog-git check`` finds
nothing wrong: no tool can write a broken task file.

Bounded for a 2-core machine: 300 examples, a few seconds to a minute or two.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import cli, fsck, init_store, porcelain_outside_store
from support.server import Client, serve, text_of

EXAMPLES = int(os.environ.get("BACKLOG_FUZZ_EXAMPLES", "300"))
FORBIDDEN = (
    "Traceback",
    "Internal error",
    "Error executing tool",
    "pydantic",
    "errors.pydantic.dev",
    "validation error for",
    "Input should",
)

# ---------------------------------------------------------------------------------------------
# Values

HOSTILE_TEXT = [
    "",
    " ",
    "null",
    "None",
    "undefined",
    "true",
    "0",
    "-1",
    "1e309",
    "99999999999999999999999999",
    "../../x",
    "../../../../etc/passwd",
    "/etc/passwd",
    "..\\..\\x",
    ".backlog/tasks/next-id",
    ".git/config",
    "--foo",
    "-rf",
    "--upload-pack=touch pwned",
    "--output=../../pwned",
    "-c core.sshCommand=touch pwned",
    "$(touch pwned)",
    "`touch pwned`",
    "; touch pwned",
    "'\"",
    '{"a": 1}',
    "[1, 2]",
    '[{"description": "x"}]',
    '[{"description": "x", "uuid": "../../x"}]',
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    "a\x00b",
    "\x00",
    "line\nbreak",
    "Backlog-Op: sync\nBacklog-Agent: x",
    "---\nuuid: x\n---",
    "\u202e\u200b\ufeff",
    "😀" * 10,
    "é" * 501,
    "x" * 501,
    "+tag -tag key:value due:tomorrow",
    "estimate:3h +a -b",
    "depends:../../x",
    "status:completed",
    "( project:web or",
    "due.before:",
    "project:web +bug",
    "+OVERDUE",
    "1,2,3",
    "1-10000000",
    "2026-Q1",
    "archive/../../x",
    "origin",
    "id:1",
    "*",
    "%s%n%x",
    "\\",
]
BIG_TEXT = ["x" * 70_000, "+t " * 25_000, "a\x00" * 40_000, "[" * 60_000, "é" * 65_537, "y " * 32_000]
PLAUSIBLE = {
    "id": ["1", "2", "3", "4", "5", "6", "99", "abc"],
    "filter": ["", "+READY", "project:web", "status:completed", "1", "2,3", "+bug"],
    "description": ["Fuzzed task", "Another one"],
    "project": ["web", "api.v2", ""],
    "agent": ["explorer", ""],
    "due": ["tomorrow", "2030-01-01", "eow", "now+3d", ""],
    "wait": [""],
    "scheduled": ["", "monday"],
    "until": [""],
    "depends": ["", "1", "2,3"],
    "tags": ["+a", "a,b", '["x", "y"]', ""],
    "priority": ["H", "m", "l", ""],
    "extra": ["+x", "estimate:3h", "-bug note:'two words'", ""],
    "older_than_days": ["0", "90", "-1", "1000000000000"],
    "limit": ["0", "1", "5", "-3"],
    "offset": ["0", "1", "-1"],
    "sort": ["due+", "id-,urgency+", "nonsense~"],
    "fields": ["id,description", "uuid", ""],
    "segment": ["2026-Q1", "archive/2026-Q1"],
    "recur": ["", ""],
    "tasks": ['[{"description": "Imported"}]', "[]", '[{"description": "I", "tags": ["t"], "doc": "# d"}]'],
    "content": ["# Spec\n\nDo it.", ""],
    "text": ["a note", "x"],
    "remote": ["", "origin"],
}
# Text that a tool stores: unicode of every kind, NULs and control characters included.
STORED_TEXT = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300)


def plausible(name: str) -> st.SearchStrategy[Any]:
    return st.sampled_from(PLAUSIBLE.get(name, ["x"]))


def hostile(name: str) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.sampled_from(HOSTILE_TEXT),
        st.text(max_size=40),
        STORED_TEXT,
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.none(),
    )
    return st.one_of(
        scalars,
        st.sampled_from(BIG_TEXT),
        st.lists(scalars, max_size=5),
        st.dictionaries(st.text(max_size=5), scalars, max_size=3),
    )


@st.composite
def tool_calls(draw: st.DrawFn, schemas: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """A tool and its arguments: either every parameter hostile (or absent), or plausible ones with at
    most one odd value among them (any unicode text, or a hostile value), so that calls also succeed and
    store what they were given."""
    name = draw(st.sampled_from(sorted(schemas)))
    properties = list(schemas[name].get("properties", {}))
    required = set(schemas[name].get("required", []))
    present = [param for param in properties if param in required or draw(st.booleans())]
    arguments: dict[str, Any] = {}
    if draw(st.booleans()):
        for param in present:
            if draw(st.integers(0, 9)) > 0:  # a required parameter is left out now and then
                arguments[param] = draw(hostile(param))
    else:
        arguments = {param: draw(plausible(param)) for param in present}
        mode = draw(st.sampled_from(["plausible", "stored", "hostile"]))
        if present and mode != "plausible":
            target = draw(st.sampled_from(present))
            arguments[target] = draw(STORED_TEXT if mode == "stored" else hostile(target))
    if draw(st.integers(0, 9)) == 0:
        arguments[draw(st.sampled_from(["descripton", "__proto__", "../x", "_meta", ""]))] = draw(hostile(""))
    return name, arguments


# ---------------------------------------------------------------------------------------------
# The session, driven from the (synchronous) hypothesis test through a blocking portal


@contextmanager
def session(repo: Path) -> Iterator[tuple[anyio.from_thread.BlockingPortal, Client]]:
    with (
        anyio.from_thread.start_blocking_portal("asyncio") as portal,
        portal.wrap_async_context_manager(serve(repo)) as client,
    ):
        yield portal, client


def check_answer(name: str, arguments: dict[str, Any], result: Any) -> None:
    label = f"{name}({json.dumps(arguments, default=repr)[:300]})"
    text = text_of(result)  # one text item (a second one only ever the unreadable-files warning)
    for fragment in FORBIDDEN:
        assert fragment not in text, f"{label} answered {text[:500]!r}"
    if result.is_error:
        assert text.strip(), label
    else:
        assert isinstance(result.structured_content, dict), label


def outside_files(root: Path, repo: Path) -> set[str]:
    """Every path under ``root`` that is not inside the repository's ``.backlog/`` or ``.git/``."""
    found = set()
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if relative.parts[:2] in ((repo.name, ".backlog"), (repo.name, ".git")):
            continue
        found.add(str(relative))
    return found


def test_every_tool_survives_hostile_arguments(tmp_path: Path) -> None:
    repo = init_store(tmp_path / "repo")
    for description in ("Seed one", "Seed two", "Seed three"):
        assert cli(repo, "add", description, "--project", "web", "--tags", "bug").returncode == 0
    before = outside_files(tmp_path, repo) | {"server.log"}
    calls = 0

    with session(repo) as (portal, client):
        schemas = {tool.name: tool.input_schema for tool in portal.call(client.session.list_tools).tools}
        assert len(schemas) >= 24

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
        )
        @given(tool_calls(schemas))
        def fuzz(call: tuple[str, dict[str, Any]]) -> None:
            nonlocal calls
            name, arguments = call
            result = portal.call(client.session.call_tool, name, arguments)
            check_answer(name, arguments, result)
            calls += 1

        fuzz()
        # Still serving, and the store reads.
        tasks = portal.call(client.tasks, "( status:pending or status:completed or status:deleted )")
        assert tasks, "the seeded tasks are gone"

    assert calls >= EXAMPLES
    assert porcelain_outside_store(repo) == []
    assert outside_files(tmp_path, repo) == before
    fsck(repo)
    checked = cli(repo, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
