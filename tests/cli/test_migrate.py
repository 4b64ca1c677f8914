"""Migration from the original backlog server's store (``backlog-git migrate --from PATH``).

The main tests run on a store the original server 2.4.3 wrote (``shared/fixtures/original-store-2.4.3``,
copied to a temporary directory first: it is read-only). Synthetic stores written here cover what the
fixture does not: operations of several writers, leftovers of earlier checkpoints, the 1.x layout, and
the values the original stored that this store refuses as fields. ``test_real_original_server`` drives
the original itself when ``BACKLOG_ORIGINAL_SERVER`` names a checkout of it and node is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import ORIGINAL_FIXTURE, changed_paths, clean_env, git, head_count, status, trailers

from backlog_git import config as configmod
from backlog_git import migrate_cli
from backlog_git.engine import Backlog, Outcome
from backlog_git.engine.migrate import migrate
from backlog_git.engine.transaction import Transaction
from backlog_git.errors import InvalidInput, NotFound, RepositoryError, WrongState
from backlog_git.gitstore import GitStore

FIXTURE = ORIGINAL_FIXTURE
ARCHIVED = {5, 6, 7}
FIELDS = ("uuid", "id", "description", "status", "project", "tags", "priority", "due", "wait", "scheduled", "recur",
          "until", "depends", "parent", "agent", "start", "end", "entry", "modified", "annotations")


def run_migrate(repo: Path, source: Path, collection: str | None = None, env: dict[str, str] | None = None) -> Outcome:
    state = Backlog.open(str(repo), env=env or {}).state
    return Transaction(state).run("migrate", migrate(state, source, collection=collection))


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its sha256 (and every directory), to prove nothing changed."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            found[os.path.relpath(os.path.join(dirpath, name), root) + "/"] = "dir"
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, root)] = hashlib.sha256(handle.read()).hexdigest()
    return found


@pytest.fixture
def original(tmp_path: Path) -> Path:
    """A writable copy of the fixture store; its ``data`` directory is the original's TASKDATA."""
    if not FIXTURE.is_dir():
        pytest.skip(f"the original server's fixture store is not at {FIXTURE}")
    copy = tmp_path / "original"
    shutil.copytree(FIXTURE, copy)
    for dirpath, _, filenames in os.walk(copy):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)
    return copy


def listed(original: Path) -> list[dict[str, Any]]:
    return json.loads((original / "tasks-as-listed.json").read_text(encoding="utf-8"))


def comparable(task: dict[str, Any]) -> dict[str, Any]:
    return {key: task[key] for key in FIELDS if key in task and task[key] not in (None, [], "")}


# ============================================================================ the 2.4.3 fixture
def test_fixture_migrates_every_task_in_one_commit(repo: Path, original: Path) -> None:
    data = original / "data"
    before_copy, before_fixture = tree_digest(original), tree_digest(FIXTURE)
    commits = head_count(repo)

    outcome = run_migrate(repo, data)

    assert outcome.commit is not None and head_count(repo) == commits + 1
    assert git(repo, "rev-parse", "HEAD") == outcome.commit
    assert outcome.message.startswith(f"Migrated 11 task(s) from {data} (collection 'tasks'): 8 live, 3 archived")
    found = trailers(repo)
    assert found["Backlog-Op"] == ["migrate"]
    assert sorted(found["Backlog-Task"]) == sorted(t["uuid"] for t in listed(original))
    assert all(p.startswith(".backlog/tasks/") for p in changed_paths(repo))
    assert status(repo) == ""
    assert tree_digest(original) == before_copy
    assert tree_digest(FIXTURE) == before_fixture

    backlog = Backlog.open(str(repo), env={})
    expected = {t["id"]: comparable(t) for t in listed(original) if t["id"] not in ARCHIVED}
    got = {t["id"]: comparable(t) for t in backlog.list("status.any:")}
    assert got == expected
    blob = data / "collections/tasks/blobs/0b56402c-7caa-45d5-b88a-82cfa2dff1f9/doc"
    assert backlog.doc_read("1") == blob.read_text()
    assert backlog.info("1")["has_doc"] is True
    assert backlog.count("+BLOCKED") == 1  # 2 depends on 1, which is pending
    assert [p for p in backlog.check() if p["path"].startswith(".backlog/")] == []

    assert backlog.archive_list() == ["archive/2026-Q4"]
    archived = {t["id"]: comparable(t) for t in backlog.archive_load("2026-Q4")}
    assert archived == {t["id"]: comparable(t) for t in listed(original) if t["id"] in ARCHIVED}
    for task in listed(original):
        name = f"{task['uuid'][:2]}/{task['uuid']}.md"
        where = f".backlog/tasks/archive/2026-Q4/{name}" if task["id"] in ARCHIVED else f".backlog/tasks/{name}"
        assert (repo / where).is_file(), where


