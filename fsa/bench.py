"""Speed benchmark (paper Table 8) and roofline: ``fsa bench``.

One process, one run, in this order:

1. **Peak**: dense square matmul of the device (``torch.matmul``, N = 4096 by default) in fp32,
   and in bf16 where the hardware has it natively (CPU: oneDNN with avx512_bf16 / AMX; CUDA:
   ``torch.cuda.is_bf16_supported()``), with the thread count the models use. This is the
   roof the models are held against, measured rather than taken from a data sheet.
2. **Models**: ECNN-FSA, CNN-LSTM and score fusion at the paper's size (224 px, width 1,
   n = 5) and at the ``cpu`` preset (64 px, width 1/4): milliseconds per frame of a training
   step and of inference, FLOPs per frame, achieved FLOP/s, its fraction of the measured
   peak of the row's precision, peak memory, and the ECNN-FSA / CNN-LSTM time ratios beside
   the paper's. Every model is timed in fp32 and, where the hardware has native bf16, under
   bf16 autocast too: one row per model, size and precision (``precision`` in the JSON).
   Score fusion is left out at 224 px on a CPU unless asked for (``--models``): it runs the
   same ECNN as ECNN-FSA, and the default run has to fit in five minutes on two cores.
3. **Data**: face-preparation frames/s (``data_prep.prepare`` with ``-j 1`` and ``-j 2``) on
   640x490 CK+-layout frames, and DataLoader clips/s over the prepared set against the
   clips/s the model consumes in training.

Definitions (the interpretations behind the numbers):

* *ms per frame* = wall time of one step on a batch of B clips of n frames, divided by B·n,
  as Table 8 reports time per frame. A *training step* is forward, cross-entropy, backward,
  an SGD step (momentum 0.9, weight decay 5e-4, as the paper trains) and ``zero_grad``;
  *inference* is a forward pass under ``torch.inference_mode`` in ``eval`` mode.
* *FLOPs* come from torch's own counter (``FlopCounterMode``, 2 FLOPs per multiply-add) on
  the ``meta`` device, for one clip, divided by n: the forward for inference, forward +
  backward for training (the input takes no gradient, so the first conv's input gradient
  is not counted, nor is it computed). Achieved FLOP/s = FLOPs per frame / s per frame;
  the fraction is of the matmul peak of the row's own precision (an fp32 row of the fp32
  peak, a bf16-autocast row of the bf16 peak; ``roof`` in each entry names it), the peak
  being the fastest matmul repetition. Convolutions may beat the matmul
  roof (e.g. TF32 convs on a GPU against the strict-fp32 matmul, or a quiet moment during
  a model's repetitions on a busy CPU), so fractions slightly above 1 are possible.
* On CUDA the peak matmul is 8192² with twice the repetitions (a 4096² product takes well
  under a millisecond there).
* Every timing has a warm-up, then several repetitions (short steps more, up to about four
  seconds per model, shared by its precisions); the median is the reported value, min and
  max give the spread. ``other_load`` is the share of the machine's CPU time used
  by *other* processes during the timed repetitions, ``cpu_busy`` this process's CPU time
  over wall time × threads: ``other_load`` well above 0 or ``cpu_busy`` well below 1 say the
  numbers were taken on a busy machine. Ratios measured in one run are what compare
  across machines; absolute times do not.
* Peak memory, taken over each model's warm-up run alone: on CPU the process's peak
  resident set (VmHWM, reset first on Linux; sampled elsewhere), on CUDA
  ``torch.cuda.max_memory_allocated``; ``memory_baseline_mib`` is what was held before the
  step (libraries, the weights of every model of that size, inputs), so the difference is
  the step's own working memory (activations, gradients, optimizer state).
* The models of one size are built together and their timed repetitions interleaved (a
  model's precisions share its weights), so load from other processes weighs on each alike
  and the ratios between them hold.

Execution settings (the fast path; each can be switched to measure its effect): the
memory layout of :mod:`fsa.models.layout` (``--layout``: channels_last on CUDA; on CPU
channels_last with an NCHW branch conv for inference and NCHW for training); inference
mode; fp32 and, beside it, bf16 autocast where the hardware has native bf16 (``--amp``:
``auto``; ``off`` times fp32 alone, ``bf16`` bf16 alone; never bf16 by default on CPUs
without it, where it is emulated and slower than fp32); ``cudnn.benchmark`` on CUDA;
``torch.compile`` on request (``--compile``; on a 2-core CPU it compiles for ~40 s per model
and measured no faster than eager, so it is off by default).

Batch sizes: on CPU the paper-size model runs one clip (5 frames) per step, because a
training step of VGG-16 at 224 px costs ~0.6 TFLOP per clip and the whole default run must
finish in minutes on two cores; the ``cpu`` preset runs its training batch (16 clips). On
CUDA both sizes run their preset's batch (48 clips at the paper size, as the paper trains).
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Sequence

import psutil
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from .config import PRESETS, make_config
from .models import build_model
from .models.layout import LAYOUTS, choose as choose_layout, format_input, set_layout
from .results import device_name, git_commit, load_runs, record, results_root, write_json

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
#: Targets of the speed work (benchmarks, not tests).
TARGETS = {
    "cpu_inference_fraction": 0.60,  # ECNN-FSA inference at 224 px, of the matmul peak of its precision
    "cpu_train_fraction": 0.40,  # ECNN-FSA training step at 224 px, likewise
    "loader_over_model": 3.0,  # DataLoader clips/s over training clips/s
    "prep_fps_j2": 50.0,  # face preparation, -j 2, 640x490 frames
    "cuda_inference_ms": 1.0,  # per frame, paper size
    "cuda_train_ms": 4.0,
}


# ----------------------------------------------------------------------------- helpers
def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r}: CUDA is not available on this machine")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device={device!r}: expected auto, cpu or cuda[:k]")
    return dev


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def native_bf16(device: torch.device) -> tuple[bool, str]:
    """Whether bf16 runs natively on the device, and why (not)."""
    if device.type == "cuda":
        ok = torch.cuda.is_bf16_supported(including_emulation=False)
        return ok, "cuda bf16 tensor cores" if ok else "GPU without native bf16"
    caps = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
    isa = [k for k in ("amx_bf16", "avx512_bf16") if caps.get(k)]
    onednn = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    if isa and onednn:
        return True, f"oneDNN bf16 via {', '.join(isa)}"
    return False, "CPU without avx512_bf16/amx_bf16: bf16 would be emulated, slower than fp32"


def precisions(device: torch.device, amp: str = "auto") -> tuple[str, ...]:
    """The precisions the models are timed in: ``auto`` = fp32, plus bf16 where it is native."""
    if amp not in AMP_MODES:
        raise ValueError(f"amp={amp!r}: expected {', '.join(AMP_MODES)}")
    if amp == "off":
        return ("fp32",)
    if amp == "bf16":
        return ("bf16",)
    return ("fp32", "bf16") if native_bf16(device)[0] else ("fp32",)


def sig(x: float, digits: int = 4) -> float:
    """``x`` rounded to ``digits`` significant digits (keeps small and large values readable)."""
    return float(f"{x:.{digits}g}")


def summarise(times: Sequence[float]) -> dict:
    """Median, min, max of a list of seconds."""
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "n": len(times)}


class Load:
    """CPU seconds of this process (``own``) and the share of the machine's CPU used by other
    processes (``other``) while the block ran."""

    _BUSY = ("user", "nice", "system", "irq", "softirq", "steal")  # guest time is inside user already

    def _snap(self) -> tuple[float, float, float]:
        t = psutil.cpu_times()
        busy = sum(getattr(t, k, 0.0) for k in self._BUSY)
        return time.perf_counter(), busy, time.process_time()

    def __enter__(self) -> "Load":
        self._a = self._snap()
        self.other = self.own = 0.0
        return self

    def __exit__(self, *exc) -> None:
        b = self._snap()
        wall = b[0] - self._a[0]
        cpus = psutil.cpu_count() or 1
        self.own = b[2] - self._a[2]
        other = ((b[1] - self._a[1]) - self.own) / max(wall * cpus, 1e-9)
        self.other = round(min(max(other, 0.0), 1.0), 3)


def busy(own_cpu_s: float, wall_s: float) -> float:
    """This process's CPU time over wall time x torch threads (1 = every thread busy throughout)."""
    return round(own_cpu_s / max(wall_s * torch.get_num_threads(), 1e-9), 3)


