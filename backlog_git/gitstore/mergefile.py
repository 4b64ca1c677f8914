"""The merge driver's git side, which needs no repository: ``git merge-file`` for the files the driver
does not merge itself, and a probe that runs a registered driver command the way git would."""

from __future__ import annotations

import shlex
import subprocess
import tempfile
from pathlib import Path


def merge_text_file(ours: str, base: str, theirs: str) -> bool:
    """``git merge-file`` in place on ``ours`` (the merge driver's fallback for non-task files).
    The names are temporary files git chose; ``--`` keeps any of them from reading as an option."""
    labels = ["-L", "ours", "-L", "base", "-L", "theirs"]
    proc = subprocess.run(["git", "merge-file", *labels, "--", ours, base, theirs], check=False)
    return proc.returncode == 0


def probe_merge_driver(command: str) -> str | None:
    """Run a registered merge-driver command the way git does (``sh -c`` with %O %A %B %P filled in)
    on a throw-away id-counter merge; None when it answered correctly, else what went wrong."""
    with tempfile.TemporaryDirectory(prefix="backlog-driver-probe-") as tmp:
        files = {name: Path(tmp) / name for name in ("base", "ours", "theirs")}
        for name, value in (("base", b"1\n"), ("ours", b"3\n"), ("theirs", b"5\n")):
            files[name].write_bytes(value)
        filled = (command.replace("%O", shlex.quote(str(files["base"])))
                  .replace("%A", shlex.quote(str(files["ours"])))
                  .replace("%B", shlex.quote(str(files["theirs"])))
                  .replace("%P", shlex.quote(".backlog/probe/next-id")))
        try:
            proc = subprocess.run(["sh", "-c", filled], capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
        if proc.returncode != 0:
            return (proc.stderr or proc.stdout).strip().splitlines()[-1:][0] if (proc.stderr or proc.stdout).strip() \
                else f"exit status {proc.returncode}"
        if files["ours"].read_bytes().strip() != b"5":
            return "it ran but did not merge the test file"
    return None
