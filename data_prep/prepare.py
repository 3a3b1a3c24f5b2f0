"""Raw CK+ / AFEW layout -> aligned face frames, ``index.csv`` and ``prep_report.json``.

Usage::

    fsa prep --dataset ckplus|afew --raw DIR --out DIR [-j N] [--size 224] [--all]
             [--allow-missing-split] [--keep-truncated]          (or python -m data_prep.prepare ...)

Output (the prepared layout read by :mod:`fsa.data`)::

    OUT/frames/<video_id>/00001.jpg ...   one aligned RGB crop per source frame, 1:1 in order
    OUT/index.csv                         video_id, subject, label, split, n_frames, source
    OUT/prep_report.json                  frames per face method, interpolated, dropped; failures; counts;
                                          for a generated set, the conditions it was made under
    OUT/intensity.csv                     synthetic data only: the sidecar rows of prepared videos
    OUT/conditions.csv                    wild synthetic clips only: their per-frame conditions (shot,
                                          yaw, pitch, occluded, missed), as the sidecar

Each video runs the :class:`data_prep.faces.FacePipeline` (detect on the first frame, then track,
re-detect when tracking fails, interpolate what is left) as a stream: a first pass finds each
frame's face alignment, a second cuts and writes the crops, each holding one frame at a time, so
memory does not grow with a video's length. Frames are never dropped from a
prepared video, so frame ``k`` of the source is ``0000k.jpg``; interpolated frames are kept
and counted. A video that cannot be used (unreadable, zero bytes, no frames, no face in any
frame) is listed in the report with its reason, left out of ``index.csv``, and leaves no
folder behind; its frames count as ``dropped``. So is a truncated video file, one that decodes
fewer frames than its container declares (the first pass counts them; a container that declares
no count is not judged), unless ``--keep-truncated``: then it is prepared from the frames that
decode, with a warning, and listed under ``truncated`` in the report.

A damaged or partial copy of a dataset must not pass for the real one: the counts found in the
raw root (CK+: sequences, labelled sequences, subjects, subjects with a labelled sequence,
labelled sequences per class; AFEW: clips per split, and per split and class) are printed beside
the published ones (:data:`data_prep.ckplus.PUBLISHED`, :data:`data_prep.afew.PUBLISHED`), saved
under ``counts`` in the report, and each difference is a warning on stderr (also listed under
``warnings``). An embedded synthetic set (a ``synth_meta.csv`` and a ``README.txt`` naming its
generator at the root) is deliberately smaller: its counts are shown, not compared. An AFEW root
without ``Train/`` or ``Val/`` is an error unless ``--allow-missing-split`` (then a warning).

Resumable and idempotent: a video is written to ``frames/.tmp-<video_id>/`` with its
per-video stats (``.stats.json``) last, then renamed to ``frames/<video_id>/``, so a folder
under its final name is always complete. A rerun (e.g. after a kill) skips complete
folders, retries failures, and rebuilds ``index.csv`` and ``prep_report.json`` from the
stats files, giving byte-identical results. Both are written to a temporary file then
``os.replace``-d (:mod:`data_prep.atomic`). ``-j N`` prepares N videos at a time in a pool of
fresh processes (one face pipeline per process). CK+ prepares only the 327 labelled sequences
unless ``--all`` is given.
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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
from tqdm import tqdm

from . import afew, ckplus
from .atomic import write_text
from .faces import METHODS, FacePipeline, NoFaceError, method_counts, model_paths
from .sidecars import copy_sidecars, generator_conditions
from .video import DataError, RawVideo, VideoReadError, declared_frame_count, frame_files, iter_frames

STATS = ".stats.json"
SETTINGS = ".settings.json"
JPEG_QUALITY = 95

_PIPELINE: FacePipeline | None = None  # one per worker process


def _init_pipeline(size: int, margin: float) -> None:
    global _PIPELINE
    if _PIPELINE is None or (_PIPELINE.size, _PIPELINE.margin) != (size, margin):
        _PIPELINE = FacePipeline(size=size, margin=margin)


def _start_worker(size: int, margin: float) -> None:
    """A worker process's start: its face pipeline with the dlib models loaded once, and OpenCV
    single-threaded (the parallelism is across videos)."""
    cv2.setNumThreads(1)
    _init_pipeline(size, margin)
    _PIPELINE._load()


def _relative(path: str, raw: Path) -> str:
    try:
        return Path(path).resolve().relative_to(raw.resolve()).as_posix()
    except ValueError:
        return path


def source_frames(path: Path) -> int:
    """How many frames a clip that could not be read holds, counted as ``dropped``: the image files
    of a frame folder (one bad PNG drops the whole sequence), else the frame count a video file
    declares (0 when OpenCV cannot open it or declares none)."""
    if path.is_dir():
        return len(frame_files(path))
    return declared_frame_count(path) or 0


#: The report's ``problem`` of a video in which no frame shows a face (after every detector and the
#: interpolation): the video decoded, so the embedded sets count it as a skip (:mod:`fsa.embedded`).
NO_FACE = "no face found in any frame"


def is_truncated(stats: dict) -> bool:
    """Whether a prepared video decoded fewer frames than its container declares (kept with ``--keep-truncated``)."""
    return stats.get("declared") is not None and stats["n_frames"] < stats["declared"]


def prepare_video(rec: RawVideo, frames_dir: Path, raw: Path, keep_truncated: bool = False) -> dict:
    """Prepare one video into ``frames_dir/<video_id>``; returns its stats or its failure.

    A truncated video file (see :func:`is_truncated`) fails unless ``keep_truncated``.
    """
    failure = {"video_id": rec.video_id, "source": rec.source, "status": "failed"}
    tmp = frames_dir / f".tmp-{rec.video_id}"
    try:
        methods, aligns = _PIPELINE.alignments(iter_frames(rec.path), source=rec.source)
        declared = declared_frame_count(rec.path)
        if declared is not None and len(methods) < declared and not keep_truncated:
            return {**failure, "problem": "truncated", "n_frames": declared,
                    "reason": f"{rec.source}: truncated: declares {declared} frames, {len(methods)} decode"}
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
        return {**failure, "problem": e.problem, "reason": f"{_relative(e.path, raw)}: {e.problem}",
                "n_frames": source_frames(rec.path)}
    except NoFaceError as e:
        return {**failure, "problem": NO_FACE, "reason": str(e), "n_frames": e.n_frames}
    stats = {
        "video_id": rec.video_id,
        "source": rec.source,
        "status": "done",
        "n_frames": len(methods),
        "declared": declared,
        "counts": method_counts(methods),
        "methods": methods,
    }
    (tmp / STATS).write_text(json.dumps(stats))
    os.rename(tmp, frames_dir / rec.video_id)
    return stats


def _prepare_one(job: tuple[RawVideo, Path, Path, bool]) -> dict:
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
        write_text(path, json.dumps(settings, sort_keys=True), what="the preparation settings")


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


def index_raw(dataset: str, raw: Path, labelled_only: bool = True, allow_missing_split: bool = False
              ) -> tuple[list[RawVideo], list[dict], dict[str, int], list[str]]:
    """The layout indexer's ``(records, skipped, counts)`` of ``dataset``, and its warnings (the AFEW
    splits missing, when allowed)."""
    if dataset == "ckplus":
        return *ckplus.index(raw, labelled_only=labelled_only), []
    if dataset == "afew":
        found = afew.index(raw, allow_missing_split=allow_missing_split)
        return *found, [f"{Path(raw) / name}: missing, so AFEW's {name} clips are not prepared (--allow-missing-split)"
                        for name in afew.missing_splits(Path(raw))]
    raise DataError(f"dataset={dataset!r}: expected ckplus or afew")


#: Per dataset, the published counts its copy is compared with and where they come from.
PUBLISHED = {"ckplus": (ckplus.PUBLISHED, ckplus.PUBLISHED_SOURCE),
             "afew": (afew.PUBLISHED, afew.PUBLISHED_SOURCE)}


def embedded_synthetic(raw: Path) -> bool:
    """Whether ``raw`` is a set made by :mod:`data_prep.synth`: its ``synth_meta.csv`` sidecar and the
    ``generator:`` line of its ``README.txt``, which no real dataset has."""
    if not (raw / afew.META).is_file():
        return False
    # Imports the whole generator (scipy, scikit-image): only for a root that has its sidecar.
    from .synth.fingerprint import readme_fingerprint

    return readme_fingerprint(raw) is not None


def count_warnings(found: dict[str, int], published: dict[str, int], source: str) -> list[str]:
    """One line per published count that the copy's count (``found``) differs from."""
    return [f"{what}: {found.get(what, 0)} found, {n} published ({source})"
            for what, n in published.items() if found.get(what, 0) != n]