class PeakMemory:
    """Peak memory of a block: CUDA max allocated, or the process's peak RSS on CPU (MiB).

    ``baseline_mib`` is the allocated memory (CUDA) or RSS (CPU, libraries included) on entry.
    """

    _CLEAR = Path("/proc/self/clear_refs")
    _STATUS = Path("/proc/self/status")

    def __init__(self, device: torch.device):
        self.device = device
        self.mib = self.baseline_mib = 0.0
        self._linux = self._CLEAR.exists() and self._STATUS.exists()

    def _hwm(self) -> float:
        for line in self._STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"{self._STATUS}: no VmHWM line")

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self.baseline_mib = round(torch.cuda.memory_allocated(self.device) / 2**20, 1)
            return self
        self.baseline_mib = round(psutil.Process().memory_info().rss / 2**20, 1)
        if self._linux:
            try:  # "5" resets the peak resident set size to the current one (Linux >= 4.0)
                self._CLEAR.write_text("5")
                return self
            except OSError:
                self._linux = False
        proc, self._stop = psutil.Process(), threading.Event()
        self._peak = proc.memory_info().rss

        def sample() -> None:
            while not self._stop.wait(0.005):
                self._peak = max(self._peak, proc.memory_info().rss)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            self.mib = torch.cuda.max_memory_allocated(self.device) / 2**20
        elif self._linux:
            self.mib = self._hwm()
        else:
            self._stop.set()
            self._thread.join()
            self.mib = self._peak / 2**20
        self.mib = round(self.mib, 1)


