"""Text as lines that keep their ``\\n``: the unit of the body merge, the marker blocks and the git read-back."""

from __future__ import annotations


def split_lines(text: str) -> list[str]:
    """Split text into lines that keep their ``\\n`` (only ``\\n`` separates lines); joins back exactly."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _ended(lines: list[str]) -> list[str]:
    """Lines for inside a marker block: the last one gets its missing ``\\n`` so the marker stays a line."""
    if lines and not lines[-1].endswith("\n"):
        return [*lines[:-1], lines[-1] + "\n"]
    return lines
