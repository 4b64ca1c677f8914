"""Views of the backlog for people: ``board`` and ``review`` (adapters over the engine).

``board`` writes one self-contained HTML page (columns by status or project; each card opens the
task's rendered spec and its history; a filter box; no script, style or font from anywhere else) or,
with ``--serve``, serves it on 127.0.0.1 and refreshes it when the tasks change. ``review`` prints
what a range of commits does to the tasks, as a pull-request comment (markdown) or JSON.

The entry point routes ``board``/``review`` here: ``add_arguments`` / ``add_review_arguments`` fill
their sub-parsers, ``main`` / ``review_main`` run them (exit 0, or 1 with a message on stderr).
This module stays cheap to import: the page, the server and the engine load when a command runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .review_format import render_review

BOARD_HELP = "an HTML board of the tasks (columns by status or project; cards open the spec and history)"
REVIEW_HELP = "what a range of commits does to the tasks (added, completed, changed, claimed…): markdown or JSON"

__all__ = ["BOARD_HELP", "REVIEW_HELP", "add_arguments", "add_review_arguments", "main", "render_review", "review_main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``backlog-git board``."""
    parser.add_argument("--out", default="backlog-board", metavar="DIR",
                        help="write DIR/index.html (default: ./backlog-board)")
    parser.add_argument("--at", metavar="REV", help="the tasks as of this commit, branch or tag "
                        "(default: what every read sees now: the working tree with agent branches merged)")
    parser.add_argument("--by", choices=["status", "project"], default="status", help="columns (default: status)")
    parser.add_argument("--serve", action="store_true",
                        help="serve the board on 127.0.0.1 and refresh it when tasks change (Ctrl-C stops)")
    parser.add_argument("--port", type=_port, default=0, help="port for --serve (default: a free one)")
    parser.add_argument("--history", type=_count, default=300, metavar="N",
                        help="embed the history of the N most recently modified tasks (default 300; "
                        "--serve loads any task's history when its card is opened)")
    parser.add_argument("--title", help="the page title (default: the repository's name)")


def add_review_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``backlog-git review``."""
    parser.add_argument("range", nargs="?", default="HEAD",
                        help="BASE..HEAD, BASE...HEAD (from the merge base, as a pull request) or one commit "
                        "(its own changes); default HEAD")
    parser.add_argument("--format", choices=["markdown", "json"], default="markdown",
                        help="markdown (a pull-request comment; the default) or json (also: --json)")


def main(args: argparse.Namespace) -> int:
    """Run ``backlog-git board``."""
    from . import page

    options = page.Options(by=args.by, at=args.at, history=args.history, title=args.title)
    return _guarded(lambda backlog: page.command(backlog, options, args.out, serve=args.serve, port=args.port),
                    args)


def review_main(args: argparse.Namespace) -> int:
    """Run ``backlog-git review``."""

    def run(backlog: Any) -> int:
        data = _review(backlog, args.range)
        print(render_review(data, "json" if getattr(args, "json", False) else args.format), end="")
        return 0

    return _guarded(run, args)


def _review(backlog: Any, rev_range: str) -> dict[str, Any]:
    method = getattr(backlog, "review", None)
    if callable(method):
        return dict(method(rev_range))
    from ..engine.review import review  # until the facade offers Backlog.review

    with backlog.state.lock:
        return review(backlog.state, rev_range)


def _guarded(run: Any, args: argparse.Namespace) -> int:
    from ..engine import Backlog
    from ..errors import BacklogError

    try:
        backlog = Backlog.open(getattr(args, "repo", None))
        try:
            return int(run(backlog))
        finally:
            for problem in backlog.broken_files():
                print(f"backlog-git: warning: {problem}", file=sys.stderr)
    except (BacklogError, OSError) as exc:
        print(f"backlog-git: {exc}", file=sys.stderr)
        return 1


def _port(text: str) -> int:
    value = _count(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, got {value}")
    return value


def _count(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 0, got {text!r}")
    return int(text)