def test_counter_is_above_every_imported_id(repo: Path, original: Path) -> None:
    run_migrate(repo, original / "data")
    assert (repo / ".backlog/tasks/next-id").read_text() == "12\n"
    assert Backlog.open(str(repo), env={}).add("after the migration").tasks[0]["id"] == 12


def test_a_second_migration_refuses_and_writes_nothing(repo: Path, original: Path) -> None:
    run_migrate(repo, original / "data")
    head, commits = git(repo, "rev-parse", "HEAD"), head_count(repo)
    with pytest.raises(WrongState, match=r"Nothing was migrated: every one of the 11 task\(s\) .* migrated before"):
        run_migrate(repo, original / "data")
    assert git(repo, "rev-parse", "HEAD") == head and head_count(repo) == commits
    assert status(repo) == ""


def test_a_clashing_id_refuses_all_of_it(repo: Path, original: Path) -> None:
    backlog = Backlog.open(str(repo), env={})
    backlog.add("already here")
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(WrongState) as caught:
        run_migrate(repo, original / "data")
    message = str(caught.value)
    assert message.startswith("Nothing was migrated: 1 of the 11 task(s)")
    assert "id 1 ('Design the login flow') is already task" in message and "'already here'" in message
    assert git(repo, "rev-parse", "HEAD") == head and status(repo) == ""
    assert [t["description"] for t in backlog.list("status.any:")] == ["already here"]


def test_another_namespace_takes_them_beside_existing_tasks(repo: Path, original: Path) -> None:
    Backlog.open(str(repo), env={}).add("already here")
    env = {"BACKLOG_NAMESPACE": "old"}
    with pytest.raises(NotFound, match="no collection 'old'; it has: tasks"):
        run_migrate(repo, original / "data", collection="old", env=env)
    outcome = run_migrate(repo, original / "data", collection="tasks", env=env)
    assert outcome.commit is not None
    assert len(Backlog.open(str(repo), env=env).list("status.any:")) == 8
    assert (repo / ".backlog/old/archive/2026-Q4").is_dir()


def test_undo_takes_the_whole_migration_back(repo: Path, original: Path) -> None:
    run_migrate(repo, original / "data")
    backlog = Backlog.open(str(repo), env={})
    backlog.undo()
    assert backlog.list("status.any:") == [] and backlog.archive_list() == []
    assert backlog.add("next").tasks[0]["id"] == 12  # ids are never reused


# ============================================================================ synthetic stores
def op(task_uuid: str, data: dict[str, Any] | None, clock: int, agent: str = "a") -> dict[str, Any]:
    if data is None:
        return {"ts": "2026-01-01T00:00:00Z", "op": "delete", "id": task_uuid, "prev": {}, "agent": agent,
                "clock": clock}
    return {"ts": "2026-01-01T00:00:00Z", "op": "set", "id": task_uuid, "prev": None, "data": data, "agent": agent,
            "clock": clock}


