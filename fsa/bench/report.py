"""The results of ``fsa bench``: the readable report, and where a run is stored and found again."""
from __future__ import annotations

import os
import re
from pathlib import Path

from ..results import load_runs, record, results_root, write_json


def _fmt(v: float | None, spec: str = ".2f") -> str:
    return "n/a" if v is None else format(v, spec)


def _header_lines(result: dict) -> list[str]:
    """The machine, the settings and the measured matmul peaks."""
    env, peak, settings = result["environment"], result["peak"], result["settings"]
    precs = settings.get("precisions") or list(dict.fromkeys(r["precision"] for r in result["models"]))
    return [
        f"fsa bench ({result['profile']}) on {env['device']} — {env.get('device_name', '')}",
        f"torch {env['torch']}, {env['threads']} threads, oneDNN {env.get('onednn_version')}, "
        f"CPU capability {env['cpu_capability']}, bf16: {env['bf16_note']}",
        f"settings: layout={settings['layout']}, precisions {', '.join(precs)} (amp={settings['amp']}), "
        f"compile={settings['compile']}, warm-up {settings['warmup']}, "
        f"at least {settings['repeats']} repetitions (median [min-max])",
        "",
        "peak (matmul, median [min-max]; a row's fraction is of the max of its own precision): " + "; ".join(
            f"{k} {v['gflops']:.1f} GFLOP/s [{v['gflops_min']:.1f}-{v['gflops_max']:.1f}] at {v['size']}^2"
            if v.get("gflops") else f"{k} n/a ({v['reason']})" for k, v in peak.items()),
    ]


def _model_lines(result: dict) -> list[str]:
    """One row per model, size, precision and mode (training step, inference), with its legend."""
    head = (f"{'model':<13} {'size':<6} {'prec':<4} {'mode':<9} {'clips':>5} {'ms/frame':>9} {'[min-max]':>17} "
            f"{'GFLOP/frame':>11} {'GFLOP/s':>8} {'of peak':>7} {'+MiB':>6} {'load':>5}")
    lines = [head, "-" * len(head)]
    for r in result["models"]:
        for mode in ("train", "inference"):
            e = r[mode]
            frac = e.get("fraction_of_peak")
            spread = f"[{e['ms_per_frame_min']:.4g}-{e['ms_per_frame_max']:.4g}]"
            lines.append(
                f"{r['model']:<13} {r['size']:<6} {r['precision']:<4} {mode:<9} {e['batch_clips']:>5} "
                f"{e['ms_per_frame']:>9.4g} {spread:>17} {e['flops_per_frame'] / 1e9:>11.4g} "
                f"{e['gflops_per_s']:>8.4g} {'n/a' if frac is None else f'{frac:.0%}':>7} "
                f"{e['peak_memory_mib'] - e['memory_baseline_mib']:>6.0f} {e['other_load']:>5.2f}")
    return lines + ["(prec: fp32, or bf16 autocast; of peak: GFLOP/s over the matmul peak of the row's precision; "
                    "+MiB: peak memory of the step above what was held before it; load: share of the CPU used by "
                    "other processes)"]


def _ratio_lines(result: dict) -> list[str]:
    """Table 8's time ratios, published and measured."""
    lines = ["Table 8 ratios, ECNN-FSA / CNN-LSTM time per frame (lower = FSA faster):"]
    for key, r in result["ratios"].items():
        label = "published (1080Ti)" if key == "published" else f"measured, {key}"
        best = (f"   (fastest repetitions: train {r['train_min']:.3f}, inference {r['inference_min']:.3f})"
                if "train_min" in r else "")
        lines.append(f"  {label:<20} train {r['train']:.3f}   inference {r['inference']:.3f}{best}")
    return lines


