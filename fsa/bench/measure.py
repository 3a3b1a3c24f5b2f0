"""Measuring tools of ``fsa bench``: timing, CPU load, peak memory, and the numbers' rounding."""
from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import psutil
import torch

from ..distributed import sync


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
    sync(device)
    t = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t


def unavailable(reason: str) -> dict:
    """A section that could not be measured, and why."""
    return {"available": False, "reason": reason}
