"""The filter language: the README examples, contract §6, E15–E22, E63–E70, E123–E136, and the fixes of §15."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backlog_git.query import FilterError, QueryContext, TaskIndex, compile_filter

from .conftest import NOW, context, make_task, select

# --- the original's engine tests E15–E22 -------------------------------------------------------------


def test_e15_project(fixture_tasks) -> None:  # type: ignore[no-untyped-def]
    assert len(select("project:web", fixture_tasks)) == 2


def test_e16_tag(fixture_tasks) -> None:  # type: ignore[no-untyped-def]
    assert select("+backend", fixture_tasks) == ["Backend task"]


def test_e17_priority(fixture_tasks) -> None:  # type: ignore[no-untyped-def]
    assert select("priority:H", fixture_tasks) == ["Frontend task"]


def test_e18_no_such_project(fixture_tasks) -> None:  # type: ignore[no-untyped-def]
    assert select("project:nonexistent", fixture_tasks) == []


def test_e19_project_and_tag(fixture_tasks) -> None:  # type: ignore[no-untyped-def]
    assert select("project:web +frontend", fixture_tasks) == ["Frontend task"]


def test_e20_parenthesised_or(fixture_tasks) -> None:  # type: ignore[no-untyped-def]
    assert len(select("( project:web or project:api )", fixture_tasks)) == 3


def test_e21_status_after_done(fixture_tasks) -> None:  # type: ignore[no-untyped-def]
    fixture_tasks[0] = fixture_tasks[0].model_copy(update={"status": "completed", "end": NOW})
    assert select("status:pending", fixture_tasks) == ["Backend task", "Docs task"]


def test_e22_text_search(fixture_tasks) -> None:  # type: ignore[no-untyped-def]
    assert select("Frontend", fixture_tasks) == ["Frontend task"]


# --- every example of the original README ("Filter Syntax", "Task Docs", "Agent Identity") -------------


@pytest.fixture
def readme_tasks() -> list:  # type: ignore[type-arg]
    blocker = make_task("Blocker", id=10)
    return [
        make_task("Plain pending", id=1),
        make_task("Backend bug", id=2, project="backend", tags=["bug"]),
        make_task("Backend feature", id=3, project="backend"),
        make_task("Urgent thing", id=4, priority="H", due=NOW + timedelta(days=1)),  # Thursday; friday = 12th
        make_task("Late thing", id=5, priority="H", due=NOW + timedelta(days=5)),
        make_task("Overdue thing", id=6, due=NOW - timedelta(days=2)),
        make_task("Started thing", id=7, start=NOW - timedelta(hours=1)),
        blocker,
        make_task("Blocked thing", id=11, depends=[blocker.uuid]),
        make_task("Scheduled later", id=12, scheduled=NOW + timedelta(days=3)),
        make_task("Explorer work", id=13, agent="explorer"),
        make_task("Web thing", id=14, project="web"),
        make_task("Api thing", id=15, project="api"),
        make_task("Fix auth flow", id=16),
        make_task("Documented", id=17, tags=["doc"]),
        make_task("Finished", id=18, status="completed", end=NOW, agent="explorer"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status:pending", None),  # every pending task
        ("project:backend +bug", ["Backend bug"]),
        ("priority:H due.before:friday", ["Urgent thing"]),
        ("+OVERDUE", ["Overdue thing"]),
        ("+ACTIVE", ["Started thing"]),
        ("+BLOCKED", ["Blocked thing"]),
        ("agent:explorer", ["Explorer work", "Finished"]),
        ("( project:web or project:api )", ["Web thing", "Api thing"]),
        ("description.contains:auth", ["Fix auth flow"]),
        ("+doc", ["Documented"]),
        ("agent:explorer status:pending", ["Explorer work"]),
    ],
)
def test_readme_examples(readme_tasks, text: str, expected: list[str] | None) -> None:  # type: ignore[no-untyped-def]
    result = select(text, readme_tasks)
    if expected is None:
        expected = [t.description for t in readme_tasks if t.status == "pending"]
    assert result == expected


def test_readme_ready_means_actionable(readme_tasks) -> None:  # type: ignore[no-untyped-def]
    ready = select("+READY", readme_tasks)
    assert "Blocked thing" not in ready and "Scheduled later" not in ready and "Finished" not in ready
    assert "Plain pending" in ready and "Blocker" in ready


def test_readme_has_doc_yes_and_true(readme_tasks) -> None:  # type: ignore[no-untyped-def]
    documented = {readme_tasks[0].uuid}
    assert select("has_doc:yes", readme_tasks, has_doc=documented) == ["Plain pending"]
    assert select("has_doc:true", readme_tasks, has_doc=lambda t: t.uuid in documented) == ["Plain pending"]
    assert len(select("has_doc:no", readme_tasks, has_doc=documented)) == len(readme_tasks) - 1
    assert select("has_doc:true", readme_tasks) == []
    assert select("has_doc.any:", readme_tasks, has_doc=documented) == ["Plain pending"]
    assert select("has_doc.not:true", readme_tasks, has_doc=documented) == select(
        "has_doc:false", readme_tasks, has_doc=documented
    )


@pytest.mark.parametrize(
    "text",
    ["due.before:friday", "due.after:now", "due.by:eow", "project.has:ack", "project.not:web", "project.none:",
     "project.any:", "description.startswith:web", "description.endswith:thing", "+tag", "-tag", "+TAGGED",
     "+ANNOTATED", "+READY", "+BLOCKED", "+ACTIVE", "+OVERDUE", "status:pending or status:completed",
     "project:web and +bug"],
)  # fmt: skip
def test_readme_modifier_list_compiles(text: str) -> None:
    compile_filter(text)


# --- E63–E70 virtual tags ------------------------------------------------------------------------------


def test_e63_active() -> None:
    tasks = [make_task("Active", start=NOW), make_task("Inactive")]
    assert select("+ACTIVE", tasks) == ["Active"]


def test_e64_blocked() -> None:
    blocker = make_task("Blocker")
    tasks = [blocker, make_task("Blocked", depends=[blocker.uuid])]
    assert select("+BLOCKED", tasks) == ["Blocked"]
    assert select("+BLOCKING", tasks) == ["Blocker"]


def test_e65_done_dependency_unblocks() -> None:
    dep = make_task("Dep", status="completed", end=NOW)
    tasks = [dep, make_task("Dependent", depends=[dep.uuid])]
    assert select("+BLOCKED", tasks) == []
    assert "Dependent" in select("+UNBLOCKED status:pending", tasks)
    assert select("+BLOCKING", tasks) == []


def test_e66_one_open_dependency_still_blocks() -> None:
    a = make_task("Dep A", status="completed", end=NOW)
    b = make_task("Dep B")
    tasks = [a, b, make_task("Dependent", depends=[a.uuid, b.uuid])]
    assert select("+BLOCKED", tasks) == ["Dependent"]


def test_e67_ready() -> None:
    dep = make_task("Dep", status="completed", end=NOW)
    tasks = [dep, make_task("Dependent", depends=[dep.uuid]), make_task("Independent")]
    assert select("+READY", tasks) == ["Dependent", "Independent"]


def test_e68_e69_annotated_and_tagged() -> None:
    tasks = [make_task("A", annotations=["note"]), make_task("B", tags=["x"]), make_task("C")]
    assert select("+ANNOTATED", tasks) == ["A"]
    assert select("+TAGGED", tasks) == ["B"]


def test_e70_waiting() -> None:
    tasks = [make_task("Waiting", wait=NOW + timedelta(days=7)), make_task("Normal")]
    assert select("+WAITING", tasks) == ["Waiting"]
    assert select("status:waiting", tasks) == ["Waiting"]
    assert select("", tasks) == ["Normal"]
    assert select("status:pending", tasks) == ["Normal"]
    assert select("+PENDING", tasks) == ["Normal"]


def test_missing_dependency_does_not_block() -> None:  # §15.6, A1: archived dependencies
    tasks = [make_task("Orphan", depends=["0f8fad5b-d9cb-469f-a165-70867728950e"])]
    assert select("+BLOCKED", tasks) == []
    assert select("+READY", tasks) == ["Orphan"]


def test_completed_task_is_never_blocked() -> None:
    dep = make_task("Dep")
    tasks = [dep, make_task("Done", status="completed", end=NOW, depends=[dep.uuid])]
    assert select("+BLOCKED", tasks) == []
    assert select("+BLOCKING", tasks) == []


def test_due_period_tags() -> None:
    tasks = [
        make_task("today", due=NOW + timedelta(hours=2)),
        make_task("tomorrow", due=NOW + timedelta(days=1)),
        make_task("yesterday", due=NOW - timedelta(days=1)),
        make_task("next month", due=NOW + timedelta(days=25)),
        make_task("done today", due=NOW, status="completed", end=NOW),
    ]
    assert select("+TODAY", tasks) == ["today"]
    assert select("+TOMORROW", tasks) == ["tomorrow"]
    assert select("+YESTERDAY", tasks) == ["yesterday"]
    assert select("+WEEK", tasks) == ["today", "tomorrow", "yesterday"]
    assert select("+MONTH", tasks) == ["today", "tomorrow", "yesterday"]
    assert select("+QUARTER", tasks) == ["today", "tomorrow", "yesterday"]
    assert select("+YEAR", tasks) == ["today", "tomorrow", "yesterday", "next month"]
    assert select("+OVERDUE", tasks) == ["yesterday"]


def test_field_presence_tags() -> None:
    tasks = [
        make_task("p", project="x"), make_task("r", priority="L"), make_task("d", due=NOW),
        make_task("s", scheduled=NOW), make_task("u", until=NOW), make_task("a", agent="bot"),
        make_task("e", sprint="7"),
    ]  # fmt: skip
    assert select("+PROJECT", tasks) == ["p"]
    assert select("+PRIORITY", tasks) == ["r"]
    assert select("+DUE", tasks) == ["d"]
    assert select("+SCHEDULED", tasks) == ["s"]
    assert select("+UNTIL", tasks) == ["u"]
    assert select("+UDA", tasks) == ["a", "e"]


def test_recurrence_tags() -> None:
    template = make_task("template", status="recurring", recur="daily", due=NOW)
    child = make_task("child", parent=template.uuid, due=NOW)
    tasks = [template, child]
    assert select("+RECURRING", tasks) == ["template"]
    assert select("+PARENT", tasks) == ["template"]
    assert select("+CHILD", tasks) == ["child"]
    assert select(f"parent:{template.uuid}", tasks) == ["child"]


# --- virtual tags as ordinary terms (BUG V2) ---------------------------------------------------------


@pytest.fixture
def mixed() -> list:  # type: ignore[type-arg]
    return [
        make_task("active", start=NOW),
        make_task("overdue", due=NOW - timedelta(days=1)),
        make_task("web", project="web"),
        make_task("plain"),
    ]


def test_virtual_tags_combine_with_or_not_and_parentheses(mixed) -> None:  # type: ignore[no-untyped-def]
    assert select("+OVERDUE or +ACTIVE", mixed) == ["active", "overdue"]
    assert select("(+ACTIVE or +OVERDUE)", mixed) == ["active", "overdue"]
    assert select("project:web or +OVERDUE", mixed) == ["overdue", "web"]
    assert select("-ACTIVE -OVERDUE", mixed) == ["web", "plain"]
    assert select("not +ACTIVE and not ( +OVERDUE or project:web )", mixed) == ["plain"]
    assert select("! +ACTIVE", mixed) == ["overdue", "web", "plain"]


def test_lowercase_virtual_name_is_an_ordinary_tag() -> None:
    tasks = [make_task("tagged today", tags=["today"]), make_task("due today", due=NOW)]
    assert select("+today", tasks) == ["tagged today"]
    assert select("+TODAY", tasks) == ["due today"]


# --- E123–E136 compilation semantics ---------------------------------------------------------------------


def test_e123_to_e127_basic_terms() -> None:
    tasks = [
        make_task("a", project="backend", tags=["bug"], priority="H"),
        make_task("b", project="backend-old", status="completed", end=NOW),
        make_task("c"),
    ]
    assert select("project:backend", tasks) == ["a"]
    assert select("+bug", tasks) == ["a"]
    assert select("-bug", tasks) == ["b", "c"]
    assert select("priority:H", tasks) == ["a"]
    assert select("status:completed", tasks) == ["b"]


@pytest.mark.parametrize(
    "name", ["ACTIVE", "COMPLETED", "PENDING", "TAGGED", "OVERDUE", "BLOCKED", "WAITING", "PROJECT", "PRIORITY", "DUE"]
)
def test_e128_virtual_tags_are_recognised(name: str) -> None:
    from backlog_git.query.virtual import VIRTUAL_TAGS

    assert name in VIRTUAL_TAGS
    compile_filter(f"+{name}")


def test_e129_bare_id_and_lists() -> None:
    tasks = [make_task(str(n), id=n) for n in range(1, 9)]
    tasks.append(make_task("done 9", id=9, status="completed", end=NOW))
    assert select("1", tasks) == ["1"]
    assert select("9", tasks) == ["done 9"]  # any status
    assert select("1,3,5-7", tasks) == ["1", "3", "5", "6", "7"]
    assert select("id:2", tasks) == ["2"]
    assert select("id:2-3", tasks) == ["2", "3"]
    assert select("id.over:7", tasks) == ["8", "done 9"]
    assert select("2 or 4", tasks) == ["2", "4"]


def test_e130_bare_words_search_description_and_annotations() -> None:
    tasks = [
        make_task("Fix LOGIN redirect"),
        make_task("Unrelated", annotations=["the login page broke"]),
        make_task("Authentication"),
    ]
    assert select("login", tasks) == ["Fix LOGIN redirect", "Unrelated"]
    assert select("auth", tasks) == ["Authentication"]  # substring, like taskwarrior
    assert select("fix login", tasks) == ["Fix LOGIN redirect"]
    assert select('"login redirect"', tasks) == ["Fix LOGIN redirect"]
    assert select("/fix.*redirect/", tasks) == ["Fix LOGIN redirect"]


def test_e131_e132_or_and_mixed_grouping() -> None:
    tasks = [
        make_task("a", project="web", tags=["bug"]),
        make_task("b", project="api", tags=["bug"]),
        make_task("c", project="api"),
    ]
    assert select("project:web or project:api", tasks) == ["a", "b", "c"]
    assert select("(project:web or project:api) +bug", tasks) == ["a", "b"]
    assert select("project:web or project:api +bug", tasks) == ["a", "b"]  # and binds tighter
    assert select("+bug xor project:api", tasks) == ["a", "c"]


def test_e133_e134_date_comparisons() -> None:
    tasks = [
        make_task("soon", due=NOW + timedelta(hours=2)),
        make_task("later", due=NOW + timedelta(days=3)),
        make_task("old", due=NOW.replace(year=2019)),
        make_task("none"),
    ]
    assert select("due.before:tomorrow", tasks) == ["soon", "old"]
    assert select("due.after:2020-01-01", tasks) == ["soon", "later"]
    assert select("due.by:eow", tasks) == ["soon", "later", "old"]
    assert select("due:today", tasks) == ["soon"]
    assert select("(due.before:tomorrow)", tasks) == ["soon", "old"]  # BUG V3: glued ')' still resolves
    assert select("DUE.BEFORE:tomorrow", tasks) == ["soon", "old"]  # names are case-insensitive
    assert select("due.lt:tomorrow", tasks) == ["soon", "old"]  # every comparison resolves dates
    assert select("due.none:", tasks) == ["none"]
    assert select(f"due.is:{(NOW + timedelta(hours=2)).strftime('%Y-%m-%dT%H:%M:%SZ')}", tasks) == ["soon"]


def test_e135_empty_filter_is_pending_without_waiting() -> None:
    tasks = [
        make_task("pending"),
        make_task("waiting", wait=NOW + timedelta(days=1)),
        make_task("wait over", wait=NOW - timedelta(days=1)),
        make_task("done", status="completed", end=NOW),
        make_task("template", status="recurring", recur="daily", due=NOW),
    ]
    assert select("", tasks) == ["pending", "wait over"]
    assert select("   ", tasks) == ["pending", "wait over"]
    assert not compile_filter("").mentions_status or compile_filter("").text == ""
    assert len(select("description.any:", tasks)) == 5  # non-empty filter: every status


def test_e136_uuid_full_prefix_and_field() -> None:
    a = make_task("a", uuid="0f8fad5b-d9cb-469f-a165-70867728950e")
    b = make_task("b", uuid="0f8fad5c-0000-4000-8000-000000000000")
    tasks = [a, b]
    assert select(a.uuid, tasks) == ["a"]
    assert select(a.uuid.upper(), tasks) == ["a"]
    assert select("0f8fad5b", tasks) == ["a"]
    assert select("0f8fad5", tasks) == []  # too short for a prefix: a word
    assert select(f"uuid:{a.uuid}", tasks) == ["a"]
    assert select("uuid:0f8fad5", tasks) == ["a", "b"]
    assert select(f"uuid.isnt:{a.uuid}", tasks) == ["b"]
    assert select(f"{b.uuid[:8]},{a.uuid}", tasks) == ["a", "b"]


# --- attribute modifiers -----------------------------------------------------------------------------------


@pytest.fixture
def projects() -> list:  # type: ignore[type-arg]
    return [
        make_task("web", project="web", priority="H"),
        make_task("frontend", project="web.frontend", priority="M"),
        make_task("webapp", project="webapp", priority="L"),
        make_task("none"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("project:web", ["web", "frontend"]),
        ("project:web.frontend", ["frontend"]),
        ("project.is:web", ["web"]),
        ("project.eq:web", ["web"]),
        ("project.isnt:web", ["frontend", "webapp", "none"]),
        ("project.not:web", ["webapp", "none"]),
        ("project:", ["none"]),
        ("project.none:", ["none"]),
        ("project.any:", ["web", "frontend", "webapp"]),
        ("project.exists:false", ["none"]),
        ("project.has:APP", ["webapp"]),
        ("project.contains:end", ["frontend"]),
        ("project.hasnt:web", ["none"]),
        ("project.startswith:WEB", ["web", "frontend", "webapp"]),
        ("project.StartsWith:web.", ["frontend"]),
        ("project.endswith:app", ["webapp"]),
        ("project.in:web,webapp", ["web", "webapp"]),
        ("project.nin:web,webapp", ["frontend", "none"]),
        ("project.regex:^web\\.", ["frontend"]),
        ("project.word:frontend", ["frontend"]),
        ("project.noword:frontend", ["web", "webapp", "none"]),
        ("project.after:web", ["frontend", "webapp"]),
        ("priority.above:L", ["web", "frontend"]),
        ("priority.over:M", ["web"]),
        ("priority.below:H", ["frontend", "webapp", "none"]),
        ("priority.under:M", ["webapp", "none"]),
        ("priority.by:M", ["frontend", "webapp", "none"]),
        ("priority.gte:M", ["web", "frontend"]),
        ("priority:", ["none"]),
        ("priority:h", ["web"]),
        ("pro:web", ["web", "frontend"]),  # unique abbreviation of a field name
    ],
)
def test_project_and_priority_modifiers(projects, text: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert select(text, projects) == expected


def test_list_fields() -> None:
    dep = make_task("dep", id=50)
    tasks = [
        dep,
        make_task("bug ui", tags=["bug", "ui"], depends=[dep.uuid]),
        make_task("bugfix", tags=["bugfix"], annotations=["Call Alice", "done"]),
        make_task("none"),
    ]
    assert select("tags:bug", tasks) == ["bug ui"]
    assert select("tags.has:bug", tasks) == ["bug ui"]
    assert select("tags.hasnt:bug", tasks) == ["dep", "bugfix", "none"]
    assert select("tags.startswith:bug", tasks) == ["bug ui", "bugfix"]
    assert select("tags.none:", tasks) == ["dep", "none"]
    assert select("tags.in:ui,bugfix", tasks) == ["bug ui", "bugfix"]
    assert select(f"depends:{dep.uuid}", tasks) == ["bug ui"]
    assert select("depends:50", tasks) == ["bug ui"]
    assert select(f"depends.has:{dep.uuid[:8]}", tasks) == ["bug ui"]
    assert select("depends.any:", tasks) == ["bug ui"]
    assert select("annotations.any:", tasks) == ["bugfix"]
    assert select("annotations.contains:alice", tasks) == ["bugfix"]
    assert select("annotations:done", tasks) == ["bugfix"]


def test_depends_on_a_uuid_prefix_of_decimal_digits() -> None:
    """About one uuid in 40 starts with eight decimal digits; its prefix is no task's id, so it is a prefix
    (the engine's id resolver does the same); a task whose id it is still wins."""
    dep = make_task("dep", id=50, uuid="26066905-3c1b-4a4e-9d9b-0f6a1c2b3d4e")
    tasks = [dep, make_task("dependent", depends=[dep.uuid]), make_task("other")]
    assert select("depends.has:26066905", tasks) == ["dependent"]
    assert select("depends:26066905", tasks) == ["dependent"]
    numbered = make_task("numbered", id=26066905)
    tasks = [*tasks, numbered, make_task("on numbered", depends=[numbered.uuid])]
    assert select("depends:26066905", tasks) == ["on numbered"]


def test_quoted_values_and_glued_parentheses() -> None:
    tasks = [make_task("fix the login page", project="web"), make_task("login", project="api")]
    assert select('description.contains:"the login"', tasks) == ["fix the login page"]
    assert select("description.contains:'the login'", tasks) == ["fix the login page"]
    assert select('"description.contains:the login"', tasks) == ["fix the login page"]
    assert select("(project:web or project:api) login", tasks) == ["fix the login page", "login"]
    assert select("description:login", tasks) == ["login"]
    assert select('description:"fix the login page"', tasks) == ["fix the login page"]


def test_text_search_combines_with_attributes() -> None:  # BUG T1
    tasks = [
        make_task("fix bug", project="web"),
        make_task("fix bug", project="api"),
        make_task("other", project="web"),
    ]
    assert len(select("project:web fix", tasks)) == 1
    assert len(select("status:pending fix bug", tasks)) == 2
    assert len(select("fix or project:web", tasks)) == 3


def test_user_defined_attributes() -> None:
    tasks = [
        make_task("a", estimate=5, sprint="s1", reviewed=True, started_on=NOW - timedelta(days=2)),
        make_task("b", estimate=2, sprint="s2"),
        make_task("c"),
    ]
    assert select("estimate:5", tasks) == ["a"]
    assert select("estimate.over:3", tasks) == ["a"]
    assert select("estimate.under:3", tasks) == ["b"]
    assert select("estimate.any:", tasks) == ["a", "b"]
    assert select("estimate.none:", tasks) == ["c"]
    assert select("sprint:s1", tasks) == ["a"]
    assert select("sprint.not:s1", tasks) == ["b", "c"]
    assert select("sprint.startswith:S", tasks) == ["a", "b"]
    assert select("reviewed:yes", tasks) == ["a"]
    assert select("started_on.before:yesterday", tasks) == ["a"]
    assert select("sprint.in:s2,s3", tasks) == ["b"]


def test_status_terms() -> None:
    tasks = [make_task("p"), make_task("c", status="completed", end=NOW), make_task("d", status="deleted", end=NOW)]
    assert select("status:Completed", tasks) == ["c"]
    assert select("status.not:pending", tasks) == ["c", "d"]
    assert select("status.in:completed,deleted", tasks) == ["c", "d"]
    assert select("+COMPLETED or +DELETED", tasks) == ["c", "d"]
    assert select("-PENDING", tasks) == ["c", "d"]
    assert compile_filter("status:pending").mentions_status
    assert compile_filter("+WAITING").mentions_status
    assert not compile_filter("project:x").mentions_status


def test_urgency_is_filterable() -> None:
    tasks = [make_task("high", priority="H"), make_task("low")]
    assert select("urgency.over:5", tasks) == ["high"]
    assert select("urgency.under:5", tasks) == ["low"]


# --- errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("(project:web", ["'('", "position 1", "expected ')'"]),
        ("project:web or", ["after 'or'", "position 13", "expected a term"]),
        ("or project:web", ["'or'", "position 1", "expected a term"]),
        ("project:web )", ["')'", "position 13"]),
        ("()", ["')'", "position 2"]),
        ("+bug and and +ui", ["'and'", "position 10"]),
        ("not", ["end of filter", "'not'"]),
        ('description.contains:"abc', ["Unterminated quote", "position 22"]),
        ("description.contain:x", ["Unknown modifier '.contain'", "position 1", "startswith", "hasnt"]),
        ("due.before:xyz", ["'due.before:xyz'", "position 1", "Cannot parse date: 'xyz'"]),
        ("x due.before:2025-02-30", ["position 3", "Invalid date"]),
        ("due.has:2026", ["text tests do not apply"]),
        ("status:bogus", ["status must be one of"]),
        ("priority:X", ["priority must be H, M or L"]),
        ("id:abc", ["expected an id"]),
        ("urgency.over:lots", ["expected a number"]),
        ("has_doc:maybe", ["expected true or false"]),
        ('project.regex:"["', ["bad regular expression"]),
        ("tags.over:x", ["ordered comparisons do not apply"]),
        ("(" * 100 + "x" + ")" * 100, ["nested too deeply"]),
    ],
)
def test_errors_name_token_position_and_expectation(text: str, fragments: list[str]) -> None:
    with pytest.raises(FilterError) as error:
        compile_filter(text)
    for fragment in fragments:
        assert fragment in str(error.value), (fragment, str(error.value))