def timed(fn: Callable[[], Any], device: torch.device) -> float:
    """Wall seconds of one call of ``fn``, synchronised on CUDA."""
    _sync(device)
    t = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t


# ------------------------------------------------------------------------------ peak
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


# ----------------------------------------------------------------------------- models
def count_flops(cfg, n: int, image_size: int, train: bool) -> float:
    """FLOPs per frame of one clip, from torch's counter on the meta device (see module docstring)."""
    with torch.device("meta"):
        model = build_model(cfg)
    model.train(train)
    x = torch.empty(1, n, 3, image_size, image_size, device="meta")
    with FlopCounterMode(display=False) as counter:
        if train:
            model(x).logits.sum().backward()
        else:
            with torch.no_grad():
                model(x)
    return counter.get_total_flops() / n


def default_batch(size: str, device: torch.device) -> int:
    """Clips per step (see module docstring)."""
    if size == "tiny":
        return 2
    preset = PRESETS[SIZES[size]["preset"]]
    if device.type == "cpu" and size == "paper":
        return 1
    return preset["batch_size"]


class _Case:
    """One model at one size in one precision, timed in inference and in training (see :func:`bench_size`)."""

    def __init__(self, name: str, size: str, device: torch.device, n: int, train_batch: int | None,
                 infer_batch: int | None, layout: str, precision: str, compile: bool):
        cfg = make_config(name, SIZES[size]["preset"], **{k: v for k, v in SIZES[size].items() if k != "preset"})
        self.name, self.size, self.cfg, self.device, self.n, self.layout = name, size, cfg.model, device, n, layout
        self.image = cfg.image_size
        self.flops = {"inference": count_flops(cfg.model, n, self.image, train=False),
                      "train": count_flops(cfg.model, n, self.image, train=True)}
        self.batches = {"train": train_batch or default_batch(size, device),
                        "inference": infer_batch or default_batch(size, device)}
        torch.manual_seed(0)
        self.model = build_model(cfg.model).to(device)
        self.net = torch.compile(self.model) if compile else self.model
        self.compiled = compile
        self._set_precision(precision)

    def _set_precision(self, precision: str) -> None:
        self.precision = precision
        dtype = DTYPES[precision]
        self.autocast = ((lambda: torch.autocast(self.device.type, dtype=dtype)) if dtype != torch.float32
                         else contextlib.nullcontext)
        self.row: dict[str, Any] = {
            "model": self.name, "size": self.size, "image_size": self.image, "width": self.cfg.width, "n": self.n,
            "params": sum(p.numel() for p in self.model.parameters()), "precision": precision,
            "compiled": self.compiled,
        }

    def in_precision(self, precision: str) -> "_Case":
        """This model (the same weights, so memory is not doubled) timed in another precision."""
        twin = copy.copy(self)
        twin._set_precision(precision)
        return twin

    def setup(self, mode: str) -> Callable[[], None]:
        """Layout, inputs (and optimizer) for ``mode``; returns the step to time."""
        train = mode == "train"
        self.model.train(train)
        fmt = set_layout(self.model, self.device, train=train, layout=self.layout)
        b = self.batches[mode]
        g = torch.Generator(device="cpu").manual_seed(1 + train)
        x = format_input(torch.randn(b, self.n, 3, self.image, self.image, generator=g).to(self.device), fmt)
        if not train:
            def infer() -> None:
                with torch.inference_mode(), self.autocast():
                    self.net(x)
            return infer
        opt = torch.optim.SGD(self.model.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)
        y = torch.arange(b, device=self.device) % self.cfg.num_classes

        def step() -> None:
            with self.autocast():
                logits = self.net(x).logits
            F.cross_entropy(logits.float(), y).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        return step

    def record(self, mode: str, warm: list[float], times: list[float], other: float, own: float,
               mem: PeakMemory, peak: dict) -> None:
        frames = self.batches[mode] * self.n
        s = summarise(times)
        achieved = self.flops[mode] * frames / s["median"]
        entry = {
            "layout": choose_layout(self.device, mode == "train", self.layout),
            "batch_clips": self.batches[mode],
            "frames_per_step": frames,
            "ms_per_frame": sig(s["median"] * 1e3 / frames),
            "ms_per_frame_min": sig(s["min"] * 1e3 / frames),
            "ms_per_frame_max": sig(s["max"] * 1e3 / frames),
            "clips_per_s": sig(self.batches[mode] / s["median"]),
            "warmup_s": [round(t, 3) for t in warm],
            "times_s": [round(t, 4) for t in times],
            "flops_per_frame": self.flops[mode],
            "gflops_per_s": sig(achieved / 1e9),
            "peak_memory_mib": mem.mib,
            "memory_baseline_mib": mem.baseline_mib,
            "other_load": round(other, 3),
            "cpu_busy": busy(own, sum(times)),
        }
        entry["roof"] = f"{self.precision} matmul peak"
        roof = peak.get(self.precision, {}).get("gflops_max")
        if roof:
            entry["roof_gflops"] = roof
            entry["fraction_of_peak"] = sig(achieved / 1e9 / roof)
        self.row[mode] = entry


