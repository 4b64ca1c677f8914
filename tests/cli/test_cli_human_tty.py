"""The command line on a real terminal: ``backlog-git`` runs under a pseudo-terminal (``pty``) of a
chosen width. Colour (and ``NO_COLOR``), rows that fit the width, ``edit`` with ``EDITOR`` set to a small
script (validation on save, the reopen prompt, Ctrl-C), and ``doc write`` in the editor."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from support import BACKLOG_GIT, clean_env, cli, cli_ok, git, init_store, trailers

from backlog_git.cli.editor import editor_argv
from backlog_git.cli.render import width_of

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Terminal:
    """One process on its own pseudo-terminal (its controlling terminal, ``cols`` wide)."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], cols: int = 80) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: size the terminal before anything reads it, then become the command
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
                os.chdir(cwd)
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.output = ""
        self.code: int | None = None

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not data:
            return False
        self.output += data.decode("utf-8", "replace").replace("\r\n", "\n")
        return True

    def expect(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if time.monotonic() > deadline or not self._read(0.2):
                raise AssertionError(f"never saw {text!r} in:\n{self.output}")

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(0.5):
            pass
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status), self.output


def tty_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in clean_env().items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "VISUAL", "EDITOR")}
    env["TERM"] = "xterm-256color"
    env.update(extra)
    return env


def on_terminal(repo: Path, *args: str, cols: int = 80, **env: str) -> tuple[int, str]:
    return Terminal([*BACKLOG_GIT, "--repo", str(repo), *args], repo, tty_env(**env), cols).finish()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return init_store(tmp_path / "repo")


def add(repo: Path, *args: str) -> dict[str, object]:
    return json.loads(cli_ok(repo, "add", *args, "--json"))["tasks"][0]


def task_file(repo: Path, task: dict[str, object]) -> Path:
    uuid = str(task["uuid"])
    return repo / ".backlog" / "tasks" / uuid[:2] / f"{uuid}.md"


def editor(tmp_path: Path, body: str) -> str:
    """An executable EDITOR: a Python script whose ``path`` is the file to edit."""
    script = tmp_path / f"editor-{len(list(tmp_path.glob('editor-*')))}.py"
    script.write_text(f"#!{sys.executable}\nimport os, signal, sys\nfrom pathlib import Path\n"
                      f"path = Path(sys.argv[1])\nstate = Path({str(tmp_path / 'editor-runs')!r})\n"
                      "runs = int(state.read_text()) + 1 if state.exists() else 1\nstate.write_text(str(runs))\n"
                      + body)
    script.chmod(0o755)
    return str(script)


# ------------------------------------------------------------------ colour and width
def test_colour_on_a_terminal_and_never_with_no_color(store: Path) -> None:
    add(store, "late one", "--due", "2020-01-01")
    busy = add(store, "busy one")
    cli_ok(store, "start", str(busy["id"]))
    code, out = on_terminal(store, "list")
    assert code == 0
    late = next(line for line in out.splitlines() if "late one" in line)
    assert late.startswith("\x1b[31m") and late.endswith("\x1b[0m")
    assert next(line for line in out.splitlines() if "busy one" in line).startswith("\x1b[1;32m")
    assert out.startswith("\x1b[4m")  # the header is underlined
    assert "Flags" not in out  # colour marks the rows; the footer says what each colour means
    assert "\x1b[31m1 overdue\x1b[0m" in out
    code, out = on_terminal(store, "list", NO_COLOR="1")
    assert code == 0 and not ANSI.search(out)
    assert "Flags" in out and "O overdue (1)" in out
    code, out = on_terminal(store, "list", "--color", "never")
    assert code == 0 and not ANSI.search(out)
    piped = cli_ok(store, "list", "--color", "always")
    assert "\x1b[31m" in piped


