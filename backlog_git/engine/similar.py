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
from collections.abc import Iterable, Mapping

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
        size = len(found)
        if not size:
            return []
        postings = self.postings
        rarest = sorted(found, key=lambda w: len(postings.get(w, ())))
        shared = math.ceil(threshold * size - 1e-9)
        candidates: set[str] = set()
        for word in rarest[: size - shared + 1]:
            candidates.update(postings.get(word, ()))
        # a set of m words is at least threshold-similar only if threshold·m ≤ size ≤ m/threshold
        smallest, largest = threshold * size, size / threshold
        sets = self.sets
        scored = []
        for uuid in candidates:
            other = sets[uuid]
            if not smallest <= len(other) <= largest:
                continue
            common = len(found & other)
            score = common / (size + len(other) - common)
            if score >= threshold:
                scored.append((score, uuid))
        return scored


def hint(index: WordIndex, tasks: Mapping[str, Task], task: Task) -> str:
    """`` Similar open tasks: 4 'Fix the login bug', … — check these are not the same work.`` (or "")."""
    scored = [(score, tasks[uuid]) for score, uuid in index.similar(words(task.description))
              if uuid != task.uuid and uuid in tasks]
    if not scored:
        return ""
    found = [other for _, other in heapq.nsmallest(MAX_HINTS, scored, key=lambda s: (-s[0], s[1].id))]
    named = ", ".join(f"{other.id} '{_quoted(other.description)}'" for other in found)
    return f" Similar open tasks: {named} — check these are not the same work."


def _quoted(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_QUOTED else line[: MAX_QUOTED - 1] + "…"
