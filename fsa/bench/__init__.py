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
memory format of :mod:`fsa.models.memory_format` (``--memory-format``, formerly ``--layout``, and
``layout`` in the JSON: channels_last on CUDA; on CPU channels_last with an NCHW branch conv for
inference and NCHW for training); inference
mode; fp32 and, beside it, bf16 autocast where the hardware has native bf16 (``--amp``:
``auto``; ``off`` times fp32 alone, ``bf16`` bf16 alone; never bf16 by default on CPUs
without it, where it is emulated and slower than fp32); ``cudnn.benchmark`` on CUDA;
``torch.compile`` on request (``--compile``; on a 2-core CPU it compiles for ~40 s per model
and measured no faster than eager, so it is off by default).

Batch sizes: on CPU the paper-size model runs one clip (5 frames) per step, because a
training step of VGG-16 at 224 px costs ~0.6 TFLOP per clip and the whole default run must
finish in minutes on two cores; the ``cpu`` preset runs its training batch (16 clips). On
CUDA both sizes run their preset's batch (48 clips at the paper size, as the paper trains).

Modules: :mod:`~fsa.bench.settings` (sizes, profiles, a run's :class:`BenchSettings`),
:mod:`~fsa.bench.measure` (timing, load, memory), :mod:`~fsa.bench.peak`,
:mod:`~fsa.bench.model_timing`, :mod:`~fsa.bench.data_pipeline`, :mod:`~fsa.bench.targets`,
:mod:`~fsa.bench.report` and :mod:`~fsa.bench.roofline` (the points of the roofline figure); this one
runs them in order and is the ``fsa bench`` command.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from importlib import metadata
from typing import Any, Callable, Sequence

import torch

from ..config import ConfigError
from ..models.memory_format import MEMORY_FORMATS
from ..results import device_name, git_commit
from .data_pipeline import bench_data, bench_face_prep, bench_loader
from .measure import Load, PeakMemory, busy, sig, summarise, timed
from .model_timing import bench_models, bench_size, count_flops, table8_ratios, table8_rows
from .peak import bench_peak, matmul_peak
from .report import above_roof, format_report, latest, save, store_name
from .roofline import roofline_points, roofs
from .settings import AMP_MODES, DTYPES, MODELS, PROFILES, SCHEMA, SIZES, BenchSettings, default_batch, default_models
from .targets import TARGETS, check_targets

__all__ = [
    "AMP_MODES", "DTYPES", "MODELS", "PROFILES", "SCHEMA", "SIZES", "TARGETS", "BenchSettings", "Load",
    "PeakMemory", "above_roof", "bench_data", "bench_face_prep", "bench_loader", "bench_models", "bench_peak",
    "bench_size", "build_parser", "busy", "check_targets", "count_flops", "default_batch", "default_models",
    "environment", "format_report", "latest", "main", "matmul_peak", "native_bf16", "precisions", "roofline_points",
    "roofs", "run_bench", "save", "sig", "store_name", "summarise", "table8_ratios", "table8_rows", "timed",
]


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
        raise ConfigError(f"amp={amp!r}: expected {', '.join(AMP_MODES)}")
    if amp == "off":
        return ("fp32",)
    if amp == "bf16":
        return ("bf16",)
    return ("fp32", "bf16") if native_bf16(device)[0] else ("fp32",)


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
        "omp_env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT",
                                               "MKL_NUM_THREADS") if k in os.environ},
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


def run_bench(profile: str = "default", device: str = "auto", models: Sequence[str] | None = None,
              sizes: Sequence[str] | None = None, repeats: int | None = None, warmup: int | None = None,
              threads: int | None = None, memory_format: str = "auto", amp: str = "auto", compile: bool = False,
              train_batch: int | None = None, infer_batch: int | None = None, n: int = 5,
              data: bool = True, raw: str | os.PathLike | None = None, loader_workers: Sequence[int] | None = None,
              log: Callable[[str], None] | None = None) -> dict:
    """Run the benchmark; returns the result dict (see the module docstring for every field).

    ``repeats`` is the least number of timed repetitions (short steps get more, see
    :func:`bench_size`); ``settings.repeats`` in the result records it, and every
    measurement lists its own ``times_s``. ``threads`` sets torch's thread count for the run.
    """
    if threads is not None and threads < 1:
        raise ConfigError(f"threads={threads}: expected >= 1")
    settings = BenchSettings.check(profile, device=device, models=models, sizes=sizes, repeats=repeats,
                                   warmup=warmup, memory_format=memory_format, amp=amp, compile=compile,
                                   train_batch=train_batch, infer_batch=infer_batch, n=n, data=data, raw=raw,
                                   loader_workers=loader_workers)
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    threads_before, benchmark_before = torch.get_num_threads(), torch.backends.cudnn.benchmark
    if threads:
        torch.set_num_threads(threads)
    torch.backends.cudnn.benchmark = settings.device.type == "cuda"
    try:
        return _run(settings, log)
    finally:
        torch.set_num_threads(threads_before)
        torch.backends.cudnn.benchmark = benchmark_before


def _run(settings: BenchSettings, log: Callable[[str], None]) -> dict:
    dev = settings.device
    bf16, why = native_bf16(dev)
    precs = precisions(dev, settings.amp)
    t_start = time.perf_counter()
    result: dict[str, Any] = {
        "kind": "bench", "schema": SCHEMA, "profile": settings.profile,
        "environment": environment(dev),
        "settings": settings.record(precs),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    result["peak"] = bench_peak(settings, bf16, why, log)
    result["models"] = bench_models(settings, result["peak"], precs, log)
    result["ratios"] = table8_ratios(result["models"])
    result["data"] = bench_data(settings, result["models"], log)
    result["targets"] = check_targets(result)
    result["wall_s"] = round(time.perf_counter() - t_start, 1)
    return result


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
    p.add_argument("--memory-format", "--layout", dest="memory_format", default="auto", choices=MEMORY_FORMATS,
                   help="auto = the measured best per device and mode (fsa.models.memory_format)")
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
            warmup=args.warmup, threads=args.threads, memory_format=args.memory_format, amp=args.amp,
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
