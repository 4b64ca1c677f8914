"""Claims published to a remote, so two machines never both hold one task.

A remote's claim on a task is the ref ``refs/backlog/claims/<uuid>`` there, pointing at a tiny commit
(empty tree) whose trailers name the holder and the lease's end. It only ever moves by
``git push --force-with-lease=<ref>:<what this clone last saw>``: the remote updates a ref under its
own lock, so of any number of clones pushing a claim from the same expected value exactly one wins,
and the others are told the ref moved, fetch it and read who holds the task. Records chain (each has
the one it replaced as parent), so a remote that refuses non-fast-forward pushes still accepts them.

The git CLI does the network part, so the user's remotes, credentials and hooks work; it never
prompts (a claim must not hang on a password) and never starts an automatic gc in the foreground.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import pygit2

from ..layout import CLAIM_REF_PREFIX, claim_ref, seen_claim_ref
from .commits import format_message, parse_trailers

if TYPE_CHECKING:
    from .repository import GitStore

TASK, HOLDER, UNTIL = "Backlog-Claim-Task", "Backlog-Claim-Holder", "Backlog-Claim-Until"
RELEASED = "Backlog-Claim-Released"
PUSH_ROUNDS = 4
_QUIET = ("-c", "gc.auto=0", "-c", "maintenance.auto=false")


class Unreachable(Exception):
    """The remote could not be asked (offline, refused, no such repository)."""


@dataclass(frozen=True)
class RemoteClaim:
    """A remote's record of a task's claim; ``holder`` None means released."""

    holder: str | None
    until: datetime | None

    def held_at(self, now: datetime) -> str | None:
        if self.holder is not None and self.until is not None and self.until > now:
            return self.holder
        return None


@dataclass(frozen=True)
class Publication:
    outcome: Literal["won", "lost", "offline"]
    standing: RemoteClaim | None = None
    """The claim that stands on the remote when ours lost."""
    detail: str = ""


class ClaimBoard:
    """One remote's claims, as this clone can read and move them."""

    def __init__(self, git: GitStore, remote: str) -> None:
        self.git = git
        self.remote = remote  # a configured remote's name (GitStore.configured_remote checked it)

    def publish(
        self,
        task_uuid: str,
        holder: str | None,
        until: datetime | None,
        may_replace: Callable[[RemoteClaim], bool],
    ) -> Publication:
        """Make the remote's claim on the task ``holder`` until ``until`` (None: released), unless a
        claim stands there that ``may_replace`` refuses to replace: then that claim is returned."""
        ref, seen = claim_ref(task_uuid), seen_claim_ref(self.remote, task_uuid)
        for _round in range(PUSH_ROUNDS):
            expected = self.git.tip(seen)
            known = self.read(task_uuid)
            if known is not None and not may_replace(known):
                # The lease below would let us overwrite a claim we know stands: ask for news first.
                try:
                    known = self.fetch(task_uuid)
                except Unreachable:
                    return Publication("lost", known)  # the last we heard, it is held
                if known is not None and not may_replace(known):
                    return Publication("lost", known)
                continue
            record = self._record(task_uuid, holder, until, expected)
            pushed = self._git(
                "push", "--porcelain", "--no-verify", f"--force-with-lease={ref}:{expected or ''}",
                "--", self.remote, f"{record}:{ref}",
            )
            status = _push_status(pushed.stdout, ref)
            if status is None:
                return Publication("offline", detail=_last_line(pushed.stderr))
            if status != "!":
                self.git.repo.references.create(seen, pygit2.Oid(hex=record), force=True)
                return Publication("won")
            try:
                standing = self.fetch(task_uuid)
            except Unreachable as gone:
                return Publication("offline", detail=str(gone))
            if standing is not None and not may_replace(standing):
                return Publication("lost", standing)
        return Publication("lost", self.read(task_uuid), detail=f"{self.remote} kept changing this claim")

    def fetch(self, task_uuid: str) -> RemoteClaim | None:
        """The remote's claim on one task, now (None: it never had one)."""
        ref, seen = claim_ref(task_uuid), seen_claim_ref(self.remote, task_uuid)
        fetched = self._git("fetch", "--no-tags", "--no-write-fetch-head", "--", self.remote, f"+{ref}:{seen}")
        if fetched.returncode != 0:
            if "couldn't find remote ref" in fetched.stderr:
                self._forget(seen)
                return None
            raise Unreachable(_last_line(fetched.stderr))
        return self.read(task_uuid)

    def fetch_all(self) -> dict[str, RemoteClaim]:
        """Every claim the remote holds records of, by task uuid."""
        seen_prefix = seen_claim_ref(self.remote)
        fetched = self._git(
            "fetch", "--no-tags", "--no-write-fetch-head", "--prune", "--", self.remote,
            f"+{CLAIM_REF_PREFIX}*:{seen_prefix}*",
        )
        if fetched.returncode != 0:
            raise Unreachable(_last_line(fetched.stderr))
        names = [r for r in self.git.repo.references if r.startswith(seen_prefix)]
        claims = {name.removeprefix(seen_prefix): self.read(name.removeprefix(seen_prefix)) for name in names}
        return {uuid: claim for uuid, claim in claims.items() if claim is not None}

    def read(self, task_uuid: str) -> RemoteClaim | None:
        """What this clone last saw of the remote's claim on the task."""
        tip = self.git.tip(seen_claim_ref(self.remote, task_uuid))
        if tip is None:
            return None
        trailers = parse_trailers(self.git.repo[tip].peel(pygit2.Commit).message)
        if trailers.get(RELEASED) or not trailers.get(HOLDER):
            return RemoteClaim(None, None)
        return RemoteClaim(trailers[HOLDER][0], _parse_time(trailers.get(UNTIL, [""])[0]))

    def _record(self, task_uuid: str, holder: str | None, until: datetime | None, parent: pygit2.Oid | None) -> str:
        repo = self.git.repo
        if holder is not None and until is not None:
            subject = f"claim {task_uuid} for {holder}"
            trailers = [(TASK, task_uuid), (HOLDER, holder), (UNTIL, until.astimezone(UTC).isoformat())]
        else:
            subject = f"release {task_uuid}"
            trailers = [(TASK, task_uuid), (RELEASED, "yes")]
        signature = self.git.signature()
        tree = repo.TreeBuilder().write()
        parents = [parent] if parent is not None and parent in repo else []
        return str(repo.create_commit(None, signature, signature, format_message(subject, trailers), tree, parents))

    def _forget(self, ref: str) -> None:
        with contextlib.suppress(KeyError):
            self.git.repo.references.delete(ref)

    def _git(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        return subprocess.run(
            ["git", *_QUIET, *args], cwd=self.git.workdir, env=env, capture_output=True, text=True, check=False,
            stdin=subprocess.DEVNULL,
        )


def _push_status(porcelain: str, ref: str) -> str | None:
    """The flag git's ``push --porcelain`` printed for ``ref`` ('!' rejected), None if it never got that far."""
    for line in porcelain.splitlines():
        fields = line.split("\t")
        if len(fields) >= 2 and fields[1].endswith(f":{ref}"):
            return fields[0][:1] or " "
    return None


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no answer"
