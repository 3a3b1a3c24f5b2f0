"""Accuracy bars derived from recorded runs, never typed: one per (table page, model, preset).

A bar is the accuracy under which a rebuild of a recorded group — the same configuration trained
again, on another machine or with another seed — falls with probability at most :data:`ALPHA`.
A rebuild's mean M' and the recorded mean M estimate the same accuracy with the same standard
error s (its folds on CK+, its seeds on AFEW), so M' - M has the standard error √2·s, and with s
estimated from the group's n replicates (M' - M) / (√2·s) follows Student's t with n - 1 degrees
of freedom:

    bar = M - t(1 - ALPHA, n - 1) · √2 · s,    s = max(SE of the replicates, SE of the pooled clips)

The SE of the replicates is their sample standard deviation / √n. The SE of the pooled clips,
√(p(1 - p) / N) over the group's N test clips with p = (k + 1) / (N + 2) (k right), keeps a group
whose folds all sit at the ceiling from a bar at its own mean: one more wrong clip on another
machine must not fail a rebuild. With five folds the bar lies 10.1 s below the mean; with three
seeds, 31.6 s: three replicates say little about their spread, and the bar says so. What a bar
catches is a collapse or a large regression; the smaller differences between models are the
paired tests' job (:mod:`fsa.report.verdicts`).

The notebooks' hidden checks (:func:`fsa.report.checks.check_records`) hold every other group of
the same configuration to it. The group the bar came from clears it by construction and is held
to the independent checks only (every fold or seed above the majority class of its test clips,
the proposed model above its floors).

A bar belongs to the profile it was recorded under (:func:`profile_hash`: the configuration
without its seed, fold, registry name and execution fields). When a preset changes, the new
runs are not held to the old profile's bars; ``make book`` records them, then ``make bars``
(``fsa bars --write``) derives the bars again from them. The bars are not written by
the book itself: a rebuild that wrote its own bars would accept whatever it produced.

``fsa/bars.json`` is the committed file; ``fsa bars`` prints what the store gives
beside it, ``--write`` replaces it (all pages' groups must be recorded, or nothing is written);
``--same-groups`` derives the committed bars again from the groups they name, for a change of
the rule that leaves the groups as they are.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Mapping, Sequence

from scipy import stats

from data_prep.hashing import stable_hash

from .. import results as store
from ..config import STORE_PREFIX, Config, ConfigError
from ..paper import paper_table
from .page import KEY_ROWS, Page

#: The committed bars.
BARS_FILE = Path(__file__).parents[1] / "bars.json"
#: The probability that a rebuild of a recorded group falls below its bar (one-sided).
ALPHA = 0.001
#: The deep-model groups each table page shows and checks: the key rows of the results tables
#: (:data:`fsa.report.page.KEY_ROWS`) and the proposed model of the confusion-matrix pages.
PAGE_MODELS: dict[str, tuple[str, ...]] = dict(sorted({**KEY_ROWS, "5": ("ecnn-fsa",), "10": ("ecnn-fsa",)}.items(),
                                                       key=lambda item: int(item[0])))
#: What a group's configuration may differ in and still be held to a bar: the replicate it ran
#: (fold, seed), the model's registry name (a label) and where and how it ran.
NOT_PROFILE = ("seed", "fold", *Config.EXECUTION_FIELDS)


def profile_hash(config: dict) -> str:
    """Hash of a run's or group's configuration (a ``Config.to_dict()``) without :data:`NOT_PROFILE`,
    the registry name and the later fields at their default (:meth:`fsa.config.Config.identity`):
    equal for every seed and every rebuild of one configuration. A ``store:`` start is left out
    too: it names the still-image run of the configuration's own seed (:mod:`fsa.runs.chain`),
    which the model, the preset and the seed determine."""
    d = {k: v for k, v in Config.identity(config).items()
         if k not in NOT_PROFILE and not (k == "pretrained" and str(v).startswith(STORE_PREFIX))}
    d["model"] = {k: v for k, v in config["model"].items() if k != "name"}
    return stable_hash(d)


def group_name(summary: dict) -> str:
    """``folds-<hash>`` | ``seeds-<hash>``: a group summary's name in the results store."""
    return store.group_name(summary["kind"], summary[summary["kind"] + "_hash"])


def se_multiple(n: int) -> float:
    """How many standard errors a bar lies below the mean of a group of ``n`` replicates:
    t(1 - :data:`ALPHA`, n - 1) · √2 (see the module's docstring)."""
    return float(stats.t.ppf(1 - ALPHA, n - 1)) * math.sqrt(2)


