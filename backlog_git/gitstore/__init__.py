"""Everything git: the only package that imports pygit2 or runs the ``git`` command.

``repository`` (refs, commits, trees, history, config, the git CLI) and ``checkout`` (the journaled
write of store files to the working tree, the index and the checked-out branch).
"""

from .claimboard import ClaimBoard, Publication, RemoteClaim, Unreachable
from .repository import (
    CommitInfo,
    GitStore,
    Oid,
    format_message,
    merge_text_file,
    parse_trailers,
    probe_merge_driver,
)

__all__ = [
    "ClaimBoard",
    "CommitInfo",
    "GitStore",
    "Oid",
    "Publication",
    "RemoteClaim",
    "Unreachable",
    "format_message",
    "merge_text_file",
    "parse_trailers",
    "probe_merge_driver",
]
