"""Raw CK+ / AFEW layout -> aligned face frames, ``index.csv`` and ``prep_report.json``.

Usage::

    python -m data_prep.prepare --dataset ckplus|afew --raw DIR --out DIR [-j N] [--size 224] [--all]

Output (the prepared layout read by :mod:`fsa.data`)::

    OUT/frames/<video_id>/00001.jpg ...   one aligned RGB crop per source frame, 1:1 in order
    OUT/index.csv                         video_id, subject, label, split, n_frames, source
    OUT/prep_report.json                  frames per face method, interpolated, dropped; failures
    OUT/intensity.csv                     synthetic data only: the sidecar rows of prepared videos

Each video runs the :class:`data_prep.faces.FacePipeline` (detect on the first frame, then track,
re-detect when tracking fails, interpolate what is left) as a stream: a first pass finds each
frame's face alignment, a second cuts and writes the crops, each holding one frame at a time, so
memory does not grow with a video's length. Frames are never dropped from a
prepared video, so frame ``k`` of the source is ``0000k.jpg``; interpolated frames are kept
and counted. A video that cannot be used (unreadable, zero bytes, no frames, no face in any
frame) is listed in the report with its reason, left out of ``index.csv``, and leaves no
folder behind; its frames count as ``dropped``.

Resumable and idempotent: a video is written to ``frames/.tmp-<video_id>/`` with its
per-video stats (``.stats.json``) last, then renamed to ``frames/<video_id>/``, so a folder
under its final name is always complete. A rerun (e.g. after a kill) skips complete
folders, retries failures, and rebuilds ``index.csv`` and ``prep_report.json`` from the
stats files, giving byte-identical results. Both are written to a temporary file then
``os.replace``-d. ``-j N`` prepares N videos at a time in a process pool (one face pipeline
per process). CK+ prepares only the 327 labelled sequences unless ``--all`` is given.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import multiprocessing as mp
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
from tqdm import tqdm

from . import afew, ckplus
from .faces import METHODS, FacePipeline, NoFaceError, method_counts
from .video import DataError, RawVideo, VideoReadError, frame_files, iter_frames

STATS = ".stats.json"
SETTINGS = ".settings.json"
INTENSITY_SIDECAR = "synth_intensity.csv"
JPEG_QUALITY = 95

_PIPELINE: FacePipeline | None = None  # one per worker process


def _init_pipeline(size: int, margin: float) -> None:
    global _PIPELINE
    if _PIPELINE is None or (_PIPELINE.size, _PIPELINE.margin) != (size, margin):
        _PIPELINE = FacePipeline(size=size, margin=margin)


def _relative(path: str, raw: Path) -> str:
    try:
        return Path(path).resolve().relative_to(raw.resolve()).as_posix()
    except ValueError:
        return path


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_text(text)
    os.replace(tmp, path)


def source_frames(path: Path) -> int:
    """How many frames a clip that could not be read holds, counted as ``dropped``: the image files
    of a frame folder (one bad PNG drops the whole sequence), else the frame count a video file
    declares (0 when OpenCV cannot open it)."""
    if path.is_dir():
        return len(frame_files(path))
    cap = cv2.VideoCapture(str(path))
    try:
        return max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT))) if cap.isOpened() else 0
    finally:
        cap.release()


def prepare_video(rec: RawVideo, frames_dir: Path, raw: Path) -> dict:
    """Prepare one video into ``frames_dir/<video_id>``; returns its stats or its failure."""
    failure = {"video_id": rec.video_id, "source": rec.source}
    tmp = frames_dir / f".tmp-{rec.video_id}"
    try:
        methods, aligns = _PIPELINE.alignments(iter_frames(rec.path), source=rec.source)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        # The second pass asks for exactly the frames of the first, so a shorter read is an error.
        for k, (frame, al) in enumerate(zip(iter_frames(rec.path, range(len(aligns))), aligns), 1):
            path = tmp / f"{k:05d}.jpg"
            crop = cv2.cvtColor(_PIPELINE.crop(frame, al), cv2.COLOR_RGB2BGR)
            if not cv2.imwrite(str(path), crop, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
                raise OSError(f"{path}: could not write the JPEG")
    except VideoReadError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        return {**failure, "status": "failed", "reason": f"{_relative(e.path, raw)}: {e.problem}",
                "n_frames": source_frames(rec.path)}
    except NoFaceError as e:
        return {**failure, "status": "failed", "reason": str(e), "n_frames": e.n_frames}
    stats = {
        "video_id": rec.video_id,
        "source": rec.source,
        "status": "done",
        "n_frames": len(methods),
        "counts": method_counts(methods),
        "methods": methods,
    }
    (tmp / STATS).write_text(json.dumps(stats))
    os.rename(tmp, frames_dir / rec.video_id)
    return stats


def _prepare_one(job: tuple[RawVideo, Path, Path]) -> dict:
    return prepare_video(*job)


def load_done(folder: Path) -> dict | None:
    """Stats of a complete prepared video folder, or ``None`` if it is absent or incomplete."""
    stats_path = folder / STATS
    if not stats_path.is_file():
        return None
    stats = json.loads(stats_path.read_text())
    n_jpg = sum(1 for p in folder.iterdir() if p.suffix == ".jpg")
    return stats if n_jpg == stats.get("n_frames") else None


def _check_settings(frames_dir: Path, settings: dict) -> None:
    path = frames_dir / SETTINGS
    if path.is_file():
        before = json.loads(path.read_text())
        if before != settings:
            raise DataError(
                f"{frames_dir.parent}: already prepared with {before}, now asked for {settings}; "
                "use another --out or delete it"
            )
    else:
        _write_atomic(path, json.dumps(settings, sort_keys=True))


class SettingsError(ValueError):
    """A preparation argument out of range (``-j 0``, ``--size 0`` ...), refused before anything is written."""


def check_settings(out: Path, jobs: int, size: int, margin: float) -> None:
    """Refuse bad arguments before anything is written: a refused command leaves no
    ``.settings.json`` that would then refuse the corrected one."""
    if not (isinstance(jobs, int) and jobs >= 1):
        raise SettingsError(f"jobs={jobs!r}: expected at least 1 process")
    try:
        FacePipeline(size=size, margin=margin)  # checks its own bounds; the dlib models load later
    except ValueError as e:
        raise SettingsError(str(e)) from None
    if out.exists() and not out.is_dir():
        raise SettingsError(f"--out {out}: exists and is not a folder")


def index_raw(dataset: str, raw: Path, labelled_only: bool) -> tuple[list[RawVideo], list[dict]]:
    if dataset == "ckplus":
        return ckplus.index(raw, labelled_only=labelled_only)
    if dataset == "afew":
        return afew.index(raw)
    raise DataError(f"dataset={dataset!r}: expected ckplus or afew")


def _copy_intensity(raw: Path, out: Path, prepared: set[str]) -> int:
    src = raw / INTENSITY_SIDECAR
    if not src.is_file():
        return 0
    with open(src, newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"video_id", "frame", "intensity"} <= set(reader.fieldnames):
            raise DataError(f"{src}: expected columns video_id, frame, intensity (got {reader.fieldnames})")
        rows = [r for r in reader if r["video_id"] in prepared]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=reader.fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _write_atomic(out / "intensity.csv", buf.getvalue())
    return len(rows)


def _pending(records: list[RawVideo], frames_dir: Path) -> list[RawVideo]:
    """The videos still to prepare, after clearing what a killed run left half-written."""
    for stale in frames_dir.glob(".tmp-*"):
        if stale.is_dir():  # left by a killed run
            shutil.rmtree(stale)
    todo = [r for r in records if load_done(frames_dir / r.video_id) is None]
    for r in todo:
        if (frames_dir / r.video_id).exists():  # incomplete under its final name: redo it
            shutil.rmtree(frames_dir / r.video_id)
    return todo


def _prepare_all(todo: list[RawVideo], frames_dir: Path, raw: Path, jobs: int, size: int, margin: float,
                 desc: str, progress: bool) -> tuple[dict[str, dict], float, float]:
    """Prepare ``todo`` with ``jobs`` processes: each video's stats or failure by id, the seconds
    it took, and the seconds spent loading the dlib models (before the timed part)."""
    results: dict[str, dict] = {}
    work = [(r, frames_dir, raw) for r in todo]
    t_load = time.perf_counter()
    if todo:
        # Loaded once, outside the timed part: forked workers inherit the loaded models.
        _init_pipeline(size, margin)
        _PIPELINE._load()
    load_seconds = time.perf_counter() - t_load
    t0 = time.perf_counter()
    bar = tqdm(total=len(todo), unit="video", desc=desc, disable=not progress)

    def collect(res: dict) -> None:
        results[res["video_id"]] = res
        bar.update()

    if jobs == 1:
        for job in work:
            collect(_prepare_one(job))
    else:
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
        # Parallelism is across videos, so OpenCV runs single-threaded in the workers. It is
        # set here, before forking: OpenCV's thread pool does not survive a fork (changing
        # the thread count inside a forked child can hang on the parent's pool state).
        threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            with ctx.Pool(jobs, initializer=_init_pipeline, initargs=(size, margin)) as pool:
                for res in pool.imap_unordered(_prepare_one, work):
                    collect(res)
        finally:
            cv2.setNumThreads(threads)
    bar.close()
    return results, time.perf_counter() - t0, load_seconds


@dataclass
class _Tally:
    """The prepared videos' ``index.csv`` rows and the report's counts, read back from the
    stats files (so a resumed run counts the videos of earlier runs too)."""
    rows: list[list] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(METHODS, 0))
    dropped: int = 0
    interpolated_videos: dict[str, int] = field(default_factory=dict)


def _tally(records: list[RawVideo], frames_dir: Path, results: dict[str, dict]) -> _Tally:
    """Every indexed video counted from its stats file, or as failed with this run's reason."""
    tally = _Tally()
    for rec in records:
        stats = load_done(frames_dir / rec.video_id)
        if stats is None:
            res = results[rec.video_id]
            tally.failed.append({"video_id": rec.video_id, "source": rec.source, "reason": res["reason"]})
            tally.dropped += res["n_frames"]
            continue
        tally.rows.append([rec.video_id, rec.subject, rec.label, rec.split, stats["n_frames"], rec.source])
        for m, c in stats["counts"].items():
            tally.counts[m] += c
        if stats["counts"]["interpolated"]:
            tally.interpolated_videos[rec.video_id] = stats["counts"]["interpolated"]
    return tally


