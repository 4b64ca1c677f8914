"""The command line for people (issue 13, item 3), through real ``backlog-git`` processes on pipes: the
list's status column and flags, filter words starting with ``-``, global options anywhere, help,
version, did-you-mean, completion scripts, a readable ``info``, CLI words in messages, one report per
broken file, and silence on a closed pipe. Terminal behaviour (colour, width, the editor) is in
``test_cli_human_tty.py``."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from support import BACKLOG_GIT, REPO_ROOT, clean_env, cli, cli_ok, git, init_store

from backlog_git import __version__
from backlog_git.cli import COMMANDS, TOOL_WORDS, build_parser, cli_words

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return init_store(tmp_path / "repo")


def added_id(repo: Path, *args: str) -> int:
    out = cli_ok(repo, "add", *args, "--json")
    return int(json.loads(out)["tasks"][0]["id"])


def header(table: str) -> list[str]:
    return table.splitlines()[0].split()


def row_of(table: str, description: str) -> str:
    return next(line for line in table.splitlines() if description in line)


# ------------------------------------------------------------------ list
def test_status_column_only_when_the_filter_is_not_the_pending_default(store: Path) -> None:
    added_id(store, "open one", "--tags", "bug")
    closed = added_id(store, "closed one", "--tags", "bug")
    cli_ok(store, "done", str(closed))
    default = cli_ok(store, "list")
    assert "Status" not in header(default) and "closed one" not in default
    assert "Status" not in header(cli_ok(store, "list", "status:pending"))
    spanning = cli_ok(store, "list", "+bug")
    assert header(spanning)[:2] == ["ID", "Status"]
    assert "completed" in row_of(spanning, "closed one") and "pending" in row_of(spanning, "open one")


def test_plain_markers_for_overdue_active_blocked_and_recurring_rows(store: Path) -> None:
    first = added_id(store, "late one", "--due", "2020-01-01")
    added_id(store, "waits on it", "--depends", str(first))
    started = added_id(store, "busy one")
    cli_ok(store, "start", str(started))
    added_id(store, "calm one")
    table = cli_ok(store, "list")
    assert not ANSI.search(table), "no colour through a pipe"
    assert "Flags" in header(table)
    flags_at = table.splitlines()[0].index("Flags")
    flag = lambda text: row_of(table, text)[flags_at:flags_at + 5].strip()  # noqa: E731
    assert flag("late one") == "O"
    assert flag("waits on it") == "B"
    assert flag("busy one") == "A"
    assert flag("calm one") == ""
    assert "flags: A active (1), O overdue (1), B blocked (1)" in table
    cli_ok(store, "add", "every week", "--due", "2030-01-07", "--recur", "weekly")
    templates = cli_ok(store, "list", "status:recurring")
    assert row_of(templates, "every week").split()[1:3] == ["recurring", "R"]
    assert "R recurring template (1)" in templates


def test_a_description_is_one_line_on_a_pipe(store: Path) -> None:
    cli_ok(store, "add", "first line\nsecond\tline")
    table = cli_ok(store, "list")
    assert "first line second line" in table
    assert len(table.splitlines()) == 5  # header, rule, one row, blank, footer


def test_filter_words_starting_with_a_dash_need_no_quoting(store: Path) -> None:
    bug = added_id(store, "has bug", "--tags", "bug")
    added_id(store, "no bug", "--project", "web")
    dependent = added_id(store, "blocked", "--depends", str(bug))
    cli_ok(store, "doc", "write", str(bug), "--file", str(_spec(store)))
    assert cli_ok(store, "count", "-bug").strip() == "2"
    assert "has bug" not in cli_ok(store, "list", "-bug")
    ids = [t["id"] for t in json.loads(cli_ok(store, "list", "-BLOCKED", "--json"))]
    assert dependent not in ids and bug in ids
    assert [t["id"] for t in json.loads(cli_ok(store, "list", "-doc", "--json", "--sort", "id-"))] == [dependent, 2]
    assert cli_ok(store, "list", "project:web", "-bug", "--limit", "1").count("no bug") == 1
    assert cli_ok(store, "count", "--", "-bug").strip() == "2"  # the explicit form still works


def test_global_options_before_or_after_the_command(store: Path, tmp_path: Path) -> None:
    added_id(store, "somewhere", "--tags", "x")
    env = clean_env()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for argv in (["--repo", str(store), "--json", "list"], ["list", "--repo", str(store), "--json"],
                 ["list", "+x", "--json", "--repo", str(store)], ["--json", "count", "+x", f"--repo={store}"]):
        proc = subprocess.run([*BACKLOG_GIT, *argv], cwd=elsewhere, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, (argv, proc.stderr)
        data = json.loads(proc.stdout)
        assert data == {"count": 1} or data[0]["description"] == "somewhere", argv
    proc = cli(store, "--json", "edit", "1")
    assert proc.returncode == 2 and "--json does not apply to `backlog-git edit`" in proc.stderr


def test_a_closed_pipe_is_quiet(store: Path) -> None:
    items = [{"description": f"task number {n} " + "words " * 10} for n in range(3000)]
    data = store / "many.json"
    data.write_text(json.dumps(items))
    cli_ok(store, "import", str(data))
    env = clean_env()
    for argv in (["list"], ["list", "--json"], ["info", "1"], ["--help"]):
        proc = subprocess.Popen([*BACKLOG_GIT, "--repo", str(store), *argv], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # the reader is gone before the first write
        err = proc.stderr.read().decode()
        proc.wait(timeout=120)
        assert err == "", (argv, err)
        assert proc.returncode in (0, 141), argv
    script = f"{shlex.join([*BACKLOG_GIT, '--repo', str(store), 'list'])} | head -1"
    proc = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["ID", "P", "Project", "Tags", "Due", "Description", "Urg"]
    assert proc.stderr == ""


# ------------------------------------------------------------------ help, version, mistakes, completion
def test_version_and_bare_help(store: Path) -> None:
    assert cli_ok(store, "--version").strip() == f"backlog-git {__version__}"
    proc = subprocess.run(BACKLOG_GIT, cwd=store, env=clean_env(), capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("usage: backlog-git") and "list" in proc.stdout and "examples:" in proc.stdout


def test_every_option_has_help_and_every_command_an_example() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subparsers.choices) >= {"list", "edit", "completion", "info", "doc"}
    for name, sub in [("", parser), *subparsers.choices.items()]:
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help and action.help != argparse.SUPPRESS, f"{name} {action.dest}: no help"
        if name:
            assert f"backlog-git {name}" in (sub.epilog or ""), f"{name}: no example"
            assert (sub.epilog or "").startswith("example")
    proc = subprocess.run([*BACKLOG_GIT, "list", "--help"], env=clean_env(), capture_output=True, text=True)
    assert proc.returncode == 0 and "examples:\n  backlog-git list project:web +bug" in proc.stdout


def test_did_you_mean(store: Path) -> None:
    proc = cli(store, "lsit")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "unknown command 'lsit'. Did you mean `backlog-git list`?" in proc.stderr
    proc = cli(store, "list", "--lmit", "3")
    assert proc.returncode == 2 and "Did you mean --limit?" in proc.stderr
    proc = cli(store, "zzzzzz")
    assert proc.returncode == 2 and "unknown command 'zzzzzz'" in proc.stderr and "usage:" in proc.stderr


def test_completion_scripts_for_bash_zsh_and_fish(store: Path) -> None:
    scripts = {shell: cli_ok(store, "completion", shell) for shell in ("bash", "zsh", "fish")}
    assert "complete -o" in scripts["bash"] and "backlog-git" in scripts["bash"]
    assert scripts["zsh"].startswith("#compdef backlog-git")
    assert "complete -c backlog-git" in scripts["fish"]
    for script in scripts.values():
        assert "merge-driver" in script and "completion" in script
    if shutil.which("bash") is None:
        pytest.skip("no bash to run the completion in")
    script_file = store / "completion.bash"
    script_file.write_text(scripts["bash"])

    def complete(*words: str) -> list[str]:
        line = " ".join(("backlog-git", *words))
        program = (f"source {script_file}; COMP_WORDS=(backlog-git {' '.join(words)}); "
                   f"COMP_CWORD={len(words)}; COMP_LINE='{line}'; COMP_POINT={len(line)}; "
                   "$(complete -p backlog-git | sed -E 's/.* -F ([^ ]+) .*/\\1/') backlog-git; "
                   "printf '%s\\n' \"${COMPREPLY[@]}\"")
        proc = subprocess.run(["bash", "-c", program], capture_output=True, text=True, env=clean_env())
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    assert "list" in complete("li")
    assert "--sort" in complete("list", "--so")
    assert set(complete("doc", "")) >= {"read", "write", "delete"}


# ------------------------------------------------------------------ info
def test_info_is_readable(store: Path) -> None:
    base = added_id(store, "Parser work", "--project", "web")
    task = added_id(store, "Login fix", "--depends", str(base), "--due", "2030-01-15", "--tags", "a,b")
    dependent = added_id(store, "Release", "--depends", str(task))
    cli_ok(store, "annotate", str(task), "asked", "the", "team")
    text = cli_ok(store, "info", str(task))
    record = json.loads(cli_ok(store, "info", str(task), "--json"))
    fields = {line.split("  ", 1)[0].strip(): line.split("  ", 1)[1].strip() for line in text.splitlines()[2:]
              if "  " in line and line[0] != " "}
    assert fields["description"] == "Login fix"
    assert fields["tags"] == "a, b"
    assert fields["has_doc"] == "no"
    assert fields["depends"] == f"{base}  Parser work (pending)"
    assert fields["blocking"] == f"{dependent}  Release (pending)"
    assert re.match(r"2030-01-15 \(in \d+ years?\)$", fields["due"])
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d  asked the team$", fields["annotations"])
    path = fields["file"]
    assert path.endswith(f"{record['uuid']}.md") and (store / path).is_file()
    for python_repr in ("True", "False", "None", "['", "T00:00:00Z", record["depends"][0]):
        assert python_repr not in text, python_repr
    cli_ok(store, "doc", "write", str(task), "--file", str(_spec(store)))
    assert re.search(r"^has_doc +yes$", cli_ok(store, "info", str(task)), re.M)


def _spec(store: Path) -> Path:
    spec = store.parent / "spec.md"
    spec.write_text("# Spec\n")
    return spec


# ------------------------------------------------------------------ messages
def test_messages_use_cli_words(store: Path) -> None:
    task = added_id(store, "plain")
    cases = [
        (("info", "99"), "Check the id with `backlog-git list` or `backlog-git info`."),
        (("purge", str(task)), "Delete it first (`backlog-git delete`)."),
        (("doc", "read", str(task)), "write one with `backlog-git doc write`."),
        (("add", "x", "--extra", "status:completed"), "use `backlog-git done`, `backlog-git delete` or "
                                                      "`backlog-git log`"),
    ]
    for args, expected in cases:
        proc = cli(store, *args)
        assert proc.returncode == 1 and expected in proc.stderr, (args, proc.stderr)
        assert "task_" not in proc.stderr, proc.stderr


def test_the_word_table_covers_every_mcp_tool() -> None:
    from backlog_git.server.catalogue import SYNC_SPEC, TOOL_SPECS

    names = {spec.name for spec in TOOL_SPECS} | {SYNC_SPEC.name}
    assert names <= set(TOOL_WORDS), names - set(TOOL_WORDS)
    for name, words in TOOL_WORDS.items():
        command = words.split()[1].split("/")[0]
        assert command in COMMANDS or command in ("claim", "release"), name
    assert cli_words("use task_start/stop") == "use `backlog-git start/stop`"
    assert cli_words("No task found matching 'task_list'.") == "No task found matching 'task_list'."
    assert cli_words("see `task_archive_list`") == "see `backlog-git archive list`"


def test_a_broken_file_is_reported_once(store: Path) -> None:
    task = added_id(store, "will break")
    added_id(store, "fine")
    uuid = json.loads(cli_ok(store, "info", str(task), "--json"))["uuid"]
    path = store / ".backlog" / "tasks" / uuid[:2] / f"{uuid}.md"
    path.write_text(path.read_text().replace("status: pending", "status: bogus"))
    for args in (("info", str(task)), ("done", str(task)), ("list",)):
        proc = cli(store, *args)
        assert proc.stderr.count(f"{uuid}.md:") == 1, (args, proc.stderr)
    assert git(store, "status", "--porcelain")  # the broken file is left as it is


def test_the_readme_lists_every_command() -> None:
    from backlog_git import cli as cli_module
    from backlog_git import main as entry

    for routed in entry.ROUTED:
        cli_module.register(routed)
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    listed = re.search(r"^Commands: `([^`]+)`", readme, re.M)
    assert listed is not None
    assert sorted(listed.group(1).split()) == sorted(COMMANDS)
