"""Commit messages as the store writes and reads them: ``CommitInfo``, the subject-and-trailers format
(``Backlog-Op: …``) and its parser."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pygit2

TRAILER_PREFIX = "Backlog-"


@dataclass(frozen=True)
class CommitInfo:
    """A commit as the store reads it: identity, time, message and its Backlog trailers."""

    sha: str
    parents: tuple[str, ...]
    time: datetime
    subject: str
    message: str

    @functools.cached_property
    def trailers(self) -> dict[str, list[str]]:
        return parse_trailers(self.message)

    def trailer(self, key: str) -> str | None:
        """The last value of one trailer (found with a regex: an import's message can hold
        thousands of Backlog-Task lines, and the log walk asks every commit for its writer)."""
        block = self.message.rstrip().rsplit("\n\n", 1)[-1]
        values = _trailer_re(key).findall(block)
        return values[-1].strip() if values else None


@functools.lru_cache(maxsize=32)
def _trailer_re(key: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(key)}: (.*)$", re.MULTILINE)


def format_message(subject: str, trailers: list[tuple[str, str]]) -> str:
    lines = [subject.replace("\n", " ").strip(), ""]
    lines += [f"{key}: {value}" for key, value in trailers]
    return "\n".join(lines) + "\n"


def parse_trailers(message: str) -> dict[str, list[str]]:
    """Trailers of the message's last paragraph (``Key: value`` lines)."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return {}
    found: dict[str, list[str]] = {}
    for line in paragraphs[-1].splitlines():
        key, sep, value = line.partition(": ")
        if sep and key and " " not in key:
            found.setdefault(key, []).append(value.strip())
    return found


def _commit_info(commit: pygit2.Commit) -> CommitInfo:
    message = commit.message
    return CommitInfo(
        sha=str(commit.id),
        parents=tuple(str(p) for p in commit.parent_ids),
        time=datetime.fromtimestamp(commit.commit_time, UTC),
        subject=message.split("\n", 1)[0],
        message=message,
    )
