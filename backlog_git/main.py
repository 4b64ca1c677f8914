"""The console script ``backlog-git`` (and ``python -m backlog_git``): reads the command line and hands
it to the adapter that serves it: the MCP server, a Claude Code hook, git's merge driver, or the CLI.

The CLI parses every command line (one parser: ``--help``, completion and did-you-mean know every
command). The commands other adapters serve are registered here, in :data:`ROUTED`; each handler
imports its adapter only when it runs, so ``backlog-git list`` never loads the MCP library.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .cli import Command, Context


def _serve(ctx: Context) -> int:
    import gc

    # Importing the MCP SDK and making the tools builds hundreds of thousands of objects that live as long
    # as the process: no collection while they are made (it would walk them again and again), and then
    # out of the collector's way for good (``gc.freeze``). About a tenth of the time to ``initialize``.
    gc.disable()
    try:
        from . import server

        app = server.create_server()
    finally:
        gc.freeze()
        gc.enable()
    return server.main(app)


def _hook(ctx: Context) -> int:
    from . import hooks

    return hooks.main(ctx.args.event, sys.stdin)


def _merge_driver(ctx: Context) -> int:
    from . import driver

    args = ctx.args
    return driver.main(args.base, args.ours, args.theirs, args.path)


def _board(ctx: Context) -> int:
    from . import board

    return board.main(ctx.args)


def _review(ctx: Context) -> int:
    from . import board

    return board.review_main(ctx.args)


def _hook_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("event", help="the hook event name, e.g. SessionStart (the event's JSON comes on stdin)")


def _driver_arguments(parser: argparse.ArgumentParser) -> None:
    for name, help in (("base", "the common ancestor's version (git's %%O)"), ("ours", "our version, "
                       "overwritten with the result (%%A)"), ("theirs", "their version (%%B)"),
                       ("path", "the file's path in the repository (%%P)")):
        parser.add_argument(name, help=help)


def routed() -> tuple[Command, ...]:
    """Commands served by other adapters. Add a row to route another, e.g.::

        Command("migrate", migrate_cli.HELP, ("backlog-git migrate --from ~/.task-data",), migrate_cli.handle,
                migrate_cli.add_arguments, json=True)

    (the handler gets the CLI's ``Context``: ``ctx.args``, ``ctx.show(data, text)``, ``ctx.err(text)``;
    import the adapter inside the handler and the ``arguments`` function to keep other commands fast)."""
    from . import board, migrate_cli
    from .cli import Command

    return (
        Command("serve", "run the MCP server on stdio", ("backlog-git serve   # what .mcp.json starts",), _serve,
                store=False),
        Command("hook", "handle a Claude Code hook event (JSON on stdin)",
                ("echo '{}' | backlog-git hook SessionStart",), _hook, _hook_arguments, store=False),
        Command("merge-driver", "git merge driver: merge task files field by field (git calls it)",
                ("git config merge.backlog.driver 'backlog-git merge-driver %O %A %B %P'   # what init registers",),
                _merge_driver, _driver_arguments, store=False),
        Command("board", board.BOARD_HELP, ("backlog-git board --out site", "backlog-git board --serve --by project"),
                _board, board.add_arguments),
        Command("review", board.REVIEW_HELP, ("backlog-git review origin/main...HEAD --format markdown",),
                _review, board.add_review_arguments, json=True),
        Command(migrate_cli.COMMAND, migrate_cli.HELP, migrate_cli.EXAMPLES, migrate_cli.handle,
                migrate_cli.add_arguments, json=True),
    )


def __getattr__(name: str) -> Any:
    if name == "ROUTED":  # the routing table, built on first use (its adapters' imports are not free)
        return routed()
    raise AttributeError(name)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 5 and args[0] == "merge-driver" and not any(a.startswith("-") for a in args[1:4]):
        # git runs the driver once per merged file, always with these four arguments: skip loading the
        # CLI and the other adapters (a third of the driver's start-up).
        from . import driver

        return driver.main(*args[1:])
    from . import cli

    for command in routed():
        cli.register(command)
    return cli.main(args)
