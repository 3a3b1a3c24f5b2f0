"""What ``fsa bench`` runs: models, sizes, profiles, batch sizes, and one run's checked settings."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

from ..config import PRESETS, Config, ConfigError
from ..distributed import resolve_device
from ..models.memory_format import MEMORY_FORMATS
from ..spec import make_config

#: 2: one model row per precision (``precision``, ``roof``), ratios keyed by size and precision.
SCHEMA = 2
MODELS = ("ecnn-fsa", "cnn-lstm", "score-fusion")
#: Precisions a model is timed in: plain fp32, and bf16 autocast (matmuls and convolutions in bf16).
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
AMP_MODES = ("auto", "off", "bf16")
#: Benchmark sizes: ``paper`` and ``cpu`` are the presets of the same name; ``tiny`` is for tests.
SIZES: dict[str, dict[str, Any]] = {
    "paper": dict(preset="paper"),
    "cpu": dict(preset="cpu"),
    "tiny": dict(preset="smoke", image_size=32, width=0.0625),
}
#: Run profiles: which sizes, how many repetitions, how large the peak matmul and the data sample.
PROFILES: dict[str, dict[str, Any]] = {
    "default": dict(sizes=("paper", "cpu"), warmup=1, repeats=3, min_seconds=4.0, peak_size=4096, peak_repeats=5,
                    prep_videos=24, loader_clips=64),
    "quick": dict(sizes=("paper", "cpu"), warmup=1, repeats=2, min_seconds=2.0, peak_size=2048, peak_repeats=3,
                  prep_videos=8, loader_clips=32),
    "tiny": dict(sizes=("tiny",), warmup=1, repeats=1, min_seconds=0.0, peak_size=512, peak_repeats=2,
                 prep_videos=3, loader_clips=4),
}


def size_config(model: str, size: str):
    """The :class:`~fsa.config.Config` of ``model`` at a benchmark size."""
    return make_config(model, SIZES[size]["preset"], **{k: v for k, v in SIZES[size].items() if k != "preset"})


def default_batch(size: str, device: torch.device) -> int:
    """Clips per step (see the :mod:`fsa.bench` docstring)."""
    if size == "tiny":
        return 2
    preset = PRESETS[SIZES[size]["preset"]]
    if device.type == "cpu" and size == "paper":
        return 1
    return preset["batch_size"]


def default_models(size: str, device: torch.device) -> tuple[str, ...]:
    """Models timed at one size by default: all three, except score fusion at 224 px on a CPU.

    Score fusion runs the very ECNN that ECNN-FSA runs (38.04 vs 38.07 GFLOP per frame), so
    at the paper size on a CPU it would add a third of the run time and no information.
    """
    if device.type == "cpu" and size == "paper":
        return ("ecnn-fsa", "cnn-lstm")
    return MODELS


@dataclass(frozen=True)
class BenchSettings:
    """One run's settings, checked and resolved (the arguments of :func:`fsa.bench.run_bench`).

    ``models`` is ``None`` for each size's :func:`default_models`; ``loader_workers`` are the
    DataLoader worker counts timed (default: 0 and up to 4).
    """

    profile: str
    device: torch.device
    sizes: tuple[str, ...]
    models: tuple[str, ...] | None
    repeats: int
    warmup: int
    amp: str
    memory_format: str
    compile: bool
    train_batch: int | None
    infer_batch: int | None
    n: int
    data: bool
    raw: Path | None
    loader_workers: tuple[int, ...]

    @classmethod
    def check(cls, profile: str = "default", device: str = "auto", models: Sequence[str] | None = None,
              sizes: Sequence[str] | None = None, repeats: int | None = None, warmup: int | None = None,
              memory_format: str = "auto", amp: str = "auto", compile: bool = False, train_batch: int | None = None,
              infer_batch: int | None = None, n: int = 5, data: bool = True, raw: str | os.PathLike | None = None,
              loader_workers: Sequence[int] | None = None) -> "BenchSettings":
        """The settings of a run; a :class:`~fsa.config.ConfigError` (a ``ValueError``) names the first bad
        argument, before any work."""
        if profile not in PROFILES:
            raise ConfigError(f"profile={profile!r}: expected one of {', '.join(PROFILES)}")
        if memory_format not in MEMORY_FORMATS:
            raise ConfigError(f"memory_format={memory_format!r}: expected one of {', '.join(MEMORY_FORMATS)}")
        if amp not in AMP_MODES:
            raise ConfigError(f"amp={amp!r}: expected {', '.join(AMP_MODES)}")
        prof = PROFILES[profile]
        sizes = tuple(sizes or prof["sizes"])
        for s in sizes:
            if s not in SIZES:
                raise ConfigError(f"size={s!r}: expected one of {', '.join(SIZES)}")
        for m in models or ():
            make_config(m, "smoke")  # rejects an unknown model before any work
        warmup = prof["warmup"] if warmup is None else warmup
        repeats = prof["repeats"] if repeats is None else repeats
        if repeats < 1 or warmup < 1:
            raise ConfigError(f"repeats={repeats}, warmup={warmup}: need repeats >= 1 and warmup >= 1")
        for name, batch in (("train_batch", train_batch), ("infer_batch", infer_batch)):
            if batch is not None and batch < 1:
                raise ConfigError(f"{name}={batch}: expected >= 1 clips per step")
        Config(device=device).validate()  # auto, cpu or cuda[:k]
        workers = tuple(loader_workers) if loader_workers is not None else (0, min(4, os.cpu_count() or 1))
        return cls(profile=profile, device=resolve_device(device), sizes=sizes,
                   models=tuple(models) if models else None, repeats=repeats, warmup=warmup, amp=amp,
                   memory_format=memory_format, compile=compile, train_batch=train_batch, infer_batch=infer_batch,
                   n=n, data=data, raw=Path(raw) if raw else None, loader_workers=workers)

    @property
    def spec(self) -> dict[str, Any]:
        """The profile's entry of :data:`PROFILES`."""
        return PROFILES[self.profile]

    def models_at(self, size: str) -> tuple[str, ...]:
        """The models timed at ``size``."""
        return self.models or default_models(size, self.device)

    def record(self, precisions: Sequence[str]) -> dict:
        """The ``settings`` section of the result (the memory format under its record name, ``layout``)."""
        return {"sizes": list(self.sizes), "models": {s: list(self.models_at(s)) for s in self.sizes},
                "n": self.n, "warmup": self.warmup, "repeats": self.repeats,
                "layout": self.memory_format, "amp": self.amp, "precisions": list(precisions), "compile": self.compile,
                "inference_mode": True}