def bench_size(size: str, models: Sequence[str], device: torch.device, *, peak: dict, n: int = 5,
               train_batch: int | None = None, infer_batch: int | None = None, warmup: int = 1, repeats: int = 3,
               min_seconds: float = 0.0, layout: str = "auto", precisions: Sequence[str] = ("fp32",),
               compile: bool = False, log: Callable[[str], None] = lambda msg: None) -> list[dict]:
    """Every model at one size in every precision: inference, then training (see the module docstring).

    The repetitions of every model and precision are interleaved (A B C A B C …) so that
    whatever else the machine does weighs on each alike and the ratios between them hold.
    Short steps are repeated more than ``repeats`` times, until each model has run about
    ``min_seconds`` over all its precisions (at most five times ``repeats``), so that timing
    a second precision does not double the run. Peak memory is taken over each warm-up, run alone.
    """
    cases = []
    for m in models:
        first = _Case(m, size, device, n, train_batch, infer_batch, layout, precisions[0], compile)
        cases += [first] + [first.in_precision(p) for p in precisions[1:]]
    for mode in ("inference", "train"):
        steps = [c.setup(mode) for c in cases]
        warm, mems = [], []
        for c, step in zip(cases, steps):
            log(f"bench: {c.name} at {size} size, {c.precision} {mode} warm-up")
            with PeakMemory(device) as mem:
                warm.append([timed(step, device) for _ in range(warmup)])
            mems.append(mem)
        slowest = max(w[-1] for w in warm) * len(precisions)  # a model's repetition in all its precisions
        reps = max(repeats, min(5 * repeats, math.ceil(min_seconds / max(slowest, 1e-6))))
        times = [[] for _ in cases]
        other, own = [0.0] * len(cases), [0.0] * len(cases)
        for _ in range(reps):
            for i, step in enumerate(steps):
                with Load() as load:
                    t = timed(step, device)
                times[i].append(t)
                other[i] += load.other * t
                own[i] += load.own
        for i, c in enumerate(cases):
            c.record(mode, warm[i], times[i], other[i] / sum(times[i]), own[i], mems[i], peak)
    return [c.row for c in cases]


def table8_ratios(rows: list[dict]) -> dict:
    """ECNN-FSA / CNN-LSTM time ratios per size and precision (key ``"<size> <precision>"``, e.g.
    ``"paper bf16"``), beside the paper's (Table 8, key ``published``)."""
    from .paper import paper_table

    paper = {r["model"]: r for r in paper_table(8)["rows"]}
    out = {}
    for size, precision in dict.fromkeys((r["size"], r["precision"]) for r in rows):
        by = {r["model"]: r for r in rows if (r["size"], r["precision"]) == (size, precision)}
        if "ecnn-fsa" in by and "cnn-lstm" in by:
            f, c = by["ecnn-fsa"], by["cnn-lstm"]
            out[f"{size} {precision}"] = {
                "train": sig(f["train"]["ms_per_frame"] / c["train"]["ms_per_frame"]),
                "inference": sig(f["inference"]["ms_per_frame"] / c["inference"]["ms_per_frame"]),
                # fastest repetitions: the least disturbed estimate on a busy machine
                "train_min": sig(f["train"]["ms_per_frame_min"] / c["train"]["ms_per_frame_min"]),
                "inference_min": sig(f["inference"]["ms_per_frame_min"] / c["inference"]["ms_per_frame_min"]),
            }
    out["published"] = {
        "train": sig(paper["ecnn-fsa"]["train_ms_per_frame"] / paper["cnn-lstm"]["train_ms_per_frame"]),
        "inference": sig(paper["ecnn-fsa"]["test_ms_per_frame"] / paper["cnn-lstm"]["test_ms_per_frame"]),
    }
    return out


