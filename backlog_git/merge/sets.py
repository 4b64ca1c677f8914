"""Rules 4 and 5: the list fields (``tags``, ``depends``) and the annotations, merged as sets.

A list whose membership only one side changed is kept as it is; otherwise a three-way set merge in which a
removal wins over keeping and no addition is lost. Conflict notes are added here without repeating a loss
the task already records, so re-merging adds nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..model import Annotation


def _merge_set(base: list[str], ours: list[str], theirs: list[str], extra: tuple[str, ...] = ()) -> list[str]:
    """Rule 4: one-sided change → that list; else base order minus removals, then sorted additions.

    ``extra`` items must be in the result; if they are not already, they count as additions.
    """
    result = _one_sided(base, ours, theirs)
    if result is not None and all(item in result for item in extra):
        return result
    ours_set, theirs_set, base_set = set(ours), set(theirs), set(base)
    kept = [item for item in base if item in ours_set and item in theirs_set and item not in extra]
    return kept + sorted(((ours_set | theirs_set) - base_set) | set(extra))


def _one_sided(base: list[Any], ours: list[Any], theirs: list[Any]) -> list[Any] | None:
    """The list to keep as it is, or None when both sides changed the membership (then merge the sets).

    Membership changed on one side only: that side's list. Neither changed it: a side that reordered its list
    wins; two different orders: the larger list, item by item (never the base's order, which would undo both
    edits and then read as "unchanged" when merged again).
    """
    if ours == theirs:
        return ours
    base_set = set(base)
    ours_changed, theirs_changed = set(ours) != base_set, set(theirs) != base_set
    if ours_changed or theirs_changed:
        return None if ours_changed and theirs_changed else (ours if ours_changed else theirs)
    if ours == base or theirs == base:
        return theirs if ours == base else ours
    return max(ours, theirs)


def _merge_annotations(base: list[Annotation], ours: list[Annotation], theirs: list[Annotation]) -> list[Any]:
    """Rule 5: one-sided change → that list; else a three-way set merge by (entry, description), sorted."""
    base_keys, ours_keys, theirs_keys = (
        _annotation_keys(base),
        _annotation_keys(ours),
        _annotation_keys(theirs),
    )
    result = _one_sided(base_keys, ours_keys, theirs_keys)
    if result is None:
        before, mine, other = set(base_keys), set(ours_keys), set(theirs_keys)
        result = sorted((before & mine & other) | (mine - before) | (other - before))
    return [Annotation(entry=entry, description=text) for entry, text in result]


def _annotation_keys(annotations: list[Annotation]) -> list[tuple[datetime, str]]:
    return [(annotation.entry, annotation.description) for annotation in annotations]


def _add_annotations(annotations: list[Annotation], notes: list[tuple[str, Annotation]]) -> list[Annotation]:
    """Add conflict notes, but not a loss already on the task (field, value, loser): re-merging adds none."""
    new = [
        note
        for prefix, note in notes
        if not any(existing.description.startswith(prefix) for existing in annotations)
    ]
    if not new:
        return annotations
    keys = set(_annotation_keys(annotations)) | set(_annotation_keys(new))
    return [Annotation(entry=entry, description=text) for entry, text in sorted(keys)]
