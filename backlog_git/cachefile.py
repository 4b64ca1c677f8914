"""Cache files under ``.git/backlog/`` (the parse cache, the history index): a value written whole or
not at all, and read back only when intact.

A cache is never the truth: a missing, torn, damaged or unreadable file reads as None and its owner
rebuilds it. The file is a magic line, a CRC-32 of the payload and the payload (``marshal``). Each
writer (process and thread) writes a file of its own and renames it over the cache, so a reader sees
one whole file or another, never a mix.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import threading
import zlib
from pathlib import Path
from typing import Any

MAGIC = b"backlog-git cache 3\n"
_HEAD = len(MAGIC) + 4


def read(path: Path) -> Any | None:
    """The value a cache file holds, or None when it is missing, torn, damaged or unreadable."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if not data.startswith(MAGIC) or len(data) < _HEAD:
        return None
    payload = memoryview(data)[_HEAD:]
    if zlib.crc32(payload) != int.from_bytes(data[len(MAGIC) : _HEAD], "big"):
        return None
    try:
        return marshal.loads(payload)
    except Exception:  # a payload this Python cannot read: no cache
        return None


def write(path: Path, value: Any) -> bool:
    """Replace the cache file with ``value`` (marshal-able); False when it could not be written."""
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}-{threading.get_ident()}")
    try:
        payload = marshal.dumps(value)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            handle.write(MAGIC + zlib.crc32(payload).to_bytes(4, "big"))
            handle.write(payload)
        os.replace(tmp, path)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
    return True
