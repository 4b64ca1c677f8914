"""The blocks this merge writes into a body, and finding them again (rules 6 and 7).

A clash keeps both versions between HTML comment markers; an unreadable side's raw text is kept in a fenced
block after a note. Recognising those blocks lets the body merge treat each as one token and lets a
re-merge with one of the inputs keep the result (``_is_marked_form_of``).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from .lines import _ended, split_lines

CONFLICT_BEGIN = "<!-- merge conflict: both versions are kept below; keep one and delete the rest -->\n"
CONFLICT_END = "<!-- merge: end of conflict -->\n"
_VERSION_PREFIX = "<!-- merge: version from "
_VERSION_RE = re.compile(r"^<!-- merge: version from .* -->\n?$")


def _version_marker(label: str) -> str:
    return f"{_VERSION_PREFIX}{_marker_text(label)} -->\n"


def _marker_text(text: str) -> str:
    """Text safe inside an HTML comment on one line: no newlines, no ``--``."""
    flat = " ".join(text.split())
    return re.sub(r"-{2,}", "-", flat).replace(">", "›")


def _raw_block(raw: str, label: str, reason: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", raw)), default=0)
    fence = "`" * max(3, longest + 1)
    text = raw if raw.endswith("\n") or not raw else raw + "\n"
    note = f"<!-- merge: the version from {_marker_text(label)} could not be read ({_marker_text(reason)}); "
    note += "its raw text is kept below -->\n"
    return f"{note}{fence}text\n{text}{fence}\n"


def _append_block(body: str, block: str) -> str:
    return body + block if not body or body.endswith("\n") else body + "\n" + block


_MAX_BLOCKS_TRIED = 6
_RAW_NOTE_RE = re.compile(r"^<!-- merge: the version from .* could not be read .*-->\n$")
_RAW_FENCE_RE = re.compile(r"^(`{3,})text\n$")


@dataclass(frozen=True)
class _Block:
    """Lines ``begin:end`` written by this module, and what they stand for: each choice is a (start, stop)
    range of lines inside the block (a conflict's two versions), or empty (a kept unreadable version)."""

    begin: int
    end: int
    choices: tuple[tuple[int, int], ...]


def _is_marked_form_of(marked: list[str], plain: list[str]) -> bool:
    """True if ``marked`` is ``plain`` plus blocks this module wrote (conflicts holding its hunks, unreadable
    versions): merging a result again with one of its inputs then keeps the result."""
    if CONFLICT_BEGIN not in marked and not any(_RAW_NOTE_RE.match(line) for line in marked):
        return False
    blocks = _blocks(marked)
    if not blocks or len(blocks) > _MAX_BLOCKS_TRIED:
        return False
    target = _ended(plain)
    for choice in itertools.product(*(block.choices for block in blocks)):
        candidate: list[str] = []
        at = 0
        for block, (start, stop) in zip(blocks, choice, strict=True):
            candidate += marked[at : block.begin] + marked[start:stop]
            at = block.end
        candidate += marked[at:]
        if _ended(candidate) == target:
            return True
    return False


def _has_blocks(body: str) -> bool:
    return "<!-- merge" in body and bool(_blocks(split_lines(body)))


def _blocks(lines: list[str]) -> list[_Block]:
    """The complete top-level blocks this module wrote, in order."""
    blocks: list[_Block] = []
    index = 0
    while index < len(lines):
        block = _conflict_block_at(lines, index) or _raw_block_at(lines, index)
        if block is None:
            index += 1
        else:
            blocks.append(block)
            index = block.end
    return blocks


def _conflict_block_at(lines: list[str], begin: int) -> _Block | None:
    if lines[begin] != CONFLICT_BEGIN:
        return None
    markers: list[int] = []
    depth = 0
    for index in range(begin + 1, len(lines)):
        line = lines[index]
        if line == CONFLICT_BEGIN:
            depth += 1
        elif line == CONFLICT_END and depth:
            depth -= 1
        elif line == CONFLICT_END:
            if len(markers) != 2:
                return None
            first, second = markers
            return _Block(begin, index + 1, ((first + 1, second), (second + 1, index)))
        elif not depth and len(markers) < 2 and _VERSION_RE.match(line):
            markers.append(index)
    return None


def _raw_block_at(lines: list[str], begin: int) -> _Block | None:
    if not _RAW_NOTE_RE.match(lines[begin]) or begin + 1 >= len(lines):
        return None
    fence = _RAW_FENCE_RE.match(lines[begin + 1])
    if fence is None:
        return None
    closing = fence.group(1) + "\n"
    for index in range(begin + 2, len(lines)):
        if lines[index] == closing:
            return _Block(begin, index + 1, ((begin, begin),))
    return None
