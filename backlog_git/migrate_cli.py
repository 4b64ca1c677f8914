"""``backlog-git migrate --from PATH [--namespace NS]``: the command line of the migration from the
original backlog server (an adapter: argparse → one ``Backlog.migrate`` call → data and text).

The tasks go into the repository the command runs in (or ``--repo`` / ``BACKLOG_REPO``). ``TASKDATA``
usually still names the original's store being migrated, which backlog-git never writes: :func:`store_env`
leaves ``TASKDATA``/``TASKDATA_ROOT`` out when they lead to an original store.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

from . import config as configmod
from .errors import InvalidInput, RepositoryError
from .original_store import is_original_store

COMMAND = "migrate"
HELP = "import every task of the original backlog server's store (its TASKDATA directory) in one commit"
EXAMPLES = (
    'backlog-git migrate --from "$TASKDATA"          # inside the repository the tasks should live in',
    "backlog-git migrate --from ~/old-tasks --namespace work",
)
IGNORED_FOR_TARGET = ("TASKDATA", "TASKDATA_ROOT")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from", dest="source", required=True, metavar="PATH",
        help="the original server's data directory (its TASKDATA; only read, never changed)",
    )
    parser.add_argument(
        "--namespace", metavar="NS",
        help="the namespace on both sides: the original's collection (its BACKLOG_NAMESPACE) and this store's "
        "namespace (default: BACKLOG_NAMESPACE, else 'tasks', else the original's only collection)",
    )


def store_env(environ: Mapping[str, str], args: argparse.Namespace | None = None) -> dict[str, str]:
    """The environment to open the store the tasks go into: ``--namespace`` as ``BACKLOG_NAMESPACE``, and
    without ``TASKDATA``/``TASKDATA_ROOT`` when the store they choose is an original store (backlog-git
    never writes into one; the tasks then go into the current directory's repository)."""
    env = dict(environ)
    namespace = getattr(args, "namespace", None)
    if namespace:
        env["BACKLOG_NAMESPACE"] = namespace
        env.pop("BACKLOG_AUTO_NAMESPACE", None)
    if getattr(args, "repo", None):
        return env
    try:
        chosen = configmod.resolve(None, env)
    except RepositoryError:
        return env  # opening the store reports it
    if chosen.source in IGNORED_FOR_TARGET and chosen.repo_path is not None and is_original_store(chosen.repo_path):
        for key in IGNORED_FOR_TARGET:
            env.pop(key, None)
    return env


def open_store(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Any:
    """The store the tasks go into (a ``Backlog``)."""
    from .engine import Backlog

    return Backlog.open(getattr(args, "repo", None), env=store_env(os.environ if environ is None else environ, args))


def run(backlog: Any, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """Migrate; the data (message, commit, tasks) for ``--json`` and the text for people."""
    namespace = getattr(args, "namespace", None)
    if namespace and backlog.namespace != namespace:
        raise InvalidInput(
            f"--namespace {namespace} but the store was opened in namespace '{backlog.namespace}'; "
            f"set BACKLOG_NAMESPACE={namespace} instead."
        )
    outcome = backlog.migrate(args.source, collection=namespace)
    data = {"message": outcome.message, "commit": outcome.commit, "tasks": outcome.tasks}
    text = outcome.message + (f"  [{outcome.commit[:10]}]" if outcome.commit else "")
    return data, text


def handle(ctx: Any) -> int:
    """The handler for the CLI's command registry (``ctx``: its ``Context``: ``args``, ``show``, ``err``)."""
    backlog = open_store(ctx.args)
    data, text = run(backlog, ctx.args)
    ctx.show(data, text)
    for problem in backlog.broken_files():
        ctx.err(f"backlog-git: warning: {problem}")
    return 0
