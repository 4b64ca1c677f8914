"""The board page: the tasks as JSON inside one self-contained HTML file, drawn by a small vanilla script.

Nothing of a task is ever written into the HTML as markup: the data goes into a
``<script type="application/json">`` element with ``<``, ``>``, ``&`` and the JavaScript line
separators escaped (so no text can close the element), and the script builds every node with
``textContent``. A Content-Security-Policy allows only this page's own script and style (by hash),
no other origin, and no network at all except the ``--serve`` server's own JSON endpoints.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from ..model import parse_timestamp, utc_now

STATUS_COLUMNS = ("pending", "active", "waiting", "completed", "deleted", "recurring")
CARD_FIELDS = (
    "uuid", "id", "description", "status", "project", "priority", "tags", "due", "wait", "scheduled", "recur",
    "until", "agent", "lease", "start", "end", "entry", "modified", "annotations", "body", "has_doc",
)
NOT_SHOWN = ("depends", "parent", "urgency", "version")
"""Record keys that are not extra attributes (dependencies are shown by id; the rest is bookkeeping)."""
_PLACEHOLDER = re.compile(r"\{\{(TITLE|CSP|CSS|DATA|JS)\}\}")


@dataclass
class Options:
    by: str = "status"
    at: str | None = None
    history: int = 300
    title: str | None = None
    live: bool = False
    poll: float = 2.0


def engine_read(backlog: Any, query: Any) -> Any:
    """One engine read under the store's lock on a refreshed view (what ``Backlog``'s reads do)."""
    with backlog.state.lock:
        backlog.state.refresh()
        return query(backlog.state)


def version(backlog: Any, options: Options) -> str:
    """Changes whenever the board's tasks do (cheap: no records are built)."""
    from ..engine.review import snapshot_key

    return str(engine_read(backlog, lambda state: snapshot_key(state, options.at)))


def payload(backlog: Any, options: Options) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data."""
    from ..engine.review import histories, snapshot

    snap = engine_read(backlog, lambda state: snapshot(state, options.at))
    now = utc_now()
    ids = {t["uuid"]: t["id"] for t in snap.tasks}
    tasks = [card(t, now, ids) for t in snap.tasks]
    history: dict[str, list[dict[str, Any]]] = {}
    if not options.live and options.history:
        recent = sorted(snap.tasks, key=lambda t: (t.get("modified") or "", t["id"]), reverse=True)
        chosen = [t["uuid"] for t in recent[: options.history]]
        history = engine_read(backlog, lambda state: histories(state, chosen, snap.at))
    repo = Path(backlog.state.git.workdir).name
    return {
        "title": options.title or f"{repo} backlog",
        "repo": repo,
        "namespace": backlog.state.namespace,
        "at": options.at,
        "commit": snap.at,
        "generated": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "by": options.by,
        "live": options.live,
        "poll": options.poll,
        "key": snap.key,
        "tasks": tasks,
        "history": history,
        "history_embedded": "all" if len(history) == len(tasks) else len(history),
        "broken": snap.broken,
    }


def card(task: dict[str, Any], now: datetime, ids: dict[str, int]) -> dict[str, Any]:
    """One task as the page needs it: its fields, its column (``col``), dependencies by id, extras."""
    data = {k: task[k] for k in CARD_FIELDS if task.get(k) not in (None, [], "")}
    data["tags"] = [t for t in task.get("tags", []) if t != "doc"]
    data["col"] = column(task, now)
    if task.get("depends"):
        data["depends"] = [ids.get(u, u[:8]) for u in task["depends"]]
    if task.get("parent"):
        data["parent"] = ids.get(task["parent"], task["parent"][:8])
    extras = {k: v for k, v in task.items() if k not in CARD_FIELDS and k not in NOT_SHOWN}
    if extras:
        data["extras"] = extras
    return data


def column(task: dict[str, Any], now: datetime) -> str:
    status = str(task.get("status"))
    if status != "pending":
        return status if status in STATUS_COLUMNS else "pending"
    if task.get("start"):
        return "active"
    wait = task.get("wait")
    if wait:
        try:
            if parse_timestamp(wait) > now:
                return "waiting"
        except ValueError:
            pass
    return "pending"


def json_for_script(data: Any) -> str:
    """JSON that is safe inside a ``<script>`` element: nothing in it can end the element or open a
    comment, and the line separators JavaScript once refused are escaped too."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def render_html(data: dict[str, Any]) -> str:
    """The whole page for ``data`` (see :func:`payload`)."""
    css, js = _asset("board.css"), _asset("board.js")
    csp = (f"default-src 'none'; script-src {_sha256(js)}; style-src {_sha256(css)}; img-src data:; "
           "connect-src 'self'; base-uri 'none'; form-action 'none'")
    values = {"TITLE": html.escape(str(data.get("title", "backlog"))), "CSP": csp, "CSS": css,
              "DATA": json_for_script(data), "JS": js}
    # One pass: a value is never searched again, so task text that looks like a placeholder stays text.
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], _asset("board.html"))


def write(backlog: Any, options: Options, out: Path) -> tuple[Path, int]:
    data = payload(backlog, options)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "index.html"
    target.write_text(render_html(data), encoding="utf-8")
    return target, len(data["tasks"])


def command(backlog: Any, options: Options, out: str, *, serve: bool, port: int) -> int:
    if serve:
        from .serve import run

        options.live = True
        return run(backlog, options, port)
    target, count = write(backlog, options, Path(out))
    print(f"Board of {count} task(s) written to {target}")
    return 0
