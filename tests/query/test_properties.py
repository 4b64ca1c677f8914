"""Property tests: no input makes the query language raise anything but its own clean errors, and the
index never changes a result."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backlog_git.query import (
    DateError,
    FilterError,
    QueryContext,
    RecurError,
    SortError,
    TaskIndex,
    compile_filter,
    parse_recur,
    resolve_date,
    sort_tasks,
)
from backlog_git.query.terms import MODIFIERS

from .conftest import NOW, make_task

FIELDS = ["project", "status", "priority", "due", "tags", "description", "id", "uuid", "depends", "urgency",
          "has_doc", "annotations", "agent", "estimate", "wait", "entry", "x.y", "pro", "DUE"]  # fmt: skip
VALUES = ["", "web", "H", "pending", "waiting", "today", "eow-1d", "2026-02-30", "1,3-5", "3", "yes", "(", ")",
          '"a b"', "'", "now+3d", "0f8fad5b", "-1", "1e400", "[", "*", "\\"]  # fmt: skip
ATOMS = st.one_of(
    st.sampled_from(["and", "or", "xor", "not", "!", "(", ")", "+bug", "-bug", "+READY", "-BLOCKED", "+WAITING",
                     "login", "1", "1,2-4", "0f8fad5b", "/a.*b/", "/[/", '"', "'", "+", "-", ":", "::"]),
    st.builds(lambda f, m, v: f"{f}{'.' + m if m else ''}:{v}", st.sampled_from(FIELDS),
              st.sampled_from(["", *MODIFIERS, "bogus"]), st.sampled_from(VALUES)),
    st.text(max_size=8),
)  # fmt: skip
FILTERS = st.one_of(st.lists(ATOMS, max_size=8).map(" ".join), st.text(max_size=40))


def _tasks() -> list:  # type: ignore[type-arg]
    dep = make_task("dep", tags=["bug"], project="web")
    return [
        dep,
        make_task("login page", depends=[dep.uuid], due=NOW + timedelta(days=1), priority="H", estimate=3),
        make_task("waiting", wait=NOW + timedelta(days=2), annotations=["a b"], agent="x"),
        make_task("done", status="completed", end=NOW, project="web.ui"),
        make_task("template", status="recurring", recur="daily", due=NOW),
    ]


TASKS = _tasks()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FILTERS)
def test_any_filter_compiles_or_raises_filter_error(text: str) -> None:
    try:
        compiled = compile_filter(text)
    except FilterError as error:
        assert str(error)
        return
    docs = {TASKS[0].uuid}
    ctx = QueryContext(NOW, {t.uuid: t for t in TASKS}, has_doc=docs)
    plain = compiled.select(ctx)
    indexed = compiled.select(QueryContext(NOW, {t.uuid: t for t in TASKS}, has_doc=docs), TaskIndex.build(TASKS))
    assert [t.uuid for t in plain] == [t.uuid for t in indexed]
    assert all(compiled.matches(t, ctx) for t in plain)


DATES = st.one_of(
    st.text(max_size=20),
    st.builds(
        "{}{}{}".format,
        st.sampled_from(["now", "today", "eow", "2026-01-31", "friday", "", "later"]),
        st.sampled_from(["+", "-", " ", ""]),
        st.sampled_from(["1d", "99999y", "3", "m", "4h"]),
    ),
)


@settings(max_examples=300, deadline=None)
@given(DATES)
def test_any_date_resolves_or_raises_date_error(text: str) -> None:
    try:
        value = resolve_date(text, NOW)
    except DateError as error:
        assert str(error)
        return
    assert value.tzinfo is not None and value.microsecond == 0


@given(st.text(max_size=15))
def test_any_recur_pattern_parses_or_raises_recur_error(text: str) -> None:
    try:
        period = parse_recur(text)
    except RecurError:
        return
    assert period.count >= 1


@given(st.text(max_size=20))
def test_any_sort_spec_sorts_or_raises_sort_error(spec: str) -> None:
    ctx = QueryContext(NOW, {t.uuid: t for t in TASKS})
    try:
        result = sort_tasks(TASKS, ctx, spec)
    except SortError:
        return
    assert sorted(t.uuid for t in result) == sorted(t.uuid for t in TASKS)
