"""The command registry, the parser built from it, and running one command line.

A command is a :class:`Command` in :data:`COMMANDS`: its name, one line of help, examples for its
``--help``, a function adding its arguments, and a handler that gets a :class:`Context` (the parsed
arguments, the store opened on first use, where output goes). ``@command(...)`` registers the CLI's
own commands (``commands.py``); the console script registers the commands other adapters serve
(``main.py``). Adding a command is one registration: the parser, ``--help``, shell completion and
did-you-mean follow from the registry.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import BacklogError
from .render import Terminal
from .words import cli_words

if TYPE_CHECKING:
    from ..engine import Backlog

PROG = "backlog-git"
Handler = Callable[["Context"], int]
Arguments = Callable[[argparse.ArgumentParser], None]

DESCRIPTION = "A git-native task store for agents and humans: each task a markdown file, every change a commit."
EPILOG = """\
examples:
  backlog-git add Fix the login redirect --project web --tags bug --due friday
  backlog-git list project:web -BLOCKED         # filter words, taskwarrior style
  backlog-git info 1 && backlog-git edit 1       # read a task, then edit its file
  backlog-git done 1 && backlog-git undo

Run `backlog-git COMMAND --help` for a command's options and an example. --repo, --json and --color
may come before or after the command. The store: --repo, else BACKLOG_REPO, else TASKDATA, else the
repository containing the current directory. Shell completion: `backlog-git completion bash|zsh|fish`.
Exit status: 0 success, 1 a user error (message on stderr), 2 bad usage."""


@dataclass(frozen=True)
class Command:
    """One subcommand: what ``--help`` says about it and how it runs."""

    name: str
    help: str
    examples: tuple[str, ...]
    run: Handler
    arguments: Arguments | None = None
    json: bool = False
    """Whether ``--json`` applies (machine-readable output)."""
    store: bool = True
    """Whether the command works on a store (then ``--repo`` applies and broken files are reported)."""


COMMANDS: dict[str, Command] = {}
"""Every command by name."""
HELP_ORDER = ("init", "add", "log", "list", "count", "info", "edit", "modify", "duplicate", "done", "delete", "start",
              "stop", "purge", "annotate", "denotate", "undo", "history", "doc", "archive", "import", "projects",
              "tags", "recur", "check", "sync", "resolve", "install", "completion", "*", "serve", "hook",
              "merge-driver")
"""The order ``--help`` lists commands in; ``*`` stands for commands not named here, in registration order."""


def _help_rank(cmd: Command) -> int:
    return HELP_ORDER.index(cmd.name) if cmd.name in HELP_ORDER else HELP_ORDER.index("*")


def register(command: Command) -> Command:
    """Add (or replace) a command."""
    COMMANDS[command.name] = command
    return command


def command(
    name: str, help: str, *examples: str, arguments: Arguments | None = None, json: bool = False, store: bool = True
) -> Callable[[Handler], Handler]:
    """Decorator: register the decorated function as the handler of ``name``."""

    def decorate(handler: Handler) -> Handler:
        register(Command(name, help, examples, handler, arguments, json, store))
        return handler

    return decorate


# ------------------------------------------------------------------ the parser
def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=24)


def _global_options(parser: argparse.ArgumentParser, *, top: bool, json_flag: bool, store: bool) -> None:
    """--repo, --json and --color: on the main parser, and again on each command so they may follow it
    (there without defaults, so a value given before the command is kept)."""
    group = parser if top else parser.add_argument_group("global options")
    if store:
        repo = group.add_argument(
            "--repo", metavar="PATH", default=None if top else argparse.SUPPRESS,
            help="the git repository holding the store (default: BACKLOG_REPO, TASKDATA, TASKDATA_ROOT, "
            "or the repository containing the current directory)",
        )
        repo.complete = "directory"  # type: ignore[attr-defined]
    if json_flag:
        group.add_argument("--json", action="store_true", default=False if top else argparse.SUPPRESS,
                           help="print JSON (the MCP tools' data) instead of text")
    group.add_argument("--color", choices=("auto", "always", "never"), default="auto" if top else argparse.SUPPRESS,
                       help="colour the output: auto (on a terminal, unless NO_COLOR is set), always or never")


def _epilog(cmd: Command) -> str:
    return "example" + ("s" if len(cmd.examples) > 1 else "") + ":\n" + "\n".join(f"  {e}" for e in cmd.examples)


def _build(only: str | None = None) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser; with ``only``, holding that command alone (a one-shot run needs no other: building
    every command's parser costs several milliseconds)."""
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, epilog=EPILOG, formatter_class=_formatter,
                    allow_abbrev=False)
    _global_options(parser, top=True, json_flag=True, store=True)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands",
                                help="run `backlog-git COMMAND --help` for its options and examples")
    parsers: dict[str, argparse.ArgumentParser] = {}
    for cmd in sorted(COMMANDS.values(), key=_help_rank):
        if only is not None and cmd.name != only:
            continue
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help[:1].upper() + cmd.help[1:] + ".",
                           epilog=_epilog(cmd), formatter_class=_formatter, allow_abbrev=False)
        if cmd.arguments is not None:
            cmd.arguments(p)
        _global_options(p, top=False, json_flag=cmd.json, store=cmd.store)
        parsers[cmd.name] = p
    return parser, parsers


