"""The driver: plans a layout, renders its subjects in worker processes, writes the sidecars and
README, and the ``python -m data_prep.synth`` command."""
from __future__ import annotations

import argparse
import csv
import functools
import multiprocessing as mp
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import cv2
from tqdm import tqdm

from .. import facs
from . import stills
from .conditions import CLASSIC, CONDITIONS, KNOBS, Conditions, conditions, default_conditions, readme_lines
from .fingerprint import readme_line
from .layouts import LAYOUTS, SIZE_NAMES, SIZES, STILL_LAYOUTS
from .plans import PLANNERS, SubjectPlan
from .render import _render_ckplus_subject
from .sources import load_sources, readme_faces, source_of, use_sources
from .wild import _render_afew_subject

RENDERERS = {"ckplus": _render_ckplus_subject, "afew": _render_afew_subject}


def _layout_parts(layout: str, cond: Conditions = CLASSIC) -> tuple[Callable, Callable, Callable]:
    """The planner, subject renderer and finisher of a layout (the still layouts': :mod:`.stills`);
    the AFEW and still layouts' renderers and finishers take the conditions ``cond``."""
    if layout in STILL_LAYOUTS:
        return (stills.PLANNERS[layout], functools.partial(stills.RENDERERS[layout], cond=cond),
                functools.partial(stills.finish, cond=cond))
    if layout == "afew":
        return (functools.partial(PLANNERS[layout], cond=cond), functools.partial(RENDERERS[layout], cond=cond),
                functools.partial(_finish_videos, cond=cond))
    return PLANNERS[layout], RENDERERS[layout], _finish_videos


def render_subject(layout: str, root: str | os.PathLike, seed: int, subject: SubjectPlan,
                   cond: Conditions = CLASSIC) -> list[tuple]:
    """Write all videos (or stills) of one planned subject under ``root``.

    Returns one tuple per video, ``(plan, intensities)``, for AFEW ``(plan, intensities, per-frame
    conditions or None)`` (stills: see :mod:`.stills`). ``cond``: the AFEW clips' conditions.
    """
    return _layout_parts(layout, cond)[1](Path(root), seed, subject)


def _render_job(args) -> list[tuple]:
    *job, sources = args
    use_sources(sources)  # detected once in the parent: workers need not load dlib's predictor
    return render_subject(*job)


def _init_worker() -> None:
    cv2.setNumThreads(1)  # parallelism is across processes


@dataclass
class Summary:
    out: Path
    layout: str
    size: str
    seed: int
    subjects: int
    videos: int
    frames: int
    seconds: float


