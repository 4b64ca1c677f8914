"""Many writers, one truth: agent branches seen merged by every read, and integrated by sync.

Each agent writes commits on ``backlog/<agent-id>``. A read overlays, on the working tree, every
agent branch's changes since its merge base with the checked-out branch, merged field by field
with :mod:`backlog_git.merge` (the same function the git merge driver runs). The per-branch diffs
are cached by (checked-out tip, branch tip) and each merged file by the three inputs, so an
unchanged set of tips costs one ref listing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .gitstore import GitStore, Oid
from .layout import AGENT_PREFIX, COUNTER_NAME, is_active_task
from .merge import merge_file
from .view import Entry, WorkingView, parse_entry

_OWN_STEPS = 256
"""First-parent steps a moved tip may be from the tip last merged and still be merged incrementally
(a writer that took the lock many times in a row); further, or off that line, recomputes everything."""


@dataclass
class _BranchDiff:
    key: tuple[Any, Any]
    tip: Oid
    changes: list[tuple[str, Oid | None, Oid | None]] = field(default_factory=list)
    unmerged: bool = False
    """The branch has commits the checked-out branch lacks (even when they change nothing in net:
    an agent that undid what it had merged from another agent must still take part)."""


class AgentOverlay:
    """The agent branches' changes to one directory, merged over the working tree's contents."""

    def __init__(self, git: GitStore, prefix: str) -> None:
        self.git = git
        self.prefix = prefix
        self._diffs: dict[str, _BranchDiff] = {}
        self._memo: dict[tuple[Any, ...], tuple[bytes | None, str]] = {}
        self._pairs: dict[tuple[Any, ...], Any] = {}
        self._last: tuple[Any, dict[str, Oid], dict[str, bytes | None]] | None = None
        self.pending: dict[str, Oid] = {}
        """Agent branches with operations the checked-out branch does not have, by name."""
        self.counter: bytes | None = None
        self.changed: set[str] | None = None
        """The paths the last ``merged`` call merged anew (None: it recomputed every path)."""

    def pending_branches(self) -> dict[str, Oid]:
        """Agent branches with commits the checked-out branch does not have yet."""
        head = self.git.head_oid()
        return {
            name: tip
            for name, tip in sorted(self.git.branch_tips(AGENT_PREFIX).items())
            if not self.git.is_ancestor(tip, head)
        }

    def tips_key(self) -> tuple[Any, ...]:
        """What the overlay depends on in git: the checked-out tip and every agent branch tip."""
        return (self.git.head_oid(), tuple(sorted(self.git.branch_tips(AGENT_PREFIX).items())))

    def diffs(self) -> dict[str, _BranchDiff]:
        head = self.git.head_oid()
        tips = self.git.branch_tips(AGENT_PREFIX)
        for name in list(self._diffs):
            if name not in tips:
                del self._diffs[name]
        for name, tip in tips.items():
            key = (head, tip)
            cached = self._diffs.get(name)
            if cached is not None and cached.key == key:
                continue
            base = self.git.merge_base(head, tip) if head is not None else None
            changes = [] if base == tip else self.git.tree_diff(base, tip, self.prefix)
            self._diffs[name] = _BranchDiff(key, tip, changes, unmerged=base != tip)
        return {name: self._diffs[name] for name in sorted(self._diffs)}

    def merged(
        self, current: Mapping[str, bytes | None], working_changed: set[str] | None = None
    ) -> dict[str, bytes | None]:
        """Every path some agent branch changed, merged over ``current`` (path → bytes or None).

        Usually one or a few agents made one operation since the last call: their new tips are
        children of the old ones, so only those commits' changes are merged into the previous
        result. Anything else (a new or vanished branch, a moved checked-out tip, a working-tree
        change under a merged path) recomputes everything."""
        head = self.git.head_oid()
        tips = self.git.branch_tips(AGENT_PREFIX)
        self.changed = set()
        result = self._incremental(head, tips, current, working_changed or set())
        if result is None:
            self.changed = None
            result = self._full(current)
            self.pending = {name: d.tip for name, d in self.diffs().items() if d.unmerged}
        self._last = (head, dict(tips), result)
        return dict(result)

    def _incremental(
        self, head: Any, tips: Mapping[str, Oid], current: Mapping[str, bytes | None], working: set[str]
    ) -> dict[str, bytes | None] | None:
        if self._last is None:
            return None
        last_head, last_tips, last_result = self._last
        if last_head != head or set(last_tips) - set(tips) or working & set(last_result):
            return None
        steps = []
        for name, tip in sorted(tips.items()):
            old = last_tips.get(name)
            if old == tip:
                continue
            own = None if old is None else self.git.own_steps(old, tip, limit=_OWN_STEPS)
            if own is None:
                return None
            steps.append((name, tip, own))
        result = dict(last_result)
        for name, tip, own in steps:
            for parent, commit in own:
                for path, old_oid, new_oid in self.git.tree_diff(parent, commit, self.prefix):
                    ours = result[path] if path in result else current.get(path)
                    result[path], _ = self._merge_cached(path, old_oid, ours, new_oid, "merged view", name)
                    if self.changed is not None:
                        self.changed.add(path)
            self.pending[name] = tip
        return result

    def _full(self, current: Mapping[str, bytes | None]) -> dict[str, bytes | None]:
        """Every path some agent branch changed, merged over ``current``, from scratch.

        Where several branches changed a path, they are folded in ancestry order, and each later one
        is merged against the path's version at its merge base with the previous contributor (an
        agent that edited another agent's task has that agent's tip among its ancestors), so no
        branch is merged against a stale base."""
        diffs = self.diffs()
        by_path: dict[str, list[tuple[str, Oid | None, Oid | None]]] = {}
        for name, diff in diffs.items():
            for path, base_oid, tip_oid in diff.changes:
                by_path.setdefault(path, []).append((name, base_oid, tip_oid))
        pending = [name for name, diff in diffs.items() if diff.unmerged]
        result: dict[str, bytes | None] = {}
        for path, contributions in by_path.items():
            # A branch that did not change the path since its fork may still have undone another
            # branch's change it had merged: it takes part with its own version (base = tip).
            present = {name for name, _, _ in contributions}
            for name in pending:
                if name not in present:
                    blob = self.git.blob_id_at(diffs[name].tip, path)
                    contributions.append((name, blob, blob))
            acc = current.get(path)
            label = "checked-out branch"
            previous: str | None = None
            for name, base_oid, tip_oid in self._in_ancestry_order(contributions, diffs):
                if previous is not None:
                    base_oid = self._blob_at_merge_base(path, diffs[previous].tip, diffs[name].tip)
                acc, label = self._merge_cached(path, base_oid, acc, tip_oid, label, name)
                previous = name
            result[path] = acc
        return result

    def _in_ancestry_order(
        self, contributions: list[tuple[str, Any, Any]], diffs: Mapping[str, _BranchDiff]
    ) -> list[tuple[str, Any, Any]]:
        if len(contributions) == 1:
            return contributions
        tips = {name: diffs[name].tip for name, _, _ in contributions}

        def ancestors(name: str) -> int:
            return sum(1 for other, tip in tips.items() if other != name and self._ancestor(tip, tips[name]))

        return sorted(contributions, key=lambda c: (ancestors(c[0]), c[0]))

    def _ancestor(self, a: Oid, b: Oid) -> bool:
        key = ("anc", a, b)
        if key not in self._pairs:
            self._pairs[key] = self.git.is_ancestor(a, b)
        return bool(self._pairs[key])

    def _blob_at_merge_base(self, path: str, a: Oid, b: Oid) -> Oid | None:
        key = ("base", a, b)
        if key not in self._pairs:
            self._pairs[key] = self.git.merge_base(a, b)
        base = self._pairs[key]
        return None if base is None else self.git.blob_id_at(base, path)

    def _merge_cached(
        self,
        path: str,
        base_oid: Oid | None,
        ours: bytes | None,
        tip_oid: Oid | None,
        ours_label: str,
        agent: str,
    ) -> tuple[bytes | None, str]:
        """The merged content, and the writers it came from (the label of the next merge's "ours")."""
        if base_oid == tip_oid:  # the branch left the path as it found it: ours stands
            return ours, ours_label
        ours_key = None if ours is None else hashlib.sha1(ours).digest()
        key = (path, base_oid, ours_key, tip_oid, ours_label, agent)
        if key not in self._memo:
            if len(self._memo) > 100_000:
                self._memo.clear()
            base = self.git.blob(base_oid)
            merged = merge_file(path, base, ours, self.git.blob(tip_oid), ours_label, agent)
            writers = agent if ours == base or ours_label == agent else f"{ours_label} + {agent}"
            self._memo[key] = (merged, writers)
        return self._memo[key]


class MergedView:
    """The working-tree view with every agent branch merged in: what every read sees.

    Exposes the same ``refresh``/``entries``/``by_uuid``/``broken``/``tasks`` as WorkingView, so the
    engine does not care whether agents exist. With no unmerged agent branch it is the working view.
    """

    def __init__(self, working: WorkingView, overlay: AgentOverlay) -> None:
        self.working = working
        self.overlay = overlay
        self.root = working.root
        self.ns_dir = working.ns_dir
        self.entries: dict[str, Entry] = {}
        self.by_uuid: dict[str, Entry] = {}
        self._overlay_paths: set[str] = set()
        self._parsed: dict[tuple[str, bytes], Entry] = {}
        self.counter: bytes | None = None
        self.broken_paths: set[str] = set()
        self.max_id = 0
        self._tips: tuple[Any, ...] | None = None
        self.merged_all: dict[str, bytes | None] = {}
        """Every store path (all namespaces) the unmerged agent branches changed, merged."""
        self.pending_tips: list[Oid] = []

    def refresh(self) -> tuple[list[Entry], list[Entry]]:
        w_removed, w_changed = self.working.refresh()
        tips = self.overlay.tips_key()
        if tips == self._tips and not w_removed and not w_changed:
            return [], []  # nothing moved: the merged view is still right
        self._tips = tips
        working_changed = {e.path for e in w_removed} | {e.path for e in w_changed}
        merged = self.overlay.merged(WorkingContents(self.root, self.working), working_changed)
        self.merged_all = merged
        self.pending_tips = list(self.overlay.pending.values())
        self.counter = merged.get(f"{self.ns_dir}/{COUNTER_NAME}")
        delta = self.overlay.changed
        if delta is None:  # recomputed: every path in or out of the overlay may have changed
            active = {p for p in merged if is_active_task(p, self.ns_dir)}
            affected = working_changed | active | self._overlay_paths
            self._overlay_paths = active
        else:  # only the paths merged anew (the cost of a read stays that of what changed)
            affected = working_changed | {p for p in delta if is_active_task(p, self.ns_dir)}
            for path in affected:
                if path in merged:
                    self._overlay_paths.add(path)
                else:
                    self._overlay_paths.discard(path)
        removed: list[Entry] = []
        changed: list[Entry] = []
        for path in affected:
            if path in self._overlay_paths:
                data = merged[path]
                new = None if data is None else self._entry(path, data)
            else:
                new = self.working.entries.get(path)
            old = self.entries.get(path)
            if new is old:
                continue
            if old is not None:
                removed.append(old)
                del self.entries[path]
                self.broken_paths.discard(path)
                if self.by_uuid.get(old.uuid) is old:
                    del self.by_uuid[old.uuid]
            if new is not None:
                changed.append(new)
                self.entries[path] = new
                if new.file is not None:
                    self.by_uuid[new.uuid] = new
                    self.max_id = max(self.max_id, new.task.id)
                else:
                    self.broken_paths.add(path)
                    self.max_id = max(self.max_id, new.claimed_id() or 0)
        return removed, changed

    def _entry(self, path: str, data: bytes) -> Entry:
        working = self.working.entries.get(path)
        if working is not None and working.raw == data:
            return working
        key = (path, hashlib.sha1(data).digest())
        entry = self._parsed.get(key)
        if entry is None:
            if len(self._parsed) > 50_000:
                self._parsed.clear()
            entry = parse_entry(path, data)
            self._parsed[key] = entry
        return entry

    def broken(self) -> list[Entry]:
        return sorted((self.entries[p] for p in self.broken_paths), key=lambda e: e.path)

    def raw(self, path: str) -> bytes | None:
        entry = self.entries.get(path)
        return None if entry is None else entry.raw


class WorkingContents(Mapping[str, bytes | None]):
    """Working-tree file contents by repository path, read lazily (only the paths a merge asks
    for); a working view, when given, answers for the task files it already holds."""

    def __init__(self, root: Path, working: WorkingView | None = None) -> None:
        self.root = root
        self.working = working

    def __getitem__(self, path: str) -> bytes | None:
        if self.working is not None:
            entry = self.working.entries.get(path)
            if entry is not None:
                return entry.raw
            if is_active_task(path, self.working.ns_dir):
                return None
        try:
            return (self.root / path).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None

    def get(self, path: str, default: Any = None) -> bytes | None:
        return self[path]

    def __iter__(self) -> Iterator[str]:
        return iter(()) if self.working is None else iter(self.working.entries)

    def __len__(self) -> int:
        return 0 if self.working is None else len(self.working.entries)

