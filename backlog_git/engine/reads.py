"""Reads: list, count, info, projects, tags, docs, the session summary and the store's health check.
Callers hold the state lock and have refreshed the view."""

from __future__ import annotations

from typing import Any

from ..errors import NotFound
from ..merge import text_merge_versions
from ..query import sort_tasks
from ..view import Entry
from .readiness import not_ready
from .setup import driver_problem
from .state import StoreState, looks_like_id

SUMMARY_FILTERS = (
    ("pending", "status:pending"),
    ("active", "+ACTIVE"),
    ("overdue", "+OVERDUE"),
    ("blocked", "+BLOCKED status:pending"),
)


def list_tasks(
    state: StoreState, filter: str, sort: str | None, limit: int | None, offset: int
) -> list[dict[str, Any]]:
    ctx = state.context()
    ordered = sort_tasks(state.select(filter, ctx), ctx, sort)
    if offset:
        ordered = ordered[max(offset, 0) :]
    if limit is not None:
        ordered = ordered[: max(limit, 0)]
    return state.records(ordered, ctx)


def info(state: StoreState, ref: str) -> dict[str, Any]:
    ctx = state.context()
    text = str(ref).strip()
    if looks_like_id(text):
        entry = state.resolve(text)
    else:
        matches = sort_tasks(state.select(text, ctx), ctx, None)
        if not matches:
            raise NotFound(f"No task found matching '{text}'. Check the id with task_list.")
        entry = state.view.by_uuid[matches[0].uuid]
    record = state.record(entry, ctx)
    reasons = not_ready(entry.task, ctx)
    if reasons:  # only then: a ready task's record stays exactly what drop-in clients know
        record["not_ready"] = reasons
    return record


def projects(state: StoreState) -> list[str]:
    seen: dict[str, None] = {}
    for task in state.live_tasks():
        if task.project:
            seen.setdefault(task.project)
    return sorted(seen)


def tags(state: StoreState) -> list[str]:
    seen: dict[str, None] = {}
    for task in state.live_tasks():
        for tag in task.tags:
            seen.setdefault(tag)
    return sorted(seen)


def doc(state: StoreState, ref: str) -> str:
    entry = state.resolve(ref)
    assert entry.file is not None
    if not entry.file.body.strip():
        raise NotFound(
            f"No doc attached to this task. (Task {entry.task.id} has no doc; write one with task_doc_write.)"
        )
    return entry.file.body


def summary(state: StoreState) -> dict[str, int]:
    ctx = state.context()
    return {name: len(state.select(text, ctx)) for name, text in SUMMARY_FILTERS}


def broken_files(state: StoreState) -> list[str]:
    return [str(entry.error) for entry in state.view.broken() if entry.error is not None]


def check(state: StoreState) -> list[dict[str, Any]]:
    """Problems in the store: files that do not parse or validate, duplicate ids, merge setup."""
    problems: list[dict[str, Any]] = [
        {"path": e.path, "line": e.error.line, "reason": e.error.reason} for e in state.view.broken() if e.error
    ]
    problems += _conflicted_bodies(state)
    problems += _duplicate_ids(state)
    problems += _setup_problems(state)
    return problems


def _conflicted_bodies(state: StoreState) -> list[dict[str, Any]]:
    """A text merge committed unfinished inside a task's doc still parses (the front matter is whole),
    so it is named here; markers shown inside fenced code in a doc are not conflicts."""
    problems = []
    for entry in sorted(state.view.by_uuid.values(), key=lambda e: e.path):
        versions = text_merge_versions(entry.raw) if b"<<<<<<<" in entry.raw else None
        if versions is not None:
            problems.append({
                "path": entry.path,
                "line": versions.first_line,
                "reason": "git conflict markers in the task's doc: a text merge was committed unfinished; keep "
                "the text you want between '<<<<<<<' and '>>>>>>>' and delete the marker lines (or merge again "
                "with the backlog merge driver: `backlog-git install`, then redo the merge)",
            })
    return problems


def _duplicate_ids(state: StoreState) -> list[dict[str, Any]]:
    problems = []
    seen: dict[int, Entry] = {}
    for entry in sorted(state.view.by_uuid.values(), key=lambda e: e.path):
        other = seen.setdefault(entry.task.id, entry)
        if other is not entry:
            problems.append({
                "path": entry.path,
                "line": 3,
                "reason": f"id {entry.task.id} is also used by {other.path}; "
                "run `backlog-git sync` to renumber one of them",
            })
    return problems


def _setup_problems(state: StoreState) -> list[dict[str, Any]]:
    """A clone whose merge driver is missing or cannot run: git would silently fall back to a text merge."""
    problem = driver_problem(state.git)
    return [] if problem is None else [{"path": ".git/config", "line": None, "reason": problem}]