def _default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _check_request(layout: str, size: str, cond: Conditions | None) -> Conditions:
    """The conditions a request to :func:`generate` makes its set under, once its layout, size and
    conditions are known to go together; else a :class:`ValueError` naming the one that does not."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout={layout!r}: expected one of {', '.join(LAYOUTS)}")
    sizes = (stills.SIZES if layout in STILL_LAYOUTS else SIZES)[layout]
    if size not in sizes:
        raise ValueError(f"size={size!r}: expected one of {', '.join(sizes)}")
    cond = default_conditions(layout) if cond is None else cond
    if cond != CLASSIC and layout == "ckplus":
        raise ValueError(f"conditions {cond.name}: the ckplus layout (lab sequences) takes only classic")
    return cond


def generate(layout: str, out: str | os.PathLike, size: str = "default", seed: int = 0,
             workers: int | None = None, force: bool = False, progress: bool | None = None,
             cond: Conditions | None = None) -> Summary:
    """Generate a synthetic dataset at ``out`` (written to ``out.tmp-<pid>``, then renamed).

    ``cond``: how wild the AFEW clips or the stills are (:mod:`.conditions`; default ``afew7`` for
    AFEW, the embedded AFEW's, ``classic`` for the others); CK+ takes ``classic`` only.

    With ``workers`` > 1 (default: the available cores) subjects render in spawned processes, so a
    calling script needs the usual ``if __name__ == "__main__":`` guard. ``progress=None`` shows a
    progress bar only on a terminal.
    """
    cond = _check_request(layout, size, cond)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise FileExistsError(f"{out}: exists and is not empty; choose another --out or pass --force")
    t0 = time.perf_counter()
    planner, _, finish = _layout_parts(layout, cond)
    plans = planner(size, seed)
    tmp = out.parent / f"{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        # Longest jobs first so that the worker pool ends together.
        jobs = [(layout, str(tmp), seed, s, cond) for s in
                sorted(plans, key=lambda s: -sum(v.n_frames for v in s.videos))]
        workers = max(1, min(workers or _default_workers(), len(jobs)))
        n_videos = sum(len(s.videos) for s in plans)
        results = []
        with tqdm(total=n_videos, unit="image" if layout in STILL_LAYOUTS else "video", desc=f"synth {layout}",
                  disable=None if progress is None else not progress) as bar:
            if workers == 1:
                for job in jobs:
                    results += render_subject(*job)
                    bar.update(len(job[3].videos))
            else:
                # Workers start (and import) while this process finds the source landmarks.
                with mp.get_context("spawn").Pool(workers, _init_worker) as pool:
                    sources = load_sources()
                    for res in pool.imap_unordered(_render_job, [(*job, sources) for job in jobs]):
                        results += res
                        bar.update(len(res))
        results.sort(key=lambda r: r[0].video_id)
        finish(tmp, layout, size, seed, plans, results)
        if out.is_dir():
            shutil.rmtree(out)
        elif out.exists():
            out.unlink()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Summary(out, layout, size, seed, len(plans), len(results), sum(r[0].n_frames for r in results),
                   time.perf_counter() - t0)


def _finish_videos(root: Path, layout: str, size: str, seed: int, plans, results, cond: Conditions = CLASSIC
                   ) -> None:
    _write_sidecars(root, plans, results)
    _write_readme(root, layout, size, seed, plans, results, cond)


#: The per-frame conditions of a wild clip (:meth:`~data_prep.synth.WildScene.conditions`), in
#: ``synth_conditions.csv``.
CONDITION_COLUMNS = ("shot", "yaw", "pitch", "occluded", "missed")


def _write_sidecars(root: Path, plans: list[SubjectPlan], results: list[tuple]) -> None:
    photo = {s.name: source_of(s.index) for s in plans}
    with open(root / "synth_meta.csv", "w", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(["video_id", "subject", "label", "split", "n_frames", "photo"])
        for v, *_ in results:
            wr.writerow([v.video_id, v.subject, v.label, v.split, v.n_frames, photo[v.subject]])
    with open(root / "synth_intensity.csv", "w", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(["video_id", "frame", "intensity"])
        for v, intensity, *_ in results:
            for k, t in enumerate(intensity):
                wr.writerow([v.video_id, k + 1, f"{t:.4f}"])
    wild = [(v, frames) for v, _, *rest in results for frames in rest if frames]
    if not wild:
        return
    with open(root / "synth_conditions.csv", "w", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(["video_id", "frame", *CONDITION_COLUMNS])
        for v, frames in wild:
            for k, c in enumerate(frames):
                wr.writerow([v.video_id, k + 1, *(c[key] for key in CONDITION_COLUMNS)])


def _write_readme(root: Path, layout: str, size: str, seed: int, plans, results, cond: Conditions = CLASSIC
                  ) -> None:
    counts: dict[str, int] = {}
    for v, *_ in results:
        key = f"{v.split + '/' if v.split else ''}{v.label or 'unlabelled'}"
        counts[key] = counts.get(key, 0) + 1
    options, named = readme_lines(cond)
    lines = [
        "SYNTHETIC DATA - not CK+ or AFEW. Generated by data_prep.synth",
        f"command: python -m data_prep.synth --layout {layout} --size {size} --seed {seed}{options}",
        readme_line(),
        f"layout: {layout} ({'CK+ lab sequences' if layout == 'ckplus' else 'AFEW wild clips'}); "
        f"{len(plans)} subjects, {len(results)} videos, {sum(r[0].n_frames for r in results)} frames",
        "videos per " + ("split/" if layout == "afew" else "") + "label: "
        + ", ".join(f"{k}={n}" for k, n in sorted(counts.items())),
        "",
        *readme_faces(),
        "synth_meta.csv and synth_intensity.csv are sidecars that the real datasets do not have;",
        "intensity is the fraction of the expression's full AU displacement in each frame.",
        *([named, "synth_conditions.csv: per frame the shot, the head's yaw and pitch, occluded, missed."]
          if named else []),
        "",
        facs.describe(),
        "",
    ]
    (root / "README.txt").write_text("\n".join(lines))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data_prep.synth",
        description="Generate synthetic expression videos in the CK+ or AFEW on-disk format, "
                    "or still images in the FER2013 or SFEW format.")
    parser.add_argument("--layout", required=True, choices=LAYOUTS,
                        help="ckplus (lab videos), afew (wild videos), fer2013 (48x48 grey crops in one CSV) "
                             "or sfew (wild colour frames)")
    parser.add_argument("--out", required=True, type=Path, help="output folder (must not exist or be empty)")
    parser.add_argument("--size", default="default", choices=SIZE_NAMES, help="smoke (seconds) or default")
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same files")
    parser.add_argument("-j", "--workers", type=int, default=None, help="processes (default: available cores)")
    parser.add_argument("--force", action="store_true", help="replace a non-empty --out")
    parser.add_argument("--conditions", default=None, choices=CONDITIONS,
                        help="afew, fer2013, sfew: how wild the clips or stills are (data_prep/synth/conditions.py; "
                             "default afew7 for afew, the embedded AFEW's, classic for the others; "
                             "classic: the first embedded AFEW's)")
    parser.add_argument("--without", default="", metavar="KNOB[,KNOB]",
                        help=f"switch these knobs of the conditions off ({', '.join(KNOBS)})")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers {args.workers}: expected >= 1")
    try:
        name = args.conditions or default_conditions(args.layout).name
        cond = conditions(name, tuple(k for k in args.without.split(",") if k))
    except ValueError as e:
        parser.error(str(e))
    try:
        s = generate(args.layout, args.out, size=args.size, seed=args.seed, workers=args.workers, force=args.force,
                     cond=cond)
    except (FileExistsError, ValueError) as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")
    made = f"{s.videos} images" if s.layout in STILL_LAYOUTS else f"{s.videos} videos, {s.frames} frames"
    print(f"{s.out}: {s.layout}/{s.size} seed {s.seed}: {s.subjects} subjects, {made} in {s.seconds:.1f} s")
    return 0
