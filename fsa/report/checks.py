"""The checks the notebooks end with: nbval fails a notebook whose check fails.

Every record a page shows is complete, traceable to its config, data and commit, and its test
metrics are those of its per-clip predictions; under the ``cpu`` preset on the embedded data
the models must clear a collapse bar and their classical floors.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..config import Config
from ..models.registry import REGISTRY
from .matching import architecture
from .page import Page
from .records import GROUP_KIND, fold_runs
from .verdicts import verdict

#: Under the ``cpu`` preset on the embedded CK+ set, a k-fold model must reach at least this multiple
#: of the majority-class rate (mean test accuracy over folds): a floor against collapse, set when the
#: profile trained from scratch. The recorded runs of the current profile (seed 0, majority 21.9 %)
#: sit at 3.5x to 4.3x; the bar that follows them is :func:`check_above_floor` (every table with
#: floors, AFEW included).
CPU_CKPLUS_BAR = 1.4


def check_metrics(r: dict, name: str) -> None:
    """A run's test metrics are those of its per-clip predictions: one row per test clip, the
    confusion matrix counted from the rows, the accuracy their fraction of correct clips."""
    met, clips = r["metrics"], r["per_clip"]
    assert len(clips) == r["n_clips"]["test"] == met["n_clips"], (
        f"{name}: {len(clips)} per-clip rows for {r['n_clips']['test']} test clips ({met['n_clips']} scored)")
    index = {c: i for i, c in enumerate(met["classes"])}
    counts = np.zeros((len(index), len(index)), int)
    for c in clips:
        counts[index[c["label"]], index[c["pred"]]] += 1
    assert counts.tolist() == met["confusion"], f"{name}: the confusion matrix is not the per-clip predictions'"
    correct = sum(c["label"] == c["pred"] for c in clips) / len(clips)
    assert abs(met["accuracy"] - correct) < 1e-9, (
        f"{name}: accuracy {met['accuracy']:.4f}, but {correct:.4f} of the per-clip predictions are correct")


def check_records(records: Sequence[dict], page: Page) -> dict:
    """Every record is complete, traceable to its config, data and commit, and its test metrics
    are those of its per-clip predictions (:func:`check_metrics`); under the ``cpu``
    preset on synthetic CK+, every k-fold model also beats the majority class by
    :data:`CPU_CKPLUS_BAR`. (The ``smoke`` preset, used by the notebook tests, keeps these
    from-scratch models near chance; the engine's own test checks learning at that scale.)

    Returns each run's last-epoch training accuracy; an ``AssertionError`` names the run that failed.
    """
    checked = {}
    for rec in records:
        if rec["kind"] == "folds" and page.preset == "cpu" and page.source["kind"] == "synthetic":
            pooled = np.asarray(rec["metrics"]["pooled"]["confusion"]).sum(1)
            majority, acc = pooled.max() / pooled.sum(), rec["metrics"]["accuracy"]["mean"]
            assert acc >= CPU_CKPLUS_BAR * majority, (
                f"{rec['model']} k-fold {rec['folds_hash']}: mean accuracy {acc:.3f} < {CPU_CKPLUS_BAR} x the "
                f"majority-class rate {majority:.3f} — an accuracy regression")
        runs = fold_runs(rec) if rec["kind"] in GROUP_KIND.values() else [rec]
        for r in runs:
            assert r is not None, f"a fold of {rec.get('folds_hash')} is missing from the store"
            name = f"{r['model']} run {r['config_hash']}"
            assert r["data_index_hash"] == page.source["index_hash"], f"{name}: recorded on other data"
            assert r["git"]["commit"] and r["versions"]["torch"], f"{name}: no provenance"
            assert Config.from_dict(r["config"]).hash() == r["config_hash"], f"{name}: config and hash differ"
            assert len(r["history"]) == r["config"]["epochs"] or r["stopped_early"], f"{name}: unfinished"
            check_metrics(r, name)
            checked[name] = round(r["history"][-1]["train_accuracy"], 3)
    return checked


def check_above_floor(records: Sequence[dict], floors: Sequence[dict], page: Page, model: str = "ecnn-fsa",
                      over_seeds: pd.DataFrame | None = None) -> dict:
    """Under the ``cpu`` preset on the embedded data, the proposed model must beat every classical
    floor of the page on the same test clips (:func:`verdict` "supported": the paired bootstrap's
    interval above 0 and McNemar significant). A deep model below HOG + a linear classifier is a
    bug to find, not a result to print. ``over_seeds`` (:meth:`Page.floor_claims`), when given, is
    the judgement checked: the claim over several seeds, not one seed's draw. Returns the
    verdicts; an ``AssertionError`` names the floor."""
    if page.preset != "cpu" or page.source["kind"] != "synthetic":
        return {}
    if over_seeds is not None:
        assert len(over_seeds) == len(floors), f"Table {page.table}: {len(over_seeds)} seed claims for {len(floors)} floors"
        for row in over_seeds.to_dict("records"):
            assert row["verdict"] == "supported", f"{row['claim']} over {row['source']}: {row['verdict']} ({row})"
        return dict(zip(over_seeds["claim"], over_seeds["verdict"]))
    arch = architecture(REGISTRY[model].config)
    mine = [r for r in records if architecture(r["config"]["model"]) == arch]
    assert mine and floors, f"Table {page.table}: nothing to compare ({len(mine)} {model} record(s), {len(floors)} floor(s))"
    out = {}
    for f in floors:
        v = verdict(mine[-1], f)
        out[f["label"]] = v["verdict"]
        assert v["verdict"] == "supported", (
            f"{model} {mine[-1].get('folds_hash') or mine[-1].get('seeds_hash')}: {100 * v['accuracy_a']:.1f} % "
            f"against the floor {f['label']} {100 * v['accuracy_b']:.1f} % on the same clips, difference "
            f"[{100 * v['low']:.1f}, {100 * v['high']:.1f}] pp, McNemar p = {v['mcnemar_p']:.3g}: not above the floor")
    return out
