"""Making a repository ready for backlog-git: the store directory, the `.gitattributes` line that
routes task files to the merge driver, and the driver's registration in the (uncloned) git config."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

from .. import config as configmod
from ..gitstore import GitStore, probe_merge_driver
from ..layout import COUNTER_NAME, STORE_DIR
from . import messages

ATTRIBUTES_LINE = ".backlog/** merge=backlog eol=lf"
"""Task files go through the merge driver, and check out with LF even where ``core.autocrlf`` is on."""
OLD_ATTRIBUTES_LINE = ".backlog/** merge=backlog"
DRIVER_NAME = "backlog-git field-level task merge"


DRIVER_ARGS = "merge-driver %O %A %B %P"


def driver_command() -> str:
    """The command git runs for the driver. When ``backlog-git`` on PATH is this installation, its bare
    name (it then survives the environment being moved or recreated, e.g. a pipx or uv tool install);
    otherwise this installation's script, or its interpreter, by absolute path."""
    own = Path(sys.executable).parent / "backlog-git"
    on_path = shutil.which("backlog-git")
    if own.exists() and on_path and Path(on_path).resolve() == own.resolve():
        return f"backlog-git {DRIVER_ARGS}"
    if own.exists():
        return f"{shlex.quote(str(own))} {DRIVER_ARGS}"
    return f"{shlex.quote(sys.executable)} -m backlog_git {DRIVER_ARGS}"


def driver_registered(git: GitStore) -> bool:
    value = git.get_config("merge.backlog.driver")
    return bool(value and "merge-driver" in value)


def driver_problem(git: GitStore) -> str | None:
    """Why git could not run the registered driver (None: it is registered and answers)."""
    command = git.get_config("merge.backlog.driver")
    if not command or "merge-driver" not in command:
        return (
            "the `backlog` merge driver is not registered in this clone, so git would merge task "
            "files as text and could leave conflict markers; run `backlog-git install` (git config is not cloned)"
        )
    failure = probe_merge_driver(command)
    if failure is None:
        return None
    return (
        f"the merge driver registered in .git/config (`{command}`) does not run ({failure}), so git would merge "
        "task files as text; run `backlog-git install` with the backlog-git you use now to register it again"
    )


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
        lines = [line for line in text.splitlines() if line.strip() != OLD_ATTRIBUTES_LINE]
        files[".gitattributes"] = "".join(f"{line}\n" for line in [*lines, ATTRIBUTES_LINE]).encode()
        done.append("added the .gitattributes line routing .backlog/** to the merge driver (LF line ends)")
    keep = f"{STORE_DIR}/{store.namespace}/{COUNTER_NAME}"
    if not (git.workdir / keep).exists():
        files[keep] = b"1\n"
        done.append(f"created {STORE_DIR}/{store.namespace}/")
    if files:
        writer = store.agent_id or configmod.default_writer()
        message = messages.op_message("init backlog-git store", "init", store.namespace, writer)
        git.commit_worktree_files(files, message)
    where = git.workdir
    return f"backlog-git store ready in {where}: " + ("; ".join(done) if done else "already set up") + "."


def _inside_repository(path: Path) -> bool:
    try:
        GitStore(path)
    except Exception:
        return False
    return True