def table8_rows(result: dict) -> list[dict]:
    """Table 8 as measured, one row per (size, precision, model) of the paper's pair, with the paper's numbers.

    For ``notebooks/table8.ipynb``: ``pandas.DataFrame(table8_rows(result))``.
    """
    from .paper import paper_table

    paper = {r["model"]: r for r in paper_table(8)["rows"]}
    rows = []
    for r in result["models"]:
        if r["model"] in paper:
            rows.append({
                "size": r["size"], "precision": r["precision"], "model": r["model"],
                "label": paper[r["model"]]["label"],
                "train_ms_per_frame": r["train"]["ms_per_frame"], "test_ms_per_frame": r["inference"]["ms_per_frame"],
                "paper_train_ms_per_frame": paper[r["model"]]["train_ms_per_frame"],
                "paper_test_ms_per_frame": paper[r["model"]]["test_ms_per_frame"],
                "device": result["environment"].get("device_name", result["environment"]["device"]),
            })
    return rows


# ------------------------------------------------------------------------------- data
def _unavailable(reason: str) -> dict:
    return {"available": False, "reason": reason}


def _subset_ckplus(raw: Path, dest: Path, videos: int) -> int:
    """Copy the first ``videos`` labelled sequences of a CK+ root to ``dest``; returns their frame count."""
    labelled = sorted(p.parent for p in (raw / "Emotion").glob("*/*/*_emotion.txt"))[:videos]
    frames = 0
    for lab in labelled:
        rel = lab.relative_to(raw / "Emotion")
        shutil.copytree(lab, dest / "Emotion" / rel)
        shutil.copytree(raw / "cohn-kanade-images" / rel, dest / "cohn-kanade-images" / rel)
        frames += len(list((dest / "cohn-kanade-images" / rel).glob("*.png")))
    return frames


_PREPARE = (
    "import json, sys\n"
    "from data_prep.prepare import prepare\n"
    "raw, out = sys.argv[1], sys.argv[2]\n"
    "for j in map(int, sys.argv[3:]):\n"
    "    r = prepare('ckplus', raw, f'{out}-j{j}', jobs=j, size=224, progress=False)\n"
    "    print(json.dumps({'jobs': j, **r}), flush=True)\n"
)


