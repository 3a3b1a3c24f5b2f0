"""The data side of ``fsa bench``: face-preparation frames/s and DataLoader clips/s."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from ..distributed import sync
from .measure import Load, sig, unavailable
from .settings import BenchSettings, default_batch, size_config


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
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]),
                                                                      os.environ.get("PYTHONPATH")]))}
    order = sorted(jobs, reverse=True)
    proc = subprocess.run([sys.executable, "-c", _PREPARE, str(raw), str(out), *map(str, order)],
                          capture_output=True, text=True, env=env, timeout=3600)
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "no error output"
        raise RuntimeError(f"data_prep.prepare on {raw} exited {proc.returncode}: {last}")
    reports = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {r["jobs"]: r for r in reports}


def bench_face_prep(work: Path, raw: Path | None, videos: int, jobs: Sequence[int] = (1, 2)
                    ) -> tuple[dict, Path | None]:
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
        return unavailable(f"{raw}: no labelled CK+ sequence (Emotion/*/*/*_emotion.txt) to prepare"), None
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

    from ..data import ClipDataset, load_index, make_clips

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

        def done(got: int, batches: int) -> bool:
            return got >= clips and batches >= 2

        with Load() as load:
            while not done(got, batches):
                for b in loader:
                    b["frames"].to(device, non_blocking=True)
                    if first is None:
                        first = t1 = time.perf_counter()
                        continue
                    got += b["frames"].shape[0]
                    batches += 1
                    if done(got, batches):
                        break
            sync(device)
            seconds = time.perf_counter() - t1
        section[f"workers{w}"] = {"clips_per_s": sig(got / seconds), "clips": got,
                                  "first_batch_s": round(first - t0, 3), "other_load": load.other}
        del loader
    section["clips_per_s"] = max(section[f"workers{w}"]["clips_per_s"] for w in workers)
    return section


def bench_data(settings: BenchSettings, rows: list[dict], log: Callable[[str], None]) -> dict:
    """The ``data`` section: face preparation, then the DataLoader at each size against ECNN-FSA's
    training clips/s in ``rows`` (its fastest precision: the most the loader has to keep up with)."""
    s = settings
    data: dict[str, Any] = {"face_prep": unavailable("not requested (--no-data)"), "loader": {}}
    if not s.data:
        return data
    log("bench: face preparation and DataLoader")
    with tempfile.TemporaryDirectory(prefix="fsa-bench-") as tmp:
        try:
            prep, prepared = bench_face_prep(Path(tmp), s.raw, s.spec["prep_videos"])
        except Exception as e:  # reported in the output, not fatal: the model numbers stand
            prep, prepared = unavailable(f"face preparation failed: {type(e).__name__}: {e}"), None
        data["face_prep"] = prep
        for size in s.sizes:
            cfg = size_config("ecnn-fsa", size)
            if prepared is None:
                loader = unavailable("no prepared dataset: " + prep.get("reason", "face preparation did not run"))
            else:
                loader = bench_loader(prepared, cfg.image_size, s.n, s.train_batch or default_batch(size, s.device),
                                      s.spec["loader_clips"], s.device, tuple(dict.fromkeys(s.loader_workers)))
            fsa_rows = [r for r in rows if r["model"] == "ecnn-fsa" and r["size"] == size]
            if loader.get("available") and fsa_rows:
                fastest = max(r["train"]["clips_per_s"] for r in fsa_rows)
                loader["over_model_train"] = sig(loader["clips_per_s"] / fastest)
            data["loader"][size] = loader
    return data
