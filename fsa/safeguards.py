"""What keeps a run's record and checkpoints true to its data and its own: the identity of the data
a run is trained on (recorded, checked on resume and before a record is replaced), the clip ids of
its splits, and the lock its process holds on its checkpoint folder.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import Any, TextIO

import torch.distributed as torch_dist

from data_prep.hashing import stable_hash

from . import results as store
from .checkpoint import CheckpointError
from .config import Config
from .distributed import DistInfo


class RunConflict(RuntimeError):
    """The run's record holds the same configuration on other data, or its checkpoint folder is
    being trained by another process; the message names the file and the way out."""


def split_ids(splits: Any) -> dict:
    """The sorted clip ids of the train, validation and test splits, and a hash of the three.

    Recorded with every run, so that a change in how a library assigns folds (scikit-learn's
    group k-fold, say) shows as other ids and another hash instead of moving clips between
    splits silently. A split dataset that does not list its clips (``.clips``) records ``None``.
    """
    ids = {}
    for name in ("train", "val", "test"):
        clips = getattr(getattr(splits, name), "clips", None)
        ids[name] = None if clips is None else sorted(c.clip_id for c in clips)
    return {**ids, "hash": stable_hash(ids)}


def run_data_hash(cfg: Config, splits: Any) -> str | None:
    """The identity of the run's data, as its record states it: the index hash its splits record
    (still images), else the hash of ``cfg.data``'s ``index.csv``."""
    return splits.record.get("data_index_hash") if splits.record else config_index_hash(cfg)


def lock_run(ckdir: Path, dist: DistInfo) -> TextIO | None:
    """Take ``<ckdir>/.lock`` (exclusive ``flock``, this pid written in it) for the process that writes
    the run (rank 0), or raise :class:`RunConflict` naming the pid that holds it. The lock goes
    with the returned file: closed, or its process gone, it is free. Under ``torchrun`` rank 0's
    outcome is broadcast, so a refused run ends with the refusal on every rank instead of leaving the
    other ranks waiting for rank 0 in their first collective."""
    lock, refused = None, None
    if dist.is_main:
        ckdir.mkdir(parents=True, exist_ok=True)
        lock = open(ckdir / ".lock", "a+")  # not truncated before it is ours: it names the holder
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            lock.close()
            lock, refused = None, (f"{ckdir}: this run is already being trained by pid {holder}; wait for it to "
                                   "end or choose another experiment")
        else:
            lock.truncate(0)
            lock.write(f"{os.getpid()}\n")
            lock.flush()
    if dist.active:
        shared = [refused]
        torch_dist.broadcast_object_list(shared, src=0)
        refused = shared[0]
    if refused:
        raise RunConflict(refused)
    return lock


def check_record_data(cfg: Config, experiment: str, results_root: str | os.PathLike | None, data_hash: str | None,
                       force: bool) -> None:
    """Refuse to replace the record of this configuration when it was made on other data, unless ``force``."""
    old = store.find_run(experiment, cfg.hash(), results_root)
    if old is not None and old.get("data_index_hash") != data_hash and not force:
        raise RunConflict(f"{old['result_path']}: records this configuration on data {old.get('data_index_hash')}, "
                          f"this run's data is {data_hash}; kept: choose another experiment, or --force (force=True) to "
                          "replace it")


def check_resume_data(ckpt: dict, data_hash: str | None, path: Path) -> None:
    """Refuse to continue a checkpoint trained on other data (or on data it does not name)."""
    stored = ckpt.get("data_index_hash")
    if stored != data_hash:
        of = f"data {stored}" if stored else "unnamed data (written before checkpoints named their data)"
        raise CheckpointError(f"{path}: checkpoint of {of}, this run's data is {data_hash}; resume it on its own "
                              "data, or train without --resume")


def check_splits(splits: Any) -> None:
    from .data import DataError

    for name in ("train", "val", "test"):
        if len(getattr(splits, name)) == 0:
            raise DataError(f"the {name} split is empty; the prepared dataset is too small for this protocol")


def config_index_hash(cfg: Config) -> str | None:
    from .data import index_hash

    return index_hash(cfg.data) if cfg.data else None


def file_digest(path: str | os.PathLike) -> str:
    """The first 12 hex digits of a file's sha256, read in blocks (weights files are hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]
