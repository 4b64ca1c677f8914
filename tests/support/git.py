"""Real repositories, made and read through the ``git`` CLI (never mocked)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from .env import clean_env


def run(args: list[str], cwd: Path | str, *, env: Mapping[str, str] | None = None,
        input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a command (text in and out, never checked); the environment is ``clean_env()`` unless given."""
    return subprocess.run(args, cwd=str(cwd), env=dict(env) if env is not None else clean_env(),
                          capture_output=True, text=True, input=input, timeout=timeout, check=False)


def git_run(repo: Path | str, *args: str, env: Mapping[str, str] | None = None,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
    return run(["git", *args], repo, env=env, input=input)


def git(repo: Path | str, *args: str, check: bool = True, input: str | None = None,
        env: Mapping[str, str] | None = None) -> str:
    """Run git in ``repo``; fail the test if it fails (unless ``check=False``); return stdout without its
    final newline."""
    proc = git_run(repo, *args, env=env, input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout.removesuffix("\n")


def git_bytes(repo: Path | str, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=str(repo), capture_output=True, check=True, env=clean_env()).stdout


def configure(path: Path | str) -> None:
    """The identity every test repository commits with (and no signing, no rebasing pulls)."""
    git(path, "config", "user.name", "Test User")
    git(path, "config", "user.email", "test@example.com")
    git(path, "config", "commit.gpgsign", "false")
    git(path, "config", "pull.rebase", "false")


def init_repo(path: Path, *, commit: bool = True, branch: str = "main") -> Path:
    """``git init`` a repository with its own identity; unless ``commit=False``, one commit (a README)."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", branch)
    configure(path)
    if commit:
        (path / "README.md").write_text("hello\n")
        git(path, "add", "README.md")
        git(path, "commit", "-q", "-m", "initial")
    return path


# ------------------------------------------------------------------ reading what landed
def commit_count(repo: Path | str, rev: str = "--all") -> int:
    """Commits reachable from ``rev`` (by default from any ref)."""
    return int(git(repo, "rev-list", "--count", rev) or 0)


def head_count(repo: Path | str) -> int:
    """Commits of the checked-out branch (0 while it is unborn)."""
    if not git(repo, "rev-parse", "--verify", "-q", "HEAD", check=False):
        return 0
    return int(git(repo, "rev-list", "--count", "HEAD"))


def head(repo: Path | str, rev: str = "HEAD") -> str:
    return git(repo, "rev-parse", rev)


def parents(repo: Path | str, rev: str = "HEAD") -> list[str]:
    return git(repo, "log", "-1", "--format=%P", rev).split()


def subject(repo: Path | str, rev: str = "HEAD") -> str:
    return git(repo, "log", "-1", "--format=%s", rev)


def message(repo: Path | str, rev: str = "HEAD") -> str:
    return git(repo, "log", "-1", "--format=%B", rev)


def trailers(repo: Path | str, rev: str = "HEAD") -> dict[str, list[str]]:
    """The commit's trailers as git itself parses them."""
    out = git(repo, "log", "-1", "--format=%(trailers:only,unfold)", rev)
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            found.setdefault(key, []).append(value)
    return found


def changed_paths(repo: Path | str, rev: str = "HEAD") -> list[str]:
    out = git(repo, "show", "--name-only", "--no-renames", "--format=", rev)
    return sorted(line for line in out.splitlines() if line)


def porcelain(repo: Path | str) -> str:
    return git(repo, "status", "--porcelain", "--untracked-files=all")


status = porcelain


def porcelain_outside_store(repo: Path | str) -> list[str]:
    return [line for line in porcelain(repo).splitlines() if ".backlog/" not in line]


def fsck(repo: Path | str) -> None:
    proc = git_run(repo, "fsck", "--strict", "--no-progress")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def show(repo: Path | str, rev: str, path: str) -> bytes:
    return subprocess.run(["git", "show", f"{rev}:{path}"], cwd=str(repo), capture_output=True, check=True,
                          env=clean_env()).stdout


def store_files(repo: Path | str, rev: str = "HEAD") -> list[str]:
    out = git(repo, "ls-tree", "-r", "--name-only", rev, "--", ".backlog")
    return [line for line in out.splitlines() if line]


def blobs(repo: Path | str, rev: str = "HEAD") -> dict[str, bytes]:
    """Every file under ``.backlog/`` in ``rev`` with its content (``git ls-tree`` + one ``git cat-file --batch``)."""
    listing = git(repo, "ls-tree", "-r", rev, "--", ".backlog")
    entries = []
    for line in listing.splitlines():
        meta, _, path = line.partition("\t")
        entries.append((path, meta.split()[2]))
    if not entries:
        return {}
    out = subprocess.run(["git", "cat-file", "--batch"], cwd=str(repo), env=clean_env(), check=True,
                         input="".join(f"{oid}\n" for _, oid in entries).encode(), capture_output=True).stdout
    result = {}
    position = 0
    for path, oid in entries:
        header_end = out.index(b"\n", position)
        found, _kind, size = out[position:header_end].split()
        assert found.decode() == oid
        start = header_end + 1
        result[path] = out[start : start + int(size)]
        position = start + int(size) + 1
    return result


def outside_files(root: Path) -> set[str]:
    """Every file under ``root`` except inside ``.git`` (to prove nothing was written elsewhere)."""
    result = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            result.add(os.path.relpath(os.path.join(dirpath, name), root))
    return result
