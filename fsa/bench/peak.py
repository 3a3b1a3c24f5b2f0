"""The roof of ``fsa bench``: the device's dense matmul FLOP/s, in fp32 and in native bf16."""
from __future__ import annotations

from typing import Callable

import torch

from .measure import Load, busy, sig, summarise, timed, unavailable
from .settings import BenchSettings


def matmul_peak(device: torch.device, dtype: torch.dtype, size: int, warmup: int = 1, repeats: int = 5) -> dict:
    """FLOP/s of ``a @ b`` for square ``size`` matrices (2·size³ FLOPs per product).

    ``gflops`` is the median repetition; ``gflops_max`` (the fastest) is the roof the models
    are held against, since a machine's peak is the most it does and interference from other
    processes only ever slows a repetition down.
    """
    g = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(size, size, generator=g).to(device=device, dtype=dtype)
    b = torch.randn(size, size, generator=g).to(device=device, dtype=dtype)
    for _ in range(warmup):
        timed(lambda: torch.matmul(a, b), device)
    with Load() as load:
        times = [timed(lambda: torch.matmul(a, b), device) for _ in range(repeats)]
    flops = 2.0 * size**3
    s = summarise(times)
    return {
        "dtype": str(dtype).replace("torch.", ""),
        "size": size,
        "gflops": sig(flops / s["median"] / 1e9),
        "gflops_min": sig(flops / s["max"] / 1e9),
        "gflops_max": sig(flops / s["min"] / 1e9),
        "repeats": repeats,
        "other_load": load.other,
        "cpu_busy": busy(load.own, sum(times)),
    }


def bench_peak(settings: BenchSettings, bf16: bool, why: str, log: Callable[[str], None]) -> dict:
    """The ``peak`` section: the fp32 matmul peak, and the bf16 one where the device has native
    bf16 (``bf16``), else ``why`` not."""
    dev, prof = settings.device, settings.spec
    # A GPU does a 4096^2 product in well under a millisecond: twice the side, more repetitions.
    scale = 2 if dev.type == "cuda" and settings.profile != "tiny" else 1
    size, reps = prof["peak_size"] * scale, prof["peak_repeats"] * scale
    log(f"bench: peak matmul ({size}^2) on {dev}, {torch.get_num_threads()} threads")
    peak = {"fp32": matmul_peak(dev, torch.float32, size, repeats=reps)}
    peak["bf16"] = matmul_peak(dev, torch.bfloat16, size, repeats=reps) if bf16 else unavailable(why)
    return peak
