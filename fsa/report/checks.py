"""The checks the notebooks end with: nbval fails a notebook whose check fails.

Every record a page shows is complete, traceable to its config, data and commit, and its test
metrics are those of its per-clip predictions. Under the ``cpu`` preset on the embedded data,
where the models are measured to learn, every fold (CK+) or seed (AFEW) must also beat the
majority class of its own test clips, and the proposed model its classical floors; every group
with a bar derived from the recorded runs (:mod:`fsa.report.bars`) must clear it.
"""
from __future__ import annotations

from collections import Counter
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import results as store
from ..config import Config
from ..models.registry import REGISTRY
from . import bars
from .matching import architecture, profile_of
from .page import Page
from .records import GROUP_KIND, fold_runs
from .verdicts import verdict

#: The preset whose runs on the embedded data are held to learning (every fold above its majority
#: class, the proposed model above its floors): the one the book's numbers come from. The ``smoke``
#: preset, used by the notebook tests, keeps its from-scratch models near chance; the engine's own
#: test checks learning at that scale.
MEASURED_PRESET = "cpu"


def in_measured_profile(record: dict, page: Page) -> bool:
    """Whether ``record`` ran with :data:`MEASURED_PRESET`'s numbers on the embedded data."""
    return page.source["kind"] == "synthetic" and profile_of(record["config"]) == MEASURED_PRESET


def accuracy_of(run: dict) -> float:
    """A run's test accuracy counted from its per-clip predictions."""
    return sum(c["label"] == c["pred"] for c in run["per_clip"]) / len(run["per_clip"])


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
    correct = accuracy_of(r)
    assert abs(met["accuracy"] - correct) < 1e-9, (
        f"{name}: accuracy {met['accuracy']:.4f}, but {correct:.4f} of the per-clip predictions are correct")


def check_above_majority(run: dict, name: str) -> float:
    """A run beats the majority class of its own test clips: its accuracy, counted from its
    per-clip predictions, above the share of the most frequent label among them (a model that
    collapsed onto one class scores that share at best). Returns the share."""
    label, count = Counter(c["label"] for c in run["per_clip"]).most_common(1)[0]
    majority, acc = count / len(run["per_clip"]), accuracy_of(run)
    replicate = "seed" if run["config"]["dataset"] == "afew" else "fold"
    assert acc > majority, (
        f"{name}: accuracy {acc:.3f} on its {len(run['per_clip'])} test clips is not above the share of their "
        f"majority class ({label}, {majority:.3f}) — a collapsed {replicate}")
    return majority


def check_bar(summary: dict, runs: Sequence[dict], page: Page) -> str:
    """A group summary against its page's bar (:mod:`fsa.report.bars`, same page, preset, data and
    profile): the mean of its runs' accuracies, counted from their per-clip predictions, must
    reach the bar. The group the bar came from (same name, same accuracies) clears it by
    construction and is not compared; a group of another profile or without a bar neither.
    Returns what was done; an ``AssertionError`` gives the group, the bar and its source."""
    key = (page.table, page.preset, summary["experiment"], bars.profile_hash(summary["config"]))
    found = [b for b in bars.load_bars() if (b["table"], b["preset"], b["experiment"], b["profile"]) == key]
    if not found:
        return "no bar of this profile"
    bar, acc = found[0], [accuracy_of(r) for r in runs]
    if bars.group_name(summary) == bar["group"] and np.allclose(acc, bar["accuracies"], rtol=0, atol=1e-9):
        return f"the source of the bar {bar['bar']:.4f}"
    mean = float(np.mean(acc))
    assert mean >= bar["bar"], (
        f"Table {page.table} {summary['model']} {bars.group_name(summary)}: mean accuracy {mean:.4f} over "
        f"{len(acc)} {summary['kind']} < its bar {bar['bar']:.4f} (the recorded mean {bar['mean']:.4f} - "
        f"{bar['se_multiple']:g} SE {bar['se']:.4f} of {bar['group']}, {bars.BARS_FILE.name}) — an accuracy regression")
    return f"{mean:.4f} >= bar {bar['bar']:.4f}"


