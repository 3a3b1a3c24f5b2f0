"""The generator's fingerprint: a short hash of what fixes a generated set's bytes besides its
(layout, size, seed), written into the set's ``README.txt``.

Why: the results store keys runs by the hash of the prepared ``index.csv``
(:func:`fsa.data.index_hash`), which holds video ids, labels, subjects and frame counts, not
pixels. A set made by an older generator (other faces, AU tables, appearance layers) has the same
index hash as one made now, so only the fingerprint tells a reader (:func:`fsa.report.embedded_dataset`)
that a set on disk is not what the current code would make.

The hash reads the generator's source files (``data_prep/synth/*.py``,
``data_prep/facs.py``) and the source photos (:data:`~data_prep.synth.SOURCES`), each by its name and
bytes, so it is the same in every process and on every machine with the same files.
"""
from __future__ import annotations

import functools
import hashlib
import os
import re
from pathlib import Path
from typing import Sequence

from .sources import SOURCES

#: The ``data_prep`` package folder: the generator's files are named relative to it.
_PACKAGE = Path(__file__).resolve().parents[1]
#: What starts the README line that carries the fingerprint.
README_KEY = "generator:"
_README_LINE = re.compile(rf"^{README_KEY} ([0-9a-f]+)\s*$", re.MULTILINE)


def generator_inputs() -> list[tuple[str, Path]]:
    """``(name, file)`` of everything the fingerprint reads: the generator's modules by their path
    in ``data_prep`` (sorted), then the source photos as ``photo/<key>`` (in :data:`SOURCES` order)."""
    code = [*(_PACKAGE / "synth").glob("*.py"), _PACKAGE / "facs.py"]
    named = sorted((p.relative_to(_PACKAGE).as_posix(), p) for p in code if p.is_file())
    return named + [(f"photo/{key}", source.path()) for key, source in SOURCES.items()]


def fingerprint(inputs: Sequence[tuple[str, os.PathLike]]) -> str:
    """The first 12 hex digits of the sha256 of each input's name, length and bytes, in order."""
    digest = hashlib.sha256()
    for name, path in inputs:
        data = Path(path).read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:12]


@functools.lru_cache(maxsize=1)
def generator_fingerprint() -> str:
    """The fingerprint of the generator as installed here (read once per process)."""
    return fingerprint(generator_inputs())


def readme_line() -> str:
    """The README line that names the generator: ``generator: <fingerprint>``."""
    return f"{README_KEY} {generator_fingerprint()}"


def readme_fingerprint(root: str | os.PathLike) -> str | None:
    """The fingerprint that the ``README.txt`` of a generated set at ``root`` names, or ``None``
    when it has no README or no such line (sets made before the line existed)."""
    readme = Path(root) / "README.txt"
    if not readme.is_file():
        return None
    found = _README_LINE.search(readme.read_text(errors="replace"))
    return found.group(1) if found else None