def write_store(
    root: Path,
    records: dict[str, dict[str, Any]],
    *,
    ops: dict[str, list[Any]] | None = None,
    stale_ops: list[Any] = (),  # type: ignore[assignment]
    archive: dict[str, dict[str, dict[str, Any]]] | None = None,
    docs: dict[str, str] | None = None,
    collection: str = "tasks",
) -> Path:
    """A 2.x store as opslog lays it out; ``ops`` by writer file, lines as JSON (or raw text)."""
    directory = root / "collections" / collection
    for sub in ("snapshots", "ops", "archive", "blobs"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    (root / "meta").mkdir(exist_ok=True)
    (root / "meta/manifest.json").write_text(json.dumps({"collections": [collection], "dropped": []}))
    lines = [json.dumps({"version": 1, "timestamp": "2026-01-01T00:00:00Z"})]
    lines += [json.dumps({"id": key, "data": data}) for key, data in records.items()]
    (directory / "snapshots/snap-2.jsonl").write_text("\n".join(lines) + "\n")
    agents = {}
    for writer, items in (ops or {"a": []}).items():
        name = f"ops/agent-{writer}-3.jsonl"
        agents[writer] = name
        text = "".join((i if isinstance(i, str) else json.dumps(i)) + "\n" for i in items)
        (directory / name).write_text(text)
    (directory / "ops/agent-a-1.jsonl").write_text("".join(json.dumps(i) + "\n" for i in stale_ops))
    segments = []
    for period, segment_records in (archive or {}).items():
        segments.append(f"archive/archive-{period}.json")
        (directory / segments[-1]).write_text(json.dumps({"version": 1, "period": period,
                                                          "timestamp": "2026-01-01T00:00:00Z",
                                                          "records": segment_records}, indent=2))
    for key, text in (docs or {}).items():
        (directory / "blobs" / key).mkdir()
        (directory / "blobs" / key / "doc").write_text(text)
    manifest = {"version": 1, "currentSnapshot": "snapshots/snap-2.jsonl", "activeOps": agents[next(iter(agents))],
                "activeAgentOps": agents, "archiveSegments": segments,
                "stats": {"activeRecords": 0, "archivedRecords": 0, "opsCount": 0, "created": "x",
                          "lastCheckpoint": "x"}}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return root


U = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(1, 20)]


def task(n: int, description: str, uid: int | None = None, **fields: Any) -> dict[str, Any]:
    return {"_id": U[n if uid is None else uid], "description": description, "status": "pending", "id": n,
            "entry": "2026-01-01T00:00:00Z", "modified": "2026-01-02T00:00:00Z", "_version": 1, **fields}