def bar_of(summary: dict, table: str, model: str, preset: str) -> dict:
    """The bar of one recorded group summary: its mean accuracy over its folds or seeds minus
    :func:`se_multiple` standard errors, the larger of the replicates' and the pooled clips' (see
    the module's docstring; a summary without pooled clips has the replicates' alone)."""
    acc = [float(a) for a in summary["metrics"]["accuracy"]["per_fold"]]
    if len(acc) < 2:
        raise ConfigError(f"{group_name(summary)} ({summary['experiment']}): {len(acc)} replicate(s); "
                          "a standard error needs two or more")
    n = len(acc)
    mean = sum(acc) / n
    se = math.sqrt(sum((a - mean) ** 2 for a in acc) / (n - 1) / n)
    pooled = summary["metrics"].get("pooled") or {}
    if pooled.get("n_clips"):
        clips = int(pooled["n_clips"])
        p = (round(float(pooled["accuracy"]) * clips) + 1) / (clips + 2)
        se = max(se, math.sqrt(p * (1 - p) / clips))
    k = se_multiple(n)
    return {"table": str(table), "model": model, "preset": preset, "experiment": summary["experiment"],
            "group": group_name(summary), "profile": profile_hash(summary["config"]),
            "over": summary["kind"], "accuracies": acc, "mean": round(mean, 6), "se": round(se, 6),
            "se_multiple": round(k, 4), "bar": round(mean - k * se, 6)}


def derive(preset: str = "cpu", tables: Mapping[str, Sequence[str]] = PAGE_MODELS,
           data: Mapping[str, str | os.PathLike] | None = None) -> tuple[list[dict], list[str]]:
    """The bars of every page in ``tables`` under ``preset``, from the groups the page would read
    from the results store (:meth:`fsa.report.Page.stored`, seed 0, the embedded data unless
    ``data`` maps a dataset to its prepared root); returns the bars and, for every group not in
    the store, a line naming it."""
    bars, missing = [], []
    for table, models in tables.items():
        page = Page(table, preset=preset, data=(data or {}).get(paper_table(table)["dataset"]))
        for model in models:
            summary = page.stored(page.config(model))
            if summary is None:
                missing.append(f"Table {table} {model} ({preset}): no recorded group in "
                               f"{store.experiment_dir(page.experiment)}; run its notebook (make book) first")
            else:
                bars.append(bar_of(summary, table, model, preset))
    return bars, missing


def rederive(preset: str = "cpu") -> tuple[list[dict], list[str]]:
    """The committed bars of ``preset`` derived again from the groups they name, read from the results
    store: after a change of the rule (:func:`bar_of`), on any machine, with no data to prepare. Returns
    the bars and, for every group no longer in the store, a line naming it."""
    bars, missing = [], []
    for b in load_bars():
        if b["preset"] != preset:
            continue
        summary = store.find_run(b["experiment"], b["group"])
        if summary is None:
            missing.append(f"Table {b['table']} {b['model']} ({preset}): {b['group']} is not in "
                           f"{store.experiment_dir(b['experiment'])}")
        else:
            bars.append(bar_of(summary, b["table"], b["model"], preset))
    return bars, missing


def load_bars(path: str | os.PathLike | None = None) -> list[dict]:
    """The bars of a bars file (:data:`BARS_FILE` by default); none when the file does not exist."""
    path = Path(path) if path is not None else BARS_FILE
    if not path.is_file():
        return []
    try:
        return json.loads(path.read_text())["bars"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ConfigError(f"{path}: not a bars file ({e}); write it again with fsa bars --write") from None


def write_bars(bars: Sequence[dict], path: str | os.PathLike | None = None) -> Path:
    """Write ``bars`` atomically to ``path`` (:data:`BARS_FILE` by default)."""
    about = ("Written by `fsa bars --write` (make bars) from the results store: per page, model and preset, the "
             f"accuracy under which a rebuild of the recorded group falls with probability {ALPHA:g}: its mean minus "
             "t(1 - alpha, n - 1) x sqrt 2 standard errors (fsa/report/bars.py). Do not edit: derive it again.")
    return store.write_json(Path(path) if path is not None else BARS_FILE,
                            {"about": about, "alpha": ALPHA, "bars": list(bars)})


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="fsa bars", description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="cpu", help="the preset whose groups give the bars (default cpu)")
    ap.add_argument("--write", action="store_true", help=f"replace {BARS_FILE.name} with the bars the store gives")
    ap.add_argument("--same-groups", action="store_true",
                    help=f"derive the bars again from the groups {BARS_FILE.name} names (after a change of the rule)")
    args = ap.parse_args(argv)
    try:
        bars, missing = rederive(args.preset) if args.same_groups else derive(args.preset)
        committed = {(b["table"], b["model"], b["preset"]): b for b in load_bars()}
    except ConfigError as e:
        print(f"fsa bars: error: {e}", file=sys.stderr)
        return 1
    for b in bars:
        was = committed.get((b["table"], b["model"], b["preset"]))
        state = "new" if was is None else "unchanged" if was == b else f"was {was['bar']:.4f} from {was['group']}"
        print(f"Table {b['table']:>2} {b['model']:<24} {b['preset']}: bar {b['bar']:.4f} = {b['mean']:.4f} - "
              f"{b['se_multiple']:g} x {b['se']:.4f} over {len(b['accuracies'])} {b['over']} of {b['group']} ({state})")
    for line in missing:
        print(line, file=sys.stderr)
    if not args.write:
        return 0
    if missing:
        print(f"fsa bars: {len(missing)} group(s) not recorded; {BARS_FILE} left as it was",
              file=sys.stderr)
        return 1
    others = [b for key, b in committed.items() if key[2] != args.preset]
    print(f"wrote {write_bars([*others, *bars])}")
    return 0


