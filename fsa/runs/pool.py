"""Several runs at once: a pool of worker processes on the CPU, each with its share of the cores.

:func:`fsa.runs.chain.obtain_all` hands the runs a page lacks to :func:`run` — the still-image runs
first, stage by stage, then every fold or seed of every configuration — and then reads them from
the store like any recorded run, so a page's groups come out as if trained one after another.

How many workers: :data:`WORKERS_ENV` when set, else one per two cores the process may use, each
on ``cores // workers`` threads; one (the runs in this process, one after another) on a GPU, under
``torchrun`` (``FSA_NPROC`` > 1), or for a single run. A run's last bits depend on its thread count,
which its record keeps (``threads``): the same machine and workers give the same numbers. On 2 cores
the default is one worker, as the committed records were trained: two ECNN-FSA runs on the wild
AFEW side by side, one thread each, took 2.2 ms per training frame each, against 1.3 ms for one
run on both threads (AMD EPYC) — 1.2 times the frames per second where a page has an even number
of runs, and less where a third run is left alone on one thread; ``FSA_WORKERS=2`` asks for it.
A worker's failure stops the pool with that run's error.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import Any, Callable, Sequence

from ..config import ConfigError

#: Worker processes for the runs of a page (default: one per two cores).
WORKERS_ENV = "FSA_WORKERS"

#: A unit of work: a module-level function and its (picklable) arguments.
Job = tuple[Callable[..., Any], tuple]


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def workers(device: str) -> int:
    """How many runs train at once on ``device`` (see the module's docstring)."""
    from ..distributed import resolve_device
    from .groups import processes

    text = os.environ.get(WORKERS_ENV)
    if text is not None:
        if not text.isdigit() or int(text) < 1:
            raise ConfigError(f"{WORKERS_ENV}={text!r}: expected a number of worker processes >= 1")
        return int(text)
    if resolve_device(device).type != "cpu" or processes() > 1:
        return 1
    return max(1, cores() // 2)


def _start_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def run(jobs: Sequence[Job], n_workers: int) -> None:
    """Run ``jobs`` on ``n_workers`` processes (here, one after another, when one is enough), each
    on ``cores // n_workers`` threads; the first job that fails raises its error here, and the jobs not
    started are dropped."""
    if n_workers <= 1 or len(jobs) <= 1:
        for fn, args in jobs:
            fn(*args)
        return
    pool = ProcessPoolExecutor(min(n_workers, len(jobs)), mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(max(1, cores() // n_workers),))
    try:
        futures = [pool.submit(fn, *args) for fn, args in jobs]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for f in done:
            f.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