def check_records(records: Sequence[dict], page: Page) -> dict:
    """Every record is complete, traceable to its config, data and commit, and its test metrics
    are those of its per-clip predictions (:func:`check_metrics`); a run of the measured profile
    also beats its test clips' majority class (:func:`check_above_majority`), and a group its
    page's bar (:func:`check_bar`).

    Returns each run's last-epoch training accuracy; an ``AssertionError`` names the run that failed.
    """
    checked = {}
    for rec in records:
        group = rec["kind"] in GROUP_KIND.values()
        runs = fold_runs(rec) if group else [rec]
        for r in runs:
            assert r is not None, f"a fold of {store.record_key(rec)} is missing from the store"
            name = f"{r['model']} run {r['config_hash']}"
            assert r["data_index_hash"] == page.source["index_hash"], f"{name}: recorded on other data"
            assert r["git"]["commit"] and r["versions"]["torch"], f"{name}: no provenance"
            assert Config.from_dict(r["config"]).hash() == r["config_hash"], f"{name}: config and hash differ"
            assert len(r["history"]) == r["config"]["epochs"] or r["stopped_early"], f"{name}: unfinished"
            check_metrics(r, name)
            if in_measured_profile(r, page):
                check_above_majority(r, name)
            checked[name] = round(r["history"][-1]["train_accuracy"], 3)
        if group:
            check_bar(rec, runs, page)
    return checked


def check_above_floor(records: Sequence[dict], floors: Sequence[dict], page: Page, model: str = "ecnn-fsa",
                      over_seeds: pd.DataFrame | None = None, tie: Mapping[str, float] | None = None) -> dict:
    """Under the ``cpu`` preset on the embedded data, the proposed model must beat every classical
    floor of the page on the same test clips (:func:`verdict` "supported": the paired bootstrap's
    interval above 0 and McNemar significant). A deep model below HOG + a linear classifier is a
    bug to find, not a result to print. ``over_seeds`` (:meth:`Page.floor_claims`), when given, is
    the judgement checked: the claim over several seeds, not one seed's draw.

    ``tie`` maps a floor's features (``hog``, ``lbp``) to a margin (a fraction): for that floor the
    model need only sit no further below it than the margin. It is for a floor at the ceiling with
    the deep models, where a tie is the expected result and another machine's arithmetic moves a
    run a few clips either side of it: on the embedded CK+ the apex frame alone carries the
    expression, so HOG of that frame reaches 97–98 %, where ECNN-FSA lands between 95 and 99 %
    from one CPU to another. ``{"hog": 0.05}`` catches a model 5 points below HOG, while LBP
    must still be beaten; ``{"lbp": 0.0}`` asks the model not to be below LBP, for a page whose
    one seed's clips cannot detect the difference expected. Returns the verdicts; an ``AssertionError`` names the floor."""
    if page.preset != MEASURED_PRESET or page.source["kind"] != "synthetic":
        return {}
    tie = dict(tie or {})
    unknown = set(tie) - {f["config"]["features"] for f in floors}
    assert not unknown, f"Table {page.table}: tie names {sorted(unknown)}, not a floor of the page"
    margins = [tie.get(f["config"]["features"]) for f in floors]
    if over_seeds is not None:
        assert len(over_seeds) == len(floors), f"Table {page.table}: {len(over_seeds)} seed claims for {len(floors)} floors"
        for row, margin in zip(over_seeds.to_dict("records"), margins):
            assert _passes(row["verdict"], row["Δ acc (pp)"] / 100, margin), (
                f"{row['claim']} over {row['source']}: {row['verdict']}, {row['Δ acc (pp)']} pp"
                + (f" (more than {100 * margin:g} below)" if margin is not None else "") + f" ({row})")
        return dict(zip(over_seeds["claim"], over_seeds["verdict"]))
    arch = architecture(REGISTRY[model].config)
    mine = [r for r in records if architecture(r["config"]["model"]) == arch]
    assert mine and floors, f"Table {page.table}: nothing to compare ({len(mine)} {model} record(s), {len(floors)} floor(s))"
    out = {}
    for f, margin in zip(floors, margins):
        v = verdict(mine[-1], f)
        out[f["label"]] = v["verdict"]
        assert _passes(v["verdict"], v["diff"], margin), (
            f"{model} {store.record_key(mine[-1])}: {100 * v['accuracy_a']:.1f} % "
            f"against the floor {f['label']} {100 * v['accuracy_b']:.1f} % on the same clips, difference "
            f"[{100 * v['low']:.1f}, {100 * v['high']:.1f}] pp, McNemar p = {v['mcnemar_p']:.3g}: not above the floor")
    return out


def _passes(judged: str, diff: float, margin: float | None) -> bool:
    """A floor claim passes when supported, or, for a floor with a tie margin, when the model's
    accuracy is no further below the floor's than the margin."""
    return judged == "supported" if margin is None else diff >= -margin - 1e-9
