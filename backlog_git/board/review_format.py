"""``backlog-git review``'s output: the engine's review data as a pull-request comment (markdown) or JSON.

The markdown names tasks by id and description, never by uuid (a ``depends``/``parent`` value is shown
as the id it names), escapes every piece of task text (so a description can neither format the comment
nor mention someone), and caps each section so a huge range still fits in one comment.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

SECTION_CAP = 50
VALUE_CAP = 80
SECTIONS = (
    ("added", "➕ Added"),
    ("completed", "✅ Completed"),
    ("deleted", "🗑️ Deleted"),
    ("reopened", "↩️ Reopened"),
    ("archived", "📦 Archived"),
    ("restored", "📤 Restored from the archive"),
    ("purged", "🔥 Purged"),
)
IMPLIED = {
    "completed": ("status", "end", "start"),
    "deleted": ("status", "end", "start"),
    "reopened": ("status", "end"),
}
"""Field changes a category already says (not repeated under "Changed")."""
OWN_SECTION = ("agent", "lease")
_MD_SPECIAL = set("\\`*_[]<>|~#!&()")


def render_review(data: dict[str, Any], format: str = "markdown") -> str:
    """The review as ``markdown`` (a PR comment) or ``json``."""
    if format == "json":
        return json.dumps(data, indent=2, ensure_ascii=False)
    if format != "markdown":
        raise ValueError(f"unknown review format {format!r}: use markdown or json")
    return _Markdown(data).render()


def md(text: Any) -> str:
    """Task text made inert in GitHub markdown: one line, punctuation escaped, no @mentions."""
    out = []
    for ch in " ".join(str(text).split()):
        if ch in _MD_SPECIAL:
            out.append("\\" + ch)
        elif ch == "@":
            out.append("@\u2060")  # a word joiner: still reads as @, never mentions anyone
        else:
            out.append(ch)
    return "".join(out)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class _Markdown:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.tasks = {t["uuid"]: t for t in data.get("tasks", [])}
        self.refs = data.get("refs", {})

    def render(self) -> str:
        data = self.data
        lines = [f"### Backlog review of `{' '.join(str(data.get('range', '')).replace('`', '').split())}`", ""]
        counts = [(key, len(data.get(key, []))) for key, _ in SECTIONS]
        changed = [u for u in data.get("changed", []) if self._residual(self.tasks[u])]
        docs = data.get("docs", {})
        n_docs = sum(len(v) for v in docs.values())
        parts = [f"{n} {key}" for key, n in counts if n]
        parts += [f"{len(changed)} changed"] if changed else []
        parts += [_plural(n_docs, "doc")] if n_docs else []
        parts += [_plural(len(data.get("claims", [])), "claim")] if data.get("claims") else []
        writers = ", ".join(md(w) for w in data.get("writers", []))
        by = f" — {_plural(data.get('commits', 0), 'commit')} by {writers}" if writers else ""
        if not parts and not data.get("broken"):
            lines.append(f"No task changes{by}.")
            return "\n".join(lines) + "\n"
        lines += [f"**{' · '.join(parts) or 'no task changes'}**{by}", ""]
        for key, title in SECTIONS:
            self._section(lines, title, data.get(key, []), self._lifecycle_line(key))
        self._section(lines, "✏️ Changed", changed, lambda t: self._changes_text(self._residual(t)))
        doc_items = [u for kind in ("added", "changed", "removed") for u in docs.get(kind, [])]
        self._section(lines, "📄 Docs", sorted(doc_items, key=self._order), lambda t: f"doc {t['doc']}")
        self._section(lines, "🙋 Claims", data.get("claims", []), self._claim_text)
        broken = data.get("broken", [])
        if broken:
            lines += [f"#### ⚠️ Broken task files ({len(broken)})", ""]
            lines += [f"- {md(problem)}" for problem in broken[:SECTION_CAP]]
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def _order(self, task_uuid: str) -> tuple[int, str]:
        return (self.tasks[task_uuid].get("id") or 0, task_uuid)

    def _section(self, lines: list[str], title: str, uuids: list[str], detail: Callable[[dict[str, Any]], str]) -> None:
        if not uuids:
            return
        lines += [f"#### {title} ({len(uuids)})", ""]
        for task_uuid in uuids[:SECTION_CAP]:
            task = self.tasks[task_uuid]
            text = detail(task)
            by = ", ".join(md(w) for w in task.get("by", []))
            lines.append(f"- {self._name(task)}{' — ' + text if text else ''}{' · *by ' + by + '*' if by else ''}")
        if len(uuids) > SECTION_CAP:
            lines.append(f"- … and {len(uuids) - SECTION_CAP} more (`backlog-git review --format json` lists all)")
        lines.append("")

    @staticmethod
    def _name(task: dict[str, Any]) -> str:
        return f"**#{task.get('id')}** {md(task.get('description', ''))}"

    def _lifecycle_line(self, key: str) -> Callable[[dict[str, Any]], str]:
        def detail(task: dict[str, Any]) -> str:
            bits = []
            if key == "added":
                if task.get("status") not in (None, "pending"):
                    bits.append(md(str(task["status"])))
                bits += [f"`{md(task['project'])}`"] if task.get("project") else []
                bits += [f"priority {md(task['priority'])}"] if task.get("priority") else []
                bits += [f"due {_date(task['due'])}"] if task.get("due") else []
                bits += [" ".join(f"+{md(tag)}" for tag in task.get("tags", []))] if task.get("tags") else []
            if key == "reopened" and task.get("was"):
                bits.append(f"was {md(task['was'])}, now {md(task.get('status'))}")
            if key == "archived" and task.get("segment"):
                bits.append(f"to {md(task['segment'])}")
            return " · ".join(bits)

        return detail

    def _residual(self, task: dict[str, Any]) -> dict[str, list[Any]]:
        """The field changes no category or section already reports."""
        implied = {f for event in task.get("events", []) for f in IMPLIED.get(event, ())}
        if "agent" in (task.get("claim") or {}):
            implied.add("start")  # claiming starts the task, releasing stops it
        changes = {}
        for key, (old, new) in task.get("changes", {}).items():
            if key in implied or key in OWN_SECTION:
                continue
            if key == "tags":
                old, new = [t for t in old or [] if t != "doc"], [t for t in new or [] if t != "doc"]
                if old == new:
                    continue
            changes[key] = [old, new]
        return changes

    def _changes_text(self, changes: dict[str, list[Any]]) -> str:
        return "; ".join(f"{md(key)}: {self._change(key, old, new)}" for key, (old, new) in changes.items())

    def _change(self, key: str, old: Any, new: Any) -> str:
        if key in ("tags", "depends") and isinstance(old or [], list) and isinstance(new or [], list):
            shown = self._task_ref if key == "depends" else (lambda v: md(v))
            added = [f"+{shown(v)}" for v in new or [] if v not in (old or [])]
            removed = [f"−{shown(v)}" for v in old or [] if v not in (new or [])]
            return " ".join(added + removed) or "reordered"
        if key == "annotations":
            old_notes = [n.get("description", "") for n in old or [] if isinstance(n, dict)]
            new_notes = [n.get("description", "") for n in new or [] if isinstance(n, dict)]
            added = [f"+ “{_cap(md(n))}”" for n in new_notes if n not in old_notes]
            removed = [f"− “{_cap(md(n))}”" for n in old_notes if n not in new_notes]
            return ", ".join(added + removed) or "edited"
        if key == "parent":
            return f"{self._task_ref(old) if old else '∅'} → {self._task_ref(new) if new else '∅'}"
        return f"{_value(old)} → **{_value(new)}**" if new not in (None, "", []) else f"{_value(old)} → ∅"

    def _task_ref(self, task_uuid: Any) -> str:
        ref = self.refs.get(task_uuid) or self.tasks.get(task_uuid)
        if ref and ref.get("id") is not None:
            return f"#{ref['id']}"
        return f"task {md(str(task_uuid)[:8])}"

    def _claim_text(self, task: dict[str, Any]) -> str:
        claim = task.get("claim") or {}
        bits = []
        new_lease = claim.get("lease", [None, None])[1]
        until = f" until {_value(new_lease)}" if new_lease else ""
        if "agent" in claim:
            old, new = claim["agent"]
            if old and new:
                bits.append(f"{md(old)} → **{md(new)}**{until}")
            elif new:
                bits.append(f"claimed by **{md(new)}**{until}")
            else:
                bits.append(f"released by {md(old)}")
        elif "lease" in claim:
            bits.append(f"lease renewed{until}" if new_lease else "lease cleared")
        return "; ".join(bits)


def _date(value: Any) -> str:
    text = str(value)
    if len(text) == 20 and text.endswith("Z") and text[10] == "T":
        return text[:10] if text.endswith("T00:00:00Z") else text[:16].replace("T", " ") + "Z"
    return md(text)


def _cap(text: str) -> str:
    return text if len(text) <= VALUE_CAP else text[: VALUE_CAP - 1] + "…"


def _value(value: Any) -> str:
    if value in (None, "", []):
        return "∅"
    if isinstance(value, list):
        return _cap(", ".join(md(v) for v in value))
    if isinstance(value, str):
        return _date(value) if len(value) == 20 and value.endswith("Z") else _cap(md(value))
    return _cap(md(json.dumps(value, ensure_ascii=False)))
