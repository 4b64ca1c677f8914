"""The command line: exit status 0 / 1 (user error, message on stderr) / 2 (usage), --json on reads,
readable tables, and the console script / ``python -m backlog_git`` entry points."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import clean_env, git, head_count, init_repo, status, task_path, trailers

from backlog_git.cli import main


class Cli:
    """Run ``main(argv)`` in-process against one repository; capture exit code, stdout and stderr."""

    def __init__(self, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.repo = repo
        self.capsys = capsys

    def __call__(self, *args: str, stdin: str | None = None, repo: bool = True) -> tuple[int, str, str]:
        argv = (["--repo", str(self.repo)] if repo else []) + list(args)
        self.capsys.readouterr()
        if stdin is not None:
            import io

            old = sys.stdin
            sys.stdin = io.StringIO(stdin)
        try:
            code = main(argv)
        except SystemExit as exc:
            code = int(exc.code or 0)
        finally:
            if stdin is not None:
                sys.stdin = old
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str) -> Any:
        code, out, err = self(*args, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def cli(repo: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(repo, capsys)


def test_init_then_check_clean(repo: Path, cli: Cli) -> None:
    code, out, err = cli("init")
    assert code == 0, err
    assert "backlog-git store ready" in out
    assert ".backlog/** merge=backlog" in (repo / ".gitattributes").read_text()
    assert "merge-driver" in git(repo, "config", "merge.backlog.driver")
    assert trailers(repo)["Backlog-Op"] == ["init"]
    assert status(repo) == ""
    before = head_count(repo)
    code, out, _ = cli("init")
    assert code == 0 and "already set up" in out
    assert head_count(repo) == before
    code, out, _ = cli("check")
    assert code == 0 and "No problems found." in out
    assert cli.json("check") == []


def test_add_list_info_modify_done_undo(repo: Path, cli: Cli) -> None:
    code, out, err = cli("add", "Fix", "login", "redirect", "--project", "web", "--tags", "bug,auth", "--priority", "H")
    assert code == 0, err
    assert out.startswith("Created task ") and "(id 1)" in out
    assert err == ""
    added = cli.json("add", "Second task", "--due", "2030-01-01T00:00:00Z")
    assert added["commit"] == git(repo, "rev-parse", "HEAD")
    assert added["tasks"][0]["id"] == 2

    listed = cli.json("list")
    assert [t["description"] for t in sorted(listed, key=lambda t: t["id"])] == ["Fix login redirect", "Second task"]
    code, table, _ = cli("list")
    lines = table.splitlines()
    assert lines[0].split() == ["ID", "P", "Project", "Tags", "Due", "Description", "Urg"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[0].index("Description") == lines[2].index("Fix login redirect") or lines[0].index(
        "Description"
    ) == lines[3].index("Fix login redirect")
    assert "2 task(s)" in table

    info = cli.json("info", "1")
    assert info["project"] == "web" and info["tags"] == ["bug", "auth"] and info["priority"] == "H"
    assert "urgency" in info
    code, text, _ = cli("info", "1")
    assert code == 0 and "description" in text and "Fix login redirect" in text

    assert cli.json("count") == {"count": 2}
    assert cli.json("projects") == ["web"]
    assert sorted(cli.json("tags")) == ["auth", "bug"]

    code, out, err = cli("modify", "1", "--tags", "-auth,+ui", "--priority", "")
    assert code == 0, err
    info = cli.json("info", "1")
    assert info["tags"] == ["bug", "ui"] and "priority" not in info

    code, out, _ = cli("done", "1")
    assert code == 0 and "completed" in out
    assert cli.json("count") == {"count": 1}
    code, out, _ = cli("undo")
    assert code == 0 and "Undo completed" in out
    assert cli.json("info", "1")["status"] == "pending"
    assert status(repo) == ""


def test_user_errors_exit_1_with_message_on_stderr(repo: Path, cli: Cli) -> None:
    cli("add", "one")
    before = head_count(repo)
    cases = [
        (("info", "99"), "No task found"),
        (("done", "99"), "No task found"),
        (("add", ""), "Description cannot be empty."),
        (("add", "x", "--due", "not-a-date"), "due"),
        (("modify", "1", "--due", "not-a-date"), "due"),
        (("add", "x", "--project", "bad project"), "Invalid project"),
        (("add", "x", "--attr", "novalue"), "KEY=VALUE"),
        (("modify", "1", "--recur", "weekly"), "needs a due date"),
        (("stop", "1"), "not started"),
        (("archive", "load"), "needs a segment"),
        (("archive", "load", "../../etc"), "Invalid archive segment"),
        (("doc", "read", "1"), "No doc attached"),
        (("history", "99"), "No task found"),
    ]
    for args, expected in cases:
        code, out, err = cli(*args)
        assert code == 1, args
        assert out == "", args
        assert err.startswith("backlog-git: ") and expected in err, (args, err)
    assert head_count(repo) == before


def test_inputs_are_read_as_the_mcp_server_reads_them(repo: Path, cli: Cli) -> None:
    """The CLI parses through backlog_git.inputs (tests/inputs/test_input_parity.py compares the two surfaces)."""
    before = head_count(repo)
    code, _, err = cli("add", "x", "--tags", "-bug")
    assert code == 1 and "Invalid tag '-bug'" in err  # was silently dropped
    assert head_count(repo) == before
    added = cli.json("add", "Extra", "--tags", '["a", "b"]', "--priority", "h",
                     "--extra", "estimate:3h +c please due:2030-01-01")
    assert added["message"].endswith(" Ignored in extra: 'please' (use +tag, -tag or key:value).")
    task = added["tasks"][0]
    assert (task["tags"], task["priority"], task["estimate"]) == (["a", "b", "c"], "H", "3h")
    assert task["due"] == "2030-01-01T00:00:00Z"
    modified = cli.json("modify", "1", "--extra", "-a estimate:", "--priority", "")
    assert modified["tasks"][0]["tags"] == ["b", "c"]
    assert "estimate" not in modified["tasks"][0] and "priority" not in modified["tasks"][0]
    logged = cli.json("log", "Done", "--extra", "due:friday")
    assert "Ignored in extra: 'due:friday'" in logged["message"]
    code, _, err = cli("list", "--limit", "-1")
    assert code == 2 and "limit must be at least 0, got -1." in err
    code, _, err = cli("import", "-", stdin="[{")
    assert code == 1 and "tasks must be a JSON array of task objects" in err
    code, _, err = cli("archive", "load", "archive/2020-Q1")
    assert code == 1 and "not found" in err


def test_usage_errors_exit_2(cli: Cli) -> None:
    for args in (
        ("add", "x", "--priority", "Z"),
        ("bogus",),
        ("list", "--limit", "many"),
        ("info",),
        ("doc", "edit", "1"),
    ):
        code, _, err = cli(*args)
        assert code == 2, args
        assert "usage:" in err
    # Options without a command are still a usage error; bare `backlog-git` (no argument at all) prints the
    # help and succeeds (issue 13: `backlog-git` alone is how people ask what it does).
    code, _, err = cli()
    assert code == 2 and "usage:" in err and "a command is needed" in err
    code, out, err = cli(repo=False)
    assert code == 0 and out.startswith("usage:") and "commands:" in out and err == ""


def test_no_repository_is_exit_1_saying_how(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    cli = Cli(plain, capsys)
    code, _, err = cli("list")
    assert code == 1 and "git init" in err
    code, _, err = Cli(tmp_path / "missing", capsys)("list")
    assert code == 1 and "does not exist" in err
    assert not (tmp_path / "missing").exists()


def test_detached_head_exit_1(repo: Path, cli: Cli) -> None:
    git(repo, "checkout", "-q", "--detach")
    code, _, err = cli("add", "x")
    assert code == 1 and "detached" in err


def test_history_json_and_text(repo: Path, cli: Cli) -> None:
    cli("add", "tracked")
    cli("modify", "1", "--priority", "M")
    entries = cli.json("history", "1")
    assert [e["op"] for e in entries] == ["modify", "add"]
    assert entries[0]["changes"]["priority"] == [None, "M"]
    code, text, _ = cli("history", "1")
    assert code == 0 and 'priority: ∅ → "M"' in text


def test_doc_write_from_file_and_stdin(repo: Path, cli: Cli, tmp_path: Path) -> None:
    cli("add", "doc task")
    spec = tmp_path / "spec.md"
    spec.write_text("# Spec\nfrom file\n")
    code, _, err = cli("doc", "write", "1", "--file", str(spec))
    assert code == 0, err
    assert cli.json("doc", "read", "1") == {"content": "# Spec\nfrom file\n"}
    code, _, err = cli("doc", "write", "1", stdin="from stdin\n")
    assert code == 0, err
    code, out, _ = cli("doc", "read", "1")
    assert out == "from stdin\n"
    code, _, _ = cli("doc", "delete", "1")
    assert code == 0
    assert cli("doc", "read", "1")[0] == 1


def test_import_archive_and_check_from_cli(repo: Path, cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "tasks.json"
    data.write_text(
        json.dumps(
            [
                {"description": "old done", "status": "completed", "end": "2024-05-05T00:00:00Z"},
                {"description": "open"},
            ]
        )
    )
    before = head_count(repo)
    code, out, err = cli("import", str(data))
    assert code == 0, err
    assert "Imported 2 task(s)." in out
    assert head_count(repo) == before + 1
    code, _, err = cli("import", "-", stdin='[{"description": "x", "priority": "Q"}]')
    assert code == 1 and "Invalid priority" in err
    assert head_count(repo) == before + 1

    result = cli.json("archive", "run", "--older-than-days", "30")
    assert result["commit"] is not None
    assert cli.json("archive", "list") == ["archive/2024-Q2"]
    assert [t["description"] for t in cli.json("archive", "load", "2024-Q2")] == ["old done"]

    uuid = cli.json("info", "2")["uuid"]
    (repo / task_path(uuid)).write_text("---\nuuid: [broken\n---\n")
    code, out, _ = cli("check")
    assert code == 1 and f"{task_path(uuid)}:" in out
    code, out, _ = cli("check", "--json")
    assert code == 1 and any(p["path"] == task_path(uuid) for p in json.loads(out))


def test_python_m_and_console_script(repo: Path) -> None:
    env = clean_env()
    proc = subprocess.run(
        [sys.executable, "-m", "backlog_git", "--repo", str(repo), "add", "via -m", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["tasks"][0]["description"] == "via -m"
    exe = shutil.which("backlog-git", path=os.path.dirname(sys.executable))
    assert exe is not None
    proc = subprocess.run([exe, "--repo", str(repo), "list", "--json"], env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and json.loads(proc.stdout)[0]["description"] == "via -m"
    proc = subprocess.run([exe, "--repo", str(repo), "info", "42"], env=env, capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stdout == "" and "No task found" in proc.stderr
    proc = subprocess.run([exe, "--repo", str(repo), "nosuchcommand"], env=env, capture_output=True, text=True)
    assert proc.returncode == 2


def test_environment_selects_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = init_repo(tmp_path / "first")
    second = init_repo(tmp_path / "second")
    monkeypatch.chdir(first)
    monkeypatch.setenv("BACKLOG_REPO", str(second))
    cli = Cli(first, capsys)
    code, _, err = cli("add", "goes to second", repo=False)
    assert code == 0, err
    assert head_count(second) == 2 and head_count(first) == 1
    monkeypatch.delenv("BACKLOG_REPO")
    monkeypatch.setenv("BACKLOG_NAMESPACE", "other")
    code, _, err = cli("add", "goes to first, namespace other", repo=False)
    assert code == 0, err
    assert (first / ".backlog" / "other" / "next-id").exists()
    monkeypatch.setenv("BACKLOG_NAMESPACE", "../escape")
    code, _, err = cli("list", repo=False)
    assert code == 1 and "Invalid namespace" in err


def test_every_command_warns_about_a_broken_file_on_stderr(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (["init", "-q", "-b", "main"], ["config", "user.name", "t"], ["config", "user.email", "t@x"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "backlog_git", "--repo", str(repo), *a], capture_output=True, text=True
    )
    assert run("add", "will break").returncode == 0
    assert run("add", "still fine").returncode == 0
    broken = next(p for p in (repo / ".backlog" / "tasks").glob("*/*.md") if "will break" in p.read_text())
    broken.write_text(broken.read_text().replace("status: pending", "status: bogus"))
    for args in (["list"], ["count"], ["add", "third"]):
        proc = run(*args)
        assert proc.returncode == 0, proc.stderr
        assert f"warning: .backlog/tasks/{broken.parent.name}/{broken.name}:5: field 'status'" in proc.stderr
    assert "still fine" in run("list").stdout
