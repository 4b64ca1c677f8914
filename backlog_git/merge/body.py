"""Rule 6: the body (the task's markdown spec), merged three ways by lines (diff3).

Hunks changed on one side take that side, identical changes are taken once, and a hunk both sides changed
differently keeps both versions between markers (``markers``). ``three_way_lines`` is the same merge on
plain line lists.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from .lines import _ended, split_lines
from .markers import CONFLICT_BEGIN, CONFLICT_END, _blocks, _is_marked_form_of, _version_marker
from .result import BODY, Conflict
from .sides import _Side


def three_way_lines(
    base: list[str],
    ours: list[str],
    theirs: list[str],
    *,
    ours_label: str = "ours",
    theirs_label: str = "theirs",
) -> tuple[list[str], bool]:
    """Three-way merge of line lists (lines keep their ``\\n``); returns (merged lines, clean).

    Clashing hunks keep both versions between ``<!-- merge ... -->`` marker lines (see the module docstring).
    """
    merged, clashes = _diff3(base, ours, theirs, ours_label, theirs_label)
    return merged, not clashes


def _merge_body(base: str, a: _Side, b: _Side) -> tuple[str, list[Conflict]]:
    if a.body == b.body or b.body == base:
        return a.body, []
    if a.body == base:
        return b.body, []
    merged, clashes = _diff3(split_lines(base), split_lines(a.body), split_lines(b.body), a.label, b.label)
    return "".join(merged), clashes


def _diff3(
    base: list[str], ours: list[str], theirs: list[str], ours_label: str, theirs_label: str
) -> tuple[list[str], list[Conflict]]:
    """The line merge. Conflict blocks from earlier merges are single tokens, so no diff cuts through one."""
    base_t, ours_t, theirs_t = _tokens(base), _tokens(ours), _tokens(theirs)
    merged: list[str] = []
    clashes: list[Conflict] = []
    b0 = o0 = t0 = 0
    for b1, o1, t1, size in _sync_regions(base_t, ours_t, theirs_t):
        chunk_base, chunk_ours, chunk_theirs = base_t[b0:b1], ours_t[o0:o1], theirs_t[t0:t1]
        if chunk_base or chunk_ours or chunk_theirs:
            lines, clash = _merge_chunk(chunk_base, chunk_ours, chunk_theirs, ours_label, theirs_label)
            merged += lines
            if clash is not None:
                clashes.append(clash)
        merged += _lines_of(base_t[b1 : b1 + size])
        b0, o0, t0 = b1 + size, o1 + size, t1 + size
    return merged, clashes


def _tokens(lines: list[str]) -> list[str]:
    """Lines, with each block this module writes (a conflict, a kept unreadable version) as one token."""
    blocks = _blocks(lines)
    if not blocks:
        return lines
    tokens: list[str] = []
    at = 0
    for block in blocks:
        tokens += lines[at : block.begin]
        tokens.append("".join(lines[block.begin : block.end]))
        at = block.end
    return tokens + lines[at:]


def _lines_of(tokens: list[str]) -> list[str]:
    if all(token.count("\n") <= 1 for token in tokens):
        return tokens
    return split_lines("".join(tokens))


def _sync_regions(base: list[str], ours: list[str], theirs: list[str]) -> list[tuple[int, int, int, int]]:
    """Base ranges left unchanged by both sides, as (base start, ours start, theirs start, length).

    Ends with a zero-length region at the three ends, so every change lies before some region.
    """
    ours_blocks = SequenceMatcher(None, base, ours, autojunk=False).get_matching_blocks()
    theirs_blocks = SequenceMatcher(None, base, theirs, autojunk=False).get_matching_blocks()
    regions: list[tuple[int, int, int, int]] = []
    i = j = 0
    while i < len(ours_blocks) and j < len(theirs_blocks):
        ob, oo, on = ours_blocks[i]
        tb, tt, tn = theirs_blocks[j]
        start, end = max(ob, tb), min(ob + on, tb + tn)
        if start < end:
            regions.append((start, oo + start - ob, tt + start - tb, end - start))
        if ob + on < tb + tn:
            i += 1
        else:
            j += 1
    regions.append((len(base), len(ours), len(theirs), 0))
    return regions


def _merge_chunk(
    base: list[str], ours: list[str], theirs: list[str], ours_label: str, theirs_label: str
) -> tuple[list[str], Conflict | None]:
    """One changed region (as tokens): one-sided or identical changes, a re-merge of a block, or a clash."""
    if ours == theirs or theirs == base:
        return _lines_of(ours), None
    if ours == base:
        return _lines_of(theirs), None
    ours_lines, theirs_lines = _lines_of(ours), _lines_of(theirs)
    if _is_marked_form_of(ours_lines, theirs_lines):
        return ours_lines, None
    if _is_marked_form_of(theirs_lines, ours_lines):
        return theirs_lines, None
    if not base and _is_inside(ours_lines, theirs_lines):
        return theirs_lines, None
    if not base and _is_inside(theirs_lines, ours_lines):
        return ours_lines, None
    return _clash(ours_lines, theirs_lines, ours_label, theirs_label)


def _is_inside(short: list[str], long: list[str]) -> bool:
    """True if ``long`` is ``short`` with lines added before and/or after it (final newline aside)."""
    short = _ended(short)
    head = _common_prefix(short, long)
    return head + _common_prefix(short[head:][::-1], long[head:][::-1]) >= len(short)


def _clash(
    ours: list[str], theirs: list[str], ours_label: str, theirs_label: str
) -> tuple[list[str], Conflict]:
    """Both versions of a hunk, between markers, ordered by text; common edges stay outside the markers."""
    head = _common_prefix(ours, theirs)
    tail = _common_prefix(ours[head:][::-1], theirs[head:][::-1])
    inner_ours = _ended(ours[head : len(ours) - tail])
    inner_theirs = _ended(theirs[head : len(theirs) - tail])
    versions = sorted([(inner_ours, ours_label), (inner_theirs, theirs_label)])
    (first, first_label), (second, second_label) = versions
    block = [
        CONFLICT_BEGIN,
        _version_marker(first_label),
        *first,
        _version_marker(second_label),
        *second,
        CONFLICT_END,
    ]
    lines = ours[:head] + block + ours[len(ours) - tail :]
    conflict = Conflict(BODY, "".join(first), "".join(second), first_label, second_label)
    return lines, conflict


def _common_prefix(left: list[str], right: list[str]) -> int:
    count = 0
    for x, y in zip(left, right, strict=False):
        if x != y:
            break
        count += 1
    return count
