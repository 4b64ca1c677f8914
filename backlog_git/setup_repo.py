"""Making a repository ready for backlog-git: the store directory, the `.gitattributes` line that
routes task files to the merge driver, and the driver's registration in the (uncloned) git config."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

from . import config as configmod
from .gitstore import GitStore, format_message

ATTRIBUTES_LINE = ".backlog/** merge=backlog"
DRIVER_NAME = "backlog-git field-level task merge"


def driver_command() -> str:
    """The command git runs for the driver: this installation's backlog-git, by absolute path."""
    exe = shutil.which("backlog-git")
    if exe:
        return f"{shlex.quote(exe)} merge-driver %O %A %B %P"
    return f"{shlex.quote(sys.executable)} -m backlog_git merge-driver %O %A %B %P"


def driver_registered(git: GitStore) -> bool:
    value = git.get_config("merge.backlog.driver")
    return bool(value and "merge-driver" in value)


def attributes_present(git: GitStore) -> bool:
    path = git.workdir / ".gitattributes"
    return path.exists() and ATTRIBUTES_LINE in path.read_text(encoding="utf-8").splitlines()


def install(git: GitStore) -> list[str]:
    """Register the merge driver in this clone's config (idempotent); return what was done."""
    done = []
    command = driver_command()
    if git.get_config("merge.backlog.driver") != command:
        git.set_config("merge.backlog.driver", command)
        git.set_config("merge.backlog.name", DRIVER_NAME)
        done.append("registered the merge driver in .git/config")
    return done


def install_here(repo: str | None) -> str:
    """``backlog-git install``: register the driver (and the attributes line if it is missing)."""
    store = configmod.resolve(repo)
    git = GitStore(store.repo_path or Path.cwd(), create=store.create_repo)
    done = install(git)
    if not attributes_present(git):
        done.append("note: .gitattributes lacks the line `" + ATTRIBUTES_LINE + "`; `backlog-git init` adds it")
    return "Merge driver: " + ("; ".join(done) if done else "already registered") + "."


def init(repo: str | None) -> str:
    """Create the repository if needed, the store, the attributes line, and register the driver."""
    store = configmod.resolve(repo)
    path = store.repo_path or Path.cwd()
    create = store.create_repo or not _inside_repository(path)
    git = GitStore(path, create=create)
    done = install(git)
    files: dict[str, bytes | None] = {}
    if not attributes_present(git):
        attributes = git.workdir / ".gitattributes"
        text = attributes.read_text(encoding="utf-8") if attributes.exists() else ""
        if text and not text.endswith("\n"):
            text += "\n"
        files[".gitattributes"] = (text + ATTRIBUTES_LINE + "\n").encode()
        done.append("added the .gitattributes line routing .backlog/** to the merge driver")
    keep = f"{configmod.STORE_DIR}/{store.namespace}/next-id"
    if not (git.workdir / keep).exists():
        files[keep] = b"1\n"
        done.append(f"created {configmod.STORE_DIR}/{store.namespace}/")
    if files:
        message = format_message(
            "init backlog-git store",
            [("Backlog-Op", "init"), ("Backlog-Namespace", store.namespace),
             ("Backlog-Agent", store.agent_id or configmod.default_writer())],
        )
        git.commit_worktree_files(files, message)
    where = git.workdir
    return f"backlog-git store ready in {where}: " + ("; ".join(done) if done else "already set up") + "."


def _inside_repository(path: Path) -> bool:
    try:
        GitStore(path)
    except Exception:
        return False
    return True
