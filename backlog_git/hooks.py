"""Claude Code hooks: ``backlog-git hook <Event>`` with the event's JSON on stdin.

* ``SessionStart``: print one line that Claude Code adds to the session's context,
  ``Backlog: 4 pending, 1 active, 2 overdue. …`` (zero counts left out; nothing when nothing is pending).
* ``SubagentStart``: tell the starting subagent which pending tasks are assigned to it and how many
  unassigned tasks are ready (as ``additionalContext``). Nothing is assigned automatically.
* ``TaskCreated``: mirror a task of Claude Code's built-in task list into the backlog (description =
  the subject, agent = the teammate) unless a pending task with that exact description exists.
* ``TaskCompleted``: complete the one pending task whose description is exactly the subject; when
  several match, say so and change nothing.

The store is found exactly as the server finds it (:func:`~backlog_git.config.project_dir`, then the
engine's resolution with the same environment). A hook never fails the session: every problem is
reported as one line on stdout and the exit status is always 0.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Mapping
from typing import IO, Any

from .config import project_dir

EVENTS = ("SessionStart", "SubagentStart", "TaskCreated", "TaskCompleted")
MAX_LISTED = 10


def _open(event: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    enabled = gc.isenabled()
    gc.disable()  # the engine's import builds objects that all stay: no collection meanwhile
    try:
        from .engine import Backlog
    finally:
        if enabled:
            gc.enable()
    cwd = event.get("cwd")
    fallback = cwd if isinstance(cwd, str) and cwd.strip() else None
    backlog = Backlog.open(env=env, cwd=project_dir(env, fallback))
    backlog.state.keeps_heap = True  # a one-shot process: see StoreState.keeps_heap
    return backlog


def _text(event: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = event.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def session_start(event: Mapping[str, Any], env: Mapping[str, str]) -> str:
    """Integrate the agent branches (a sync: one merge commit), then the one-line summary."""
    from .errors import BacklogError

    backlog = _open(event, env)
    synced = ""
    try:
        if backlog.pending_agents():
            synced = f" ({backlog.sync().message.rstrip('.')})"
    except BacklogError as exc:
        synced = f" (agent branches not merged: {_first_line(str(exc))})"
    counts = backlog.summary()
    pending = counts.get("pending", 0)
    if not pending:
        return f"Backlog: no pending tasks{synced}." if synced else ""
    parts = [f"{pending} pending"]
    parts += [f"{counts[name]} {name}" for name in ("active", "overdue", "blocked") if counts.get(name)]
    return f"Backlog: {', '.join(parts)}{synced}. Run /backlog:tasks for details."


def _line(task: Mapping[str, Any]) -> str:
    details = [task[key] for key in ("priority", "project") if task.get(key)]
    if task.get("due"):
        details.append(f"due {str(task['due'])[:10]}")
    if task.get("start"):
        details.append("started")
    suffix = f" ({', '.join(details)})" if details else ""
    return f"- #{task.get('id')} {task.get('description', '')}{suffix} [uuid {task.get('uuid')}]"


def subagent_start(event: Mapping[str, Any], env: Mapping[str, str]) -> str:
    name = _text(event, "agent_type", "agent_name")
    backlog = _open(event, env)
    lines: list[str] = []
    if name:
        mine = [t for t in backlog.list("status:pending") if t.get("agent") == name]
        if mine:
            lines.append(f"Backlog tasks assigned to {name} ({len(mine)}), most urgent first:")
            lines += [_line(t) for t in mine[:MAX_LISTED]]
            if len(mine) > MAX_LISTED:
                lines.append(f'- … and {len(mine) - MAX_LISTED} more (task_list filter:"agent:{name}").')
    ready = [t for t in backlog.list("+READY") if not t.get("agent")]
    if ready:
        claim = f' and claim one with task_modify agent:"{name}"' if name else ""
        lines.append(
            f'{len(ready)} unassigned task(s) are ready to work on (task_list filter:"+READY"){claim} '
            "before starting it. Most urgent:"
        )
        lines += [_line(t) for t in ready[:3]]
    if not lines:
        return ""
    context = "\n".join(lines)
    return json.dumps(
        {"hookSpecificOutput": {"hookEventName": "SubagentStart", "additionalContext": context}},
        ensure_ascii=False,
    )


def _pending_with_description(backlog: Any, description: str) -> list[dict[str, Any]]:
    return [t for t in backlog.list("status:pending") if t.get("description") == description]


def task_created(event: Mapping[str, Any], env: Mapping[str, str]) -> str:
    subject = _text(event, "task_subject", "subject")
    if not subject:
        return ""
    backlog = _open(event, env)
    if _pending_with_description(backlog, subject):
        return ""
    backlog.add(subject, agent=_text(event, "teammate_name") or None)
    return ""


def task_completed(event: Mapping[str, Any], env: Mapping[str, str]) -> str:
    subject = _text(event, "task_subject", "subject")
    if not subject:
        return ""
    backlog = _open(event, env)
    matches = _pending_with_description(backlog, subject)
    if len(matches) > 1:
        ids = ", ".join(f"#{t['id']}" for t in matches)
        return (
            f"Backlog: {len(matches)} pending tasks are titled {subject!r} ({ids}); none was completed. "
            "Complete the right one with task_done."
        )
    if matches:
        backlog.done(matches[0]["uuid"])
    return ""


HANDLERS = {
    "SessionStart": session_start,
    "SubagentStart": subagent_start,
    "TaskCreated": task_created,
    "TaskCompleted": task_completed,
}


def _first_line(text: str) -> str:
    return " ".join(text.split())[:300]


def main(event: str, stdin: IO[str], env: Mapping[str, str] | None = None, stdout: IO[str] | None = None) -> int:
    """Handle one hook event; always returns 0 so that a hook never disturbs the session."""
    env = os.environ if env is None else env
    out = stdout or sys.stdout
    handler = HANDLERS.get(event)
    if handler is None:
        print(f"backlog-git hook: unknown event {event!r} (known: {', '.join(EVENTS)}).", file=out)
        return 0
    try:
        raw = stdin.read()
        data = json.loads(raw) if raw.strip() else {}
        if not isinstance(data, dict):
            raise ValueError("the event is not a JSON object")
    except (ValueError, OSError) as exc:
        print(f"backlog-git hook {event}: cannot read the event JSON on stdin: {_first_line(str(exc))}", file=out)
        return 0
    try:
        text = handler(data, env)
    except Exception as exc:  # a hook must never fail the session
        from .errors import BacklogError

        if isinstance(exc, BacklogError):
            print(f"Backlog ({event}): {_first_line(str(exc))}", file=out)
        else:
            print(f"Backlog ({event}): internal error {type(exc).__name__}: {_first_line(str(exc))}", file=out)
        return 0
    if text:
        print(text, file=out)
    return 0
