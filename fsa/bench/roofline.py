"""The roofline of a ``fsa bench`` record: one point per model, size, mode and precision.

A point's height is its achieved FLOP/s (``gflops_per_s``) and its roof the measured matmul peak of
its own precision (the fastest repetition, ``gflops_max``: the roof ``fraction_of_peak`` is taken
against). The record has no byte counts, so the arithmetic intensity on the x axis is the one the
record does determine: the FLOPs of one timed step over the bytes of the model's weights read
once (``params`` × 4 B in fp32, × 2 B under bf16 autocast, whose kernels read bf16 copies).
Weights are the least a step has to move; activations, gradients and optimizer state only add
traffic, so this is an upper bound on the true intensity and it grows with the frames per step.
"""
from __future__ import annotations

#: Bytes per weight as a precision's kernels read it.
WEIGHT_BYTES = {"fp32": 4, "bf16": 2}
MODES = ("inference", "train")


def roofs(result: dict) -> dict[str, float]:
    """The measured roof of each precision a record has (GFLOP/s): its fastest matmul repetition."""
    return {p: v["gflops_max"] for p, v in result["peak"].items() if v.get("gflops_max")}


def roofline_points(result: dict) -> list[dict]:
    """One row per model × size × mode × precision of a bench record: achieved GFLOP/s, the roof of
    its precision, the fraction of it, and the weight-traffic intensity (see the module docstring)."""
    peak = roofs(result)
    rows = []
    for r in result["models"]:
        for mode in MODES:
            e = r[mode]
            roof = e.get("roof_gflops") or peak.get(r["precision"])
            flops_per_step = e["flops_per_frame"] * e["frames_per_step"]
            rows.append({
                "model": r["model"], "size": r["size"], "image_size": r["image_size"], "mode": mode,
                "precision": r["precision"], "frames_per_step": e["frames_per_step"],
                "flop_per_weight_byte": flops_per_step / (r["params"] * WEIGHT_BYTES[r["precision"]]),
                "gflops_per_s": e["gflops_per_s"], "roof_gflops": roof,
                "fraction_of_peak": e.get("fraction_of_peak") or (e["gflops_per_s"] / roof if roof else None),
            })
    return rows
