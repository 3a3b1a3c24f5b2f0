"""What makes the embedded AFEW hard: the paper's Baseline (LBP-TOP + χ² SVM, 38.81 % on AFEW 7.0
Val) on the wild AFEW and on the same AFEW with each generator knob (:data:`data_prep.synth.KNOBS`)
switched off in turn.

    fsa difficulty [--fraction F] [--knobs all|none|K,K] [--floors baseline|all] [--work DIR] [--keep]

Each set is made by :func:`data_prep.synth.generate` under the conditions (``afew7``, or
``afew7-without-<knob>``) with AFEW 7.0's class counts scaled by ``F``, prepared with dlib as every
AFEW set is, and each floor is fitted on its Train split and scored on its Val split
(:func:`fsa.runs.floors.obtain_floor`). The floors are recorded in the store under the experiment
``difficulty-<size>-<index hash>`` (:func:`experiment`), apart from the pages' experiments, and
each record names its set's conditions (``data_conditions``). The sets are made under ``--work``
and removed once their floors are recorded, unless ``--keep``: the records are what the dataset
page reads (:func:`difficulty_table`). ``--floors all`` adds the other classical floors the
conditions were calibrated on (HOG of the centre frame, HOG and LBP over the n = 5 frames). A set
whose floors are all recorded is read, not made again (:func:`recorded`).

A set takes 5 to 12 minutes to make, prepare and fit at the default ``F`` = 1/3 on 2 cores without
AVX-512 (one without the turned heads in half that), about three times that at ``F`` = 1. Every
set has its own clips, so a row's difference from the wild set is between independent samples
(:func:`fsa.metrics.difference_interval`), not paired.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Sequence

import pandas as pd

from .. import results as store
from ..floors import FloorConfig
from ..metrics import difference_interval, wilson_interval
from .floors import obtain_floor

#: The share of AFEW 7.0's size the difficulty table is measured at (258 Train / 126 Val clips).
FRACTION = 1 / 3
#: The wild conditions whose knobs the table switches off.
BASE = "afew7"
#: The floors ``--floors all`` fits: (features, frames per clip); the first is the paper's Baseline.
FLOORS = (("lbp-top", 1), ("hog", 1), ("hog", 5), ("lbp", 5))
#: The generator's seed of every set.
SEED = 0


#: The start of every difficulty set's store folder (:func:`experiment`).
PREFIX = "difficulty-"


def experiment(size: str, index_hash: str) -> str:
    """The store folder of the floors on the set of ``size`` with ``index_hash``."""
    return f"{PREFIX}{size}-{index_hash}"


def floor_config(prepared: Path, features: str, n: int) -> FloorConfig:
    """A floor on a prepared AFEW set, on the deep models' Train / Val split."""
    return FloorConfig.make(features, dataset="afew", data=str(prepared), protocol="afew", n=n)


def measure(cond, fraction: float, work: Path, floors: Sequence[tuple[str, int]] = FLOORS[:1], jobs: int = 2,
            keep: bool = False, results_root: str | os.PathLike | None = None) -> list[dict]:
    """The floors' records on the AFEW set made under ``cond`` at ``fraction`` of AFEW 7.0's size:
    read from the store when recorded (:func:`recorded`), else the set is made (or reused from
    ``work``), prepared and the floors fitted and recorded."""
    from data_prep import prepare
    from data_prep.synth import afew_fraction, generate

    from ..data import index_hash

    found = recorded(cond, fraction, floors, results_root)
    if found is not None:
        return found
    size = afew_fraction(fraction)
    base = Path(work) / f"{cond.name}-{size}"
    raw, prepared = base / "raw", base / "prepared"
    if not (raw / "synth_meta.csv").is_file():
        generate("afew", raw, size=size, seed=SEED, workers=jobs, cond=cond, progress=False, force=True)
    if not (prepared / "index.csv").is_file():
        prepare.prepare("afew", raw, prepared, jobs=jobs, progress=False)
    name = experiment(size, index_hash(prepared))
    records = [obtain_floor(floor_config(prepared, f, n), name, results_root=results_root) for f, n in floors]
    if not keep:
        shutil.rmtree(base)
    return records


def recorded(cond, fraction: float, floors: Sequence[tuple[str, int]],
             results_root: str | os.PathLike | None = None) -> list[dict] | None:
    """The floors already recorded on the set made under ``cond`` at ``fraction``, or ``None`` when
    one is missing: the set is then made. A set's index hash is known only once it is made and
    prepared (dlib may leave clips out), so a record is found by its conditions' name instead, and
    counts only if every Val clip it scored is one that ``cond``'s plan names: the clips' stems
    carry a hash of the conditions' numbers, so a record made before a knob's numbers changed is
    not this set's."""
    from data_prep.synth import afew_fraction
    from data_prep.synth.plans import plan_afew

    planned = {v.video_id for s in plan_afew(afew_fraction(fraction), SEED, cond) for v in s.videos if v.split == "val"}
    found = []
    for features, n in floors:
        mine = [r for r in difficulty_records(fraction, features, results_root)
                if r.get("data_conditions") == cond.name and r["config"]["n"] == n
                and {c["video_id"] for c in r["per_clip"]} <= planned]
        if not mine:
            return None
        found.append(mine[-1])
    return found