def _prepare_in_subprocess(raw: Path, out: Path, jobs: Sequence[int]) -> dict[int, dict]:
    """``data_prep.prepare.prepare`` once per ``-j`` into ``<out>-j<J>``, in a fresh interpreter.

    A fresh process because the ``-j`` pool forks: forking this one, whose torch and OpenCV
    thread pools have run, can leave a worker blocked on a lock that no thread will release.
    Pools run first, before the in-process ``-j 1`` run uses OpenCV, for the same reason.
    Returns each run's report (``prep_report.json`` plus the ``run`` timings).
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                                      os.environ.get("PYTHONPATH")]))}
    order = sorted(jobs, reverse=True)
    proc = subprocess.run([sys.executable, "-c", _PREPARE, str(raw), str(out), *map(str, order)],
                          capture_output=True, text=True, env=env, timeout=3600)
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "no error output"
        raise RuntimeError(f"data_prep.prepare on {raw} exited {proc.returncode}: {last}")
    reports = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {r["jobs"]: r for r in reports}


def bench_face_prep(work: Path, raw: Path | None, videos: int, jobs: Sequence[int] = (1, 2)) -> tuple[dict, Path | None]:
    """Face-preparation frames/s per ``-j``; returns the section and a prepared root (224 px crops).

    ``raw`` is a CK+ root; without one the ``smoke`` synthetic CK+ set is generated first
    (its time is reported apart). The first ``videos`` labelled sequences are prepared from
    scratch once per ``-j``; the dlib models load before the clock starts
    (``data_prep.prepare`` reports their load time separately).
    """
    from data_prep.synth import generate

    section: dict[str, Any] = {"available": True}
    if raw is None:
        t = time.perf_counter()
        raw = work / "synth-ckplus"
        generate("ckplus", raw, size="smoke", seed=0, progress=False)
        section["synth_seconds"] = round(time.perf_counter() - t, 2)
        section["raw"] = "python -m data_prep.synth --layout ckplus --size smoke"
    else:
        section["raw"] = str(raw)
    sample = work / "sample"
    frames = _subset_ckplus(raw, sample, videos)
    if frames == 0:
        return _unavailable(f"{raw}: no labelled CK+ sequence (Emotion/*/*/*_emotion.txt) to prepare"), None
    import cv2

    first = next((sample / "cohn-kanade-images").glob("*/*/*.png"))
    h, w = cv2.imread(str(first), cv2.IMREAD_UNCHANGED).shape[:2]
    section.update(videos=min(videos, len(list((sample / "Emotion").glob("*/*")))), frames=frames,
                   frame_size=[w, h])
    with Load() as load:
        reports = _prepare_in_subprocess(sample, work / "prepared", jobs)
    section["other_load"] = load.other
    for j in jobs:
        run = reports[j]["run"]
        section[f"j{j}"] = {
            "frames_per_s": run["fps"], "seconds": run["seconds"], "frames": run["frames"],
            "model_load_seconds": run["model_load_seconds"],
            "methods": {k: v for k, v in reports[j]["frames"].items() if k != "total"},
        }
    return section, work / f"prepared-j{max(jobs)}"


def bench_loader(prepared: Path, image_size: int, n: int, batch: int, clips: int, device: torch.device,
                 workers: Sequence[int]) -> dict:
    """Clips/s a training DataLoader delivers over a prepared set.

    The training dataset (random segment sampling, random resized crop and flip, resize to
    ``image_size``, normalisation) over every labelled clip; timed from the first batch
    (worker start-up excluded, reported apart) until at least ``clips`` more clips and two
    more batches arrived, cycling over the set as often as needed, with pinned memory and
    the host-to-device copy on CUDA.
    """
    from torch.utils.data import DataLoader

    from .data import ClipDataset, load_index, make_clips

    items, classes = make_clips(load_index(prepared), "ck+7")
    ds = ClipDataset(prepared, items, classes, n=n, image_size=image_size, train=True, seed=0)
    pin = device.type == "cuda"
    section: dict[str, Any] = {"available": True, "clips": len(ds), "image_size": image_size, "batch_clips": batch,
                               "pin_memory": pin}
    for w in workers:
        loader = DataLoader(ds, batch_size=batch, shuffle=True, num_workers=w, pin_memory=pin,
                            persistent_workers=w > 0, generator=torch.Generator().manual_seed(0))
        t0 = time.perf_counter()
        first = t1 = None
        got = batches = 0

        def done() -> bool:
            return got >= clips and batches >= 2

        with Load() as load:
            while not done():
                for b in loader:
                    b["frames"].to(device, non_blocking=True)
                    if first is None:
                        first = t1 = time.perf_counter()
                        continue
                    got += b["frames"].shape[0]
                    batches += 1
                    if done():
                        break
            _sync(device)
            seconds = time.perf_counter() - t1
        section[f"workers{w}"] = {"clips_per_s": sig(got / seconds), "clips": got,
                                  "first_batch_s": round(first - t0, 3), "other_load": load.other}
        del loader
    section["clips_per_s"] = max(section[f"workers{w}"]["clips_per_s"] for w in workers)
    return section


# ------------------------------------------------------------------------------ runner
def environment(device: torch.device) -> dict:
    """Device, threads, library versions and the kernels in use."""
    env: dict[str, Any] = {
        "device": str(device),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "cpu_count": os.cpu_count(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "mkl": torch.backends.mkl.is_available(),
        "openmp": torch.backends.openmp.is_available(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        # OpenMP's wait policy matters on a shared CPU: spinning threads fight the other processes
        "omp_env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "MKL_NUM_THREADS")
                    if k in os.environ},
    }
    for dist, key in (("torchvision", "torchvision"), ("numpy", "numpy"), ("opencv-python-headless", "opencv"),
                      ("dlib-bin", "dlib")):
        try:
            env[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            env[key] = None
    found = re.search(r"MKL-DNN v([\w.]+)", torch.__config__.show())
    env["onednn_version"] = found.group(1) if found else None
    bf16, why = native_bf16(device)
    env["bf16_native"], env["bf16_note"] = bf16, why
    env["device_name"] = device_name(str(device))
    env["git"] = git_commit()
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update(cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                   capability=f"{props.major}.{props.minor}", gpu_memory_gib=round(props.total_memory / 2**30, 1),
                   cudnn_benchmark=torch.backends.cudnn.benchmark, tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
                   tf32_cudnn=torch.backends.cudnn.allow_tf32)
    return env


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


def default_models(size: str, device: torch.device) -> tuple[str, ...]:
    """Models timed at one size by default: all three, except score fusion at 224 px on a CPU.

    Score fusion runs the very ECNN that ECNN-FSA runs (38.04 vs 38.07 GFLOP per frame), so
    at the paper size on a CPU it would add a third of the run time and no information.
    """
    if device.type == "cpu" and size == "paper":
        return ("ecnn-fsa", "cnn-lstm")
    return MODELS


def run_bench(profile: str = "default", device: str = "auto", models: Sequence[str] | None = None,
              sizes: Sequence[str] | None = None, repeats: int | None = None, warmup: int | None = None,
              threads: int | None = None, layout: str = "auto", amp: str = "auto", compile: bool = False,
              train_batch: int | None = None, infer_batch: int | None = None, n: int = 5,
              data: bool = True, raw: str | os.PathLike | None = None, loader_workers: Sequence[int] | None = None,
              log: Callable[[str], None] | None = None) -> dict:
    """Run the benchmark; returns the result dict (see the module docstring for every field).

    ``repeats`` is the least number of timed repetitions (short steps get more, see
    :func:`bench_size`); ``settings.repeats`` in the result records it, and every
    measurement lists its own ``times_s``.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile={profile!r}: expected one of {', '.join(PROFILES)}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout={layout!r}: expected one of {', '.join(LAYOUTS)}")
    if amp not in AMP_MODES:
        raise ValueError(f"amp={amp!r}: expected {', '.join(AMP_MODES)}")
    prof = PROFILES[profile]
    sizes = tuple(sizes or prof["sizes"])
    for s in sizes:
        if s not in SIZES:
            raise ValueError(f"size={s!r}: expected one of {', '.join(SIZES)}")
    for m in models or ():
        make_config(m, "smoke")  # rejects an unknown model before any work
    warmup = prof["warmup"] if warmup is None else warmup
    repeats = prof["repeats"] if repeats is None else repeats
    if repeats < 1 or warmup < 1:
        raise ValueError(f"repeats={repeats}, warmup={warmup}: need repeats >= 1 and warmup >= 1")
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    dev = resolve_device(device)
    threads_before, benchmark_before = torch.get_num_threads(), torch.backends.cudnn.benchmark
    if threads:
        torch.set_num_threads(threads)
    torch.backends.cudnn.benchmark = dev.type == "cuda"
    try:
        return _run(profile, dev, models, sizes, repeats, warmup, amp, layout, compile, train_batch, infer_batch, n,
                    data, raw, loader_workers, log)
    finally:
        torch.set_num_threads(threads_before)
        torch.backends.cudnn.benchmark = benchmark_before


