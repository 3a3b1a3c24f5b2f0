"""Write-then-rename: every file of the project (prepared frames, reports, results, checkpoints) is
written to a temporary name in its own folder and renamed over the target, so a reader (or a killed
writer) never sees half a file. :mod:`fsa.results` and :mod:`fsa.checkpoint` write through these too.
A disk that fills up (or a file over the file system's size limit) mid-write leaves no temporary
file and raises :class:`DiskFullError`, one line naming the file and what was being written.
"""
from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

#: The errors of a write that ran out of room: no space left, a file over the size limit, a quota.
NO_ROOM = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


class DiskFullError(OSError):
    """A write that ran out of room (:data:`NO_ROOM`); the message names the file and what it held."""


def umask() -> int:
    """The process's file-mode creation mask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None], mode: str = "w",
                 what: str = "the file") -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it onto ``path``.

    The file gets the mode any new file gets (``0o666`` less the umask: 0644 under umask 022), not
    the owner-only 0600 of the temporary file, so a shared store stays readable by its group. On
    any failure the temporary file is removed and ``path`` is left as it was; running out of room
    raises :class:`DiskFullError` (``<path>: no space left on device while writing <what>``).
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        full = _no_room(e)
        if full is not None:
            raise DiskFullError(f"{path}: {os.strerror(full).lower()} while writing {what}") from e
        raise
    return path


def _no_room(error: BaseException) -> int | None:
    """The :data:`NO_ROOM` errno of ``error`` or of an error it was raised from or during: a
    serializer may wrap the file's ``OSError`` (``torch.save`` raises a ``RuntimeError`` then)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in NO_ROOM:
            return error.errno
        error = error.__cause__ or error.__context__
    return None


def write_json(path: str | os.PathLike, obj: Any, what: str = "the file") -> Path:
    """Write ``obj`` to ``path`` atomically as strict JSON (a NaN raises ``ValueError``)."""
    return atomic_write(path, lambda f: json.dump(obj, f, indent=1, allow_nan=False), what=what)


def write_text(path: str | os.PathLike, text: str, what: str = "the file") -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")), mode="wb", what=what)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (an encoded image, say)."""
    return atomic_write(path, lambda f: f.write(data), mode="wb")
