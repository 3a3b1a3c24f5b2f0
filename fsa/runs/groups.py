"""Groups of runs: every reproduced number is a mean over the runs of one configuration that differ
only in what they replicate — the folds of CK+'s k-fold cross-validation, or the seeds of a
single-split protocol (AFEW: Train -> Val). A group is keyed in the results store by its
configuration without the replicated field plus the values run (:func:`group_hash`), and recorded
as a summary beside its runs (``<experiment>/<key>s-<hash>.json``).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence, TypeVar

import numpy as np

from data_prep.hashing import stable_hash

from .. import results as store
from ..config import Config, ConfigError
from ..engine import RunResult, train
from ..metrics import summarize_folds
from ..safeguards import config_index_hash

#: Processes per training run: more than 1 trains each run with ``torchrun`` (``fsa paper --nproc``).
NPROC_ENV = "FSA_NPROC"
#: How many seeds an AFEW configuration is trained with (one Train / Val split: the interval of a
#: reproduced number is over seeds, as CK+'s is over folds).
AFEW_SEEDS = 3

T = TypeVar("T")


@dataclass
class GroupResult:
    experiment: str
    runs: list[RunResult]
    summary: dict
    summary_path: Path | None


def replicates(cfg: Config) -> tuple[str, list[int]]:
    """The runs of a configuration's group: every fold on CK+, :data:`AFEW_SEEDS` seeds from its
    own on AFEW (one Train / Val split)."""
    if cfg.dataset == "ckplus":
        return "fold", list(range(cfg.folds))
    return "seed", [cfg.seed + i for i in range(AFEW_SEEDS)]


#: What a group of runs replicates: the CK+ folds of k-fold cross-validation, or the seeds of a
#: single-split protocol (AFEW: Train -> Val, where the spread comes from initialisation, data
#: order and augmentation, so a reproduced number is a mean over seeds).
REPLICATES = ("fold", "seed")


def group_hash(cfg: Config, key: str, values: Sequence[int], runs: Sequence[Config] = ()) -> str:
    """Hash of a group of runs: the configuration without ``key`` (fold | seed), plus the values run,
    plus the weights each run starts from (``pretrained``) where ``runs`` do not all start from
    ``cfg``'s — the seeds of a chain, each from its own still-image runs (:mod:`fsa.runs.chain`).

    As in :meth:`fsa.config.Config.hash`, the model's registry name is a label: the rows of two
    tables that are one configuration (``cnn-lstm`` and ``cnn-lstm-2048-2048``) share their group,
    and a later field at its default is left out (:meth:`fsa.config.Config.identity`).
    """
    d = cfg.numbers()
    d.pop(key)
    d[f"{key}s_run"] = list(values)
    if any(run.pretrained != cfg.pretrained for run in runs):
        d["pretrained_run"] = [run.pretrained for run in runs]
    return stable_hash(d)


def folds_hash(cfg: Config, folds: Sequence[int]) -> str:
    """Hash of a k-fold run: the configuration without its fold, plus the list of folds run."""
    return group_hash(cfg, "fold", folds)


def processes() -> int:
    """How many processes train each run: :data:`NPROC_ENV`, else 1 (this process)."""
    text = os.environ.get(NPROC_ENV, "1")
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{NPROC_ENV}={text!r}: expected a number of processes >= 1")
    return int(text)


def train_distributed(cfg: Config, experiment: str, nproc: int, results_root: str | os.PathLike | None = None,
                      keep_last: bool = False) -> RunResult:
    """Train one run with ``torchrun`` on ``nproc`` processes (one per GPU; gloo on the CPU) through
    ``python -m fsa.train --config`` and read its record back: data-parallel training of the same run,
    recorded under the same key (:mod:`fsa.engine`)."""
    with tempfile.TemporaryDirectory(prefix="fsa-run-") as tmp:
        config = Path(tmp) / "config.json"
        config.write_text(json.dumps(cfg.to_dict()))
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "fsa.train", "--config", str(config), "--experiment", experiment, "--quiet",
               *(["--results", str(results_root)] if results_root is not None else []),
               *(["--keep-last"] if keep_last else [])]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"torchrun of {cfg.model.name} ({cfg.hash()}) on {nproc} processes failed "
                           f"(exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    record = store.read_record(json.loads(proc.stdout)["result"])
    if record is None:
        raise RuntimeError(f"torchrun of {cfg.model.name} ({cfg.hash()}): its record cannot be read")
    return _result(experiment, cfg, record)


def _result(experiment: str, cfg: Config, record: dict) -> RunResult:
    return RunResult(experiment, cfg, record["config_hash"], record["metrics"], record["val_metrics"],
                     record["selected_epoch"], record["history"], record["per_clip"], Path(record["checkpoint"]),
                     Path(record["result_path"]), record)


def recorded_run(cfg: Config, experiment: str, results_root: str | os.PathLike | None = None) -> RunResult | None:
    """The stored run of ``cfg`` (one replicate) as training it would return it, when it was recorded on
    the run's data; else ``None``."""
    record = store.find_run(experiment, cfg.hash(), results_root)
    if record is None or record.get("kind") != "run" or record.get("data_index_hash") != config_index_hash(cfg):
        return None
    return _result(experiment, cfg, record)


