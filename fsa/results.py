"""The results store: one JSON file per run, read back by the notebooks.

Layout: ``<root>/<experiment>/<config_hash>.json`` for a training run and
``<root>/<experiment>/folds-<hash>.json`` for the summary of a k-fold run; checkpoints live
beside them in ``<root>/<experiment>/checkpoints/``. ``root`` is ``$FSA_RESULTS`` when set,
else ``results/`` in the repository. Re-running a configuration replaces its file: the
store keeps the latest run of every configuration.

Every file is written to a temporary name in the same folder and renamed over the target
(:mod:`data_prep.atomic`, re-exported here), so a reader (or a killed writer) never sees half a file.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from data_prep.atomic import atomic_write as atomic_write, write_bytes as write_bytes, write_json

#: Environment variable that moves the results store.
ENV_VAR = "FSA_RESULTS"
REPO_ROOT = Path(__file__).resolve().parents[1]

#: Distributions whose versions every run records (distribution name -> key in the JSON).
VERSIONED = {
    "torch": "torch", "torchvision": "torchvision", "numpy": "numpy", "scikit-learn": "sklearn",
    "dlib-bin": "dlib", "opencv-python-headless": "opencv", "ecnn-fsa": "fsa",
}


def results_root() -> Path:
    """``$FSA_RESULTS`` if set, else ``<repo>/results``."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else REPO_ROOT / "results"


def experiment_dir(experiment: str, root: str | os.PathLike | None = None) -> Path:
    """The folder of one experiment; the name must be a single path component."""
    if not experiment or experiment in (".", "..") or "/" in experiment or os.sep in experiment:
        raise ValueError(f"experiment={experiment!r}: expected a plain name without path separators")
    return (Path(root) if root is not None else results_root()) / experiment


def record(experiment: str, result: dict, root: str | os.PathLike | None = None, name: str | None = None) -> Path:
    """Write one run's JSON to ``<root>/<experiment>/<name or config_hash>.json`` atomically."""
    stem = name or result.get("config_hash")
    if not stem:
        raise ValueError("a result needs a 'config_hash' (or pass name=)")
    return write_json(experiment_dir(experiment, root) / f"{stem}.json", result)


def load_runs(experiment: str, root: str | os.PathLike | None = None, kind: str = "run") -> list[dict]:
    """All records of an experiment of one ``kind`` (``run`` or ``folds``), oldest first.

    A file that is not valid JSON raises an error naming it rather than being skipped, so
    a table is never silently built from part of the store.
    """
    folder = experiment_dir(experiment, root)
    if not folder.is_dir():
        return []
    runs = []
    for p in sorted(folder.glob("*.json")):
        try:
            data = json.loads(p.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{p}: not a valid results JSON ({e})") from None
        if data.get("kind", "run") == kind:
            data.setdefault("result_path", str(p))
            runs.append(data)
    return sorted(runs, key=lambda r: r.get("finished_at", ""))


def find_run(experiment: str, config_hash: str, root: str | os.PathLike | None = None) -> dict | None:
    """The stored run of one configuration, or ``None``."""
    p = experiment_dir(experiment, root) / f"{config_hash}.json"
    return json.loads(p.read_text()) if p.is_file() else None


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
