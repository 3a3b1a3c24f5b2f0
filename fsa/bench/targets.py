"""The speed targets of ``fsa bench`` (benchmarks, not tests) and which of them a run meets."""
from __future__ import annotations

#: Targets of the speed work (benchmarks, not tests).
TARGETS = {
    "cpu_inference_fraction": 0.60,  # ECNN-FSA inference at 224 px, of the matmul peak of its precision
    "cpu_train_fraction": 0.40,  # ECNN-FSA training step at 224 px, likewise
    "loader_over_model": 3.0,  # DataLoader clips/s over training clips/s
    "prep_fps_j2": 50.0,  # face preparation, -j 2, 640x490 frames
    "cuda_inference_ms": 1.0,  # per frame, paper size
    "cuda_train_ms": 4.0,
}


def check_targets(result: dict) -> list[dict]:
    """The speed targets that apply to this device, with the measured value and whether it is met.

    The 224 px ECNN-FSA targets apply to each precision it was timed in; a fraction's name
    says which matmul peak it is of (its row's own precision).
    """
    out = []

    def add(name: str, goal: str, value: float | None, met: bool | None, note: str = "") -> None:
        out.append({"name": name, "target": goal, "value": value, "met": met, **({"note": note} if note else {})})

    device = result["environment"]["device"]
    for fsa in (r for r in result["models"] if (r["model"], r["size"]) == ("ecnn-fsa", "paper")):
        prec = fsa["precision"]
        if device == "cpu":
            for mode, key in (("inference", "cpu_inference_fraction"), ("train", "cpu_train_fraction")):
                v = fsa[mode].get("fraction_of_peak")
                add(f"ECNN-FSA 224 px {mode} ({prec}), fraction of {prec} matmul peak", f">= {TARGETS[key]:.2f}",
                    v, None if v is None else v >= TARGETS[key])
        elif device.startswith("cuda"):
            for mode, key in (("inference", "cuda_inference_ms"), ("train", "cuda_train_ms")):
                v = fsa[mode]["ms_per_frame"]
                add(f"ECNN-FSA 224 px {mode} ({prec}), ms per frame", f"<= {TARGETS[key]:g} (H100)", v,
                    v <= TARGETS[key], result["environment"].get("device_name", ""))
    data = result["data"]
    prep = data["face_prep"]
    if prep.get("available") and "j2" in prep:
        v = prep["j2"]["frames_per_s"]
        add("face preparation -j 2, frames/s", f">= {TARGETS['prep_fps_j2']:g}", v, v >= TARGETS["prep_fps_j2"],
            f"{prep['frame_size'][0]}x{prep['frame_size'][1]} frames")
    for size, loader in data["loader"].items():
        if loader.get("available") and "over_model_train" in loader:
            v = loader["over_model_train"]
            add(f"DataLoader / ECNN-FSA training clips/s ({size})", f">= {TARGETS['loader_over_model']:g}", v,
                v >= TARGETS["loader_over_model"])
    return out
