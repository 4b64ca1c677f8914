"""Task files that are hostile or come from other platforms: YAML alias bombs, CRLF checkouts, huge and
deeply nested values, and the python-frontmatter handler the reader and writer go through."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import pytest
from support import REPO_ROOT, build_task, git, init_repo

from backlog_git.model import MAX_ATTRIBUTE_DEPTH, MAX_TAGS, Annotation, Task
from backlog_git.taskfile import TaskFileError, dump, parse

ROOT = REPO_ROOT
UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
T0 = datetime(2026, 1, 31, 9, 0, 0, tzinfo=UTC)
HEAD = f"---\nuuid: {UUID}\nid: 1\ndescription: x\nentry: 2026-01-01T00:00:00Z\nmodified: 2026-01-01T00:00:00Z\n"
PATH = ".backlog/tasks/0f/x.md"


def _err(raw: str | bytes) -> TaskFileError:
    with pytest.raises(TaskFileError) as info:
        parse(raw, PATH)
    return info.value


def _task(**update: Any) -> Task:
    return build_task({"uuid": UUID, "id": 12, "description": "Fix login redirect", "entry": T0, "modified": T0},
                      **update)


def billion_laughs(levels: int = 9) -> str:
    """A task file whose ``levels`` + 1 aliased lines stand for 10**levels leaves."""
    lines = ["lol0: &lol0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels + 1):
        ref = f"*lol{level - 1}"
        lines.append(f"lol{level}: &lol{level} [" + ", ".join([ref] * 10) + "]")
    return HEAD + "\n".join(lines) + "\n---\n"


def _limit_memory() -> None:
    """In the child: 2 GB of address space, so a bomb that did expand fails there, not the machine."""
    try:
        import resource
    except ImportError:  # not POSIX: the timeout alone bounds it
        return
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


# ------------------------------------------------------------------ anchors and aliases
def test_alias_bomb_is_refused_in_a_fresh_process_without_expanding() -> None:
    """10**9 leaves: expanded (as to_record did), this would not finish; refused, it takes milliseconds."""
    script = (
        "import sys\n"
        "from backlog_git.taskfile import TaskFileError, parse\n"
        "try:\n"
        "    parse(sys.stdin.read(), 'bomb.md').task.to_record()  # what every list does with it\n"
        "except TaskFileError as exc:\n"
        "    print(exc.line, exc.reason)\n"
        "else:\n"
        "    print('parsed')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], input=billion_laughs(9), capture_output=True,
                          text=True, timeout=60, cwd=ROOT, check=False, preexec_fn=_limit_memory)
    assert proc.returncode == 0, proc.stderr
    line, reason = proc.stdout.strip().split(" ", 1)
    assert line == "7"  # the first anchored line: the six header lines come first
    assert "anchor '&lol0'" in reason and "not allowed" in reason


def test_alias_bomb_error_names_path_and_line() -> None:
    err = _err(billion_laughs(9))
    assert str(err).startswith(f"{PATH}:7: YAML anchor '&lol0' is not allowed")
    assert "write the value out in full" in err.reason


def test_alias_without_its_anchor_line_is_refused_at_the_alias() -> None:
    # An alias whose anchor is defined later is a YAML error; one after it is refused at the anchor.
    err = _err(HEAD.replace("id: 1\n", "id: 1\nnote: &n hello\nother: *n\n") + "---\n")
    assert err.line == 4
    err = _err(HEAD + "other: *n\n---\n")
    assert err.line == 7
    assert "alias '*n'" in err.reason or "invalid YAML" in err.reason


def test_merge_key_alias_is_refused() -> None:
    err = _err(HEAD + "base: &b {a: 1}\nderived:\n  <<: *b\n---\n")
    assert err.line == 7 and "anchor '&b'" in err.reason


def test_ampersand_and_asterisk_in_text_are_not_anchors() -> None:
    task = _task(description="Fix *bold* & stuff &x *y", tags=["a&b", "c*d"], note="&lit *lit")
    raw = dump(task, "body with &anchor and *alias\n")
    parsed = parse(raw, PATH)
    assert parsed.task == task
    assert dump(parsed.task, parsed.body) == raw


# ------------------------------------------------------------------ CRLF
def _crlf(raw: bytes) -> bytes:
    return raw.replace(b"\n", b"\r\n")


def test_crlf_file_parses_to_the_lf_task_and_body() -> None:
    task = _task(description="line one\nline two\n", tags=["bug", "web"], project="web.auth",
                 annotations=[Annotation(entry=T0, description="a note")], estimate=3, notes="a\nb\n")
    body = "# Spec\n\n---\nnot front matter\n  indented\n"
    raw = dump(task, body)
    parsed = parse(_crlf(raw), PATH)
    assert parsed.task == task
    assert parsed.body == body
    assert dump(parsed.task, parsed.body) == raw


def test_crlf_errors_keep_their_line_numbers() -> None:
    err = _err(_crlf(f"---\nuuid: {UUID}\nid: 1\ndescription: x\npriority: Z\nentry: 2026-01-01T00:00:00Z\n"
                     "modified: 2026-01-01T00:00:00Z\n---\n".encode()))
    assert err.line == 5 and "priority" in err.reason


def test_lf_file_keeps_crlf_inside_its_body() -> None:
    body = "windows\r\nlines\r\n"
    raw = dump(_task(), body)
    assert parse(raw).body == body


def _project_attributes_line() -> str:
    lines = [line for line in (ROOT / ".gitattributes").read_text().splitlines() if line.startswith(".backlog/")]
    assert len(lines) == 1, lines
    return lines[0]


def test_project_gitattributes_keeps_the_store_lf() -> None:
    assert _project_attributes_line().split()[1:] == ["merge=backlog", "eol=lf"]


@pytest.mark.parametrize("attributes", [None, "project"])
def test_clone_with_autocrlf_reads_the_same_task(tmp_path: Path, attributes: str | None) -> None:
    """A real `git clone -c core.autocrlf=true`: without the attribute git writes CRLF and the
    reader copes; with the project's `.gitattributes` line the checkout is the committed bytes."""
    origin = init_repo(tmp_path / "origin", commit=False)
    task = _task(tags=["bug"], description="multi\nline\n", annotations=[Annotation(entry=T0, description="n")])
    body = "# Spec\n\nReturn to the page.\n---\nstill body\n"
    raw = dump(task, body)
    rel = Path(".backlog/tasks/0f") / f"{UUID}.md"
    (origin / rel).parent.mkdir(parents=True)
    (origin / rel).write_bytes(raw)
    if attributes:
        (origin / ".gitattributes").write_text(_project_attributes_line() + "\n")
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "task")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "-c", "core.autocrlf=true", str(origin), str(clone))
    checked_out = (clone / rel).read_bytes()
    if attributes:
        assert checked_out == raw
    else:
        assert b"\r\n" in checked_out  # git really converted it: the reader is what makes it work
    parsed = parse(checked_out, str(rel))
    assert parsed.task == task
    assert parsed.body == body
    assert dump(parsed.task, parsed.body) == raw