def _write_index(path: Path, rows: list[list]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["video_id", "subject", "label", "split", "n_frames", "source"])
    writer.writerows(rows)
    _write_atomic(path, buf.getvalue())


def prepare(dataset: str, raw: str | os.PathLike, out: str | os.PathLike, jobs: int = 1,
            size: int = 224, margin: float = 0.25, labelled_only: bool = True,
            progress: bool = True) -> dict:
    """Prepare a raw dataset (see the module docstring); returns the report plus run timings.

    The returned dict is ``prep_report.json`` with a ``"run"`` entry added (videos and frames
    processed by this call, seconds, frames/s), which is printed, not saved, because it
    differs between a full run and a resumed one.
    """
    raw, out = Path(raw), Path(out)
    check_settings(out, jobs, size, margin)
    records, skipped = index_raw(dataset, raw, labelled_only)
    frames_dir = out / "frames"
    frames_dir.mkdir(parents=True, exist_ok=True)
    _check_settings(frames_dir, {"dataset": dataset, "size": size, "margin": margin})
    todo = _pending(records, frames_dir)
    jobs = max(1, min(jobs, len(todo) or 1))
    results, seconds, load_seconds = _prepare_all(todo, frames_dir, raw, jobs, size, margin,
                                                  f"prepare {dataset}", progress)
    new_frames = sum(r["n_frames"] for r in results.values() if r["status"] == "done")

    tally = _tally(records, frames_dir, results)
    _write_index(out / "index.csv", tally.rows)
    n_intensity = _copy_intensity(raw, out, {r[0] for r in tally.rows})
    total, counts = sum(r[4] for r in tally.rows), tally.counts
    report = {
        "dataset": dataset,
        "size": size,
        "margin": margin,
        "labelled_only": labelled_only if dataset == "ckplus" else None,
        "videos": {"indexed": len(records), "prepared": len(tally.rows), "failed": len(tally.failed),
                   "skipped": len(skipped)},
        "frames": {"total": total, **counts, "dropped": tally.dropped},
        "found_rate": round((total - counts["interpolated"]) / total, 6) if total else 0.0,
        "intensity_rows": n_intensity,
        "interpolated_videos": tally.interpolated_videos,
        "failed": tally.failed,
        "skipped": skipped,
    }
    _write_atomic(out / "prep_report.json", json.dumps(report, indent=1) + "\n")
    report["run"] = {
        "videos": len(results),
        "prepared": sum(r["status"] == "done" for r in results.values()),
        "frames": new_frames,
        "seconds": round(seconds, 3),
        "model_load_seconds": round(load_seconds, 3),
        "jobs": jobs,
        "fps": round(new_frames / seconds, 1) if seconds > 0 and new_frames else 0.0,
    }
    return report


