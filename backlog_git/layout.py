"""Where things live on disk: the one owner of store paths, archive segments, the counter and caches.

```
.backlog/<namespace>/next-id                              numeric-id counter (merged by maximum)
.backlog/<namespace>/<ab>/<uuid>.md                       one task; <ab> = first two hex digits of its uuid
.backlog/<namespace>/archive/<YYYY-QN>/<ab>/<uuid>.md     archived (quarter of the task's `end`)
.git/backlog/view-<namespace>.cache                       parsed-entry cache (marshal; never the truth)
.git/backlog/history-<namespace>.idx                      which commits touched which task file (never the truth)
.git/backlog/journal.json                                 an unfinished write of the checked-out branch
.git/backlog-write.lock                                   the writers' flock
```

No path is built from user text except validated uuids, namespaces and archive quarters, so nothing
built here can leave ``.backlog/``. Every other module asks this one instead of slicing paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .errors import InvalidInput
from .model import UUID_RE

STORE_DIR = ".backlog"
COUNTER_NAME = "next-id"
ARCHIVE_DIR = "archive"
TASK_SUFFIX = ".md"
SHARD_RE = re.compile(r"^[0-9a-f]{2}$")
SEGMENT_RE = re.compile(r"^\d{4}-Q[1-4]$")
WRITE_LOCK_NAME = "backlog-write.lock"
CACHE_DIR_NAME = "backlog"
AGENT_PREFIX = "backlog/"
"""Agent branches are ``refs/heads/backlog/<agent-id>``."""


def agent_ref(agent_id: str) -> str:
    return f"refs/heads/{AGENT_PREFIX}{agent_id}"


CLAIM_REF_PREFIX = "refs/backlog/claims/"
"""A claim published to a remote lives there as ``refs/backlog/claims/<task uuid>``."""
SEEN_CLAIMS_PREFIX = "refs/backlog/remote-claims/"
"""What this clone last saw of a remote's claims: ``refs/backlog/remote-claims/<remote>/<uuid>``."""


def claim_ref(task_uuid: str) -> str:
    return f"{CLAIM_REF_PREFIX}{task_uuid}"


def seen_claim_ref(remote: str, task_uuid: str = "") -> str:
    return f"{SEEN_CLAIMS_PREFIX}{remote}/{task_uuid}"


KEEPER_NAME = ".keep"
KEEPER_TEXT = b"Keeps this shard directory in git while it holds no task (see backlog-git's ARCHITECTURE.md).\n"


def quarter(moment: datetime) -> str:
    """The archive segment a task completed at ``moment`` belongs to."""
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def file_name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def uuid_of(path: str) -> str:
    """The task uuid a task file's name claims (the file name without ``.md``; not validated)."""
    return file_name(path).removesuffix(TASK_SUFFIX)


def is_task_name(name: str) -> bool:
    return name.endswith(TASK_SUFFIX) and UUID_RE.match(name[: -len(TASK_SUFFIX)]) is not None


def is_counter(path: str) -> bool:
    return path == COUNTER_NAME or path.endswith("/" + COUNTER_NAME)


def is_task_file(path: str) -> bool:
    return path.endswith(TASK_SUFFIX)


def is_archived(path: str) -> bool:
    return f"/{ARCHIVE_DIR}/" in path


def shard_dir_of(path: str) -> str:
    """The directory a task file sits in (its shard name, or whatever a hand move put there)."""
    parts = path.rsplit("/", 2)
    return parts[-2] if len(parts) >= 2 else ""


def active_path_of(archived: str) -> str:
    """Where an archived task file lives while it is active: ``<ns>/<ab>/<uuid>.md``."""
    ns_dir = archived.split(f"/{ARCHIVE_DIR}/", 1)[0]
    name = file_name(archived)
    return f"{ns_dir}/{name[:2]}/{name}"


def archived_copies(workdir: Path, active: str) -> list[str]:
    """Archived files (any segment) of the task whose active path is ``active``, in the working tree."""
    ns_dir, shard, name = active.rsplit("/", 2)
    root = workdir / ns_dir / ARCHIVE_DIR
    return [str(p.relative_to(workdir)) for p in sorted(root.glob(f"*/{shard}/{name}"))]


def in_store(path: str) -> bool:
    return path.startswith(STORE_DIR + "/")


def is_active_task(path: str, ns_dir: str) -> bool:
    """An active task file of the namespace directory ``ns_dir``: ``<ns>/<two hex>/<anything>.md``."""
    if not path.startswith(ns_dir + "/") or not path.endswith(TASK_SUFFIX):
        return False
    parts = path[len(ns_dir) + 1 :].split("/")
    return len(parts) == 2 and bool(SHARD_RE.match(parts[0]))


@dataclass(frozen=True)
class Layout:
    """The paths of one namespace (``.backlog/<namespace>``)."""

    namespace: str

    @property
    def ns_dir(self) -> str:
        return f"{STORE_DIR}/{self.namespace}"

    @property
    def counter(self) -> str:
        return f"{self.ns_dir}/{COUNTER_NAME}"

    @property
    def archive_dir(self) -> str:
        return f"{self.ns_dir}/{ARCHIVE_DIR}"

    def shard_keeper(self, shard: str) -> str:
        if not SHARD_RE.match(shard):
            raise InvalidInput(f"Not a shard directory: {shard!r}")
        return f"{self.ns_dir}/{shard}/{KEEPER_NAME}"

    def task(self, task_uuid: str) -> str:
        if not UUID_RE.match(task_uuid):
            raise InvalidInput(f"Not a task uuid: {task_uuid!r}")
        return f"{self.ns_dir}/{task_uuid[:2]}/{task_uuid}{TASK_SUFFIX}"

    def archived(self, segment: str, task_uuid: str) -> str:
        if not SEGMENT_RE.match(segment) or not UUID_RE.match(task_uuid):
            raise InvalidInput(f"Invalid archive location {segment!r}/{task_uuid!r}")
        return f"{self.archive_dir}/{segment}/{task_uuid[:2]}/{task_uuid}{TASK_SUFFIX}"

    def is_archived_copy_of(self, path: str, task_uuid: str) -> bool:
        """``path`` is the task's file in some archive segment of this namespace."""
        return path.startswith(self.archive_dir + "/") and path.endswith(f"/{task_uuid[:2]}/{task_uuid}{TASK_SUFFIX}")

    def segment_of(self, path: str) -> str | None:
        """The archive segment of an archived path of this namespace (None if not one)."""
        prefix = self.archive_dir + "/"
        if not path.startswith(prefix):
            return None
        segment = path[len(prefix) :].split("/", 1)[0]
        return segment if SEGMENT_RE.match(segment) else None

    def is_active_task(self, path: str) -> bool:
        return is_active_task(path, self.ns_dir)

    def owns_active(self, path: str) -> bool:
        """Under this namespace and not archived (tasks and the counter)."""
        return path.startswith(self.ns_dir + "/") and not is_archived(path)


def write_lock_path(gitdir: Path) -> Path:
    return gitdir / WRITE_LOCK_NAME


def cache_dir(gitdir: Path) -> Path:
    return gitdir / CACHE_DIR_NAME


def journal_path(gitdir: Path) -> Path:
    """The checked-out-branch writer's journal (see ``gitstore.checkout``)."""
    return cache_dir(gitdir) / "journal.json"


def view_cache_path(gitdir: Path, namespace: str) -> Path:
    return cache_dir(gitdir) / f"view-{namespace}.cache"


def history_index_path(gitdir: Path, namespace: str) -> Path:
    return cache_dir(gitdir) / f"history-{namespace}.idx"
