"""``edit`` and ``doc write`` in the user's editor.

The editor is ``$VISUAL``, else ``$EDITOR``, else ``vi``: its words are run directly (``EDITOR="code
--wait"``), or, when the setting uses shell syntax, as git runs it: ``sh -c '<editor> "$@"'``. The file
is always an argument of its own, never shell text. While the editor runs, this process ignores Ctrl-C
(the editor gets it); the editor starts with the default handlers.

``edit`` changes the task file in the working tree and nothing else: a hand edit, which the store
commits (``Backlog-Op: hand-edit``) before the next operation that touches the task. A save that does
not parse is reported as ``path:line: reason``; on a terminal the user may edit again, restore the file
as it was, or keep it as saved (the store then refuses to overwrite it until it is fixed).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import sys
import tempfile
from pathlib import Path

from ..errors import BacklogError, BrokenTaskFile, NotFound
from .app import Context
from .render import problem_line

SHELL_SYNTAX = re.compile(r"[|&;<>()$`\\*?\[#~=%\n]")
"""What makes an editor setting shell text (git's list, less the space and quotes ``shlex`` reads)."""
PROMPT = "(e)dit again, (r)estore the file as it was, or (k)eep it as saved? [e] "


def editor_command() -> str:
    for name in ("VISUAL", "EDITOR"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return "vi"


def editor_argv(editor: str, path: str) -> list[str]:
    """The editor's command line: its words (``code --wait``), or ``sh -c`` when it uses shell syntax."""
    if not SHELL_SYNTAX.search(editor):
        try:
            words = shlex.split(editor)
        except ValueError:
            words = []
        if words:
            return [*words, path]
    return ["sh", "-c", f'{editor} "$@"', editor, path]


def run_editor(path: Path | str) -> None:
    """Open ``path`` in the user's editor and wait for it; a failure to run it is a user error."""
    editor = editor_command()
    argv = editor_argv(editor, str(path))
    ignored = (signal.SIGINT, signal.SIGQUIT)
    previous = [signal.signal(sig, signal.SIG_IGN) for sig in ignored]
    try:
        try:
            pid = os.posix_spawnp(argv[0], argv, os.environ, setsigdef=ignored)
        except OSError as exc:
            raise BacklogError(f"Cannot run the editor `{editor}`: {exc.strerror} (set VISUAL or EDITOR).") from None
        _, status = os.waitpid(pid, 0)
    finally:
        for sig, handler in zip(ignored, previous, strict=True):
            signal.signal(sig, handler)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        raise BacklogError(f"The editor `{editor}` was stopped by signal {-code}.")
    if code != 0:
        hint = " (is it installed? set VISUAL or EDITOR)" if code == 127 else ""
        raise BacklogError(f"The editor `{editor}` exited with status {code}{hint}.")


def _interactive() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


# ------------------------------------------------------------------ edit
def _task_file(ctx: Context, ref: str) -> tuple[str, str]:
    """The store path of the task ``ref`` names (a broken file too: editing is how it gets fixed), and
    how to name the task in messages."""
    backlog = ctx.backlog
    try:
        task = backlog.info(ref)
    except BrokenTaskFile as exc:
        path = str(exc).split(":", 1)[0]
        if not (path.startswith(backlog.ns_dir + "/") and path.endswith(".md")):
            raise
        return path, f"the task in {path}"
    return backlog.task_path(task["uuid"]), f"task {task['id']}"


def _problems(ctx: Context, path: str) -> list[str]:
    return [problem_line(p) for p in ctx.backlog.check() if p["path"] == path or path in str(p["reason"])]


def edit_task(ctx: Context, ref: str) -> int:
    path, name = _task_file(ctx, ref)
    full = ctx.backlog.git.workdir / path
    if not full.exists():
        raise NotFound(f"The file of {name} is not in the working tree ({path}): it is on an agent branch. "
                       "Run `backlog-git sync` first.")
    before = full.read_bytes()
    while True:
        run_editor(full)
        problems = _problems(ctx, path)
        if not problems:
            break
        for line in problems:
            ctx.err(line)
        if not _interactive():
            ctx.err(f"backlog-git: {path} is saved as it is; the store will not change it until it parses. "
                    f"Fix it with `backlog-git edit {ref}` or restore it with `git checkout -- {path}`.")
            return 1
        answer = _ask(PROMPT)
        if answer in ("r", "restore"):
            full.write_bytes(before)
            ctx.out(f"Restored {path} as it was before this edit.")
            return 1
        if answer in ("k", "keep"):
            ctx.err(f"backlog-git: {path} is kept as saved; the store will not change it until it parses.")
            return 1
    if full.read_bytes() == before:
        ctx.out(f"No changes to {name}.")
        return 0
    ctx.out(f"Saved {name} ({path}). The edit is not committed yet: the next backlog-git change to this task "
            "commits it as a hand edit (or commit it with git yourself).")
    return 0


def _ask(prompt: str) -> str:
    sys.stderr.write(prompt)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:  # end of input: keep what was saved
        return "k"
    return line.strip().lower() or "e"


# ------------------------------------------------------------------ doc write
def edit_doc(ctx: Context, ref: str) -> int:
    """``doc write ID`` on a terminal: the current doc in the editor; what is saved becomes the doc."""
    backlog = ctx.backlog
    task = backlog.info(ref)
    uuid = task["uuid"]
    current = backlog.doc_read(uuid) if task.get("has_doc") else ""
    handle, name = tempfile.mkstemp(prefix=f"backlog-git-task-{task['id']}-", suffix=".md")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(current)
        run_editor(name)
        with open(name, encoding="utf-8") as file:
            content = file.read()
    finally:
        os.unlink(name)
    if content == current:
        ctx.out(f"The doc of task {task['id']} is unchanged; nothing written.")
        return 0
    if not content.strip():
        raise BacklogError(f"The doc is empty; nothing written (`backlog-git doc delete {task['id']}` removes "
                           "a doc).")
    return ctx.outcome(backlog.doc_write(uuid, content))
