"""The per-file commit index behind a task's history: the same commits as a full walk of real git
history (merges, resets, other writers' branches), kept current incrementally, and never trusted when its
file is damaged or describes a history that is gone."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pygit2
import pytest
from support import clean_env, git, git_run, init_repo

from backlog_git.gitstore import GitStore
from backlog_git.gitstore.pathindex import PathIndex

PREFIX = "store"


class Clock:
    """Commit times as a fast run makes them: a second apart, or many in one second (where time order
    cannot tell a parent from its child). Seeded, so a history's times are the same on every run."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.now = 1_700_000_000

    def env(self) -> dict[str, str]:
        self.now += self.rng.choice((0, 0, 1))
        stamp = f"@{self.now} +0000"
        return clean_env(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)


def is_ancestor(repo: Path) -> Callable[[str, str], bool]:
    def check(ancestor: str, descendant: str) -> bool:
        return git_run(repo, "merge-base", "--is-ancestor", ancestor, descendant).returncode == 0

    return check


def index_of(repo: Path) -> PathIndex:
    """The index as a background thread makes it: ancestry asked of ``git merge-base``."""
    return PathIndex(repo, repo / ".git" / "backlog" / "paths.idx", PREFIX)


def shas_touching(index: PathIndex, refs: list[str], name: str, wanted: Callable[[str], bool]) -> list[str]:
    """The commits, checked to come each with the wanted paths it touched."""
    found = index.touching_name(refs, name, wanted)
    for _sha, paths in found:
        assert paths and all(wanted(p) and p.endswith("/" + name) for p in paths)
    return [sha for sha, _paths in found]


def tips(repo: Path, *refs: str) -> list[str]:
    return [git(repo, "rev-parse", ref) for ref in refs]


def write_commit(repo: Path, rng: random.Random, label: str, clock: Clock | None = None) -> None:
    for _ in range(rng.randint(1, 2)):
        name = f"t{rng.randint(0, 5)}.md"
        path = repo / PREFIX / rng.choice(["a", "b"]) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(path.read_text() + f"{label}\n" if path.exists() else f"{label}\n")
    if rng.random() < 0.2:
        (repo / "outside.txt").write_text(label)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", label, env=(clock or Clock(0)).env())


def brute_force(repo: Path, refs: list[str], path: str) -> list[str]:
    """Every commit reachable from ``refs`` whose ``path`` differs from its parent, or for a merge from
    every parent, read object by object with libgit2 (slow and plain)."""
    r = pygit2.Repository(str(repo))

    def blob(commit: pygit2.Commit) -> str | None:
        try:
            return str(commit.tree[path].id)
        except KeyError:
            return None

    seen: dict[str, pygit2.Commit] = {}
    stack = [r[sha].peel(pygit2.Commit) for sha in refs]
    while stack:
        commit = stack.pop()
        if str(commit.id) not in seen:
            seen[str(commit.id)] = commit
            stack.extend(commit.parents)
    touched = []
    for sha, commit in seen.items():
        mine = blob(commit)
        parents = [blob(p) for p in commit.parents] or [None]
        if all(mine != other for other in parents):
            touched.append(sha)
    return touched


def assert_newest_first(repo: Path, shas: list[str]) -> None:
    """A commit never comes after one of its ancestors."""
    for i, later in enumerate(shas):
        for earlier in shas[:i]:
            assert not is_ancestor(repo)(earlier, later), f"{earlier} is listed before its descendant {later}"


@pytest.mark.parametrize("clock_seed", [1009, 1016, 7])
def test_index_matches_a_full_walk_through_merges_resets_and_new_commits(tmp_path: Path, clock_seed: int) -> None:
    """Seeds 1009 and 1016 give commits of one second that git log's default order lists ancestor first."""
    rng, clock = random.Random(4), Clock(clock_seed)
    repo = init_repo(tmp_path / "r")
    index = index_of(repo)
    for round_ in range(6):
        git(repo, "checkout", "-q", "-B", "side")
        for n in range(3):
            write_commit(repo, rng, f"side {round_}.{n}", clock)
        git(repo, "checkout", "-q", "main")
        for n in range(2):
            write_commit(repo, rng, f"main {round_}.{n}", clock)
        git(repo, "merge", "-q", "--no-edit", "-X", "theirs" if round_ % 2 else "ours", "side", env=clock.env())
        if round_ % 2:  # a merge that is like neither parent (a resolution by hand)
            (repo / PREFIX / "a" / "t0.md").write_text(f"resolved by hand in round {round_}\n")
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "--amend", "--no-edit", env=clock.env())
        if round_ == 3:
            git(repo, "reset", "-q", "--hard", "HEAD~2")  # history the index held is gone
        refs = tips(repo, "main", "side")
        for directory in ("a", "b"):
            for t in range(6):
                path = f"{PREFIX}/{directory}/t{t}.md"
                found = shas_touching(index, refs, f"t{t}.md", lambda p, want=path: p == want)
                assert sorted(found) == sorted(brute_force(repo, refs, path)), (round_, path)
                assert_newest_first(repo, found)