def group_summary(kind: str, experiment: str, head: dict, config: dict, key: str, values: Sequence[int],
                  hash_: str, records: Sequence[dict], **tail) -> dict:
    """The summary record of a group — deep runs (``folds`` | ``seeds``) or floors (``floor-folds``) —
    from its runs' records: their mean ± std per score and the confusion of their pooled test clips,
    the values run and each run's key. Pooled scores count every test clip of every run: for folds
    each clip once (the figure some CK+ papers report); for seeds each clip once per seed."""
    index = {c: i for i, c in enumerate(records[0]["metrics"]["classes"])}
    pooled = [c for r in records for c in r["per_clip"]]
    return {
        "kind": kind, "experiment": experiment, **head,
        "config": {**config, key: None},
        f"{key}s_hash": hash_,
        f"{key}s_run": list(values),
        f"{key}_config_hashes": [r["config_hash"] for r in records],
        "finished_at": store.utc_now(),
        "metrics": summarize_folds([r["metrics"] for r in records], [index[c["label"]] for c in pooled],
                                   [index[c["pred"]] for c in pooled]),
        **tail,
    }


def record_group(summary: dict, results_root: str | os.PathLike | None = None) -> Path:
    """Write a group summary to ``<experiment>/<key>s-<hash>.json``."""
    key = "fold" if "folds_hash" in summary else "seed"
    return store.record(summary["experiment"], summary, results_root,
                        name=store.group_name(f"{key}s", summary[f"{key}s_hash"]))


def replicate(key: str, values: Iterable[int], run_one: Callable[[int], T],
              summarize: Callable[[list[int], list[T]], dict], results_root: str | os.PathLike | None = None,
              write: Callable[[list[T]], bool] = lambda runs: True) -> tuple[list[T], dict, Path | None]:
    """The group runner of every kind of run — a deep configuration (:func:`run_group`) or a floor
    (:func:`fsa.floors.run_folds`): one run per value of ``key`` (``fold`` | ``seed``), each
    recorded by ``run_one``, then their summary (``summarize``, from :func:`group_summary`)
    recorded beside them as ``<key>s-<hash>.json`` where ``write`` says the runs were recorded."""
    if key not in REPLICATES:
        raise ConfigError(f"key={key!r}: expected one of {', '.join(REPLICATES)}")
    values = sorted(set(int(v) for v in values))
    if not values:
        raise ConfigError(f"no {key}s to run")
    runs = [run_one(v) for v in values]
    summary = summarize(values, runs)
    return runs, summary, record_group(summary, results_root) if write(runs) else None


def run_group(cfg: Config, experiment: str, key: str, values: Sequence[int],
              results_root: str | os.PathLike | None = None, resume: bool = False, track_test: bool = False,
              progress: bool | None = None, force: bool = False, keep_last: bool = False, reuse: bool = False,
              configure: Callable[[int], Config] | None = None) -> GroupResult:
    """A deep configuration's group (:func:`replicate`): one training per value of ``key`` (with
    ``torchrun`` when :func:`processes` says more than one), summarised as ``kind`` = ``<key>s``.
    ``reuse``: a replicate the store holds (:func:`recorded_run`) is read, not trained again — the
    runs a pool trained (:func:`fsa.runs.chain.obtain_all`), or those a killed group had finished.
    ``configure``: the configuration of the run of a value (default ``cfg`` with ``key`` set to it;
    the seeds of a chain start from their own still-image runs, :func:`fsa.runs.chain.replica_runs`)."""
    nproc = processes()
    configure = configure or (lambda value: cfg.override(**{key: value}))

    def run_one(value: int) -> RunResult:
        run = configure(value)
        found = recorded_run(run, experiment, results_root) if reuse else None
        if found is not None:
            return found
        if nproc > 1:
            return train_distributed(run, experiment, nproc, results_root, keep_last)
        return train(run, experiment, results_root, resume, track_test, progress=progress, force=force,
                     keep_last=keep_last)

    def summarize(values: list[int], runs: list[RunResult]) -> dict:
        return group_summary(
            f"{key}s", experiment, {"model": cfg.model.name, "dataset": cfg.dataset, "protocol": cfg.protocol},
            cfg.to_dict(), key, values, group_hash(cfg, key, values, [configure(v) for v in values]),
            [r.record for r in runs],
            selected_epochs=[r.selected_epoch for r in runs],
            timings={k: float(np.mean([r.record["timings"][k] for r in runs]))
                     for k in ("train_ms_per_frame", "test_ms_per_frame")})

    runs, summary, path = replicate(key, values, run_one, summarize, results_root,
                                    write=lambda runs: runs[0].result_path is not None)  # rank 0 writes
    return GroupResult(experiment, runs, summary, path)


def run_folds(cfg: Config, experiment: str, folds: Iterable[int] | None = None,
              results_root: str | os.PathLike | None = None, resume: bool = False, track_test: bool = False,
              progress: bool | None = None, force: bool = False, keep_last: bool = False) -> GroupResult:
    """CK+ k-fold cross-validation: one model per fold, then mean ± std and pooled confusion.

    ``folds`` defaults to all ``cfg.folds`` folds (see :func:`run_group`).
    """
    folds = list(range(cfg.folds)) if folds is None else sorted(set(folds))
    for k in folds:
        if not 0 <= k < cfg.folds:
            raise ConfigError(f"fold={k!r}: expected 0 <= fold < folds={cfg.folds}")
    return run_group(cfg, experiment, "fold", folds, results_root, resume, track_test, progress, force, keep_last)


def run_seeds(cfg: Config, experiment: str, seeds: Iterable[int], results_root: str | os.PathLike | None = None,
              resume: bool = False, track_test: bool = False, progress: bool | None = None, force: bool = False
              ) -> GroupResult:
    """The same configuration trained once per seed (see :func:`run_group`)."""
    return run_group(cfg, experiment, "seed", list(seeds), results_root, resume, track_test, progress, force)
