"""The container image: ``docker build`` of the repository's Dockerfile, then an MCP session with
``docker run -i --rm -v REPO:/repo IMAGE`` (the line an MCP client's configuration runs).

Skipped, with the reason, when no container engine can build and run here: neither docker nor podman
installed, no daemon, the base image cannot be pulled, or containers cannot start. Environment:

- ``BACKLOG_CONTAINER_ENGINE``: the engine to use (``docker``, ``podman``, or a path); default: the first
  of docker and podman that answers.
- ``BACKLOG_DOCKER_BASE``: another base image for the build (``--build-arg BASE=…``), e.g. a local one
  where the registry is out of reach.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid as uuidlib
from pathlib import Path
from typing import Any

import pytest
from support import clean_env, git, init_repo

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
IMAGE = "localhost/backlog-git:test-suite"


def _run(command: list[str], timeout: float = 120, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout, **kwargs)


def _tail(proc: subprocess.CompletedProcess[str]) -> str:
    return (proc.stderr or proc.stdout).strip()[-800:]


def default_base() -> str:
    match = re.search(r"^ARG BASE=(\S+)", DOCKERFILE.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, "the Dockerfile declares ARG BASE=<image>"
    return match.group(1)


@pytest.fixture(scope="module")
def engine() -> str:
    """A container engine that can run containers of the base image here, or a skip that says why not."""
    chosen = os.environ.get("BACKLOG_CONTAINER_ENGINE", "").strip()
    candidates = [chosen] if chosen else ["docker", "podman"]
    reasons = []
    for name in candidates:
        if shutil.which(name) is None:
            reasons.append(f"{name}: not installed")
            continue
        info = _run([name, "info"], timeout=60)
        if info.returncode != 0:
            reasons.append(f"{name} info: {_tail(info)}")
            continue
        base = os.environ.get("BACKLOG_DOCKER_BASE", "").strip() or default_base()
        if _run([name, "image", "inspect", base], timeout=60).returncode != 0:
            pulled = _run([name, "pull", base], timeout=600)
            if pulled.returncode != 0:
                reasons.append(f"{name} pull {base}: {_tail(pulled)}")
                continue
        probe = _run([name, "run", "--rm", base, "python3", "-c", "print('ok')"], timeout=120)
        if probe.returncode != 0 or probe.stdout.strip() != "ok":
            reasons.append(f"{name} run {base}: {_tail(probe)}")
            continue
        return name
    pytest.skip("no container engine can run containers here: " + "; ".join(reasons))


@pytest.fixture(scope="module")
def image(engine: str) -> Any:
    command = [engine, "build", "-t", IMAGE]
    base = os.environ.get("BACKLOG_DOCKER_BASE", "").strip()
    if base:
        command += ["--build-arg", f"BASE={base}"]
    proc = _run([*command, str(ROOT)], timeout=1200)
    assert proc.returncode == 0, f"{' '.join(command)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    yield IMAGE
    _run([engine, "rmi", "-f", IMAGE], timeout=120)


def test_dockerignore_keeps_the_context_small() -> None:
    text = (ROOT / ".dockerignore").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*" and {"!pyproject.toml", "!README.md", "!backlog_git/"} <= set(lines)
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    assert "safe.directory '*'" in dockerfile and 'ENTRYPOINT ["backlog-git"]' in dockerfile
    assert 'CMD ["serve"]' in dockerfile and "WORKDIR /repo" in dockerfile


@pytest.mark.anyio
async def test_the_image_serves_a_mounted_repository_over_stdio(engine: str, image: str, tmp_path: Path) -> None:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    repo = init_repo(tmp_path / "repo")
    if os.geteuid() == 0:  # a repository owned by someone else than the container's user: safe.directory
        for dirpath, dirnames, filenames in os.walk(repo):
            for name in [*dirnames, *filenames]:
                os.lchown(os.path.join(dirpath, name), 4321, 4321)
        os.chown(repo, 4321, 4321)
    name = f"backlog-git-test-{uuidlib.uuid4().hex[:8]}"
    args = ["run", "-i", "--rm", "--name", name, "-v", f"{repo}:/repo", image]
    params = StdioServerParameters(command=engine, args=args, env=clean_env())
    with open(tmp_path / "container.log", "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            init = await session.initialize()
            assert init.server_info.name == "backlog"
            added = await session.call_tool("task_add", {"description": "from the container", "project": "web"})
            assert not added.is_error, added
            listed = await session.call_tool("task_list", {"filter": ""})
            assert not listed.is_error, listed
            tasks = json.loads(listed.content[0].text)  # type: ignore[union-attr]
            assert [(t["id"], t["description"], t["project"]) for t in tasks] == [(1, "from the container", "web")]

    trusted = ["-c", "safe.directory=*"]
    assert git(repo, *trusted, "log", "-1", "--format=%s") == "add #1: from the container"
    assert git(repo, *trusted, "status", "--porcelain") == ""
    cli = _run([engine, "run", "--rm", "-v", f"{repo}:/repo", image, "count"], timeout=120, env=clean_env())
    assert cli.returncode == 0 and "1" in cli.stdout, _tail(cli)
