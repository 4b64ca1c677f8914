"""The engine's messages in the command line's words.

The engine words its messages for the MCP server's callers ("Check the id with task_list or task_info",
"Delete it first (task_delete)"). People at a terminal type ``backlog-git list``, so the CLI rewrites
each tool name it prints through the one table below. Only the text shown to people changes: ``--json``
results carry the engine's data as it is.
"""

from __future__ import annotations

import re

TOOL_WORDS: dict[str, str] = {
    "task_add": "backlog-git add",
    "task_log": "backlog-git log",
    "task_list": "backlog-git list",
    "task_count": "backlog-git count",
    "task_info": "backlog-git info",
    "task_projects": "backlog-git projects",
    "task_tags": "backlog-git tags",
    "task_modify": "backlog-git modify",
    "task_duplicate": "backlog-git duplicate",
    "task_done": "backlog-git done",
    "task_delete": "backlog-git delete",
    "task_start/stop": "backlog-git start/stop",
    "task_start": "backlog-git start",
    "task_stop": "backlog-git stop",
    "task_purge": "backlog-git purge",
    "task_annotate": "backlog-git annotate",
    "task_denotate": "backlog-git denotate",
    "task_undo": "backlog-git undo",
    "task_history": "backlog-git history",
    "task_import": "backlog-git import",
    "task_doc_write": "backlog-git doc write",
    "task_doc_read": "backlog-git doc read",
    "task_doc_delete": "backlog-git doc delete",
    "task_archive": "backlog-git archive",
    "task_archive_list": "backlog-git archive list",
    "task_archive_load": "backlog-git archive load",
    "task_sync": "backlog-git sync",
    "task_claim": "backlog-git claim",
    "task_release": "backlog-git release",
}
"""Every MCP tool name (``tests/cli/test_cli_human.py`` checks the server's list against it) → the command."""

# Longest names first (``task_start/stop`` before ``task_start``). A name in single quotes is left
# alone: that is user text quoted back ("No task found matching 'task_list'").
_TOOL_RE = re.compile(
    r"`?(?<![\w'])(" + "|".join(re.escape(name) for name in sorted(TOOL_WORDS, key=len, reverse=True)) + r")(?![\w'])`?"
)


def cli_words(text: str) -> str:
    """``text`` with each MCP tool name replaced by the command a person types, in backquotes."""
    if "task_" not in text:
        return text
    return _TOOL_RE.sub(lambda match: f"`{TOOL_WORDS[match.group(1)]}`", text)