def test_index_is_extended_not_rebuilt_and_shared_through_its_file(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r")
    rng = random.Random(1)
    for n in range(5):
        write_commit(repo, rng, f"c{n}")
    first = index_of(repo)
    refs = tips(repo, "HEAD")
    assert shas_touching(first, refs, "t1.md", lambda p: True) == brute_force_newest(repo, refs, "t1.md")
    built_seq = first._seq
    write_commit(repo, rng, "later")
    second = index_of(repo)  # another process: starts from the file
    refs = tips(repo, "HEAD")
    shas_touching(second, refs, "t1.md", lambda p: True)
    assert second._seq == built_seq + 1  # one commit added, nothing rebuilt
    for name in (f"t{t}.md" for t in range(6)):
        assert shas_touching(second, refs, name, lambda p: True) == brute_force_newest(repo, refs, name)


def brute_force_newest(repo: Path, refs: list[str], name: str) -> list[str]:
    found = set(brute_force(repo, refs, f"{PREFIX}/a/{name}")) | set(brute_force(repo, refs, f"{PREFIX}/b/{name}"))
    order = git(repo, "rev-list", "--topo-order", *refs).split()
    return [sha for sha in order if sha in found]


def test_a_damaged_or_foreign_index_file_is_rebuilt(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r")
    rng = random.Random(2)
    for n in range(4):
        write_commit(repo, rng, f"c{n}")
    refs = tips(repo, "HEAD")
    name = next(f"t{t}.md" for t in range(6) if brute_force_newest(repo, refs, f"t{t}.md"))
    expected = brute_force_newest(repo, refs, name)
    shas_touching(index_of(repo), refs, name, lambda p: True)
    cache = repo / ".git" / "backlog" / "paths.idx"
    good = cache.read_bytes()
    sha = expected[0].encode()
    flipped = good.replace(sha, sha[:-1] + (b"0" if sha[-1:] != b"0" else b"1"))  # still loads: another commit
    for damaged in (b"", b"garbage", good[: len(good) // 2], good[:-3] + b"\xff\xff\xff", flipped):
        cache.write_bytes(damaged)
        assert shas_touching(index_of(repo), refs, name, lambda p: True) == expected
    other = PathIndex(repo, cache, "elsewhere", is_ancestor(repo))  # ancestry through a caller's function
    assert shas_touching(other, refs, name, lambda p: True) == []  # written for another directory
    assert shas_touching(index_of(repo), refs, name, lambda p: True) == expected


def test_only_commit_ids_are_tips(tmp_path: Path) -> None:
    """A ref name would look unchanged to the index while the branch moves on."""
    repo = init_repo(tmp_path / "r")
    with pytest.raises(ValueError, match="commit ids"):
        shas_touching(index_of(repo), ["HEAD"], "t1.md", lambda p: True)


def test_the_users_log_settings_change_nothing(tmp_path: Path) -> None:
    """Colour forced on, follow, the root commit's files hidden: the index reads the same commits."""
    repo = init_repo(tmp_path / "r", commit=False)  # the root commit writes task files
    rng = random.Random(5)
    for n in range(6):
        write_commit(repo, rng, f"c{n}")
    for key, value in (("color.ui", "always"), ("log.follow", "true"), ("log.showRoot", "false"),
                       ("diff.relative", "true")):
        git(repo, "config", key, value)
    refs = tips(repo, "HEAD")
    for t in range(6):
        name = f"t{t}.md"
        assert shas_touching(index_of(repo), refs, name, lambda p: True) == brute_force_newest(repo, refs, name)


def test_an_indexed_tip_that_a_gc_removed_means_a_rebuild(tmp_path: Path) -> None:
    """A reset, then a gc that prunes the commits the index was built at: the index notices (libgit2
    cannot find the old tip) and rebuilds, never reporting the lost commits."""
    repo = init_repo(tmp_path / "r")
    rng = random.Random(6)
    for n in range(5):
        write_commit(repo, rng, f"c{n}")
    index = PathIndex(repo, repo / ".git" / "backlog" / "paths.idx", PREFIX, GitStore(repo).is_ancestor)
    names = [f"t{t}.md" for t in range(6)]
    for name in names:
        shas_touching(index, tips(repo, "HEAD"), name, lambda p: True)
    git(repo, "reset", "-q", "--hard", "HEAD~3")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    git(repo, "gc", "-q", "--prune=now")
    write_commit(repo, rng, "after the reset")
    refs = tips(repo, "HEAD")
    fresh = PathIndex(repo, repo / ".git" / "backlog" / "paths.idx", PREFIX, GitStore(repo).is_ancestor)
    for name in names:
        assert shas_touching(fresh, refs, name, lambda p: True) == brute_force_newest(repo, refs, name)