def difficulty_records(fraction: float = FRACTION, features: str = "lbp-top",
                       results_root: str | os.PathLike | None = None) -> list[dict]:
    """Every recorded ``features`` floor of the difficulty sets at ``fraction``, oldest first."""
    from data_prep.synth import afew_fraction

    root = Path(results_root) if results_root is not None else store.results_root()
    prefix = f"{PREFIX}{afew_fraction(fraction)}-"
    folders = sorted(p.name for p in root.glob(f"{prefix}*") if p.is_dir()) if root.is_dir() else []
    return [r for f in folders for r in store.load_runs(f, root, kind="floor")
            if r["config"]["features"] == features]


def difficulty_table(fraction: float = FRACTION, features: str = "lbp-top", base: str = BASE,
                     results_root: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row for the wild set (``base``) and one per knob switched off: the floor's accuracy on
    the set's Val clips with its Wilson interval, and its difference from the wild set's with
    Newcombe's interval. A set not recorded yet has its row, empty, with the command that records it
    (the column ``recorded by``, left out when every set is recorded)."""
    from data_prep.synth import KNOBS

    found = {r.get("data_conditions"): r for r in difficulty_records(fraction, features, results_root)}
    wild = found.get(base)
    wild_ci = wilson_interval(*_correct(wild)) if wild else None
    rows = []
    for knob in (None, *KNOBS):
        name = base if knob is None else f"{base}-without-{knob}"
        rec = found.get(name)
        row = {"knob off": knob or "none (the wild set)", "conditions": name}
        if rec is None:
            size = "" if fraction == FRACTION else f" --fraction {fraction:g}"
            rows.append({**row, "recorded by": f"fsa difficulty{size} --knobs {knob or 'none'}"})
            continue
        ci = wilson_interval(*_correct(rec))
        row.update({"accuracy %": round(100 * ci["mean"], 2), "95 % CI": _pp(ci), "Val clips": ci["n"]})
        if wild_ci and knob:
            d = difference_interval(ci, wild_ci)
            row.update({"Δ from the wild set (pp)": round(100 * d["mean"], 2), "Δ 95 % CI": _pp(d)})
        rows.append({**row, "record": f"{rec['experiment']}/{store.record_key(rec)}"})
    table = pd.DataFrame(rows, columns=COLUMNS).set_index("knob off").astype({"Val clips": "Int64"})
    return table.drop(columns="recorded by") if table["recorded by"].isna().all() else table


#: The columns of :func:`difficulty_table`.
COLUMNS = ["knob off", "conditions", "accuracy %", "95 % CI", "Δ from the wild set (pp)", "Δ 95 % CI", "Val clips",
           "record", "recorded by"]


def _correct(rec: dict) -> tuple[int, int]:
    n = rec["metrics"]["n_clips"]
    return round(rec["metrics"]["accuracy"] * n), n


def _pp(ci: dict) -> str:
    return f"[{100 * ci['low']:.1f}, {100 * ci['high']:.1f}]"


def main(argv: Sequence[str] | None = None) -> int:
    from data_prep.synth import KNOBS, afew_fraction
    from data_prep.synth.conditions import conditions

    from ..embedded import embedded_root

    ap = argparse.ArgumentParser(prog="fsa difficulty", description=__doc__.split("\n\n")[0])
    ap.add_argument("--fraction", type=float, default=FRACTION, help="share of AFEW 7.0's size (default 1/3)")
    ap.add_argument("--knobs", default="all", help=f"all, none, or a comma list of {', '.join(KNOBS)}")
    ap.add_argument("--floors", choices=("baseline", "all"), default="baseline",
                    help="baseline: LBP-TOP + χ² SVM; all: HOG and LBP too (default baseline)")
    ap.add_argument("--work", type=Path, default=None,
                    help="where the sets are made (default: difficulty/ among the embedded sets)")
    ap.add_argument("--keep", action="store_true", help="keep the sets once their floors are recorded")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    knobs = list(KNOBS) if args.knobs == "all" else [] if args.knobs == "none" else args.knobs.split(",")
    try:
        sets = [conditions(BASE), *(conditions(BASE, (k,)) for k in knobs)]
        afew_fraction(args.fraction)
    except ValueError as e:
        print(f"fsa difficulty: error: {e}", file=sys.stderr)
        return 1
    work = args.work or embedded_root() / "difficulty"
    for cond in sets:
        t0 = time.perf_counter()
        for rec in measure(cond, args.fraction, work, FLOORS if args.floors == "all" else FLOORS[:1], args.jobs,
                           args.keep):
            print(json.dumps({"conditions": cond.name, "floor": rec["label"], "n": rec["config"]["n"],
                              "val_accuracy": round(100 * rec["metrics"]["accuracy"], 2),
                              "val_clips": rec["metrics"]["n_clips"], "record": store.record_key(rec),
                              "seconds": round(time.perf_counter() - t0)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
