"""Near-duplicate hints: the open tasks whose descriptions say nearly what a new task's says, named in
``task_add``'s message so that an agent notices before a queue fills with the same work twice.

Similarity is the Jaccard index of two descriptions' word sets (lower case, letters and digits, a
plural ``s`` dropped, a few filler words left out), at least :data:`THRESHOLD`. A check must stay cheap
at 10,000 tasks, so it never compares with every task: :class:`WordIndex` (word → open tasks) is built
on first use and then kept in step by every refresh of the view, and a check reads the postings of only
the new description's rarest words. That misses nothing: a set with Jaccard ≥ t against A shares at
least ⌈t·|A|⌉ of A's words, hence at least one of any |A| − ⌈t·|A|⌉ + 1 of them (prefix filtering).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Mapping

from ..model import Task

THRESHOLD = 0.6
MAX_HINTS = 3
MAX_QUOTED = 60
"""Characters of a similar task's description quoted in the hint."""
FILLER = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it", "of", "on", "or",
    "the", "this", "that", "to", "with",
})
"""Words too common to say what a task is about."""
_SEPARATORS = str.maketrans(
    {c: " " for c in [chr(n) for n in range(128) if not chr(n).isalnum()] + list("—–…‘’“”«»·•")}
)


def words(text: str) -> frozenset[str]:
    """The normalized word set of a description."""
    found = set()
    for word in text.lower().translate(_SEPARATORS).split():
        if word in FILLER:
            continue
        if len(word) > 3 and word[-1] == "s" and word[-2] != "s":
            word = word[:-1]  # "bugs" and "bug" are one word; "class" stays whole
        found.add(word)
    return frozenset(found)


class WordIndex:
    """The open (pending, waiting included) tasks' word sets, and for each word the tasks that use it."""

    __slots__ = ("postings", "sets")

    def __init__(self) -> None:
        self.sets: dict[str, frozenset[str]] = {}
        self.postings: dict[str, set[str]] = {}

    @classmethod
    def build(cls, tasks: Iterable[Task]) -> WordIndex:
        index = cls()
        index._add_open(tasks)  # nothing to forget yet: the one loop a cold build runs 10,000 times
        return index

    def put(self, task: Task) -> None:
        """Index ``task`` as it is now (a task no longer open is forgotten)."""
        self.discard(task.uuid)
        self._add_open((task,))

    def _add_open(self, tasks: Iterable[Task]) -> None:
        sets, postings = self.sets, self.postings
        for task in tasks:
            if task.status != "pending":
                continue
            uuid = task.uuid
            found = sets[uuid] = words(task.description)
            for word in found:
                users = postings.get(word)
                if users is None:
                    postings[word] = {uuid}
                else:
                    users.add(uuid)

    def discard(self, uuid: str) -> None:
        old = self.sets.pop(uuid, None)
        if old is None:
            return
        for word in old:
            users = self.postings.get(word)
            if users is not None:
                users.discard(uuid)
                if not users:
                    del self.postings[word]

    def similar(self, found: frozenset[str], threshold: float = THRESHOLD) -> list[tuple[float, str]]:
        """(similarity, uuid) of the open tasks at least ``threshold`` similar to the word set ``found``."""
        if not found:
            return []
        postings = self.postings
        rarest = sorted(found, key=lambda w: len(postings.get(w, ())))
        candidates: set[str] = set()
        for word in rarest[: _probe_size(found, threshold)]:
            candidates.update(postings.get(word, ()))
        sets = self.sets
        return [(score, uuid) for uuid in candidates if (score := _score(found, sets[uuid], threshold))]


def scan(tasks: Iterable[Task], found: frozenset[str], threshold: float = THRESHOLD) -> list[tuple[float, str]]:
    """``WordIndex.similar`` without an index, for a process that checks once (a one-shot ``add``): only
    the open tasks whose lower-cased description contains one of the probe words as text are split into
    words. The same prefix filter: every word of a description is a piece of its lower-cased text, and a
    similar set shares one of any ``_probe_size`` of ``found``'s words (the longest: rarer as text)."""
    if not found:
        return []
    probe = sorted(found, key=lambda w: (-len(w), w))[: _probe_size(found, threshold)]
    scored = []
    for task in tasks:
        if task.status != "pending":
            continue
        text = task.description.lower()
        if any(word in text for word in probe) and (score := _score(found, words(task.description), threshold)):
            scored.append((score, task.uuid))
    return scored


def _probe_size(found: frozenset[str], threshold: float) -> int:
    """How many of ``found``'s words a similar set must share one of: size − ⌈threshold·size⌉ + 1."""
    return len(found) - math.ceil(threshold * len(found) - 1e-9) + 1


def _score(found: frozenset[str], other: frozenset[str], threshold: float) -> float:
    """The Jaccard index of two word sets if at least ``threshold``, else 0."""
    size = len(found)
    # a set of m words is at least threshold-similar only if threshold·m ≤ size ≤ m/threshold
    if not threshold * size <= len(other) <= size / threshold:
        return 0.0
    common = len(found & other)
    score = common / (size + len(other) - common)
    return score if score >= threshold else 0.0


def hint(finder: Callable[[frozenset[str]], list[tuple[float, str]]], tasks: Mapping[str, Task], task: Task) -> str:
    """`` Similar open tasks: 4 'Fix the login bug', … — check these are not the same work.`` (or "");
    ``finder`` gives (similarity, uuid) of the open tasks similar to a word set."""
    scored = [(score, tasks[uuid]) for score, uuid in finder(words(task.description))
              if uuid != task.uuid and uuid in tasks]
    if not scored:
        return ""
    found = [other for _, other in heapq.nsmallest(MAX_HINTS, scored, key=lambda s: (-s[0], s[1].id))]
    named = ", ".join(f"{other.id} '{_quoted(other.description)}'" for other in found)
    return f" Similar open tasks: {named} — check these are not the same work."


def _quoted(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_QUOTED else line[: MAX_QUOTED - 1] + "…"
