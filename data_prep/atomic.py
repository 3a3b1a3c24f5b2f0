"""Write-then-rename: every file of the project (prepared frames, reports, results, checkpoints) is
written to a temporary name in its own folder and renamed over the target, so a reader (or a killed
writer) never sees half a file. :mod:`fsa.results` and :mod:`fsa.checkpoint` write through these too.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def umask() -> int:
    """The process's file-mode creation mask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None], mode: str = "w") -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it onto ``path``.

    The file gets the mode any new file gets (``0o666`` less the umask: 0644 under umask 022), not
    the owner-only 0600 of the temporary file, so a shared store stays readable by its group.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write(path, lambda f: json.dump(obj, f, indent=1, allow_nan=False))


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (an encoded image, say)."""
    return atomic_write(path, lambda f: f.write(data), mode="wb")
