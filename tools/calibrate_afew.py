"""Calibrate the embedded AFEW's wild conditions on the paper's Baseline and the classical floors.

    python tools/calibrate_afew.py --conditions afew7 [--without KNOB[,KNOB]] [--fraction F] [--work DIR]

Makes an AFEW-layout set under the conditions (:mod:`data_prep.synth.conditions`) with AFEW 7.0's
Train / Val class counts scaled by ``F``, prepares it with dlib as every AFEW set is, and fits on
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
from data_prep.synth import SIZES, generate  # noqa: E402
from data_prep.synth.conditions import conditions  # noqa: E402
from fsa.floors import SVM_C_GRID, TOP_GRID, FloorConfig  # noqa: E402
from fsa.runs.floors import obtain_floor  # noqa: E402

#: AFEW 7.0's clips per class (Train 773, Val 383).
AFEW7_CLIPS = {"train": dict(anger=133, disgust=74, fear=81, happy=150, neutral=144, sadness=117, surprise=74),
               "val": dict(anger=64, disgust=40, fear=46, happy=63, neutral=63, sadness=61, surprise=46)}
#: Clips per subject (AFEW's actors appear in a few clips each).
CLIPS_PER_SUBJECT = 5
FLOORS = [("lbp-top", 1), ("hog", 1), ("hog", 5), ("lbp", 5)]


def size_spec(fraction: float) -> dict:
    clips = {split: {c: max(2, round(n * fraction)) for c, n in counts.items()} for split, counts in AFEW7_CLIPS.items()}
    subjects = {split: max(3, sum(c.values()) // CLIPS_PER_SUBJECT) for split, c in clips.items()}
    return dict(subjects=subjects, frames=(20, 40), clips=clips)


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
    SIZES["afew"][size] = size_spec(args.fraction)
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