def _done(folder: Path, keep_truncated: bool) -> bool:
    """Whether ``folder`` is a complete prepared video that this run keeps (a truncated one kept by an
    earlier ``--keep-truncated`` run is prepared again, to fail, when this run does not keep them)."""
    stats = load_done(folder)
    return stats is not None and (keep_truncated or not is_truncated(stats))


def _pending(records: list[RawVideo], frames_dir: Path, keep_truncated: bool = False) -> list[RawVideo]:
    """The videos still to prepare, after clearing what a killed run left half-written."""
    for stale in frames_dir.glob(".tmp-*"):
        if stale.is_dir():  # left by a killed run
            shutil.rmtree(stale)
    todo = [r for r in records if not _done(frames_dir / r.video_id, keep_truncated)]
    for r in todo:
        if (frames_dir / r.video_id).exists():  # incomplete under its final name: redo it
            shutil.rmtree(frames_dir / r.video_id)
    return todo


def _prepare_all(todo: list[RawVideo], frames_dir: Path, raw: Path, jobs: int, size: int, margin: float,
                 keep_truncated: bool, desc: str, progress: bool) -> tuple[dict[str, dict], float, float]:
    """Prepare ``todo`` with ``jobs`` processes: each video's stats or failure by id, the seconds
    it took, and the seconds spent loading the dlib models in this process (before the timed part;
    with ``jobs`` > 1 the workers load them, and this process only checks that they are there)."""
    results: dict[str, dict] = {}
    work = [(r, frames_dir, raw, keep_truncated) for r in todo]
    t_load = time.perf_counter()
    if todo and jobs == 1:
        _init_pipeline(size, margin)
        _PIPELINE._load()
    elif todo:
        model_paths()  # a missing model file fails here, before any worker starts
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
        # Workers start from a fresh process, never a fork of this one: a process that has run
        # dlib's CNN detector (or OpenCV's thread pool) holds thread pools whose threads a forked
        # child lacks, and the child waits on them forever. Each worker loads its own models as it
        # starts, in the timed part.
        methods = mp.get_all_start_methods()
        ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
        with ctx.Pool(jobs, initializer=_start_worker, initargs=(size, margin)) as pool:
            for res in pool.imap_unordered(_prepare_one, work):
                collect(res)
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
    truncated: list[dict] = field(default_factory=list)