def test_filter_error_is_a_value_error() -> None:
    assert issubclass(FilterError, ValueError)
    with pytest.raises(ValueError):
        compile_filter(None)  # type: ignore[arg-type]


# --- compile cache and "now" -------------------------------------------------------------------------------


def test_cached_filter_resolves_relative_dates_per_context() -> None:
    task = make_task("due soon", due=NOW + timedelta(days=2))
    compiled = compile_filter("due.before:tomorrow")
    assert compiled is compile_filter("due.before:tomorrow")
    assert not compiled.matches(task, context([task], NOW))
    assert compiled.matches(task, context([task], NOW + timedelta(days=2)))


def test_select_uses_index_or_context_index_consistently() -> None:
    tasks = [make_task(f"t{n}", project=f"p{n % 3}", tags=["bug"] if n % 2 else []) for n in range(30)]
    index = TaskIndex.build(tasks)
    ctx = QueryContext(NOW, {t.uuid: t for t in tasks}, index=index)
    result = compile_filter("project:p1 +bug").select(ctx)
    assert [t.description for t in result] == [t.description for t in tasks if t.project == "p1" and t.tags]
    index.remove(tasks[1])
    assert tasks[1].uuid not in index
    index.add(tasks[1].model_copy(update={"project": "p2"}))
    assert tasks[1].uuid in index.by_project["p2"]
