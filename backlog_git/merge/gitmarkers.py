"""Rule 8's first half: reading the two versions back out of a file holding git conflict markers.

A text merge committed unfinished (``<<<<<<<``/``=======``/``>>>>>>>``) stands for two versions, and with
``merge.conflictStyle=diff3`` their base. This module only reads them out (``text_merge_versions``, also
used by ``check``); merging them again is ``files._read_back``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .lines import _ended, split_lines

_GIT_OURS_RE = re.compile(r"^<{7}(?: (.*?))?\r?\n?$")
_GIT_BASE_RE = re.compile(r"^\|{7}(?: .*)?\r?\n?$")
_GIT_SPLIT_RE = re.compile(r"^={7}\r?\n?$")
_GIT_THEIRS_RE = re.compile(r"^>{7}(?: (.*?))?\r?\n?$")
_MD_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_GIT_OURS, _GIT_BASE, _GIT_THEIRS = 0, 1, 2


@dataclass(frozen=True)
class TextMerge:
    """The versions a file with git conflict markers stands for: the lines outside the marked hunks
    with the first, or the second, part of every hunk; the base only when every hunk carries one
    (``merge.conflictStyle=diff3``). Labels are the markers' (``HEAD``, a branch, a commit)."""

    ours: bytes
    theirs: bytes
    base: bytes | None
    ours_label: str | None
    theirs_label: str | None
    first_line: int
    """The line number of the first ``<<<<<<<`` marker."""


def text_merge_versions(data: bytes) -> TextMerge | None:
    """Read the versions back out of a file holding git conflict markers; None when it holds no
    complete marked hunk outside fenced code (a doc may show markers in a code block), or an
    unfinished one (a ``<<<<<<<`` without its ``=======`` and ``>>>>>>>``)."""
    if b"<<<<<<<" not in data:
        return None
    try:
        lines = split_lines(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    parts: tuple[list[str], list[str], list[str]] = ([], [], [])
    labels: tuple[str | None, str | None] | None = None
    first_line = 0
    every_hunk_has_base = True
    fence: str | None = None
    index = 0
    while index < len(lines):
        opening = _GIT_OURS_RE.match(lines[index]) if fence is None else None
        if opening is None:
            fence = _fence_after(fence, lines[index])
            for part in parts:
                part.append(lines[index])
            index += 1
            continue
        hunk = _marked_hunk(lines, index)
        if hunk is None:
            return None
        if labels is None:
            labels, first_line = (opening.group(1) or None, hunk[0][3] or None), index + 1
        (ours, base, theirs, _closing), index = hunk
        every_hunk_has_base = every_hunk_has_base and base is not None
        parts[_GIT_OURS].extend(ours)
        parts[_GIT_BASE].extend(base or [])
        parts[_GIT_THEIRS].extend(theirs)
    if labels is None:
        return None
    ours_text, base_text, theirs_text = ("".join(part).encode("utf-8") for part in parts)
    return TextMerge(
        ours_text, theirs_text, base_text if every_hunk_has_base else None, *labels, first_line=first_line
    )


_Hunk = tuple[list[str], "list[str] | None", list[str], "str | None"]


def _marked_hunk(lines: list[str], begin: int) -> tuple[_Hunk, int] | None:
    """The hunk opened at ``begin``: (ours, base or None, theirs, closing label), and the line after it."""
    sections: list[list[str]] = [[]]
    kinds = ["ours"]
    for index in range(begin + 1, len(lines)):
        line = lines[index]
        if _GIT_OURS_RE.match(line):
            return None  # nested or unfinished: not something git wrote
        if kinds[-1] == "ours" and _GIT_BASE_RE.match(line):
            sections.append([])
            kinds.append("base")
        elif kinds[-1] in ("ours", "base") and _GIT_SPLIT_RE.match(line):
            sections.append([])
            kinds.append("theirs")
        elif kinds[-1] == "theirs" and (closing := _GIT_THEIRS_RE.match(line)) is not None:
            base = sections[1] if kinds[1] == "base" else None
            return (_ended(sections[0]), _ended(base) if base is not None else None, _ended(sections[-1]),
                    closing.group(1)), index + 1
        else:
            sections[-1].append(line)
    return None


def _fence_after(fence: str | None, line: str) -> str | None:
    """Markdown fenced code: the open fence after ``line`` (None outside fenced code)."""
    match = _MD_FENCE_RE.match(line)
    if fence is None:
        return match.group(1) if match else None
    stripped = line.strip()
    if match and stripped == match.group(1) and stripped[0] == fence[0] and len(stripped) >= len(fence):
        return None
    return fence