def by_description(repo: Path, env: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    return {t["description"]: t for t in Backlog.open(str(repo), env=env or {}).list("status.any:")}


def test_operations_of_the_manifest_replayed_in_clock_order(repo: Path, tmp_path: Path) -> None:
    records = {U[1]: task(1, "v1"), U[2]: task(2, "deleted later")}
    ops = {
        "b": [op(U[1], task(1, "v3"), 2, "b"), "{not json"],
        "a": [op(U[1], task(1, "v2"), 1), op(U[2], None, 3), op(U[3], task(3, "added"), 4)],
    }
    stale = [op(U[4], task(4, "a leftover of an earlier checkpoint"), 1)]
    source = write_store(tmp_path / "src", records, ops=ops, stale_ops=stale)
    outcome = run_migrate(repo, source)
    assert sorted(by_description(repo)) == ["added", "v3"]
    assert "skipped 1 malformed line(s) of collections/tasks/ops/agent-b-3.jsonl" in outcome.message


def test_values_this_store_refuses_are_kept_in_annotations(repo: Path, tmp_path: Path) -> None:
    records = {
        U[1]: task(1, "literal date", due="friday", wait="2027-01-01"),
        U[2]: task(2, "bad depends", depends=[U[1], "2", "nonsense"], tags=["ok", "two words", "+plus"]),
        U[3]: task(3, "odd recurrence", status="recurring", recur="fortnightly", due="2026-02-01T00:00:00Z"),
        U[4]: task(4, "imported done", status="completed"),
        "not-a-uuid": {**task(5, "odd uuid", depends=[]), "_id": "not-a-uuid"},
        U[6]: task(6, "child of odd uuid", depends=["not-a-uuid"], status="waiting"),
        U[7]: task(2, "same id as bad depends", entry="2026-03-01T00:00:00Z"),
        U[8]: {**task(8, "x" * 600), "estimate": "3h", "bad key": 1, "_blobs": ["doc"], "has_doc": True},
    }
    source = write_store(tmp_path / "src", records)
    outcome = run_migrate(repo, source)
    tasks = by_description(repo)
    notes = {d: [a["description"] for a in t.get("annotations", [])] for d, t in tasks.items()}

    assert "due" not in tasks["literal date"] and tasks["literal date"]["wait"] == "2027-01-01T00:00:00Z"
    assert notes["literal date"] == ['backlog-git migrate: the original\'s due was "friday"; not a date, so the '
                                     "field is left empty"]
    assert tasks["bad depends"]["depends"] == [U[1]] and tasks["bad depends"]["tags"] == ["ok"]
    assert any('["2", "nonsense"]' in n for n in notes["bad depends"])
    assert any('["two words", "+plus"]' in n for n in notes["bad depends"])
    assert tasks["odd recurrence"]["recur"] == "daily" and tasks["odd recurrence"]["status"] == "recurring"
    assert tasks["imported done"]["end"] == tasks["imported done"]["modified"]
    new_uuid = tasks["odd uuid"]["uuid"]
    assert new_uuid != "not-a-uuid" and re.match(r"^[0-9a-f-]{36}$", new_uuid)
    assert tasks["child of odd uuid"]["depends"] == [new_uuid]
    assert tasks["child of odd uuid"]["status"] == "pending"
    assert tasks["same id as bad depends"]["id"] == 9  # renumbered: the earlier entry keeps id 2
    assert tasks["bad depends"]["id"] == 2
    assert "Renumbered 1" in outcome.message
    long = next(t for d, t in tasks.items() if d.startswith("xxx"))
    assert len(long["description"]) == 500 and long["estimate"] == "3h" and "bad key" not in long
    assert any("x" * 600 in a["description"] for a in long["annotations"])
    assert (repo / ".backlog/tasks/next-id").read_text() == "10\n"
    # running it again finds every task, renamed ones included
    with pytest.raises(WrongState, match="migrated before"):
        run_migrate(repo, source)


def test_archived_docs_and_segments(repo: Path, tmp_path: Path) -> None:
    done = task(1, "archived with a doc", status="completed", end="2026-02-10T00:00:00Z")
    odd = task(2, "segment named oddly", status="deleted", end="2026-05-10T00:00:00Z")
    source = write_store(tmp_path / "src", {U[3]: task(3, "live")}, archive={"2026-Q1": {U[1]: done}},
                         docs={U[1]: "# kept\n"})
    (source / "collections/tasks/archive/archive-manual.json").write_text(json.dumps({"records": {U[2]: odd}}))
    run_migrate(repo, source)
    backlog = Backlog.open(str(repo), env={})
    assert backlog.archive_list() == ["archive/2026-Q1", "archive/2026-Q2"]
    assert [t["description"] for t in backlog.archive_load("2026-Q2")] == ["segment named oddly"]
    assert (repo / f".backlog/tasks/archive/2026-Q1/{U[1][:2]}/{U[1]}.md").read_text().endswith("---\n# kept\n")


def test_a_1x_store_with_its_legacy_snapshot_and_docs(repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "v1"
    (source / "snapshots").mkdir(parents=True)
    (source / "docs").mkdir()
    record = {"uuid": U[1], "description": "from 1.x", "status": "pending", "id": 4, "has_doc": True,
              "tags": ["doc"], "entry": "2025-01-01T00:00:00Z", "modified": "2025-01-01T00:00:00Z"}
    (source / "snapshots/snap-1.json").write_text(json.dumps({"version": 1, "timestamp": "x",
                                                               "records": {U[1]: record}}, indent=2))
    (source / "ops.jsonl").write_text(json.dumps(op(U[2], {**record, "uuid": U[2], "id": 5, "description": "op"}, 0))
                                      + "\n")
    (source / "docs" / f"{U[1]}.md").write_text("old doc\n")
    (source / "manifest.json").write_text(json.dumps({"version": 1, "currentSnapshot": "snapshots/snap-1.json",
                                                      "activeOps": "ops.jsonl", "archiveSegments": [], "stats": {}}))
    run_migrate(repo, source)
    backlog = Backlog.open(str(repo), env={})
    assert sorted(t["id"] for t in backlog.list("status.any:")) == [4, 5]
    assert backlog.doc_read("4") == "old doc\n"


def test_collections_are_chosen_by_namespace(repo: Path, tmp_path: Path) -> None:
    source = write_store(tmp_path / "src", {U[1]: task(1, "in alpha")}, collection="alpha")
    write_store(source, {U[2]: task(1, "in beta")}, collection="beta")
    with pytest.raises(InvalidInput, match=r"several collections \(alpha, beta\) and none is 'tasks'; choose one"):
        run_migrate(repo, source)
    run_migrate(repo, source, env={"BACKLOG_NAMESPACE": "beta"})
    assert list(by_description(repo, {"BACKLOG_NAMESPACE": "beta"})) == ["in beta"]
    single = write_store(tmp_path / "single", {U[3]: task(1, "the only one")}, collection="solo")
    run_migrate(repo, single)
    assert list(by_description(repo)) == ["the only one"]


def test_what_is_not_a_store_is_refused_before_anything(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="is not a directory"):
        run_migrate(repo, tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFound, match="holds no task store of the original backlog server"):
        run_migrate(repo, tmp_path / "empty")
    broken = write_store(tmp_path / "broken", {})
    (broken / "collections/tasks/manifest.json").write_text("{oops")
    with pytest.raises(InvalidInput, match=r"collections/tasks/manifest.json is not valid JSON \(line 1"):
        run_migrate(repo, broken)
    escaping = write_store(tmp_path / "escaping", {})
    manifest = json.loads((escaping / "collections/tasks/manifest.json").read_text())
    manifest["currentSnapshot"] = "../../../../etc/passwd"
    (escaping / "collections/tasks/manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InvalidInput, match="names a file outside the store"):
        run_migrate(repo, escaping)
    assert head_count(repo) == 1 and status(repo) == ""


# ============================================================================ the command line
def test_the_taskdata_refusal_names_this_command(tmp_path: Path, original: Path) -> None:
    with pytest.raises(RepositoryError) as caught:
        GitStore(original / "data", create=True)
    command = re.search(r"`(backlog-git migrate [^`]*)`", str(caught.value))
    assert command is not None, str(caught.value)
    words = shlex.split(command.group(1))
    assert words[:2] == ["backlog-git", migrate_cli.COMMAND]
    parser = argparse.ArgumentParser()
    migrate_cli.add_arguments(parser)
    assert Path(parser.parse_args(words[2:]).source) == original / "data"


def test_store_env_leaves_out_a_taskdata_that_is_an_original_store(tmp_path: Path, original: Path) -> None:
    args = argparse.Namespace(source="x", namespace="old", repo=None)
    env = migrate_cli.store_env({"TASKDATA": str(original / "data"), "BACKLOG_AUTO_NAMESPACE": "true", "A": "1"}, args)
    assert env == {"A": "1", "BACKLOG_NAMESPACE": "old"}
    root = tmp_path / "root"
    (root / configmod.slug(os.getcwd())).mkdir(parents=True)
    shutil.copytree(original / "data", root / configmod.slug(os.getcwd()), dirs_exist_ok=True)
    assert migrate_cli.store_env({"TASKDATA_ROOT": str(root)}) == {}
    # a TASKDATA that is a backlog-git store (or will become one) stays the target
    assert migrate_cli.store_env({"TASKDATA": str(tmp_path / "new")}) == {"TASKDATA": str(tmp_path / "new")}
    assert migrate_cli.store_env({"BACKLOG_REPO": "/r", "TASKDATA": str(original / "data")})["TASKDATA"]


def test_run_reports_message_and_commit(repo: Path, original: Path) -> None:
    class Shim:  # what Backlog.migrate does, until the facade has it
        def __init__(self, backlog: Backlog) -> None:
            self.namespace = backlog.namespace
            self.state = backlog.state

        def migrate(self, source: str, *, collection: str | None = None) -> Outcome:
            return Transaction(self.state).run("migrate", migrate(self.state, Path(source), collection=collection))

    backlog = Backlog.open(str(repo), env={})
    engine: Any = backlog if hasattr(backlog, "migrate") else Shim(backlog)
    data, text = migrate_cli.run(engine, argparse.Namespace(source=str(original / "data"), namespace=None))
    assert data["commit"] == git(repo, "rev-parse", "HEAD") and len(data["tasks"]) == 11
    assert text == f"{data['message']}  [{data['commit'][:10]}]"
    with pytest.raises(InvalidInput, match="set BACKLOG_NAMESPACE=other instead"):
        migrate_cli.run(engine, argparse.Namespace(source=str(original / "data"), namespace="other"))


def test_cli_migrates_with_taskdata_still_pointing_at_the_original(repo: Path, original: Path) -> None:
    from backlog_git import main

    if not hasattr(Backlog, "migrate") or migrate_cli.COMMAND not in [c.name for c in main.ROUTED]:
        pytest.skip("Backlog.migrate and the migrate command are not wired yet")
    data = original / "data"
    env = clean_env(TASKDATA=str(data))
    proc = subprocess.run([sys.executable, "-m", "backlog_git", "migrate", "--from", str(data), "--json"],
                          cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["commit"] == git(repo, "rev-parse", "HEAD")
    proc = subprocess.run([sys.executable, "-m", "backlog_git", "migrate", "--from", str(data)],
                          cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "migrated before" in proc.stderr


# ============================================================================ the real original server
def original_server(tmp_path: Path) -> Path:
    """A runnable checkout of backloghq/backlog (``BACKLOG_ORIGINAL_SERVER``; its production
    dependencies are installed into a copy when it has none). Skips when node or the checkout is missing."""
    checkout = os.environ.get("BACKLOG_ORIGINAL_SERVER", "")
    if not checkout or not (Path(checkout) / "dist" / "index.js").is_file():
        pytest.skip("set BACKLOG_ORIGINAL_SERVER to a checkout of github.com/backloghq/backlog to run the original")
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    server = Path(checkout)
    if not (server / "node_modules").is_dir():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed (needed for the original's dependencies)")
        server = tmp_path / "original-server"
        shutil.copytree(checkout, server, ignore=shutil.ignore_patterns(".git"))
        proc = subprocess.run(["npm", "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=server,
                              capture_output=True, text=True, check=False, timeout=600)
        if proc.returncode != 0:
            pytest.skip(f"npm ci failed: {proc.stderr[-500:]}")
    return server


@pytest.mark.anyio
async def test_real_original_server(repo: Path, tmp_path: Path) -> None:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    server = original_server(tmp_path)
    taskdata = tmp_path / "taskdata"
    env = {**clean_env(TASKDATA=str(taskdata), TZ="UTC"), "BACKLOG_AGENT_ID": "original-test"}
    params = StdioServerParameters(command="node", args=[str(server / "dist" / "index.js")], env=env, cwd=str(server))
    with open(tmp_path / "original.log", "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()

            async def call(name: str, **arguments: Any) -> str:
                result = await session.call_tool(name, arguments)
                assert not result.is_error, result
                return str(result.content[0].text)  # type: ignore[union-attr]

            await call("task_add", description="Design", project="web", tags="a,b", priority="H", due="2027-01-15")
            first = json.loads(await call("task_info", id="1"))
            first = first[0] if isinstance(first, list) else first
            await call("task_add", description="Build", depends=first["uuid"], agent="coder")
            await call("task_add", description="Chores", recur="weekly", due="2027-01-04")
            await call("task_annotate", id="2", text="waiting for review")
            await call("task_doc_write", id="1", content="# Spec\n\nsign in\n")
            await call("task_log", description="Done already", project="web")
            await call("task_add", description="Scrap")
            await call("task_list", filter="status:pending")
            scrap = next(iter(json.loads(await call("task_list", filter="Scrap"))))
            await call("task_delete", id=str(scrap["id"]))
            everything = []
            for status_name in ("pending", "completed", "deleted", "recurring"):
                everything += json.loads(await call("task_list", filter=f"status:{status_name}"))
            await call("task_archive", older_than_days="0")
            segments = json.loads(await call("task_archive_list"))

    closed = {t["uuid"] for t in everything if t["status"] in ("completed", "deleted")}
    assert len(everything) >= 8 and len(closed) == 2 and len(segments) == 1
    outcome = run_migrate(repo, taskdata)
    assert outcome.commit is not None
    backlog = Backlog.open(str(repo), env={})
    got = {t["uuid"]: comparable(t) for t in backlog.list("status.any:")}
    assert got == {t["uuid"]: comparable(t) for t in everything if t["uuid"] not in closed}
    period = segments[0].removeprefix("archive/archive-").removesuffix(".json")
    archived = {t["uuid"]: comparable(t) for t in backlog.archive_load(period)}
    assert archived == {t["uuid"]: comparable(t) for t in everything if t["uuid"] in closed}
    assert backlog.doc_read("1") == "# Spec\n\nsign in\n"