def _run(profile: str, dev: torch.device, models: Sequence[str] | None, sizes: tuple[str, ...], repeats: int, warmup: int,
         amp: str, layout: str, compile: bool, train_batch: int | None, infer_batch: int | None, n: int, data: bool,
         raw: str | os.PathLike | None, loader_workers: Sequence[int] | None, log: Callable[[str], None]) -> dict:
    prof = PROFILES[profile]
    bf16, why = native_bf16(dev)
    precs = precisions(dev, amp)
    t_start = time.perf_counter()
    result: dict[str, Any] = {
        "kind": "bench", "schema": SCHEMA, "profile": profile,
        "environment": environment(dev),
        "settings": {"sizes": list(sizes), "models": {s: list(models or default_models(s, dev)) for s in sizes},
                     "n": n, "warmup": warmup, "repeats": repeats,
                     "layout": layout, "amp": amp, "precisions": list(precs), "compile": compile,
                     "inference_mode": True},
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }

    # A GPU does a 4096^2 product in well under a millisecond: twice the side, more repetitions.
    scale = 2 if dev.type == "cuda" and profile != "tiny" else 1
    size, reps = prof["peak_size"] * scale, prof["peak_repeats"] * scale
    log(f"bench: peak matmul ({size}^2) on {dev}, {torch.get_num_threads()} threads")
    peak = {"fp32": matmul_peak(dev, torch.float32, size, repeats=reps)}
    peak["bf16"] = matmul_peak(dev, torch.bfloat16, size, repeats=reps) if bf16 else _unavailable(why)
    result["peak"] = peak

    rows = []
    for size in sizes:
        rows += bench_size(size, models or default_models(size, dev), dev, peak=peak, n=n, train_batch=train_batch,
                           infer_batch=infer_batch, warmup=warmup, repeats=repeats, min_seconds=prof["min_seconds"],
                           layout=layout, precisions=precs, compile=compile, log=log)
        gc.collect()  # the models, their optimizer state and activations, before the next size
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    result["models"] = rows
    result["ratios"] = table8_ratios(rows)

    result["data"] = {"face_prep": _unavailable("not requested (--no-data)"), "loader": {}}
    if data:
        log("bench: face preparation and DataLoader")
        with tempfile.TemporaryDirectory(prefix="fsa-bench-") as tmp:
            try:
                prep, prepared = bench_face_prep(Path(tmp), Path(raw) if raw else None, prof["prep_videos"])
            except Exception as e:  # reported in the output, not fatal: the model numbers stand
                prep, prepared = _unavailable(f"face preparation failed: {type(e).__name__}: {e}"), None
            result["data"]["face_prep"] = prep
            workers = tuple(loader_workers) if loader_workers is not None else (0, min(4, os.cpu_count() or 1))
            for size in sizes:
                cfg = make_config("ecnn-fsa", SIZES[size]["preset"],
                                  **{k: v for k, v in SIZES[size].items() if k != "preset"})
                if prepared is None:
                    loader = _unavailable("no prepared dataset: " + prep.get("reason", "face preparation did not run"))
                else:
                    loader = bench_loader(prepared, cfg.image_size, n, train_batch or default_batch(size, dev),
                                          prof["loader_clips"], dev, tuple(dict.fromkeys(workers)))
                # against the fastest precision: the most clips per second the loader has to keep up with
                fsa_rows = [r for r in rows if r["model"] == "ecnn-fsa" and r["size"] == size]
                if loader.get("available") and fsa_rows:
                    fastest = max(r["train"]["clips_per_s"] for r in fsa_rows)
                    loader["over_model_train"] = sig(loader["clips_per_s"] / fastest)
                result["data"]["loader"][size] = loader
    result["targets"] = check_targets(result)
    result["wall_s"] = round(time.perf_counter() - t_start, 1)
    return result


