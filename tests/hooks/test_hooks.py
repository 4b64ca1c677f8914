"""Claude Code hooks (``backlog-git hook <Event>``) fed realistic event JSON on stdin, and the plugin
files that declare them. Also the original's sync-queue scenarios E103–E107, ported to the hooks."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import REPO_ROOT
from support.server import BACKLOG_CMD, base_env, make_repo

import backlog_git
from backlog_git.engine import Backlog
from backlog_git.hooks import main as hook_main

PLUGIN = Path(backlog_git.__file__).parent / "plugin"
ROOT = REPO_ROOT
SKILLS = ("tasks", "plan", "standup", "refine", "spec", "implement", "handoff")


def event(name: str, cwd: Path, **fields: Any) -> dict[str, Any]:
    return {
        "session_id": "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
        "transcript_path": f"/home/dev/.claude/projects/{cwd.name}/session.jsonl",
        "cwd": str(cwd),
        "permission_mode": "default",
        "hook_event_name": name,
        **fields,
    }


def run_hook(name: str, payload: dict[str, Any] | str, env: dict[str, str] | None = None, cwd: Path | None = None):
    stdin = payload if isinstance(payload, str) else json.dumps(payload)
    result = subprocess.run(
        [*BACKLOG_CMD, "hook", name],
        input=stdin,
        capture_output=True,
        text=True,
        env=base_env(**(env or {})),
        cwd=str(cwd) if cwd else None,
        timeout=60,
    )
    assert result.returncode == 0, result
    return result


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "project")


def store(repo: Path) -> Backlog:
    return Backlog.open(str(repo), env={})


# ------------------------------------------------------------------------------------------ SessionStart
def test_session_start_summary(repo: Path) -> None:
    b = store(repo)
    blocker = b.add("Blocker").tasks[0]
    b.add("Blocked", depends=[blocker["uuid"]])
    b.add("Overdue", due="2020-01-01")
    b.start("1")
    result = run_hook("SessionStart", event("SessionStart", repo, source="startup", model="claude-sonnet-4-5"))
    assert result.stdout.strip() == (
        "Backlog: 3 pending, 1 active, 1 overdue, 1 blocked. Run /backlog:tasks for details."
    )


def test_session_start_skips_zero_counts(repo: Path) -> None:
    b = store(repo)
    b.add("One")
    b.add("Two")
    result = run_hook("SessionStart", event("SessionStart", repo, source="resume"))
    assert result.stdout.strip() == "Backlog: 2 pending. Run /backlog:tasks for details."


def test_session_start_prints_nothing_without_pending_tasks(repo: Path) -> None:
    store(repo).log("Already done")
    assert run_hook("SessionStart", event("SessionStart", repo, source="startup")).stdout == ""


def test_e107_empty_store(repo: Path) -> None:
    for name in ("SessionStart", "SubagentStart"):
        assert run_hook(name, event(name, repo, agent_type="explorer", agent_id="a1")).stdout == ""


def test_session_start_outside_a_repository_says_so_in_one_line(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = run_hook("SessionStart", event("SessionStart", plain, source="startup"), cwd=plain)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Backlog (SessionStart):")


def test_hooks_resolve_the_store_like_the_server(tmp_path: Path) -> None:
    """TASKDATA_ROOT + the project directory give the same store to the hook as to the server."""
    project = tmp_path / "my-app"
    project.mkdir()
    env = {"TASKDATA_ROOT": str(tmp_path / "data")}
    Backlog.open(env=env, cwd=str(project)).add("Shared")
    result = run_hook("SessionStart", event("SessionStart", project, source="startup"), env=env, cwd=tmp_path)
    assert result.stdout.startswith("Backlog: 1 pending.")


def test_claude_project_dir_wins_over_the_event_cwd(repo: Path, tmp_path: Path) -> None:
    store(repo).add("In the project")
    sub = tmp_path / "elsewhere"
    sub.mkdir()
    result = run_hook(
        "SessionStart", event("SessionStart", sub, source="startup"), env={"CLAUDE_PROJECT_DIR": str(repo)}
    )
    assert result.stdout.startswith("Backlog: 1 pending.")


def test_namespace_is_honoured(repo: Path) -> None:
    Backlog.open(str(repo), env={"BACKLOG_NAMESPACE": "team"}).add("Namespaced")
    assert run_hook("SessionStart", event("SessionStart", repo)).stdout == ""
    result = run_hook("SessionStart", event("SessionStart", repo), env={"BACKLOG_NAMESPACE": "team"})
    assert result.stdout.startswith("Backlog: 1 pending.")


# ------------------------------------------------------------------------------------------ TaskCreated / TaskCompleted
def test_e103_task_created(repo: Path) -> None:
    run_hook("TaskCreated", event("TaskCreated", repo, task_id="1", task_subject="Write the parser"))
    run_hook(
        "TaskCreated",
        event(
            "TaskCreated",
            repo,
            task_id="2",
            task_subject="Review the parser",
            task_description="Check error messages",
            teammate_name="planner",
            team_name="core",
        ),
    )
    tasks = {t["description"]: t for t in store(repo).list("status:pending")}
    assert set(tasks) == {"Write the parser", "Review the parser"}
    assert "agent" not in tasks["Write the parser"]
    assert tasks["Review the parser"]["agent"] == "planner"


def test_task_created_twice_is_mirrored_once(repo: Path) -> None:
    for _ in range(2):
        run_hook("TaskCreated", event("TaskCreated", repo, task_id="1", task_subject="Same subject"))
    assert store(repo).count("status:pending") == 1


def test_task_created_with_a_bad_subject_reports_and_exits_0(repo: Path) -> None:
    result = run_hook("TaskCreated", event("TaskCreated", repo, task_id="1", task_subject="x" * 600))
    assert result.stdout.startswith("Backlog (TaskCreated):")
    assert store(repo).count("") == 0


def test_e104_task_completed(repo: Path) -> None:
    store(repo).add("Will be completed externally")
    result = run_hook(
        "TaskCompleted", event("TaskCompleted", repo, task_id="7", task_subject="Will be completed externally")
    )
    assert result.stdout == ""
    b = store(repo)
    assert (b.count("status:pending"), b.count("status:completed")) == (0, 1)


def test_task_completed_ambiguous_changes_nothing(repo: Path) -> None:
    b = store(repo)
    b.add("Twin")
    b.import_tasks([{"description": "Twin"}])
    result = run_hook("TaskCompleted", event("TaskCompleted", repo, task_id="3", task_subject="Twin"))
    assert "2 pending tasks are titled 'Twin'" in result.stdout
    assert store(repo).count("status:completed") == 0


def test_task_completed_without_match_does_nothing(repo: Path) -> None:
    store(repo).add("Something else")
    assert run_hook("TaskCompleted", event("TaskCompleted", repo, task_subject="Unknown")).stdout == ""
    assert store(repo).count("status:pending") == 1


# ------------------------------------------------------------------------------------------ SubagentStart
def test_e106_subagent_start_informs_without_grabbing_tasks(repo: Path) -> None:
    b = store(repo)
    b.add("Unassigned work", priority="H")
    b.add("Planner work", agent="planner")
    b.add("Explorer work", agent="explorer")
    result = run_hook("SubagentStart", event("SubagentStart", repo, agent_id="agent-42", agent_type="explorer"))
    output = json.loads(result.stdout)
    specific = output["hookSpecificOutput"]
    assert specific["hookEventName"] == "SubagentStart"
    context = specific["additionalContext"]
    assert "assigned to explorer" in context and "Explorer work" in context
    assert "Planner work" not in context
    assert "Unassigned work" in context and "ready" in context
    agents = {t["description"]: t.get("agent") for t in store(repo).list("status:pending")}
    assert agents == {"Unassigned work": None, "Planner work": "planner", "Explorer work": "explorer"}


# ------------------------------------------------------------------------------------------ robustness
@pytest.mark.parametrize("stdin", ["", "not json", "[1, 2]"])
def test_unreadable_input_never_fails(repo: Path, stdin: str) -> None:
    result = run_hook("TaskCreated", stdin, cwd=repo)
    assert store(repo).count("") == 0
    assert len(result.stdout.strip().splitlines()) <= 1


def test_unknown_event_never_fails(repo: Path) -> None:
    result = run_hook("PreCompact", event("PreCompact", repo))
    assert "unknown event" in result.stdout


def test_main_in_process(repo: Path) -> None:
    store(repo).add("In process")
    out = io.StringIO()
    payload = io.StringIO(json.dumps(event("SessionStart", repo)))
    assert hook_main("SessionStart", payload, env={}, stdout=out) == 0
    assert out.getvalue().startswith("Backlog: 1 pending.")


def test_hooks_do_not_import_the_mcp_sdk() -> None:
    code = (
        "import sys, backlog_git.hooks, backlog_git.engine; print(any(m.split('.')[0] == 'mcp' for m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# ------------------------------------------------------------------------------------------ plugin files
def front_matter(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert match, path
    fields = {}
    for line in match.group(1).splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def test_plugin_manifest_and_mcp_server() -> None:
    manifest = json.loads((PLUGIN / ".claude-plugin" / "plugin.json").read_text())
    assert manifest["name"] == "backlog"
    assert manifest["version"] == backlog_git.__version__
    servers = json.loads((PLUGIN / ".mcp.json").read_text())["mcpServers"]
    assert servers["tasks"]["command"] == "backlog-git"
    assert servers["tasks"]["args"] == ["serve"]


def test_marketplace_points_at_the_packaged_plugin() -> None:
    market = json.loads((ROOT / ".claude-plugin" / "marketplace.json").read_text())
    assert market["name"] and market["owner"]["name"]
    [entry] = market["plugins"]
    assert entry["name"] == "backlog"
    assert entry["version"] == backlog_git.__version__
    assert (ROOT / entry["source"]).resolve() == PLUGIN.resolve()


def test_hooks_json_calls_the_hook_command_for_the_four_events() -> None:
    hooks = json.loads((PLUGIN / "hooks" / "hooks.json").read_text())["hooks"]
    assert set(hooks) == {"SessionStart", "SubagentStart", "TaskCreated", "TaskCompleted"}
    for name, groups in hooks.items():
        [group] = groups
        [handler] = group["hooks"]
        assert handler["type"] == "command"
        assert handler["command"] == f"backlog-git hook {name}"


def test_skills_and_agent() -> None:
    for name in SKILLS:
        fields = front_matter(PLUGIN / "skills" / name / "SKILL.md")
        assert fields["name"] == name
        assert len(fields["description"]) > 40
    agent = front_matter(PLUGIN / "agents" / "task-planner.md")
    assert agent["name"] == "task-planner"
    assert agent["model"] == "sonnet" and agent["maxTurns"] == "15"
    assert "plan" in agent["description"].lower()


def test_skills_mention_only_existing_tools() -> None:
    from backlog_git.server import build_tools

    names = {tool.name for tool in build_tools(include_sync=True)}
    for path in [*PLUGIN.glob("skills/*/SKILL.md"), PLUGIN / "agents" / "task-planner.md"]:
        for mentioned in re.findall(r"\btask_[a-z_]+\b", path.read_text()):
            assert mentioned in names, (path, mentioned)


def test_the_installed_console_script_runs_a_hook(repo: Path) -> None:
    script = shutil.which("backlog-git") or str(Path(sys.executable).parent / "backlog-git")
    assert Path(script).exists(), "the backlog-git console script is not installed (pip install -e .)"
    store(repo).add("Via the console script")
    result = subprocess.run(
        [script, "hook", "SessionStart"],
        input=json.dumps(event("SessionStart", repo)),
        capture_output=True,
        text=True,
        env=base_env(),
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("Backlog: 1 pending.")


def test_session_start_merges_pending_agent_branches(repo: Path) -> None:
    agent = Backlog.open(str(repo), env={"BACKLOG_AGENT_ID": "helper"})
    agent.add("Written by an agent")
    result = run_hook("SessionStart", event("SessionStart", repo, source="startup"))
    assert result.returncode == 0
    assert "sync: merge helper (1 op)" in result.stdout
    assert result.stdout.strip().startswith("Backlog: 1 pending")
    merged = subprocess.run(["git", "merge-base", "--is-ancestor", "backlog/helper", "HEAD"], cwd=repo)
    assert merged.returncode == 0, "the checked-out branch now contains the agent's operation"
    assert store(repo).pending_agents() == []