def _data_lines(result: dict) -> list[str]:
    """Face-preparation frames/s and DataLoader clips/s."""
    lines = ["data:"]
    prep = result["data"]["face_prep"]
    if prep.get("available"):
        lines.append(f"  face preparation, {prep['videos']} CK+ sequences, {prep['frames']} frames of "
                     f"{prep['frame_size'][0]}x{prep['frame_size'][1]}:")
        for k in ("j1", "j2"):
            if k in prep:
                m = prep[k]["methods"]
                detected = sum(m.get(x, 0) for x in ("hog", "hog-up", "clahe", "cnn"))
                lines.append(f"    -j {k[1:]}: {prep[k]['frames_per_s']:.1f} frames/s ({detected} detected, "
                             f"{m.get('track', 0)} tracked, {m.get('interpolated', 0)} interpolated)")
    else:
        lines.append(f"  face preparation: not available: {prep['reason']}")
    for size, ld in result["data"]["loader"].items():
        if ld.get("available"):
            per = ", ".join(f"{k[7:]} workers {v['clips_per_s']:.1f}" for k, v in ld.items()
                            if k.startswith("workers"))
            lines.append(f"  DataLoader at {ld['image_size']} px ({size}), batch {ld['batch_clips']}: clips/s {per}"
                         + (f"; {ld['over_model_train']:.1f}x ECNN-FSA training" if "over_model_train" in ld else ""))
        else:
            lines.append(f"  DataLoader ({size}): not available: {ld['reason']}")
    return lines


def _target_lines(result: dict) -> list[str]:
    """Each target met, missed or not measured."""
    lines = ["targets:"]
    for t in result["targets"]:
        state = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        lines.append(f"  [{state:>6}] {t['name']}: {_fmt(t['value'], '.3f')} (target {t['target']})")
    return lines


def above_roof(result: dict) -> list[str]:
    """The rows that ran faster than their own matmul peak (fraction of peak above 1): the peak is one
    short measurement, so a busy machine can measure it low. Their fractions cannot be read."""
    return [f"{r['model']} {r['size']} {r['precision']} {mode}" for r in result["models"]
            for mode in ("train", "inference") if (r[mode].get("fraction_of_peak") or 0) > 1]


def _timing_lines(result: dict) -> list[str]:
    """Whether the run's fractions of peak can be read (the timing sanity check of a run)."""
    rows = above_roof(result)
    if not rows:
        return ["timing: every row below its matmul peak"]
    return [f"timing: {len(rows)} row(s) above their matmul peak ({', '.join(rows)}): the peak was measured low, "
            "most likely on a busy machine (see the load column); rerun on an idle machine before reading fractions"]


def format_report(result: dict) -> str:
    """A readable table of a :func:`run_bench` result (schema 1 records read too)."""
    sections = (_header_lines, _model_lines, _timing_lines, _ratio_lines, _data_lines, _target_lines)
    lines = [line for section in sections for line in (*section(result), "")]  # a blank line after each
    return "\n".join(lines) + f"\nwall time {result['wall_s']:.0f} s"


def store_name(result: dict) -> str:
    """File stem in the results store: device + profile, e.g. ``cpu-amd-epyc-default``."""
    env = result["environment"]
    dev = f"{env['device'].split(':')[0]}-{env.get('device_name', '')}"
    return re.sub(r"[^a-z0-9]+", "-", f"{dev}-{result['profile']}".lower()).strip("-")


def save(result: dict, out: str | os.PathLike | None = None) -> Path:
    """Write the JSON to ``out``; else a ``default`` run to the results store (experiment ``bench``)
    and a quick or tiny run to ``<results root>/scratch/bench/``, which git ignores: only a full
    run is a record, and a quick check (or an explicit re-run of Table 8's notebook) leaves the
    tracked store as it was."""
    if out:
        return write_json(out, result)
    if result["profile"] == "default":
        return record("bench", result, name=store_name(result))
    return write_json(results_root() / "scratch" / "bench" / f"{store_name(result)}.json", result)


def latest(root: str | os.PathLike | None = None) -> dict | None:
    """The newest ``default`` run recorded in the results store (with its ``result_path``), or ``None``."""
    runs = [r for r in load_runs("bench", root, kind="bench") if r["profile"] == "default"]
    return max(runs, key=lambda r: r["started_at"]) if runs else None
