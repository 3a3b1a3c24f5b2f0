"""The 95 % interval of every reproduced accuracy, and the test predictions behind a record.

A k-fold summary's interval is over its folds and a seeds summary's over its seeds; single
runs that differ only in their seed share the interval over their seeds; a lone run has the
Wilson interval over its test clips (:mod:`fsa.metrics`). The paired claims
(:mod:`fsa.report.verdicts`) read a record's predictions per replicate (:func:`replicate_rows`).
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

import numpy as np

from .. import results as store
from ..config import Config, ConfigError
from ..metrics import t_interval, wilson_interval
from .records import fold_runs

#: The seed and the fields that do not change a run's numbers: runs of one experiment equal in
#: every other config field are seeds of one configuration.
_NOT_SETTINGS = ("seed", *Config.EXECUTION_FIELDS)


def _settings(r: dict) -> str:
    config = {k: v for k, v in Config.identity(r["config"]).items() if k not in _NOT_SETTINGS}
    return json.dumps([r.get("experiment"), r.get("kind", "run"), config], sort_keys=True, default=str)


def score_mean(v: Any) -> float:
    """A record's score: the value of a run's, the mean of a summary's (``{"mean", "std", "per_fold"}``)."""
    return float(v["mean"] if isinstance(v, dict) else v)


def accuracy_interval(record: dict, seeds: Sequence[dict] = ()) -> dict:
    """The 95 % interval of a record's accuracy (:mod:`fsa.metrics`): a t-interval over the folds
    of a k-fold summary or the seeds of a seeds summary; over seeds when ``seeds`` (the runs of
    this configuration, this one included) are two or more; else the Wilson interval over the
    test clips of the one run."""
    met = record["metrics"]
    if isinstance(met["accuracy"], dict) and len(met["accuracy"]["per_fold"]) >= 2:
        return t_interval(met["accuracy"]["per_fold"], over="seeds" if record.get("kind") == "seeds" else "folds")
    if len(seeds) >= 2:
        return t_interval([score_mean(r["metrics"]["accuracy"]) for r in seeds], over="seeds")
    counts = np.asarray(met.get("pooled", met)["confusion"])
    return wilson_interval(int(np.trace(counts)), int(counts.sum()))


def intervals(records: Iterable[dict]) -> dict[int, dict]:
    """:func:`accuracy_interval` of each record, keyed by ``id``; single runs that differ only
    in their seed share the interval over their seeds."""
    records = list(records)
    seeds: dict[str, list[dict]] = {}
    for r in records:
        if not isinstance(r["metrics"]["accuracy"], dict):
            seeds.setdefault(_settings(r), []).append(r)
    return {id(r): accuracy_interval(r, seeds.get(_settings(r), ())) for r in records}


def replicate_rows(record: dict) -> dict[str, list[dict]]:
    """A record's test predictions per replicate: ``{"all": rows}`` for a run, a floor or a
    k-fold summary (every fold's rows, each clip once), ``{"seed<k>": rows}`` for a seeds
    summary (the same clips once per seed). Group members are read from the store."""
    if "fold_config_hashes" not in record and "seed_config_hashes" not in record:
        return {"all": record["per_clip"]}
    key = "seed" if record.get("kind") == "seeds" else "fold"
    hashes = record[f"{key}_config_hashes"]
    runs = fold_runs(record)
    missing = [h for h, r in zip(hashes, runs) if r is None]
    if missing:
        raise ConfigError(f"{record['kind']} record {record.get(f'{key}s_hash')}: run record(s) {', '.join(missing)} "
                          f"are missing from the results store ({store.experiment_dir(record['experiment'])})")
    if key == "fold":
        return {"all": [c for r in runs for c in r["per_clip"]]}
    return {f"seed{v}": r["per_clip"] for v, r in zip(record["seeds_run"], runs)}


def per_clip_rows(record: dict) -> list[dict]:
    """A record's test predictions, every replicate's (:func:`replicate_rows`)."""
    return [c for rows in replicate_rows(record).values() for c in rows]
