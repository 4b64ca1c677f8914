"""The on-disk format: one task <-> one markdown file with YAML front-matter.

    ---
    uuid: 0f8fad5b-d9cb-469f-a165-70867728950e
    id: 12
    description: Fix login redirect
    status: pending
    tags:
      - bug
    entry: 2026-11-24T08:00:00Z
    modified: 2026-11-24T08:00:00Z
    ---
    The body is the task's doc (spec), kept byte for byte.

Output is deterministic: a fixed key order, one field per line, block lists, no wrapping, so
loading and saving an unchanged task gives the same bytes and one changed field is one changed
line. YAML is read with a safe loader (no object construction) that reads only ``true``/``false``
as booleans, so a hand-written ``project: no`` stays the text "no". Anchors and aliases
(``&name``/``*name``) are refused before anything is built: the writer never emits them, and a
handful of aliased lines can stand for billions of values. A file checked out with CRLF line endings
(``core.autocrlf=true``) reads as the same task and body as its LF original.

Splitting, loading and exporting go through python-frontmatter's handler layer
(``frontmatter.default_handlers.YAMLHandler``) with the store's fence, loader and dumper plugged in;
its top-level ``frontmatter.loads``/``dumps`` are not used (they strip the body), nor are the
handler's defaults (its fence pattern also takes ``----`` and swallows blank lines after the closing
``---``, its loader reads ``no`` as false).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler
from pydantic import ValidationError

from .model import Task, format_timestamp

FIELD_ORDER = (
    "uuid", "id", "description", "status", "project", "priority", "tags", "due", "wait",
    "scheduled", "recur", "until", "depends", "parent", "agent", "lease", "start", "end", "entry",
    "modified", "annotations",
)
_FIELD_RANK = {name: rank for rank, name in enumerate(FIELD_ORDER)}
FENCE = "---\n"

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):
    """Safe loader with YAML 1.2-like scalars: no yes/no booleans, no implicit timestamps."""


_Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", list("-+0123456789")),
    ("tag:yaml.org,2002:float", r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$", list("-+0123456789.")),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), _first)


class _Dumper(yaml.SafeDumper):
    """Block lists indented under their key; multi-line text as literal blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        # Never `&id001` / `*id001`: two fields holding the same object (end = modified = now) are
        # written out in full, one value per line.
        return True


def _construct_decimal_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    # YAML 1.2 core: `[-+]?[0-9]+` is decimal (a hand-written `id: 08` is 8, not broken octal).
    return int(str(loader.construct_scalar(node)), 10)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_decimal_int)

# Characters YAML treats as line breaks: in a plain or literal scalar they would be normalised away.
_LINE_BREAKS = ("\r", "\x85", "\u2028", "\u2029")


def _read_as_non_text(value: str) -> bool:
    """Would our loader resolve this plain scalar to something other than text (int, bool, null...)?"""
    resolvers = _Loader.yaml_implicit_resolvers.get(value[:1] if value else "", [])
    return any(pattern.match(value) for _tag, pattern in resolvers)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style: str | None = None
    if any(ch in value for ch in _LINE_BREAKS):
        style = '"'
    elif "\n" in value and not value.endswith((" ", "\t")):
        style = "|"
    elif _read_as_non_text(value):
        style = "'"
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_datetime(dumper: yaml.SafeDumper, value: datetime) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", format_timestamp(value))


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(datetime, _represent_datetime)


class _TaskFrontMatter(YAMLHandler):
    """python-frontmatter's YAML handler with the store's fence, safe loader and deterministic dumper.

    The fence is exactly ``---`` (trailing blanks allowed) and consumes its own line break only, so
    the body after it is kept byte for byte.
    """

    FM_BOUNDARY = re.compile(r"^---[ \t]*(?:\n|\Z)", re.MULTILINE)
    START_DELIMITER = END_DELIMITER = "---"

    def load(self, fm: str, **kwargs: object) -> Any:
        kwargs.setdefault("Loader", _Loader)
        return super().load(fm, **kwargs)

    def export(self, metadata: dict[str, object], **kwargs: object) -> str:
        kwargs.setdefault("Dumper", _Dumper)
        kwargs.setdefault("sort_keys", False)
        kwargs.setdefault("width", 2**31 - 1)
        kwargs.setdefault("indent", 2)
        # The handler strips the YAML it exports; our dumper never starts or ends a document with
        # blanks that matter (a kept trailing newline gets an explicit `...` end line), so only the
        # final line break is restored.
        return super().export(metadata, **kwargs) + "\n"


_HANDLER = _TaskFrontMatter()


