"""Everything git: the only package that imports pygit2 or runs the ``git`` command.

``repository`` holds ``GitStore``, made of one module per concern: ``base`` (opening the repository, its
config), ``refs`` (tips, compare-and-swap, revisions), ``trees`` (tree reads and diffs), ``ancestry``,
``history`` (logs), ``writing`` (object-level commits), ``housekeeping`` (background gc and
commit-graph) and ``remotes`` (the git CLI). ``checkout`` is the journaled write of store files to the
working tree, the index and the checked-out branch; ``commits`` the message format and its trailers;
``mergefile`` the merge driver's git side; ``claimboard`` a remote's claims; ``pathindex`` which
commits touched which store file (a task's history without walking the whole log).
"""

from .base import Oid
from .claimboard import ClaimBoard, Publication, RemoteClaim, Unreachable
from .commits import CommitInfo, format_message, parse_trailers
from .mergefile import merge_text_file, probe_merge_driver
from .pathindex import PathIndex
from .repository import GitStore

__all__ = [
    "ClaimBoard",
    "CommitInfo",
    "GitStore",
    "Oid",
    "PathIndex",
    "Publication",
    "RemoteClaim",
    "Unreachable",
    "format_message",
    "merge_text_file",
    "parse_trailers",
    "probe_merge_driver",
]
