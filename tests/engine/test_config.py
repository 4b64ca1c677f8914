"""Where the store is: --repo > BACKLOG_REPO > TASKDATA > TASKDATA_ROOT > current directory; the slug;
namespace and agent-id validation."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from backlog_git import config as configmod
from backlog_git.errors import RepositoryError


def test_precedence(tmp_path: Path) -> None:
    cwd = str(tmp_path / "cwd")
    env = {"BACKLOG_REPO": "/r/env", "TASKDATA": "/r/td", "TASKDATA_ROOT": "/r/root"}
    flag = configmod.resolve("/r/flag", env, cwd)
    assert (flag.repo_path, flag.create_repo, flag.source) == (Path("/r/flag"), False, "--repo")
    env_repo = configmod.resolve(None, env, cwd)
    assert (env_repo.repo_path, env_repo.create_repo, env_repo.source) == (Path("/r/env"), False, "BACKLOG_REPO")
    del env["BACKLOG_REPO"]
    td = configmod.resolve(None, env, cwd)
    assert (td.repo_path, td.create_repo, td.source) == (Path("/r/td"), True, "TASKDATA")
    del env["TASKDATA"]
    root = configmod.resolve(None, env, cwd)
    assert root.repo_path == Path("/r/root") / configmod.slug(cwd)
    assert root.create_repo and root.source == "TASKDATA_ROOT"
    del env["TASKDATA_ROOT"]
    plain = configmod.resolve(None, env, cwd)
    assert (plain.repo_path, plain.create_repo, plain.source) == (Path(cwd), False, "current directory")


def test_relative_and_home_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert configmod.resolve("rel/dir", {}, "/base").repo_path == Path("/base/rel/dir")
    assert configmod.resolve("~/x", {}, "/base").repo_path == tmp_path / "home" / "x"
    assert configmod.resolve(None, {"BACKLOG_REPO": "  "}, "/base").source == "current directory"


@pytest.mark.parametrize(
    ("path", "base"),
    [
        ("/home/u/dev/my-app", "my-app"),
        ("/home/u/dev/.hidden.proj", "hidden-proj"),
        ("/home/u/My Project!", "My-Project-"),
        ("/x/__init", "init"),
        ("/home/u/dev/my-app/", "my-app"),
    ],
)
def test_slug_matches_original(path: str, base: str) -> None:
    digest = hashlib.md5(path.encode()).hexdigest()[:8]
    assert configmod.slug(path) == f"{base}-{digest}"


def test_slug_of_root() -> None:
    assert configmod.slug("/") == "-" + hashlib.md5(b"/").hexdigest()[:8]


def test_slug_hash_is_of_full_utf8_path() -> None:
    path = "/home/ü/projet-é"
    assert configmod.slug(path) == "projet---" + hashlib.md5(path.encode("utf-8")).hexdigest()[:8]


def test_namespace_default_explicit_auto() -> None:
    assert configmod.resolve_namespace({}, "/x/app") == "tasks"
    assert configmod.resolve_namespace({"BACKLOG_NAMESPACE": "team-1"}, "/x/app") == "team-1"
    assert configmod.resolve_namespace({"BACKLOG_AUTO_NAMESPACE": "true"}, "/x/app") == configmod.slug("/x/app")
    assert configmod.resolve_namespace({"BACKLOG_AUTO_NAMESPACE": "yes"}, "/x/app") == "tasks"
    both = {"BACKLOG_NAMESPACE": "explicit", "BACKLOG_AUTO_NAMESPACE": "true"}
    assert configmod.resolve_namespace(both, "/x/app") == "explicit"


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ".x", "-x", "_x", "a b", "archive", "a.b", "a\nb"])
def test_bad_namespace(name: str) -> None:
    with pytest.raises(RepositoryError, match="Invalid namespace"):
        configmod.resolve_namespace({"BACKLOG_NAMESPACE": name}, "/x")


def test_auto_namespace_of_root_is_invalid() -> None:
    with pytest.raises(RepositoryError, match="BACKLOG_AUTO_NAMESPACE"):
        configmod.resolve_namespace({"BACKLOG_AUTO_NAMESPACE": "true"}, "/")


def test_agent_id() -> None:
    assert configmod.resolve_agent_id({}) is None
    assert configmod.resolve_agent_id({"BACKLOG_AGENT_ID": " a1.dev_x-2 "}) == "a1.dev_x-2"
    for bad in ("../x", "a/b", "a..b", "x.lock", "x.", "-x", "a b", "a~b", "a:b"):
        with pytest.raises(RepositoryError, match="Invalid BACKLOG_AGENT_ID"):
            configmod.resolve_agent_id({"BACKLOG_AGENT_ID": bad})


def test_store_config_carries_namespace_and_agent() -> None:
    store = configmod.resolve("/r", {"BACKLOG_NAMESPACE": "ns", "BACKLOG_AGENT_ID": "bot"}, "/cwd")
    assert store.namespace == "ns" and store.agent_id == "bot"


def test_default_writer_names_user_and_host() -> None:
    writer = configmod.default_writer()
    assert "@" in writer and writer.split("@")[1]