class TaskFileError(ValueError):
    """A task file that does not parse or validate: where it is, which line, and why."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}:{line}" if line else path
        super().__init__(
            f"{where}: {reason} (fix the file by hand, or restore it with `git checkout -- {path}`)"
        )


@dataclass(frozen=True, slots=True)
class TaskFile:
    """A parsed task file: the task and its body (the doc)."""

    task: Task
    body: str


_CRLF_FENCE = re.compile(r"---[ \t]*\r\n")


def split(text: str, path: str = "<task>") -> tuple[str, str, int]:
    """Split file text into (front-matter YAML, body, line number where the YAML starts).

    A file whose opening fence ends in CRLF was checked out with ``core.autocrlf=true`` (git converts
    a file only when it has no CR at all, and the store always writes ``---\\n``) or saved by a
    CRLF editor: its CRLFs are read as LFs, so it parses to the task and body of its LF original.
    """
    if not text.startswith("---"):
        raise TaskFileError(path, 1, "the file must start with a '---' line opening the YAML front-matter")
    if _CRLF_FENCE.match(text):
        text = text.replace("\r\n", "\n")
    if not _HANDLER.detect(text):
        raise TaskFileError(path, 1, "the first line must be exactly '---'")
    try:
        yaml_text, body = _HANDLER.split(text)
    except ValueError:
        raise TaskFileError(
            path, None, "the front-matter is never closed: add a '---' line after the fields"
        ) from None
    return yaml_text, body, 2


def _line_of_key(yaml_text: str, key: str, first_line: int) -> int | None:
    match = re.search(rf"^{re.escape(key)}\s*:", yaml_text, re.MULTILINE)
    if match is None:
        return None
    return first_line + yaml_text.count("\n", 0, match.start())


def _refuse_anchors(yaml_text: str, path: str, first_line: int) -> None:
    """Raise at the first YAML anchor or alias, reading parser events only (nothing is expanded)."""
    if "&" not in yaml_text and "*" not in yaml_text:
        return  # neither can occur without its indicator character
    for event in yaml.parse(yaml_text, Loader=_Loader):
        anchor = getattr(event, "anchor", None)
        if anchor is None:
            continue
        what = f"YAML alias '*{anchor}'" if isinstance(event, yaml.AliasEvent) else f"YAML anchor '&{anchor}'"
        mark = event.start_mark
        raise TaskFileError(
            path,
            first_line + mark.line if mark is not None else None,
            f"{what} is not allowed in a task file: write the value out in full "
            "(anchors and aliases can expand to billions of values)",
        )


def load_fields(yaml_text: str, path: str, first_line: int = 2) -> dict[str, Any]:
    try:
        _refuse_anchors(yaml_text, path, first_line)
        data = _HANDLER.load(yaml_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = first_line + mark.line if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise TaskFileError(path, line, f"invalid YAML: {problem}") from None
    except RecursionError:
        raise TaskFileError(path, None, "invalid YAML: values are nested too deeply") from None
    except TaskFileError:
        raise
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise TaskFileError(path, None, f"invalid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise TaskFileError(path, first_line, "the front-matter must be a mapping of 'field: value' lines")
    return data


GIT_MARKER_RE = re.compile(r"^(<{7}|\|{7}|={7}|>{7})(?: [^\n]*)?$", re.MULTILINE)
"""A line git writes around the two versions of a conflicting hunk when it merges a file as text."""


def _refuse_conflict_markers(yaml_text: str, path: str, first_line: int) -> None:
    """A text merge committed unfinished: name the first marker line and say how to finish the merge
    (no YAML mapping can hold such a line, so this only explains a file that would not parse anyway)."""
    match = GIT_MARKER_RE.search(yaml_text)
    if match is None:
        return
    line = first_line + yaml_text.count("\n", 0, match.start())
    marker = match.group(0).rstrip("\r")
    shown = marker if len(marker) <= 60 else marker[:60] + "..."
    raise TaskFileError(
        path,
        line,
        f"git conflict marker {shown!r}: a text merge of this task was committed unfinished; keep one "
        "version of each conflicting part (or combine them) and delete the '<<<<<<<', '=======' and "
        "'>>>>>>>' lines (with the backlog merge driver registered, `backlog-git install`, a git merge "
        "merges task files field by field and reads such a file back into both of its versions)",
    )


def parse(data: bytes | str, path: str = "<task>") -> TaskFile:
    """Parse file bytes into a TaskFile, or raise TaskFileError naming the path, line and reason."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TaskFileError(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    else:
        text = data
    yaml_text, body, first_line = split(text, path)
    _refuse_conflict_markers(yaml_text, path, first_line)
    fields = load_fields(yaml_text, path, first_line)
    for key in fields:
        if not isinstance(key, str):
            raise TaskFileError(path, first_line, f"field names must be text, got {key!r}")
    try:
        task = Task.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        message = error["msg"].removeprefix("Value error, ")
        attribute = (error.get("ctx") or {}).get("attribute")
        line: int | None
        if error["type"] == "missing":
            message = f"required field '{field}' is missing"
            line = first_line
        elif attribute is not None:  # a user-defined attribute the model refused (it names it)
            line = _line_of_key(yaml_text, str(attribute), first_line) or first_line
        else:
            message = f"field '{field}': {message}"
            line = _line_of_key(yaml_text, field, first_line) if field else first_line
        raise TaskFileError(path, line, message) from None
    return TaskFile(task, body)


def ordered_fields(task: Task) -> dict[str, Any]:
    """The task's fields in file order: known fields first, then extras sorted by name."""
    data = task.model_dump(exclude_none=True)
    data.update(task.extras)
    for key in ("tags", "depends", "annotations"):
        if not data.get(key):
            data.pop(key, None)
    if "annotations" in data:
        data["annotations"] = [
            {"entry": a.entry, "description": a.description} for a in task.annotations
        ]
    return dict(sorted(data.items(), key=lambda kv: (_FIELD_RANK.get(kv[0], len(FIELD_ORDER)), kv[0])))


def dump(task: Task, body: str = "") -> bytes:
    """Serialise a task deterministically to file bytes."""
    fields_yaml = _HANDLER.export(ordered_fields(task))
    return (FENCE + fields_yaml + FENCE + body).encode("utf-8")
