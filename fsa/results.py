"""The results store: one JSON file per run, read back by the notebooks.

Layout: ``<root>/<experiment>/<config_hash>.json`` for a training run and
``<root>/<experiment>/folds-<hash>.json`` for the summary of a k-fold run; checkpoints live
beside them in ``<root>/<experiment>/checkpoints/``. ``root`` is ``$FSA_RESULTS`` when set,
else ``results/`` in the repository. Re-running a configuration replaces its file: the
store keeps the latest run of every configuration.

Every file is written to a temporary name in the same folder and renamed over the target
(:mod:`data_prep.atomic`, re-exported here), so a reader (or a killed writer) never sees half a file.
Every reader loads a file through :func:`read_record`: a file that does not parse, is not a record,
or does not fit its kind's schema (:mod:`fsa.schema`: a field missing or of the wrong type) — a
copy cut short, a hand edit — is skipped with a :class:`RecordWarning` naming the file and the
problem, so one bad file neither stops a table (or the book) nor silently becomes part of one;
``fsa results check`` lists them, and :func:`record` refuses to write one.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import re
import subprocess
import warnings
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Iterator

from data_prep.atomic import atomic_write as atomic_write, write_bytes as write_bytes, write_json

from . import schema
from .config import ConfigError
from .identity import PIXELS_PREFIX, PixelPrint

#: Environment variable that moves the results store.
ENV_VAR = "FSA_RESULTS"
#: An experiment name: one folder of the store, never a path out of it.
EXPERIMENT_NAME = re.compile(r"[A-Za-z0-9_.-]+")
REPO_ROOT = Path(__file__).resolve().parents[1]

#: Distributions whose versions every run records (distribution name -> key in the JSON).
VERSIONED = {
    "torch": "torch", "torchvision": "torchvision", "numpy": "numpy", "scikit-learn": "sklearn",
    "dlib-bin": "dlib", "opencv-python-headless": "opencv", "ecnn-fsa": "fsa",
}


#: A file the store's readers append what they read to (``file <path>`` | ``dir <path>``, one per
#: line): set by :mod:`fsa.book` while a notebook executes, so that the page knows the records it
#: was made from (its inputs, :func:`fsa.book.inputs_key`) and which of them a rebuild must train.
READS_ENV = "FSA_READS_LOG"
#: ``never``: a record the store does not hold is an error (:class:`NotStored`), not trained or
#: computed (``make book NO_TRAIN=1``); anything else, or unset: missing records are made.
TRAIN_ENV = "FSA_TRAIN"


class NotStored(RuntimeError):
    """A record the results store does not hold, asked for while training is off (:data:`TRAIN_ENV`)."""


def check_may_train(what: str, where: str | os.PathLike) -> None:
    """Raise :class:`NotStored` naming ``what`` and where it would be recorded when training is off."""
    if os.environ.get(TRAIN_ENV, "") == "never":
        raise NotStored(f"{where}: {what} is not in the results store and {TRAIN_ENV}=never; "
                        "train it (make book without NO_TRAIN) or read another store")


def _note(what: str, path: Path) -> None:
    log = os.environ.get(READS_ENV)
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{what}\t{Path(path).resolve()}\n")


def utc_now() -> str:
    """The time a record is stamped with: UTC, ISO 8601, to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def results_root() -> Path:
    """``$FSA_RESULTS`` if set, else ``<repo>/results``."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else REPO_ROOT / "results"


def check_experiment(experiment: str) -> str:
    """``experiment`` if it is a plain name (:data:`EXPERIMENT_NAME`, not ``.`` or ``..``), the one
    folder of the store it names; else :class:`~fsa.config.ConfigError`."""
    if not EXPERIMENT_NAME.fullmatch(experiment or "") or experiment in (".", ".."):
        raise ConfigError(f"experiment={experiment!r}: expected a plain name of letters, digits and -_. "
                          "(no path separators, not . or ..)")
    return experiment


def experiment_dir(experiment: str, root: str | os.PathLike | None = None) -> Path:
    """The folder of one experiment (:func:`check_experiment`)."""
    return (Path(root) if root is not None else results_root()) / check_experiment(experiment)


def record(experiment: str, result: dict, root: str | os.PathLike | None = None, name: str | None = None) -> Path:
    """Write one run's JSON to ``<root>/<experiment>/<name or config_hash>.json`` atomically.

    A result its kind's schema rejects (:mod:`fsa.schema`) raises ``ValueError`` naming the field and
    is not written: the readers would skip it, so it is a bug of the writer, never part of the store.
    """
    stem = name or result.get("config_hash")
    if not stem:
        raise ValueError("a result needs a 'config_hash' (or pass name=)")
    path = experiment_dir(experiment, root) / f"{stem}.json"
    problem = schema.problem(result)
    if problem is not None:
        raise ValueError(f"{path}: not written, not a valid record: {problem}")
    _note("file", path)
    return write_json(path, result, what="the results record")


def record_pixels(experiment: str, pixels: PixelPrint, device: str, root: str | os.PathLike | None = None) -> Path:
    """Keep the pixel print of an experiment's data (:mod:`fsa.identity`) as
    ``<experiment>/pixels-<digest>.json``, once per digest: the first run on those pixels writes it."""
    path = experiment_dir(experiment, root) / f"{PIXELS_PREFIX}{pixels.digest}.json"
    if path.is_file():
        return path
    return record(experiment, pixels.to_record(experiment, device_name(device), utc_now()), root,
                  name=path.stem)


def pixel_prints(experiment: str, root: str | os.PathLike | None = None) -> dict[str, PixelPrint]:
    """``{digest: PixelPrint}`` of the pixel prints kept in an experiment."""
    return {r["digest"]: PixelPrint.from_record(r) for r in load_runs(experiment, root, kind="pixels")}


def load_runs(experiment: str, root: str | os.PathLike | None = None, kind: str = "run") -> list[dict]:
    """All records of an experiment of one ``kind`` (``run``, ``folds``, ``seeds``, ...), oldest first.

    Each file is read by :func:`read_record`: one that does not parse, is not a record or does not
    fit its kind's schema is skipped with a :class:`RecordWarning` naming it, so one bad file
    leaves the rest of the store readable and is never silently part of a table.
    """
    folder = experiment_dir(experiment, root)
    _note("dir", folder)
    if not folder.is_dir():
        return []
    runs = [r for r in map(read_record, sorted(folder.glob("*.json"))) if r is not None and r["kind"] == kind]
    return sorted(runs, key=lambda r: r.get("finished_at", ""))


def group_name(kind: str, group_hash: str) -> str:
    """``folds-<hash>`` | ``seeds-<hash>``: the store name of a k-fold or multi-seed summary."""
    return f"{kind}-{group_hash}"


def record_key(record: dict) -> str:
    """The hash a record is known by: a summary's folds / seeds hash, else its run's config hash."""
    return record.get("folds_hash") or record.get("seeds_hash") or record["config_hash"]


def find_run(experiment: str, name: str, root: str | os.PathLike | None = None) -> dict | None:
    """The stored record ``<experiment>/<name>.json`` (``name``: a run's config hash, or a summary's
    ``folds-<hash>`` / ``seeds-<hash>``); ``None`` when there is none, or when the file is not a
    readable record (:func:`read_record` warns and the caller treats it as not recorded)."""
    p = experiment_dir(experiment, root) / f"{name}.json"
    _note("file", p)
    return read_record(p) if p.is_file() else None


class RecordWarning(UserWarning):
    """A file of the results store skipped by a reader; the message names the file and the problem."""


#: The SHA-256 of every record text this process found valid against its schema: a page reads
#: some records many times, and checking one against its schema costs more than parsing it.
_VALID: set[bytes] = set()


def inspect_record(path: str | os.PathLike) -> tuple[dict | None, str | None]:
    """``(record, None)`` for a readable record of the store, else ``(None, problem)``.

    A record is a JSON object whose ``kind`` (``run`` when absent) is one of
    :data:`fsa.schema.SCHEMAS` and which is valid against that kind's schema (:func:`fsa.schema.problem`
    names the first field that is not); the returned record has its ``kind`` set and its ``result_path``.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        data = json.loads(raw.decode("utf-8"))
    except OSError as e:
        return None, f"cannot be read ({e.strerror or e})"
    except UnicodeDecodeError as e:
        return None, f"not UTF-8 text ({e.reason} at byte {e.start})"
    except json.JSONDecodeError as e:
        return None, f"not valid JSON ({e}; truncated?)"
    digest = hashlib.sha256(raw).digest()
    if digest not in _VALID:  # a schema's verdict depends on the bytes alone: each text is checked once
        problem = schema.problem(data)
        if problem is not None:
            return None, problem
        _VALID.add(digest)
    data.setdefault("kind", "run")
    data.setdefault("result_path", str(path))
    return data, None


