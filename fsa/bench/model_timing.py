"""The models of ``fsa bench``: FLOPs per frame, and the timed training steps and inference passes."""
from __future__ import annotations

import contextlib
import copy
import gc
import math
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from ..models import build_model
from ..models.memory_format import choose as choose_memory_format, format_input, set_memory_format
from ..paper import paper_table
from .measure import Load, PeakMemory, busy, sig, summarise, timed
from .settings import DTYPES, BenchSettings, default_batch, size_config


def count_flops(cfg, n: int, image_size: int, train: bool) -> float:
    """FLOPs per frame of one clip, from torch's counter on the meta device (see :mod:`fsa.bench`)."""
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


class _Case:
    """One model at one size in one precision, timed in inference and in training (see :func:`bench_size`)."""

    def __init__(self, name: str, size: str, device: torch.device, n: int, train_batch: int | None,
                 infer_batch: int | None, memory_format: str, precision: str, compile: bool):
        cfg = size_config(name, size)
        self.name, self.size, self.cfg, self.device, self.n = name, size, cfg.model, device, n
        self.memory_format = memory_format
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
        """Memory format, inputs (and optimizer) for ``mode``; returns the step to time."""
        train = mode == "train"
        self.model.train(train)
        fmt = set_memory_format(self.model, self.device, train=train, memory_format=self.memory_format)
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
            "layout": choose_memory_format(self.device, mode == "train", self.memory_format),
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
               min_seconds: float = 0.0, memory_format: str = "auto", precisions: Sequence[str] = ("fp32",),
               compile: bool = False, log: Callable[[str], None] = lambda msg: None) -> list[dict]:
    """Every model at one size in every precision: inference, then training (see :mod:`fsa.bench`).

    The repetitions of every model and precision are interleaved (A B C A B C …) so that
    whatever else the machine does weighs on each alike and the ratios between them hold.
    Short steps are repeated more than ``repeats`` times, until each model has run about
    ``min_seconds`` over all its precisions (at most five times ``repeats``), so that timing
    a second precision does not double the run. Peak memory is taken over each warm-up, run alone.
    """
    cases = []
    for m in models:
        first = _Case(m, size, device, n, train_batch, infer_batch, memory_format, precisions[0], compile)
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


def bench_models(settings: BenchSettings, peak: dict, precisions: Sequence[str], log: Callable[[str], None]
                 ) -> list[dict]:
    """The ``models`` section: :func:`bench_size` at each size, one size's models freed before the next."""
    s, rows = settings, []
    for size in s.sizes:
        rows += bench_size(size, s.models_at(size), s.device, peak=peak, n=s.n, train_batch=s.train_batch,
                           infer_batch=s.infer_batch, warmup=s.warmup, repeats=s.repeats,
                           min_seconds=s.spec["min_seconds"], memory_format=s.memory_format, precisions=precisions,
                           compile=s.compile, log=log)
        gc.collect()  # the models, their optimizer state and activations, before the next size
        if s.device.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def table8_ratios(rows: list[dict]) -> dict:
    """ECNN-FSA / CNN-LSTM time ratios per size and precision (key ``"<size> <precision>"``, e.g.
    ``"paper bf16"``), beside the paper's (Table 8, key ``published``)."""
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