def summary(report: dict) -> str:
    """Human-readable end-of-run lines: counts and throughput."""
    v, f, run = report["videos"], report["frames"], report["run"]
    methods = ", ".join(f"{m} {f[m]}" for m in METHODS)
    lines = [
        f"videos: {v['prepared']} prepared ({run['prepared']} this run), {v['failed']} failed, "
        f"{v['skipped']} skipped of {v['indexed']} indexed",
        f"frames: {f['total']} ({methods}); dropped {f['dropped']}; face found in {report['found_rate']:.1%}",
        f"throughput: {run['frames']} frames in {run['seconds']:.1f} s with -j {run['jobs']} = "
        f"{run['fps']:.1f} frames/s (dlib models loaded once in {run['model_load_seconds']:.1f} s, not counted)",
    ]
    lines += [f"failed: {x['video_id']}: {x['reason']}" for x in report["failed"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m data_prep.prepare", description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", required=True, choices=("ckplus", "afew"))
    ap.add_argument("--raw", required=True, help="raw dataset root (real or synthetic, same layout)")
    ap.add_argument("--out", required=True, help="prepared dataset root to write")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="videos prepared in parallel (processes)")
    ap.add_argument("--size", type=int, default=224, help="side of the square face crops (px)")
    ap.add_argument("--margin", type=float, default=0.25, help="face box enlargement (0.25 = 25%%)")
    ap.add_argument("--all", action="store_true", help="CK+: also prepare the unlabelled sequences")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        report = prepare(args.dataset, args.raw, args.out, jobs=args.jobs, size=args.size, margin=args.margin,
                         labelled_only=not args.all, progress=not args.quiet)
    except (DataError, SettingsError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(summary(report))
    if report["videos"]["prepared"] == 0:
        print(f"error: no video of {args.raw} could be prepared", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
