"""The shape of the code, read from its imports: who may depend on whom, who may touch git, which
modules do no I/O, and the package's public names. ARCHITECTURE.md states the same rules."""

from __future__ import annotations

import ast
from pathlib import Path

import backlog_git

PACKAGE = Path(backlog_git.__file__).parent

ENTRY = {"main", "__main__"}
"""The console script: it only routes a command line to the adapter that serves it."""
ADAPTERS = {"cli", "server", "hooks", "driver", "bench", "bench_claims", "board", "migrate_cli"}
BENCHMARK = {"bench", "bench_claims"}
"""The benchmark's parts: they share its helpers (no other adapter imports another)."""
ENGINE = {"engine"}
CORE = {"query", "merge", "overlay", "view", "taskfile", "inputs", "config", "original_store"}
BASE = {"gitstore", "errors", "layout", "model", "cachefile"}
LAYER = {
    **{m: 4 for m in ENTRY}, **{m: 3 for m in ADAPTERS}, **{m: 2 for m in ENGINE}, **{m: 1 for m in CORE},
    **{m: 0 for m in BASE},
}
PURE = {"model", "taskfile", "query", "merge", "layout"}
IO_MODULES = {"subprocess", "socket", "shutil", "tempfile", "fcntl", "pickle", "pygit2", "inotify_simple"}


def top_module(path: Path) -> str:
    """The room a file belongs to: its first component under the package (``engine/x.py`` → engine)."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def imports_of(path: Path) -> list[tuple[str, int]]:
    """(imported module, line): package-internal ones as room names, external ones by top-level name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel_parts = path.relative_to(PACKAGE).with_suffix("").parts
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name.split(".")[0], node.lineno) for alias in node.names]
            found += [("@" + alias.name.split(".")[1], node.lineno) for alias in node.names
                      if alias.name.startswith("backlog_git.")]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                module = node.module or ""
                if module.startswith("backlog_git"):
                    parts = module.split(".")
                    names = [parts[1]] if len(parts) > 1 else [a.name for a in node.names]
                    found += [("@" + name, node.lineno) for name in names]
                else:
                    found.append((module.split(".")[0], node.lineno))
                continue
            base = list(rel_parts[: len(rel_parts) - node.level])
            target = [*base, *(node.module.split(".") if node.module else [])]
            if target:
                found.append(("@" + target[0], node.lineno))
            else:
                found += [("@" + alias.name, node.lineno) for alias in node.names]
    return found


def sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "plugin" not in p.parts)


def test_every_module_has_a_known_room() -> None:
    rooms = {top_module(p) for p in sources()} - {"__init__"}
    assert rooms <= set(LAYER), f"modules without a place in the layering: {rooms - set(LAYER)}"


def test_dependencies_point_one_way() -> None:
    problems = []
    for path in sources():
        room = top_module(path)
        if room == "__init__":
            continue
        for name, line in imports_of(path):
            if not name.startswith("@") or name[1:] in ("__init__", "__version__", room):
                continue
            target = name[1:]
            if target not in LAYER:
                continue
            if LAYER[target] > LAYER[room]:
                problems.append(f"{path.relative_to(PACKAGE)}:{line}: {room} imports {target} (a higher layer)")
            if room in ADAPTERS and target in ADAPTERS and target != room and not {room, target} <= BENCHMARK:
                problems.append(f"{path.relative_to(PACKAGE)}:{line}: adapter {room} imports adapter {target}")
    assert problems == []


def test_only_gitstore_imports_pygit2_or_runs_processes() -> None:
    problems = []
    for path in sources():
        room = top_module(path)
        for name, line in imports_of(path):
            if name == "pygit2" and room != "gitstore":
                problems.append(f"{path.relative_to(PACKAGE)}:{line}: imports pygit2")
            if name == "subprocess" and room not in ("gitstore", *BENCHMARK):
                problems.append(f"{path.relative_to(PACKAGE)}:{line}: imports subprocess")
    assert problems == []


def test_pure_modules_do_no_io() -> None:
    problems = []
    for path in sources():
        if top_module(path) not in PURE:
            continue
        for name, line in imports_of(path):
            if name in IO_MODULES or name in ("@gitstore", "@view", "@overlay", "@engine", "@config"):
                problems.append(f"{path.relative_to(PACKAGE)}:{line}: a pure module imports {name.lstrip('@')}")
        text = path.read_text(encoding="utf-8")
        for call in ("open(", ".read_bytes(", ".write_bytes(", ".read_text(", ".write_text(", "os.replace("):
            if call in text:
                problems.append(f"{path.relative_to(PACKAGE)}: a pure module calls {call}")
    assert problems == []


SPLIT_ROOMS = ("engine", "gitstore", "merge")
"""The packages split into modules of one concern each: no module may grow back into a crowd."""


def test_split_rooms_stay_small() -> None:
    for room in SPLIT_ROOMS:
        for path in sorted((PACKAGE / room).glob("*.py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            assert lines <= 420, f"{room}/{path.name} has {lines} lines"


def test_no_class_over_300_lines() -> None:
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                span = (node.end_lineno or node.lineno) - node.lineno + 1
                assert span <= 300, f"{path.relative_to(PACKAGE)}: class {node.name} has {span} lines"


def test_the_package_api_is_pinned() -> None:
    assert sorted(backlog_git.__all__) == sorted([
        "AmbiguousId", "Backlog", "BacklogError", "BrokenTaskFile", "InvalidInput", "NotFound", "NothingToUndo",
        "Outcome", "RepositoryError", "UndoConflict", "WrongState", "__version__",
    ])
    from backlog_git.engine import Backlog, Outcome

    assert backlog_git.Backlog is Backlog
    assert backlog_git.Outcome is Outcome
    for name in backlog_git.__all__:
        assert getattr(backlog_git, name) is not None
    assert issubclass(backlog_git.NotFound, backlog_git.BacklogError)