def test_rows_fit_the_terminal(store: Path) -> None:
    add(store, "A description long enough to overflow a narrow terminal\nwith a second line and many more words",
        "--project", "web.frontend", "--tags", "bug,ui,urgent")
    add(store, "Short one")
    for cols in (50, 72, 100):
        code, out = on_terminal(store, "list", cols=cols)
        assert code == 0, out
        lines = ANSI.sub("", out).rstrip("\n").split("\n")
        assert len(lines) == 5, out  # header, two rows, blank, footer: nothing wrapped
        assert all(width_of(line) <= cols for line in lines), (cols, out)
        long_row = next(line for line in lines if "A desc" in line)
        assert long_row.endswith("…") or "…  " in long_row, long_row  # cut, never wrapped
        assert "overflow" in ANSI.sub("", cli_ok(store, "list"))  # a pipe keeps the whole description
    code, out = on_terminal(store, "list", cols=130)
    assert "A description long enough to overflow a narrow terminal with a second line" in out


def test_wide_characters_are_counted_as_two_cells(store: Path) -> None:
    add(store, "漢字のタスクの説明はとても長いのでこの端末には入りません本当に")
    code, out = on_terminal(store, "list", cols=50)
    lines = ANSI.sub("", out).rstrip("\n").split("\n")
    assert code == 0 and len(lines) == 4
    assert all(width_of(line) <= 50 for line in lines) and "…" in lines[1]


# ------------------------------------------------------------------ edit
def test_edit_saves_the_file_and_commits_nothing(store: Path, tmp_path: Path) -> None:
    task = add(store, "Fix the typo")
    head = git(store, "rev-parse", "HEAD")
    change = editor(tmp_path, "path.write_text(path.read_text().replace('Fix the typo', 'Fix the typos'))\n")
    code, out = on_terminal(store, "edit", str(task["id"]), EDITOR=change)
    assert code == 0, out
    assert "Saved task 1" in out and "not committed yet" in out
    assert git(store, "rev-parse", "HEAD") == head
    assert "Fix the typos" in task_file(store, task).read_text()
    assert json.loads(cli_ok(store, "info", "1", "--json"))["description"] == "Fix the typos"
    cli_ok(store, "annotate", "1", "later")  # the next change commits the hand edit first
    assert trailers(store, "HEAD~1")["Backlog-Op"] == ["hand-edit"]
    nothing = editor(tmp_path, "")
    code, out = on_terminal(store, "edit", "1", VISUAL=nothing, EDITOR="false")
    assert code == 0 and "No changes to task 1." in out