def build_parser() -> argparse.ArgumentParser:
    """The whole parser (every registered command), e.g. for shell completion."""
    return _build()[0]


def _option(parser: argparse.ArgumentParser, token: str) -> tuple[argparse.Action | None, str, bool]:
    """The action a ``--name`` or ``--name=value`` token names, its name, and whether it carries its value."""
    name, equals, _ = token.partition("=")
    if not token.startswith("--"):
        name, equals = token, ""
    return parser._option_string_actions.get(name), name, bool(equals)


def normalise(
    parser: argparse.ArgumentParser, parsers: dict[str, argparse.ArgumentParser], argv: Sequence[str]
) -> list[str]:
    """The command line as argparse can read it, whatever order a person typed it in.

    * Options of the command (and ``--repo``/``--json``/``--color``) go first, each with its value
      attached (``--tags=-old,+new``: argparse would read ``-old`` as an option).
    * Every other word keeps its order after ``--``: filter words such as ``-BLOCKED`` or ``-bug`` and
      descriptions starting with ``-`` are words, not unknown options.
    * A mistyped command (or option) gets a suggestion.
    """
    items = list(argv)
    head: list[str] = []
    position = 0
    while position < len(items) and items[position].startswith("-") and items[position] not in ("-", "--"):
        action, name, attached = _option(parser, items[position])
        head.append(items[position])
        position += 1
        if action is not None and action.nargs != 0 and not attached and position < len(items):
            head.append(items[position])
            position += 1
    if position >= len(items):
        return head
    name = items[position]
    if name == "--":
        return [*head, *items[position:]]
    if name not in parsers:
        parser.error(f"unknown command '{name}'{_suggestion(name, list(COMMANDS))}")
    sub = parsers[name]
    options: list[str] = []
    words: list[str] = []
    position += 1
    while position < len(items):
        token = items[position]
        position += 1
        if token == "--":
            words += items[position:]
            break
        if token.startswith("-") and len(token) > 1:
            action, option, attached = _option(sub, token)
            if action is not None:
                if action.nargs == 0 or attached or position >= len(items):
                    options.append(token)
                else:
                    value = items[position]
                    position += 1
                    options += [f"{option}={value}"] if option.startswith("--") else [option, value]
                continue
            if token.startswith("--"):
                known = [o for o in sub._option_string_actions if o.startswith("--")]
                hint = _suggestion(option, known)
                if hint:
                    sub.error(f"unknown option '{option}'{hint}")
                options.append(token)
                continue
        words.append(token)
    return [*head, name, *options, *(["--", *words] if words else [])]


