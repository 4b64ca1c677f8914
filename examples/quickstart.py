"""A tour on a throwaway repository: add, modify, complete and undo tasks, then show the tasks and
the git log the store produced. Run: python examples/quickstart.py"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from backlog_git.engine import Backlog


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="backlog-git-demo-") as tmp:
        repo = Path(tmp)
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        for key, value in (("user.name", "Demo User"), ("user.email", "demo@example.invalid")):
            subprocess.run(["git", "-C", str(repo), "config", key, value], check=True)
        backlog = Backlog.open(str(repo), env={})

        steps = [
            backlog.add("Write the login page", project="web", tags=["ui"], priority="M", due="tomorrow"),
            backlog.add("Fix the redirect after login", project="web.auth", tags=["bug"], priority="H"),
            backlog.add("Document the API", project="docs"),
            backlog.modify("1", changes={"priority": "H"}, add_tags=["urgent"]),
            backlog.annotate("2", "Reproduced with Safari 18"),
            backlog.doc_write("2", "# Spec\n\nAfter login, return to the page the user came from.\n"),
            backlog.done("2"),
            backlog.delete("3"),
            backlog.undo(),  # brings task 3 back
        ]
        for outcome in steps:
            print(f"- {outcome.message}")

        print("\nPending tasks (urgency order):")
        for task in backlog.list(""):
            print(f"  #{task['id']:<3} {task.get('priority', ' ')}  {task['urgency']:5.2f}  "
                  f"{task.get('project', ''):<10} {task['description']}")

        print("\nHistory of task 1:")
        for entry in backlog.history("1"):
            changed = ", ".join(entry["changes"]) or "-"
            print(f"  {entry['commit'][:8]} {entry['op']:<8} {changed}")

        print("\ngit log:")
        log = subprocess.run(["git", "-C", str(repo), "log", "--format=%h %s   [%(trailers:key=Backlog-Op,valueonly,separator=%x2C)]"],
                             check=True, capture_output=True, text=True).stdout
        print("\n".join("  " + line for line in log.strip().splitlines() if line.strip()))
        task_file = next((repo / ".backlog" / "tasks").glob("*/*.md"))
        print(f"\nOne task file ({task_file.relative_to(repo)}):")
        print(task_file.read_text())


if __name__ == "__main__":
    main()
