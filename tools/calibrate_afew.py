"""Calibrate the embedded AFEW's wild conditions on the paper's Baseline and the classical floors.

    python tools/calibrate_afew.py --conditions afew7 [--without KNOB[,KNOB]] [--fraction F] [--work DIR]

Makes an AFEW-layout set under the conditions (:mod:`data_prep.synth.conditions`) with AFEW 7.0's
Train / Val class counts scaled by ``F`` (:func:`data_prep.synth.afew_size`; at ``F`` = 1 and
``afew7`` it is the embedded AFEW), prepares it with dlib as every AFEW set is, and fits on
its Train split and scores on Val: the LBP-TOP + χ² SVM baseline (the paper's Baseline row,
38.81 % on AFEW 7.0 Val) and the other classical floors (HOG of the centre frame, HOG and LBP over
the n = 5 evaluation frames). One JSON line per floor; sets and records stay under ``--work``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_prep import prepare  # noqa: E402
from data_prep.synth import SIZES, afew_size, generate  # noqa: E402
from data_prep.synth.conditions import conditions  # noqa: E402
from fsa.floors import SVM_C_GRID, TOP_GRID, FloorConfig  # noqa: E402
from fsa.runs.floors import obtain_floor  # noqa: E402

FLOORS = [("lbp-top", 1), ("hog", 1), ("hog", 5), ("lbp", 5)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conditions", default="afew7")
    ap.add_argument("--without", default="")
    ap.add_argument("--fraction", type=float, default=1 / 3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/calibrate-afew"))
    ap.add_argument("-j", "--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    cond = conditions(args.conditions, tuple(k for k in args.without.split(",") if k))
    size = f"calibration-{args.fraction:g}"
    SIZES["afew"][size] = afew_size(args.fraction)
    base = args.work / f"{cond.name}-{args.fraction:g}"
    raw, prepared = base / "raw", base / "prepared"
    t0 = time.perf_counter()
    if not (raw / "synth_meta.csv").is_file():
        generate("afew", raw, size=size, seed=0, workers=args.jobs, cond=cond, progress=False)
    t1 = time.perf_counter()
    if not (prepared / "index.csv").is_file():
        prepare.prepare("afew", raw, prepared, jobs=args.jobs, progress=False)
    t2 = time.perf_counter()
    report = json.loads((prepared / "prep_report.json").read_text())
    print(json.dumps({"conditions": cond.name, "generate_s": round(t1 - t0), "prepare_s": round(t2 - t1),
                      "frames": report["frames"], "failed": len(report["failed"])}), flush=True)
    for features, n in FLOORS:
        top = dict(lbp_grid=TOP_GRID, c_grid=SVM_C_GRID) if features == "lbp-top" else {}
        fcfg = FloorConfig(features=features, dataset="afew", data=str(prepared), protocol="afew", n=n, **top)
        t = time.perf_counter()
        rec = obtain_floor(fcfg, results_root=args.work / "results")
        print(json.dumps({"conditions": cond.name, "floor": fcfg.label, "n": n,
                          "val_accuracy": round(100 * rec["metrics"]["accuracy"], 2),
                          "val_clips": rec["n_clips"]["test"], "seconds": round(time.perf_counter() - t)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