def _suggestion(word: str, choices: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    if not close:
        return "" if choices and word.startswith("--") else f" (see `{PROG} --help`)"
    if word.startswith("--"):
        return f". Did you mean {' or '.join(close)}?"
    return ". Did you mean " + " or ".join(f"`{PROG} {c}`" for c in close) + "?"


def _named_command(items: Sequence[str]) -> str | None:
    """The command a command line names: its first word after the main options (and their values)."""
    position = 0
    while position < len(items) and items[position].startswith("-") and items[position] not in ("-", "--"):
        position += 2 if items[position] in ("--repo", "--color") else 1
    word = items[position] if position < len(items) else None
    return word if word in COMMANDS else None


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line as the CLI reads it; bare ``backlog-git`` prints the help (exit 0)."""
    items = list(sys.argv[1:] if argv is None else argv)
    parser, parsers = _build(only=_named_command(items))
    if not items:
        parser.print_help()
        parser.exit(0)
    args = parser.parse_args(normalise(parser, parsers, items))
    if args.command is None:
        parser.error(f"a command is needed (see `{PROG} --help`)")
    if args.json and not COMMANDS[args.command].json:
        parsers[args.command].error(f"--json does not apply to `{PROG} {args.command}`")
    return args


# ------------------------------------------------------------------ running
class Context:
    """What a handler works with: the arguments, the store (opened on first use) and the output."""

    def __init__(self, args: argparse.Namespace, term: Terminal) -> None:
        self.args = args
        self.term = term
        self._backlog: Backlog | None = None

    @property
    def backlog(self) -> Backlog:
        if self._backlog is None:
            enabled = gc.isenabled()
            gc.disable()  # the engine's import builds objects that all stay: no collection meanwhile
            try:
                from ..engine import Backlog

                self._backlog = Backlog.open(self.args.repo)
            finally:
                if enabled:
                    gc.enable()
            self._backlog.state.keeps_heap = True  # a one-shot process: see StoreState.keeps_heap
        return self._backlog

    @property
    def opened(self) -> Backlog | None:
        return self._backlog

    @property
    def json(self) -> bool:
        return bool(getattr(self.args, "json", False))

    def out(self, text: str) -> None:
        sys.stdout.write(text + "\n")

    def err(self, text: str) -> None:
        sys.stderr.write(text + "\n")

    def show(self, data: Any, text: Callable[[], str] | str) -> None:
        """``data`` as JSON with ``--json``, else the text (made only when it is shown)."""
        if self.json:
            self.out(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            self.out(text() if callable(text) else text)

    def outcome(self, outcome: Any, note: str = "") -> int:
        """What a mutation did: its message and commit (JSON: the MCP tool's result)."""
        message = outcome.message + note
        commit = outcome.commit
        self.show({"message": message, "commit": commit, "tasks": outcome.tasks},
                  lambda: cli_words(message) + (f"  [{commit[:10]}]" if commit else ""))
        return 0


def run(args: argparse.Namespace) -> int:
    """Run a parsed command: a user error is one line on stderr and exit status 1; every task file
    that does not parse is named once on stderr after the result."""
    term = Terminal.detect(sys.stdout, getattr(args, "color", "auto"))
    ctx = Context(args, term)
    shown = ""
    try:
        return COMMANDS[args.command].run(ctx)
    except BrokenPipeError:
        raise
    except (BacklogError, OSError) as exc:
        shown = str(exc)
        ctx.err(f"{PROG}: {cli_words(shown)}")
        return 1
    finally:
        if ctx.opened is not None and args.command not in ("check", "edit"):  # those name them themselves
            for problem in ctx.opened.broken_files():
                if problem not in shown:
                    ctx.err(f"{PROG}: warning: {cli_words(problem)}")


def main(argv: Sequence[str] | None = None) -> int:
    """The console script's body: parse, run, and stay quiet on a closed pipe or Ctrl-C."""
    try:
        try:
            return run(parse(argv))
        finally:
            sys.stdout.flush()
    except BrokenPipeError:
        _detach_stdout()
        return 141  # as a process killed by SIGPIPE (what `git log | head -1` reports)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130


def _detach_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush does not report the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
