"""The classical floors (:mod:`fsa.floors`) as runs: read from the results store when recorded,
else fitted and recorded — the k-fold summary on CK+ (through the group runner,
:func:`fsa.runs.groups.replicate`), the Train → Val run on AFEW. ``fsa floors`` measures them from
the command line; the pages ask :func:`page_floors`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from typing import Sequence

from .. import results as store
from ..config import Config, ConfigError
from ..floors import (
    FOLDS_KIND,
    PAGE_FEATURES,
    Features,
    FloorConfig,
    default_experiment,
    run_fold,
)
from .chain import experiment_name
from .groups import group_summary, replicate


def floor_folds(fcfg: FloorConfig, experiment: str | None = None, folds: Sequence[int] | None = None,
                results_root: str | os.PathLike | None = None) -> dict:
    """CK+ k-fold floor through the run layer's group runner (:func:`fsa.runs.groups.replicate`): one
    fit per fold (each recorded), on features computed once, and the summary (``folds-<hash>.json``)."""
    fcfg = fcfg.validate()
    experiment = experiment or default_experiment(fcfg)
    feats = Features(fcfg)

    def summarize(folds: list[int], runs: list[dict]) -> dict:
        return group_summary(
            FOLDS_KIND, experiment, {"model": fcfg.name, "label": fcfg.label, "dataset": fcfg.dataset,
                                     "protocol": fcfg.protocol}, fcfg.to_dict(), "fold", folds,
            fcfg.folds_hash(folds), runs, data_index_hash=feats.index_hash,
            selected_C=[r["selected_C"] for r in runs],
            timings={"features_s": feats.features_s, "fit_s": float(sum(r["timings"]["fit_s"] for r in runs))})

    return replicate("fold", range(fcfg.folds) if folds is None else folds,
                     lambda k: run_fold(replace(fcfg, fold=k), experiment, results_root, feats), summarize,
                     results_root)[1]


def obtain_floor(fcfg: FloorConfig, experiment: str | None = None, retrain: bool = False,
                 results_root: str | os.PathLike | None = None) -> dict:
    """The floor's record — the k-fold summary on CK+, the AFEW Val run on AFEW — read from the
    store when it is there (same settings, same data; unless ``retrain``), else computed and recorded."""
    fcfg = fcfg.validate()
    experiment = experiment or default_experiment(fcfg)
    name = store.group_name("folds", fcfg.folds_hash(range(fcfg.folds))) if fcfg.dataset == "ckplus" else fcfg.hash()
    found = None if retrain else store.find_run(experiment, name, results_root)
    if found is not None:
        return found
    store.check_may_train(f"the {fcfg.label} floor", store.experiment_dir(experiment, results_root) / f"{name}.json")
    if fcfg.dataset == "ckplus":
        return floor_folds(fcfg, experiment, results_root=results_root)
    return run_fold(fcfg, experiment, results_root)


def page_floors(cfg: Config, features: Sequence[str] | None = None, feature_size: int = 64,
                retrain: bool = False) -> list[dict]:
    """The floors of a page on the data, protocol and splits of its configuration ``cfg``: ``features``,
    by default those the dataset's pages show (:data:`fsa.floors.PAGE_FEATURES`)."""
    return [obtain_floor(FloorConfig.from_config(cfg, f, feature_size), experiment_name(cfg), retrain)
            for f in (PAGE_FEATURES[cfg.dataset] if features is None else features)]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="fsa floors", description="Classical floors (HOG or LBP + logistic "
                                 "regression, LBP-TOP + χ² SVM) on a prepared CK+ or AFEW set, on the deep "
                                 "models' clips and splits; read from the results store when recorded.")
    ap.add_argument("--dataset", required=True, choices=("ckplus", "afew"))
    ap.add_argument("--data", required=True, help="prepared dataset root")
    ap.add_argument("--features", default="hog,lbp", help="comma list of hog, lbp, lbp-top (default hog,lbp)")
    ap.add_argument("--feature-size", type=int, default=FloorConfig.feature_size)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=5, help="AFEW: frames per clip (default 5)")
    ap.add_argument("--retrain", action="store_true", help="compute again even if the store has the record")
    args = ap.parse_args(argv)
    from ..data import DataError

    protocol = "afew" if args.dataset == "afew" else "paper"
    for feature in args.features.split(","):
        t0 = time.perf_counter()
        try:
            fcfg = FloorConfig.make(feature, feature_size=args.feature_size, dataset=args.dataset, data=args.data,
                                    protocol=protocol, seed=args.seed, n=args.n if args.dataset == "afew" else 1)
            rec = obtain_floor(fcfg, retrain=args.retrain)
        except (ConfigError, DataError) as e:
            print(f"fsa floors: error: {e}", file=sys.stderr)
            return 1
        acc = rec["metrics"]["accuracy"]
        print(json.dumps({"floor": fcfg.label, "record": store.record_key(rec),
                          "accuracy": acc, "seconds": round(time.perf_counter() - t0, 1)}))
    return 0