def _tally(records: list[RawVideo], frames_dir: Path, results: dict[str, dict]) -> _Tally:
    """Every indexed video counted from its stats file, or as failed with this run's reason."""
    tally = _Tally()
    for rec in records:
        stats = load_done(frames_dir / rec.video_id)
        if stats is None:
            res = results[rec.video_id]
            tally.failed.append({"video_id": rec.video_id, "source": rec.source, "problem": res["problem"],
                                 "reason": res["reason"]})
            tally.dropped += res["n_frames"]
            continue
        tally.rows.append([rec.video_id, rec.subject, rec.label, rec.split, stats["n_frames"], rec.source])
        if is_truncated(stats):
            tally.truncated.append({"video_id": rec.video_id, "source": rec.source, "declared": stats["declared"],
                                    "decoded": stats["n_frames"]})
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
    write_text(path, buf.getvalue(), what="the index")


def prepare(dataset: str, raw: str | os.PathLike, out: str | os.PathLike, jobs: int = 1,
            size: int = 224, margin: float = 0.25, labelled_only: bool = True,
            progress: bool = True, allow_missing_split: bool = False, keep_truncated: bool = False) -> dict:
    """Prepare a raw dataset (see the module docstring); returns the report plus run timings.

    The returned dict is ``prep_report.json`` with a ``"run"`` entry added (videos and frames
    processed by this call, seconds, frames/s), which is printed, not saved, because it
    differs between a full run and a resumed one. Its ``"warnings"`` are the lines that
    :func:`main` prints on stderr.
    """
    raw, out = Path(raw), Path(out)
    check_settings(out, jobs, size, margin)
    records, skipped, found, warnings = index_raw(dataset, raw, labelled_only, allow_missing_split)
    frames_dir = out / "frames"
    frames_dir.mkdir(parents=True, exist_ok=True)
    _check_settings(frames_dir, {"dataset": dataset, "size": size, "margin": margin})
    todo = _pending(records, frames_dir, keep_truncated)
    jobs = max(1, min(jobs, len(todo) or 1))
    results, seconds, load_seconds = _prepare_all(todo, frames_dir, raw, jobs, size, margin, keep_truncated,
                                                  f"prepare {dataset}", progress)

    tally = _tally(records, frames_dir, results)
    _write_index(out / "index.csv", tally.rows)
    sidecar_rows = copy_sidecars(raw, out, {r[0] for r in tally.rows})
    total, counts = sum(r[4] for r in tally.rows), tally.counts
    published, source = PUBLISHED[dataset]
    compared = not embedded_synthetic(raw)
    if compared:
        warnings += count_warnings(found, published, source)
    warnings += [f"{t['video_id']}: {t['source']}: truncated: declares {t['declared']} frames, {t['decoded']} decode; "
                 "prepared from those (--keep-truncated)" for t in tally.truncated]
    report = {
        "dataset": dataset,
        "size": size,
        "margin": margin,
        "labelled_only": labelled_only if dataset == "ckplus" else None,
        "videos": {"indexed": len(records), "prepared": len(tally.rows), "failed": len(tally.failed),
                   "skipped": len(skipped)},
        "frames": {"total": total, **counts, "dropped": tally.dropped},
        "found_rate": round((total - counts["interpolated"]) / total, 6) if total else 0.0,
        **sidecar_rows,
        "conditions": generator_conditions(raw),
        "interpolated_videos": tally.interpolated_videos,
        "failed": tally.failed,
        "truncated": tally.truncated,
        "skipped": skipped,
        "counts": {"found": found, "published": published, "source": source, "compared": compared},
        "warnings": warnings,
    }
    write_text(out / "prep_report.json", json.dumps(report, indent=1) + "\n", what="the preparation report")
    report["run"] = _run_stats(results, seconds, load_seconds, jobs)
    return report


