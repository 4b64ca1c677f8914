"""Text from users and agents never becomes a git option, a shell word, or a push target.

Each test drives a real surface (the CLI as a subprocess, the server over MCP stdio) with the hostile
input and checks the outcome on disk: no file made by an injected command, nothing pushed anywhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import cli, cli_ok, git, two_clones
from support.server import serve

HOSTILE_REMOTES = [
    "--upload-pack=touch {marker}; git-upload-pack",
    "--receive-pack=touch {marker}; git-receive-pack",
    "-c core.sshCommand=touch {marker}",
    "--exec=touch {marker}",
    "ext::sh -c touch% {marker}",
]


def _remote_texts(tmp_path: Path) -> list[tuple[str, Path]]:
    out = []
    for n, template in enumerate(HOSTILE_REMOTES):
        marker = tmp_path / f"PWNED{n}"
        out.append((template.format(marker=marker), marker))
    return out


def test_cli_sync_refuses_option_like_remotes_and_runs_nothing(tmp_path: Path) -> None:
    one, _two, _url = two_clones(tmp_path)
    for text, marker in _remote_texts(tmp_path):
        proc = cli(one, "sync", f"--remote={text}")
        assert proc.returncode != 0, proc.stdout
        assert "not a configured git remote" in proc.stderr, proc.stderr
        assert "origin" in proc.stderr  # names what is configured
        assert not marker.exists(), f"{text!r} ran a command"
        assert "Traceback" not in proc.stderr


def test_cli_sync_refuses_urls_and_paths_that_are_not_configured_remotes(tmp_path: Path) -> None:
    one, _two, url = two_clones(tmp_path)
    elsewhere = tmp_path / "elsewhere.git"
    git(tmp_path, "init", "-q", "--bare", str(elsewhere))
    for target in (str(elsewhere), f"file://{elsewhere}", url):
        proc = cli(one, "sync", "--remote", target)
        assert proc.returncode != 0
        assert "not a configured git remote" in proc.stderr
    assert git(elsewhere, "for-each-ref") == ""  # nothing was pushed there
    assert "Pushed main to origin" in cli_ok(one, "sync", "--remote", "origin")



@pytest.mark.anyio
async def test_mcp_task_sync_refuses_option_like_remotes_and_runs_nothing(tmp_path: Path) -> None:
    one, _two, _url = two_clones(tmp_path)
    async with serve(one) as client:
        for text, marker in _remote_texts(tmp_path):
            error = await client.fail("task_sync", remote=text)
            assert "not a configured git remote" in error
            assert not marker.exists(), f"{text!r} ran a command"
        for text in ("x\x00y", "r" * 1_000_000):
            error = await client.fail("task_sync", remote=text)
            assert "not a configured git remote" in error
            assert len(error) < 1000
        ok = await client.ok("task_sync", remote="origin")
        assert "Pushed main to origin" in ok["message"]


def test_hostile_sizes_get_messages_not_internal_errors(tmp_path: Path) -> None:
    """Hardening item 11 at the engine: a filter of thousands of terms, an absurd archive age."""
    from support import init_store, open_human

    from backlog_git.errors import InvalidInput

    repo = init_store(tmp_path / "repo")
    human = open_human(repo)
    human.add("x", project="x")
    assert len(human.list(" ".join(["project:x"] * 1000))) == 1
    assert human.count(" or ".join(["+nothing"] * 999)) == 0
    with pytest.raises(InvalidInput, match="at most 2000"):
        human.list(" ".join(["+a"] * 3000))
    assert human.archive(999_999_999).message == "No tasks to archive."
    with pytest.raises(InvalidInput, match="at most 999999999"):
        human.archive(10**12)


def test_writes_never_go_through_symbolic_links(tmp_path: Path) -> None:
    """Hardening item 10: a committed link ``.backlog/tasks/ab -> outside`` or a linked ``.backlog``."""
    import uuid as uuidlib

    from support import init_store, open_human

    from backlog_git.errors import RepositoryError

    repo = init_store(tmp_path / "repo")
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / ".backlog" / "tasks" / "ab").symlink_to(outside, target_is_directory=True)
    git(repo, "add", ".backlog/tasks/ab")
    git(repo, "commit", "-q", "-m", "a link committed by someone")
    human = open_human(repo)
    with pytest.raises(RepositoryError, match="symbolic link"):
        human.import_tasks([{"uuid": "ab" + str(uuidlib.uuid4())[2:], "description": "escape"}])
    assert list(outside.iterdir()) == []


    other = init_store(tmp_path / "other")
    real = tmp_path / "elsewhere"
    (other / ".backlog").rename(real)
    (other / ".backlog").symlink_to(real, target_is_directory=True)
    before = sorted(p.name for p in real.rglob("*"))
    proc = cli(other, "add", "through the link")
    assert proc.returncode == 1 and "symbolic link" in proc.stderr, proc.stderr
    assert sorted(p.name for p in real.rglob("*")) == before