# ------------------------------------------------------------------------------ report
def _fmt(v: float | None, spec: str = ".2f") -> str:
    return "n/a" if v is None else format(v, spec)


def format_report(result: dict) -> str:
    """A readable table of a :func:`run_bench` result (schema 1 records read too)."""
    env, peak, settings = result["environment"], result["peak"], result["settings"]
    precs = settings.get("precisions") or list(dict.fromkeys(r["precision"] for r in result["models"]))
    lines = [
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
        "",
    ]
    head = (f"{'model':<13} {'size':<6} {'prec':<4} {'mode':<9} {'clips':>5} {'ms/frame':>9} {'[min-max]':>17} "
            f"{'GFLOP/frame':>11} {'GFLOP/s':>8} {'of peak':>7} {'+MiB':>6} {'load':>5}")
    lines += [head, "-" * len(head)]
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
    lines += ["(prec: fp32, or bf16 autocast; of peak: GFLOP/s over the matmul peak of the row's precision; "
              "+MiB: peak memory of the step above what was held before it; load: share of the CPU used by "
              "other processes)"]
    lines += ["", "Table 8 ratios, ECNN-FSA / CNN-LSTM time per frame (lower = FSA faster):"]
    for key, r in result["ratios"].items():
        label = "published (1080Ti)" if key == "published" else f"measured, {key}"
        best = (f"   (fastest repetitions: train {r['train_min']:.3f}, inference {r['inference_min']:.3f})"
                if "train_min" in r else "")
        lines.append(f"  {label:<20} train {r['train']:.3f}   inference {r['inference']:.3f}{best}")
    lines += ["", "data:"]
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
    lines += ["", "targets:"]
    for t in result["targets"]:
        state = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        lines.append(f"  [{state:>6}] {t['name']}: {_fmt(t['value'], '.3f')} (target {t['target']})")
    lines.append(f"\nwall time {result['wall_s']:.0f} s")
    return "\n".join(lines)


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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fsa bench", description="Table 8 speed benchmark and roofline.")
    prof = p.add_mutually_exclusive_group()
    prof.add_argument("--quick", action="store_true", help="fewer repetitions and a smaller data sample")
    prof.add_argument("--tiny", action="store_true", help="32 px, width 1/16, one repetition (tests)")
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda[:k]")
    p.add_argument("--models", help=f"comma list of {', '.join(MODELS)} (default: all, but no score fusion at "
                                    "224 px on a CPU)")
    p.add_argument("--sizes", help=f"comma list of {', '.join(SIZES)} (default: the profile's)")
    p.add_argument("--repeats", type=int, help="timed repetitions per measurement")
    p.add_argument("--warmup", type=int, help="warm-up iterations per measurement")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    p.add_argument("--train-batch", type=int, help="clips per training step (default per size and device)")
    p.add_argument("--infer-batch", type=int, help="clips per inference step")
    p.add_argument("--layout", default="auto", choices=LAYOUTS,
                   help="memory layout: auto = the measured best per device and mode (fsa.models.layout)")
    p.add_argument("--amp", default="auto", choices=AMP_MODES,
                   help="auto: fp32, and bf16 autocast beside it where the hardware has native bf16; "
                        "off: fp32 only; bf16: bf16 autocast only")
    p.add_argument("--compile", action="store_true", help="torch.compile the models")
    p.add_argument("--no-data", dest="data", action="store_false", help="skip face preparation and DataLoader")
    p.add_argument("--raw", help="raw CK+ root for face preparation (default: a generated smoke sample)")
    p.add_argument("--out", help="JSON path (default: the results store, experiment 'bench'; "
                                 "quick and tiny runs under its scratch/ folder)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    profile = "tiny" if args.tiny else "quick" if args.quick else "default"
    try:
        result = run_bench(
            profile, device=args.device, models=[m for m in args.models.split(",") if m] if args.models else None,
            sizes=[s for s in args.sizes.split(",") if s] if args.sizes else None, repeats=args.repeats,
            warmup=args.warmup, threads=args.threads, layout=args.layout, amp=args.amp,
            compile=args.compile, train_batch=args.train_batch, infer_batch=args.infer_batch, data=args.data,
            raw=args.raw)
    except ValueError as e:
        print(f"fsa bench: error: {e}", file=sys.stderr)
        return 2
    path = save(result, args.out)
    print(format_report(result))
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