def _run_stats(results: dict, seconds: float, load_seconds: float, jobs: int) -> dict:
    """What one call of :func:`prepare` did: videos and frames processed, seconds, frames/s."""
    new_frames = sum(r["n_frames"] for r in results.values() if r["status"] == "done")
    return {
        "videos": len(results),
        "prepared": sum(r["status"] == "done" for r in results.values()),
        "frames": new_frames,
        "seconds": round(seconds, 3),
        "model_load_seconds": round(load_seconds, 3),
        "jobs": jobs,
        "fps": round(new_frames / seconds, 1) if seconds > 0 and new_frames else 0.0,
    }


def _by_reason(reasons: list[str]) -> str:
    """``"reason n, ..."``: how many of ``reasons`` each distinct one is, most frequent first."""
    return ", ".join(f"{r} {n}" for r, n in sorted(Counter(reasons).items(), key=lambda rn: (-rn[1], rn[0])))


def _counts_lines(counts: dict) -> list[str]:
    """The counts found beside the published ones, one per line (found only where nothing is published)."""
    found, published = counts["found"], counts["published"]
    if not counts["compared"]:
        head, published = "counts found (embedded synthetic set: counts are not compared with the paper's):", {}
    else:
        head = f"counts found / published ({counts['source']}):"
    names = [*published, *(k for k in found if k not in published)]
    width = max(map(len, names))
    return [head] + [f"  {k:<{width}}  {found.get(k, 0)}" + (f" / {published[k]}" if k in published else "")
                     for k in names]


