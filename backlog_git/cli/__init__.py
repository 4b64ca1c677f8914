"""``backlog-git``: the command line, a thin adapter over the engine (argparse → one Backlog call → text).

Every value is read by :mod:`backlog_git.inputs`, the input layer the MCP server uses too: tags, ids,
filters, ``--extra`` words, numbers and the JSON of ``import`` are accepted and refused alike, with the
same messages (``tests/inputs/test_input_parity.py`` holds the two surfaces to that). What people read is in
the CLI's own words (:mod:`.words`), fits the terminal and is coloured there (:mod:`.render`).

* :mod:`.app` — the command registry, the parser made from it, running a command line;
* :mod:`.commands` — the CLI's own commands (register more with ``@command``);
* :mod:`.render` — tables, ``info``, history, colour and width;
* :mod:`.editor` — ``edit`` and ``doc write`` in ``$VISUAL``/``$EDITOR``;
* :mod:`.words` — engine messages in CLI words.

Exit status: 0 success, 1 a user error (message on stderr), 2 a usage error, 130 interrupted.
"""

from __future__ import annotations

from . import commands as _commands  # noqa: F401  (registers the CLI's commands)
from .app import COMMANDS, Command, Context, build_parser, command, main, parse, register, run
from .words import TOOL_WORDS, cli_words

__all__ = ["COMMANDS", "TOOL_WORDS", "Command", "Context", "build_parser", "cli_words", "command", "main", "parse",
           "register", "run"]
