"""Where the store is: repository, namespace and writer, resolved as DESIGN.md fixes it.

Precedence: ``--repo`` > ``BACKLOG_REPO`` > ``TASKDATA`` > ``TASKDATA_ROOT`` > the repository that
contains the current directory. ``TASKDATA``/``TASKDATA_ROOT`` name a dedicated directory that is
made a git repository on first use.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import RepositoryError
from .layout import ARCHIVE_DIR

DEFAULT_NAMESPACE = "tasks"
NAMESPACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
AGENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# Names that would collide with the store's own directories inside a namespace.
RESERVED_NAMESPACES = {ARCHIVE_DIR}


@dataclass(frozen=True)
class StoreConfig:
    """A resolved store location: the repository, how it was chosen, and who writes."""

    repo_path: Path | None
    """Directory inside the repository (the repository itself is discovered from it)."""
    create_repo: bool
    """True when the directory is a dedicated TASKDATA store, made a repository on first use."""
    namespace: str
    agent_id: str | None
    source: str
    writer: str | None = None
    """The writer's identity when no agent id names it (an MCP session's own); None: the local user."""
    claim_remote: str | None = None
    """``BACKLOG_REMOTE``: the remote claims are published to (None: the branch's upstream remote;
    ``none``: claims stay on this machine)."""

    def with_writer(self, writer: str | None) -> StoreConfig:
        return replace(self, writer=writer)


def slug(path: str) -> str:
    """The original server's per-project directory name: ``<basename>-<md5(path)[:8]>``."""
    base = os.path.basename(path.rstrip("/")) if path != "/" else ""
    base = re.sub(r"^[^A-Za-z0-9]+", "", base)
    base = re.sub(r"[^A-Za-z0-9_-]", "-", base)
    digest = hashlib.md5(path.encode("utf-8")).hexdigest()[:8]
    return f"{base}-{digest}"


def resolve_namespace(env: Mapping[str, str], cwd: str) -> str:
    explicit = env.get("BACKLOG_NAMESPACE", "").strip()
    if explicit:
        name, source = explicit, "BACKLOG_NAMESPACE"
    elif env.get("BACKLOG_AUTO_NAMESPACE", "").strip().lower() == "true":
        name, source = slug(cwd), "BACKLOG_AUTO_NAMESPACE"
    else:
        return DEFAULT_NAMESPACE
    if not NAMESPACE_RE.match(name) or name in RESERVED_NAMESPACES:
        raise RepositoryError(
            f"Invalid namespace {name!r} (from {source}): it must start with a letter or digit and contain "
            "only letters, digits, '_' and '-' (and not be 'archive')."
        )
    return name


def resolve_agent_id(env: Mapping[str, str]) -> str | None:
    agent = env.get("BACKLOG_AGENT_ID", "").strip()
    if not agent:
        return None
    if not AGENT_ID_RE.match(agent) or ".." in agent or agent.endswith((".", ".lock")):
        raise RepositoryError(
            f"Invalid BACKLOG_AGENT_ID {agent!r}: use letters, digits, '.', '_' and '-' "
            "(it names the git branch backlog/<agent-id>)."
        )
    return agent


def project_dir(env: Mapping[str, str] | None = None, fallback: str | None = None) -> str:
    """The directory the store is resolved from, for the server and the hooks alike: Claude Code's
    project directory when it names one, else ``fallback`` (a hook event's cwd), else the process's cwd."""
    env = os.environ if env is None else env
    return env.get("CLAUDE_PROJECT_DIR", "").strip() or fallback or os.getcwd()


def default_writer() -> str:
    """The writer recorded when no agent id is set: the local user at this host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "user"
    return f"{user}@{socket.gethostname()}"


def resolve(repo: str | None = None, env: Mapping[str, str] | None = None, cwd: str | None = None) -> StoreConfig:
    """Resolve the store location from the CLI flag, the environment and the current directory."""
    env = os.environ if env is None else env
    cwd = os.path.abspath(cwd or os.getcwd())
    namespace = resolve_namespace(env, cwd)
    agent = resolve_agent_id(env)
    remote = env.get("BACKLOG_REMOTE", "").strip() or None

    def at(path: str, create: bool, source: str) -> StoreConfig:
        full = Path(os.path.expanduser(path))
        if not full.is_absolute():
            full = Path(cwd) / full
        return StoreConfig(full, create, namespace, agent, source, claim_remote=remote)

    if repo:
        return at(repo, False, "--repo")
    if env.get("BACKLOG_REPO", "").strip():
        return at(env["BACKLOG_REPO"].strip(), False, "BACKLOG_REPO")
    if env.get("TASKDATA", "").strip():
        return at(env["TASKDATA"].strip(), True, "TASKDATA")
    if env.get("TASKDATA_ROOT", "").strip():
        return at(os.path.join(env["TASKDATA_ROOT"].strip(), slug(cwd)), True, "TASKDATA_ROOT")
    return StoreConfig(Path(cwd), False, namespace, agent, "current directory", claim_remote=remote)
