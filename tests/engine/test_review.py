"""``review``: what a range of commits does to the backlog, on a real repository built with the engine.

A feature branch completes, deletes, reopens (by a hand edit committed with plain git), archives,
purges, modifies, documents, claims and adds tasks; ``review(state, "main..feature")`` must report
each category exactly, credit the right writers, render as a markdown PR comment without a uuid, and
the example GitHub workflow must run the same command this test runs.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from support import REPO_ROOT, add, git, init_repo, task_path

from backlog_git.board import add_review_arguments, render_review, review_main
from backlog_git.board.review_format import md
from backlog_git.engine import Backlog
from backlog_git.engine.review import review
from backlog_git.errors import InvalidInput

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ROOT = REPO_ROOT
WORKFLOW = ROOT / "examples" / "review-comment.yml"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    repo = init_repo(tmp_path_factory.mktemp("review") / "repo")
    main = Backlog.open(str(repo), env={}, writer="lead")
    t = {}
    t["docs"] = add(main, "Write the docs")
    t["old"] = add(main, "Old bug nobody sees")
    t["reopen"] = add(main, "Closed too early")
    t["refactor"] = add(main, "Refactor the parser", priority="M", tags=["bug"])
    t["spec"] = add(main, "Needs a spec")
    t["claim"] = add(main, "Claim me")
    t["purge"] = add(main, "Purge me")
    t["archive"] = add(main, "Archive me")
    t["untouched"] = add(main, "Nobody touches this")
    t["respec"] = add(main, "Spec gets rewritten")
    main.doc_write(t["respec"]["uuid"], "# Old spec\n")
    t["release"] = add(main, "Release me")
    Backlog.open(str(repo), env={}, writer="agent-a").claim(t["release"]["uuid"], lease="1h")
    main.done(t["reopen"]["uuid"])
    main.delete(t["purge"]["uuid"])
    main.done(t["archive"]["uuid"])

    git(repo, "switch", "-q", "-c", "feature")
    # A person reopens a task by editing its file and committing with git (no Backlog trailers).
    path = repo / task_path(t["reopen"]["uuid"])
    text = path.read_text().replace("status: completed", "status: pending")
    path.write_text("\n".join(line for line in text.splitlines() if not line.startswith("end:")) + "\n")
    git(repo, "commit", "-q", "-am", "reopen: not done after all")

    agent = Backlog.open(str(repo), env={}, writer="agent-a")
    agent.purge(t["purge"]["uuid"])
    agent.archive(0)
    agent.done(t["docs"]["uuid"])
    agent.delete(t["old"]["uuid"])
    t["new"] = add(agent, "Ship the @board <script>", project="web.ui", tags=["ui"], priority="H", due="2030-01-15")
    agent.modify(t["refactor"]["uuid"], changes={"priority": "H", "depends": t["new"]["uuid"]},
                 add_tags=["urgent"], remove_tags=["bug"])
    agent.doc_write(t["spec"]["uuid"], "# Spec\nDo the thing.\n")
    agent.doc_write(t["respec"]["uuid"], "# New spec\n")
    other = Backlog.open(str(repo), env={}, writer="agent-b")
    agent.release(t["release"]["uuid"])
    other.claim(t["claim"]["uuid"], lease="2h")
    return {"repo": repo, "tasks": t, "backlog": other}


def _ids(data: dict[str, Any], key: str, tasks: dict[str, Any]) -> list[str]:
    names = {task["uuid"]: name for name, task in tasks.items()}
    return [names[u] for u in data[key]]


def test_review_reports_each_category_exactly(scenario: dict[str, Any]) -> None:
    tasks = scenario["tasks"]
    data = review(scenario["backlog"].state, "main..feature")
    assert _ids(data, "added", tasks) == ["new"]
    assert _ids(data, "completed", tasks) == ["docs"]
    assert _ids(data, "deleted", tasks) == ["old"]
    assert _ids(data, "reopened", tasks) == ["reopen"]
    assert _ids(data, "archived", tasks) == ["archive"]
    assert _ids(data, "restored", tasks) == []
    assert _ids(data, "purged", tasks) == ["purge"]
    assert _ids(data, "changed", tasks) == ["docs", "old", "reopen", "refactor", "spec", "claim", "respec", "release"]
    assert {k: [n for n in _names(v, tasks)] for k, v in data["docs"].items()} == {
        "added": ["spec"], "changed": ["respec"], "removed": [],
    }
    assert _ids(data, "claims", tasks) == ["claim", "release"]
    by_uuid = {r["uuid"]: r for r in data["tasks"]}
    refactor = by_uuid[tasks["refactor"]["uuid"]]
    assert refactor["changes"] == {
        "priority": ["M", "H"],
        "tags": [["bug"], ["urgent"]],
        "depends": [[], [tasks["new"]["uuid"]]],
    }
    assert "modified" not in refactor["changes"]
    assert data["refs"] == {tasks["new"]["uuid"]: {"id": tasks["new"]["id"], "description": "Ship the @board <script>"}}
    claim = by_uuid[tasks["claim"]["uuid"]]["claim"]
    assert claim["agent"] == [None, "agent-b"] and claim["lease"][0] is None and claim["lease"][1] > "2026"
    release = by_uuid[tasks["release"]["uuid"]]
    assert release["claim"]["agent"] == ["agent-a", None] and release["claim"]["lease"][1] is None
    assert release["changes"]["start"][1] is None
    assert by_uuid[tasks["reopen"]["uuid"]]["was"] == "completed"
    assert by_uuid[tasks["reopen"]["uuid"]]["status"] == "pending"
    assert by_uuid[tasks["archive"]["uuid"]]["segment"] is not None
    assert tasks["untouched"]["uuid"] not in by_uuid
    # Who: the Backlog-Agent trailer of each commit that touched the task, else the git author.
    author = _git_author(scenario)  # the git user (CI may set GIT_AUTHOR_NAME over the repo's user.name)
    assert by_uuid[tasks["reopen"]["uuid"]]["by"] == [author]
    assert by_uuid[tasks["docs"]["uuid"]]["by"] == ["agent-a"]
    assert by_uuid[tasks["claim"]["uuid"]]["by"] == ["agent-b"]
    assert data["writers"] == [author, "agent-a", "agent-b"]
    assert data["commits"] == 11
    assert data["broken"] == []


def _names(uuids: list[str], tasks: dict[str, Any]) -> list[str]:
    names = {task["uuid"]: name for name, task in tasks.items()}
    return [names[u] for u in uuids]


def test_added_task_with_an_agent_is_a_claim(scenario: dict[str, Any]) -> None:
    repo = scenario["repo"]
    backlog = Backlog.open(str(repo), env={}, writer="agent-c")
    git(repo, "switch", "-q", "-c", "claims", "feature")
    try:
        task = add(backlog, "Mine from the start", agent="agent-c")
        data = review(backlog.state, "feature..claims")
        assert data["added"] == data["claims"] == [task["uuid"]]
        record = data["tasks"][0]
        assert record["claim"] == {"agent": [None, "agent-c"]}
        assert record["changes"] == {}
        text = render_review(data, "markdown")
        assert "claimed by **agent-c**" in text
    finally:
        git(repo, "switch", "-q", "feature")


def test_range_forms(scenario: dict[str, Any]) -> None:
    state = scenario["backlog"].state
    two = review(state, "main..feature")
    three = review(state, "main...feature")
    assert {k: v for k, v in two.items() if k != "range"} == {k: v for k, v in three.items() if k != "range"}
    single = review(state, "feature")  # feature^..feature: the last commit (agent-b's claim)
    assert single["claims"] == [scenario["tasks"]["claim"]["uuid"]] == single["changed"]
    assert single["commits"] == 1 and single["writers"] == ["agent-b"]
    empty = review(state, "feature..feature")
    assert empty["tasks"] == [] and empty["commits"] == 0
    assert "No task changes" in render_review(empty, "markdown")
    with pytest.raises(InvalidInput, match="Unknown revision 'nope'"):
        review(state, "main..nope")
    with pytest.raises(InvalidInput, match="Unknown revision"):
        review(state, "--output=x")


def test_markdown_names_tasks_by_id_and_escapes_their_text(scenario: dict[str, Any]) -> None:
    tasks = scenario["tasks"]
    author = _git_author(scenario)
    data = review(scenario["backlog"].state, "main..feature")
    text = render_review(data, "markdown")
    assert UUID_RE.search(text) is None, "a task with an id is named by its id, never by its uuid"
    assert text.startswith("### Backlog review of `main..feature`\n")
    summary = text.splitlines()[2]
    assert summary == ("**1 added · 1 completed · 1 deleted · 1 reopened · 1 archived · 1 purged · 1 changed · "
                       f"2 docs · 2 claims** — 11 commits by {author}, agent-a, agent-b")
    new_id = tasks["new"]["id"]
    assert (f"- **#{new_id}** Ship the @\u2060board \\<script\\> — `web.ui` · priority H · due 2030-01-15 · +ui"
            " · *by agent-a*") in text
    assert f"- **#{tasks['refactor']['id']}** Refactor the parser — priority: M → **H**; tags: +urgent −bug; " \
           f"depends: +#{new_id} · *by agent-a*" in text
    assert f"- **#{tasks['docs']['id']}** Write the docs · *by agent-a*" in text
    assert f"- **#{tasks['reopen']['id']}** Closed too early — was completed, now pending · *by {author}*" in text
    assert f"- **#{tasks['spec']['id']}** Needs a spec — doc added · *by agent-a*" in text
    assert f"- **#{tasks['claim']['id']}** Claim me — claimed by **agent-b** until " in text
    assert f"- **#{tasks['release']['id']}** Release me — released by agent-a · *by agent-a*" in text
    for heading in ("Added (1)", "Completed (1)", "Deleted (1)", "Reopened (1)", "Archived (1)", "Purged (1)",
                    "Changed (1)", "Docs (2)", "Claims (2)"):
        assert heading in text
    assert "<script>" not in text and "@board" not in text
    assert json.loads(render_review(data, "json")) == data


def test_md_escapes_markdown_and_mentions() -> None:
    assert md("a *b* _c_ [x](javascript:y) <img> `z` @you #1 |t|\nnext") == (
        "a \\*b\\* \\_c\\_ \\[x\\]\\(javascript:y\\) \\<img\\> \\`z\\` @\u2060you \\#1 \\|t\\| next"
    )


def test_review_command_and_the_example_workflow(scenario: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    """The workflow runs `backlog-git review "origin/${BASE_REF}...HEAD" --format markdown` (the base
    branch through the environment); so does this test, with this repository's base branch."""
    import argparse

    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on:` key as true
    assert "pull_request" in triggers
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    runs = "\n".join(s.get("run", "") for s in steps)
    command = re.search(r'backlog-git review "([^"]+)" --format markdown', runs)
    assert command is not None and command.group(1) == "origin/${BASE_REF}...HEAD"
    review_step = next(s for s in steps if "backlog-git review" in s.get("run", ""))
    assert review_step["env"]["BASE_REF"] == "${{ github.base_ref }}"  # the PR's base branch
    assert "gh pr comment" in runs
    assert any("actions/checkout" in s.get("uses", "") and s.get("with", {}).get("fetch-depth") == 0 for s in steps)

    repo = scenario["repo"]
    rev_range = command.group(1).replace("origin/${BASE_REF}", "main")  # this repository's base branch
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo")
    add_review_arguments(parser)
    args = parser.parse_args(["--repo", str(repo), rev_range, "--format", "markdown"])
    assert review_main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("### Backlog review of `main...HEAD`")
    assert "1 added · 1 completed" in out and UUID_RE.search(out) is None
    args = parser.parse_args(["--repo", str(repo), "main..nope"])
    assert review_main(args) == 1
    assert "Unknown revision 'nope'" in capsys.readouterr().err


def test_a_broken_task_file_is_reported_not_misread(scenario: dict[str, Any]) -> None:
    repo = scenario["repo"]
    git(repo, "switch", "-q", "-c", "broken", "feature")
    try:
        path = task_path(scenario["tasks"]["untouched"]["uuid"])
        (repo / path).write_text("---\nid: [\n---\n")
        git(repo, "commit", "-q", "-am", "oops")
        data = review(Backlog.open(str(repo), env={}).state, "feature..broken")
        assert data["tasks"] == [] and len(data["broken"]) == 1 and data["broken"][0].startswith(path)
        text = render_review(data, "markdown")
        assert "#### ⚠️ Broken task files (1)" in text and "no task changes" in text
    finally:
        git(repo, "switch", "-q", "feature")


def _git_author(scenario: dict[str, Any]) -> str:
    """The author name git gives a commit made by the git user in the scenario's repository, asked
    through the same helper (and so the same environment) that made the scenario's own git commits."""
    ident = git(scenario["backlog"].git.workdir, "var", "GIT_AUTHOR_IDENT")
    return ident.split(" <", 1)[0]
