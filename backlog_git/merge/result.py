"""What a merge hands back: the conflicts it found (informational) and the merged bytes, or a failure.

Shared by every part of the merge, so it holds only data: the ``merge-conflict`` tag and the ``field`` names
of a body clash and an unreadable side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CONFLICT_TAG = "merge-conflict"
BODY = "body"
FILE = "file"


@dataclass(frozen=True)
class Conflict:
    """A value both sides changed differently (or a body hunk, an unreadable side): what was kept, what not.

    For ``field == "body"`` both texts are kept in the body, ``kept`` being the one placed first.
    For ``field == "file"`` ``other`` is the raw text of a side that does not parse and ``note`` says why.
    """

    field: str
    kept: Any
    other: Any
    kept_label: str
    other_label: str
    note: str = ""


@dataclass(frozen=True)
class MergeResult:
    """The merged file. ``failed``: neither side parses, or (a bug) the output would not; ``data`` is then
    ``ours`` unchanged and ``errors`` says why, so a git driver exits non-zero and git reports a conflict."""

    data: bytes
    conflicts: list[Conflict] = field(default_factory=list)
    failed: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.failed and not self.conflicts