def summary(report: dict) -> str:
    """Human-readable end-of-run lines: counts (the failures and skips per reason, the dataset's beside
    the published ones) and throughput."""
    v, f, run = report["videos"], report["frames"], report["run"]
    methods = ", ".join(f"{m} {f[m]}" for m in METHODS)
    videos = f"videos: {v['prepared']} prepared into index.csv ({run['prepared']} this run)"
    if v["failed"]:
        videos += (f"; {v['failed']} more failed and were left out: "
                   + _by_reason([x["problem"] for x in report["failed"]]))
    lines = [videos]
    if v["skipped"]:
        # Reasons naming a file ("unusable label: <file>: ...") are counted by their first part.
        lines.append(f"skipped {v['skipped']} before preparing: "
                     + _by_reason([x["reason"].split(": ")[0] for x in report["skipped"]]))
    lines += [
        f"frames: {f['total']} ({methods}); dropped {f['dropped']}; face found in {report['found_rate']:.1%}",
        f"throughput: {run['frames']} frames in {run['seconds']:.1f} s with -j {run['jobs']} = "
        f"{run['fps']:.1f} frames/s ("
        + ("each worker loads the dlib models as it starts)" if run["jobs"] > 1 else
           f"dlib models loaded in {run['model_load_seconds']:.1f} s, not counted)"),
        *_counts_lines(report["counts"]),
    ]
    lines += [f"failed: {x['video_id']}: {x['reason']}" for x in report["failed"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None, prog: str = "python -m data_prep.prepare") -> int:
    """The command line; ``prog`` is the command's name in its usage and messages (``fsa prep`` from :mod:`fsa.cli`)."""
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", required=True, choices=("ckplus", "afew"))
    ap.add_argument("--raw", required=True, help="raw dataset root (real or synthetic, same layout)")
    ap.add_argument("--out", required=True, help="prepared dataset root to write")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="videos prepared in parallel (processes)")
    ap.add_argument("--size", type=int, default=224, help="side of the square face crops (px)")
    ap.add_argument("--margin", type=float, default=0.25, help="face box enlargement (0.25 = 25%%)")
    ap.add_argument("--all", action="store_true", help="CK+: also prepare the unlabelled sequences")
    ap.add_argument("--allow-missing-split", action="store_true",
                    help="AFEW: prepare a root that holds only Train/ or only Val/ (a warning, not an error)")
    ap.add_argument("--keep-truncated", action="store_true",
                    help="prepare a video file that decodes fewer frames than it declares from the frames that "
                         "decode (a warning; by default it fails)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        report = prepare(args.dataset, args.raw, args.out, jobs=args.jobs, size=args.size, margin=args.margin,
                         labelled_only=not args.all, progress=not args.quiet,
                         allow_missing_split=args.allow_missing_split, keep_truncated=args.keep_truncated)
    except (DataError, SettingsError, FileNotFoundError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    print(summary(report))
    for line in report["warnings"]:
        print(f"{prog}: warning: {line}", file=sys.stderr)
    if report["videos"]["prepared"] == 0:
        print(f"{prog}: error: no video of {args.raw} could be prepared", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