def read_record(path: str | os.PathLike) -> dict | None:
    """The record of ``path`` (:func:`inspect_record`), or ``None`` after a :class:`RecordWarning`
    that names the file and its problem: the one loading function of every reader of the store."""
    _note("file", Path(path))
    data, problem = inspect_record(path)
    if problem is not None:
        warnings.warn(f"results store: skipped {path}: {problem}", RecordWarning, stacklevel=2)
    return data


@contextmanager
def skipped_records() -> Iterator[list[str]]:
    """Collect the :class:`RecordWarning` messages of the reads inside (each one, even one already
    shown): the book's build puts them on the page and in its log. Other warnings are shown as usual."""
    skipped: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RecordWarning)
        yield skipped
    for w in caught:
        if issubclass(w.category, RecordWarning):
            skipped.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def store_files(root: str | os.PathLike | None = None) -> list[Path]:
    """Every record file of the store: ``<root>/<experiment>/*.json``, sorted."""
    root = Path(root) if root is not None else results_root()
    return sorted(root.glob("*/*.json")) if root.is_dir() else []


#: What a run's ``dirty`` flag leaves out: the outputs the book's own build rewrites (executed
#: notebooks, the results store, the rendered book), so that a ``make book`` run, which rewrites
#: notebooks between runs, records ``dirty`` only when the code differs from the commit.
DIRTY_EXCLUDES = (":(exclude)notebooks", ":(exclude)results", ":(exclude)book")


def git_commit() -> dict:
    """The repository's HEAD commit and whether tracked files other than the book's outputs
    (:data:`DIRTY_EXCLUDES`) differ from it (``None`` outside git)."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", *DIRTY_EXCLUDES) if commit else None
    return {"commit": commit, "dirty": bool(dirty) if commit else None}


def package_versions() -> dict:
    """Versions of Python and the libraries that change the numbers (``None`` if not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for dist, key in VERSIONED.items():
        try:
            versions[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[key] = None
    if versions["fsa"] is None:  # running from a source tree that is not pip-installed
        from . import __version__

        versions["fsa"] = __version__
    return versions


def device_name(device: str) -> str:
    """A human-readable name of the device a run used (GPU model or CPU)."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    try:  # Linux: the CPU model; platform.processor() is often empty there
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def provenance(device: str) -> dict:
    """Where a number came from: git commit, package versions, device and host."""
    return {
        "git": git_commit(),
        "versions": package_versions(),
        "device": device,
        "device_name": device_name(device),
        "host": platform.node(),
    }