# ------------------------------------------------------------------ limits, reported at their line
def test_deeply_nested_attribute_in_a_file_is_refused_at_its_line() -> None:
    fields = HEAD + "ok: 1\ndeep: " + "[" * 260 + "x" + "]" * 260 + "\n---\n"
    err = _err(fields)
    assert err.line == 8
    assert "'deep'" in err.reason and f"more than {MAX_ATTRIBUTE_DEPTH} levels" in err.reason
    assert "task_doc_write" in err.reason


def test_too_many_tags_in_a_file_is_refused_at_the_tags_line() -> None:
    tags = "".join(f"  - t{i}\n" for i in range(40_000))
    err = _err(HEAD.replace("description: x\n", "description: x\ntags:\n" + tags) + "---\n")
    assert err.line == 5
    assert "Too many tags: 40000" in err.reason and f"at most {MAX_TAGS}" in err.reason


def test_huge_integer_is_a_task_file_error() -> None:
    err = _err(HEAD + "big: " + "9" * 10_000 + "\n---\n")
    assert "invalid YAML" in err.reason


# ------------------------------------------------------------------ python-frontmatter
@pytest.mark.parametrize("value", ["a\n\n", "a\n\n\n", "\n", " a\n", "a\n ", "a \n", "x\r\n\n", "  \n\n"])
def test_last_attribute_with_trailing_blanks_round_trips(value: str) -> None:
    """The frontmatter handler strips the YAML it exports: nothing a trailing value needs may be lost."""
    task = _task(zzz_last=value)
    raw = dump(task, "body\n")
    parsed = parse(raw)
    assert parsed.task.extras["zzz_last"] == value
    assert dump(parsed.task, parsed.body) == raw


def test_blank_lines_after_the_closing_fence_belong_to_the_body() -> None:
    raw = dump(_task(), "\n\n# Spec\n")
    assert parse(raw).body == "\n\n# Spec\n"


def test_four_dashes_do_not_open_the_front_matter() -> None:
    err = _err(HEAD.replace("---", "----", 1) + "---\n")
    assert err.line == 1


def _imported_top_level_modules() -> set[str]:
    names: set[str] = set()
    for source in (ROOT / "backlog_git").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_every_declared_dependency_is_imported() -> None:
    """A dependency in pyproject.toml that no module imports is dead weight (or a forgotten feature)."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    module_to_dists = packages_distributions()
    imported_dists = {
        dist.lower().replace("_", "-")
        for module in _imported_top_level_modules()
        for dist in module_to_dists.get(module, [])
    }
    for requirement in declared:
        name = requirement.split(";")[0].split("[")[0]
        for stop in "<>=!~ ":
            name = name.split(stop)[0]
        if "sys_platform == 'linux'" in requirement and sys.platform != "linux":
            continue
        assert name.lower().replace("_", "-") in imported_dists, f"{name} is declared but never imported"