def test_a_broken_save_is_reported_and_not_offered_again_without_a_terminal(store: Path, tmp_path: Path) -> None:
    task = add(store, "Will break")
    breaking = editor(tmp_path, "path.write_text(path.read_text().replace('status: pending', 'status: bogus'))\n")
    env = clean_env(EDITOR=breaking)
    env.pop("VISUAL", None)
    proc = subprocess.run([*BACKLOG_GIT, "--repo", str(store), "edit", "1"], stdin=subprocess.DEVNULL, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    relative = str(task_file(store, task).relative_to(store))
    assert re.search(rf"^{re.escape(relative)}:5: field 'status'", proc.stderr, re.M), proc.stderr
    assert proc.stderr.count(f"{relative}:5:") == 1
    assert "edit again" not in proc.stderr and "Traceback" not in proc.stderr


def test_a_broken_save_offers_to_edit_again_on_a_terminal(store: Path, tmp_path: Path) -> None:
    task = add(store, "Needs care")
    path = task_file(store, task)
    original = path.read_text()
    flaky = editor(tmp_path, "text = path.read_text()\n"
                   "text = text.replace('status: pending', 'status: bogus') if runs == 1 else "
                   "text.replace('status: bogus', 'status: pending').replace('Needs care', 'Handled with care')\n"
                   "path.write_text(text)\n")
    term = Terminal([*BACKLOG_GIT, "--repo", str(store), "edit", "1"], store, tty_env(EDITOR=flaky))
    term.expect("field 'status'")
    term.expect("(e)dit again")
    term.send("\n")  # the default: edit again
    code, out = term.finish()
    assert code == 0, out
    assert "Saved task 1" in out
    assert "Handled with care" in path.read_text() and original != path.read_text()

    (tmp_path / "editor-runs").unlink()
    before = path.read_text()
    term = Terminal([*BACKLOG_GIT, "--repo", str(store), "edit", "1"], store, tty_env(EDITOR=flaky))
    term.expect("(e)dit again")
    term.send("r\n")
    code, out = term.finish()
    assert code == 1 and "Restored" in out
    assert path.read_text() == before


def test_ctrl_c_never_prints_a_traceback(store: Path, tmp_path: Path) -> None:
    add(store, "Interrupted")
    breaking = editor(tmp_path, "path.write_text(path.read_text().replace('status: pending', 'status: bogus'))\n")
    term = Terminal([*BACKLOG_GIT, "--repo", str(store), "edit", "1"], store, tty_env(EDITOR=breaking))
    term.expect("(e)dit again")
    term.send("\x03")  # Ctrl-C at the prompt
    code, out = term.finish()
    assert code == 130 and "Traceback" not in out and "KeyboardInterrupt" not in out


def test_ctrl_c_in_the_editor_goes_to_the_editor(store: Path, tmp_path: Path) -> None:
    add(store, "Keep going")
    interrupting = editor(tmp_path, "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                          "os.killpg(os.getpgrp(), signal.SIGINT)\n"
                          "path.write_text(path.read_text().replace('Keep going', 'Kept going'))\n")
    code, out = on_terminal(store, "edit", "1", EDITOR=interrupting)
    assert code == 0 and "Saved task 1" in out, out


def test_a_missing_editor_is_a_clear_error(store: Path) -> None:
    add(store, "No editor")
    code, out = on_terminal(store, "edit", "1", EDITOR="no-such-editor-anywhere")
    assert code == 1 and "Cannot run the editor `no-such-editor-anywhere`" in out and "Traceback" not in out
    code, out = on_terminal(store, "edit", "1", EDITOR="no-such-editor-anywhere; false")
    assert code == 1 and "The editor `no-such-editor-anywhere; false` exited with status 1" in out


def test_editor_settings_are_words_or_shell_text() -> None:
    assert editor_argv("vi", "/t/a b.md") == ["vi", "/t/a b.md"]
    assert editor_argv("code --wait", "/t/x.md") == ["code", "--wait", "/t/x.md"]
    assert editor_argv("'/opt/My Editor/bin/ed' -n", "x.md") == ["/opt/My Editor/bin/ed", "-n", "x.md"]
    assert editor_argv("vim -c 'set tw=72'", "x.md") == ["sh", "-c", "vim -c 'set tw=72' \"$@\"",
                                                         "vim -c 'set tw=72'", "x.md"]
    assert editor_argv("emacsclient -t || vi", "$(rm -rf ~).md")[-1] == "$(rm -rf ~).md"  # the path: an argument


# ------------------------------------------------------------------ doc write
def test_doc_write_opens_the_editor_on_a_terminal(store: Path, tmp_path: Path) -> None:
    add(store, "Spec me")
    cli_ok(store, "doc", "write", "1", "--file", str(_write(tmp_path / "v1.md", "# Spec\nfirst\n")))
    seen = tmp_path / "seen.md"
    appending = editor(tmp_path, f"Path({str(seen)!r}).write_text(path.read_text())\n"
                       "path.write_text(path.read_text() + 'second\\n')\n")
    code, out = on_terminal(store, "doc", "write", "1", EDITOR=appending)
    assert code == 0 and "Doc written for task" in out, out
    assert seen.read_text() == "# Spec\nfirst\n"  # the editor opened on the current doc
    assert json.loads(cli_ok(store, "doc", "read", "1", "--json"))["content"] == "# Spec\nfirst\nsecond\n"
    unchanged = editor(tmp_path, "")
    code, out = on_terminal(store, "doc", "write", "1", EDITOR=unchanged)
    assert code == 0 and "unchanged; nothing written" in out
    proc = cli(store, "doc", "write", "1", input="from a pipe\n")  # stdin not a terminal: read it
    assert proc.returncode == 0, proc.stderr
    assert cli_ok(store, "doc", "read", "1") == "from a pipe\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path



def test_info_wraps_long_values_and_keeps_the_path_whole(store: Path) -> None:
    task = add(store, "A description long enough to need two lines on a terminal this narrow, surely")
    code, out = on_terminal(store, "info", "1", "--color", "never", cols=50)
    assert code == 0
    lines = out.rstrip("\n").split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("description"))
    assert lines[at + 1].startswith(" " * 13) and "surely" in "".join(lines[at:at + 3])
    assert all(width_of(line) <= 50 for line in lines if not line.startswith("file"))
    assert any(line.endswith(f"{task['uuid']}.md") for line in lines)
