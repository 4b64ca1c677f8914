"""Near-duplicate hints on add (issue 11): the message names up to three open tasks whose descriptions
say nearly the same, never a finished or unrelated one, and nothing else of the result changes. Real
stores; the index the hints come from must follow every change, including other writers'."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support import build_task, cli_ok, init_store, open_agent, open_human
from support.server import make_repo, serve

from backlog_git.engine.similar import WordIndex, scan, words

HINT = re.compile(r" Similar open tasks: (.*) — check these are not the same work\.$")


def named(message: str) -> list[int]:
    """The ids a hint names, in order ([] when there is no hint)."""
    match = HINT.search(message)
    return [int(n) for n in re.findall(r"(?:^|, )(\d+) '", match.group(1))] if match else []


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_store(tmp_path / "repo")


def test_a_near_duplicate_is_named_and_an_unrelated_task_is_not(repo: Path) -> None:
    human = open_human(repo)
    login = human.add("Fix the login bug").tasks[0]
    human.add("Write the release notes")
    out = human.add("fix login bugs!")
    assert out.message.startswith(f"Created task {out.tasks[0]['uuid']} (id {out.tasks[0]['id']}).")
    assert out.message.endswith(f"Similar open tasks: {login['id']} 'Fix the login bug' — check these are not "
                                "the same work.")
    assert named(human.add("Update the deployment runbook").message) == []
    assert set(out.tasks[0]) == set(human.add("unrelated words").tasks[0]), "only the message changes"


def test_finished_tasks_are_not_named_and_the_index_follows_changes(repo: Path) -> None:
    human = open_human(repo)
    done = human.add("Migrate the billing database").tasks[0]
    deleted = human.add("Migrate billing database").tasks[0]
    waiting = human.add("Migrate the billing databases", wait="2031-01-01").tasks[0]
    assert named(human.add("migrate billing database").message) == [done["id"], deleted["id"], waiting["id"]]
    human.done(done["uuid"])  # the index built by the add above must now forget these two
    human.delete(deleted["uuid"])
    ids = named(human.add("Migrate the billing database").message)
    assert done["id"] not in ids and deleted["id"] not in ids
    assert waiting["id"] in ids, "waiting tasks are open work too"
    fresh = open_human(repo)  # an index built from scratch agrees
    again = named(fresh.add("Migrate the billing database!").message)
    assert done["id"] not in again and deleted["id"] not in again and waiting["id"] in again


def test_at_most_three_most_similar_first(repo: Path) -> None:
    human = open_human(repo)
    near = [human.add(f"Refactor the payment parser module step {n}").tasks[0]["id"] for n in range(5)]
    exact = human.add("Refactor the payment parser module").tasks[0]["id"]
    ids = named(human.add("refactor payment parser module").message)
    assert len(ids) == 3
    assert ids[0] == exact, "the most similar first"
    assert set(ids[1:]) <= set(near)


def test_other_writers_tasks_count_and_imports_get_no_hint(repo: Path) -> None:
    human = open_human(repo)
    human.add("warm the index")
    agent_task = open_agent(repo, "agent-a").add("Rotate the API signing keys").tasks[0]
    assert named(human.add("rotate API signing keys").message) == [agent_task["id"]]
    imported = human.import_tasks([{"description": "Rotate the API signing keys"}])
    assert imported.message == "Imported 1 task(s)."


def test_the_cli_and_mcp_show_the_hint(repo: Path) -> None:
    human = open_human(repo)
    first = human.add("Fix flaky checkout test").tasks[0]
    out = cli_ok(repo, "add", "Fix the flaky checkout tests")
    assert f"Similar open tasks: {first['id']} 'Fix flaky checkout test'" in out


@pytest.mark.anyio
async def test_task_add_over_mcp_names_near_duplicates(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    async with serve(repo) as client:
        first = await client.add("Fix the login bug")
        await client.add("Something else entirely")
        result = await client.ok("task_add", description="Fix login bug")
        assert named(result["message"]) == [first["id"]]
        await client.ok("task_done", id=str(first["id"]))
        again = await client.ok("task_add", description="Fix the login bug again")
        assert str(first["id"]) + " '" not in again["message"], "a completed task is not named"
        plain = await client.ok("task_add", description="Write onboarding guide")
        assert plain["message"] == f"Created task {plain['tasks'][0]['uuid']} (id {plain['tasks'][0]['id']})."


VOCABULARY = ["fix", "login", "bugs", "bug", "class", "cache", "Parser", "the", "a", "release", "notes", "é",
              "Straße", "İstanbul", "v2", "api", "apis", "deploy", "runbook", "x-ray", "naïve", "ß"]


def test_a_scan_finds_exactly_what_the_word_index_finds() -> None:
    """A one-shot add scans the open tasks instead of building the index: same tasks, same scores."""
    rng = random.Random(11)

    def description() -> str:
        chosen = rng.sample(VOCABULARY, rng.randint(1, 6))
        return rng.choice([" ", ", ", "-", "! ", "…"]).join(w.upper() if rng.random() < 0.2 else w for w in chosen)

    now = datetime.now(UTC)
    statuses = ["pending", "pending", "deleted"]
    tasks = [build_task({"uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "id": n + 1, "entry": now,
                         "modified": now}, description=description(), status=rng.choice(statuses))
             for n in range(400)]
    index = WordIndex.build(tasks)
    compared = 0
    for _ in range(300):
        found = words(description())
        expected = sorted(index.similar(found))
        assert sorted(scan(tasks, found)) == expected, found
        compared += bool(expected)
    assert compared > 100  # most probes have near duplicates among 400 tasks of this vocabulary
