"""Synthetic still face images in the FER2013 and SFEW 2.0 on-disk formats.

``python -m data_prep.synth --layout fer2013|sfew --out DIR [--size smoke|default] [--seed S] [-j N]``

The paper fine-tunes its frame encoder on still images of FER2013 and SFEW before the video
clips; these two layouts give the embedded data that stage, in the formats the real datasets are
distributed in, so that the same loaders read both.

How a still is made
-------------------
Everything comes from :mod:`data_prep.synth`: the same source photos, the same kind of synthetic
subject (:class:`~data_prep.synth.Subject`: photo, mirroring, face shape, tone), the expressions
of :mod:`data_prep.facs`, and the "wild" conditions of the AFEW renderer
(:class:`~data_prep.synth.WildScene`: face size, place and roll, background, scene light,
occasional speech-like mouth motion and occluders, head-pose jitter, focus and motion blur, sensor
noise, JPEG compression). A still is one frame of such a shot, at AFEW's frame size, shown at its
apex: an intensity drawn in the CK+ apex range (:data:`data_prep.synth.APEX`), 0 for neutral.

Those are the ``classic`` conditions, the embedded stills' default. ``--conditions afew7`` (and
``--without``) makes the stills under the wild AFEW's knobs (:mod:`.conditions`) as its clips are
made, from the same streams: subtle apexes, head pose, hard light, hands, hair and objects,
low resolution, more distinct-looking people and blended expressions; not the knobs of a clip's
time (a stretch with the face missed, a camera cut: :func:`still_conditions`). The README names
the conditions, and the identity rule sees them (:meth:`data_prep.stills.StillSet.data_hash`).

Subjects are the unit of the splits: a subject's stills all fall in one split. Still subjects have
their own random streams (layout codes of their own in :func:`data_prep.synth.random_stream`) and
names (``F001`` for FER2013, ``W001`` for SFEW), so none of them is a CK+ or AFEW subject: the two
underlying people are shared, their synthetic shapes and tones are not.

* **fer2013**: ``fer2013.csv`` with the header ``emotion,pixels,Usage``; one row per image, the
  48x48 grey crop as 2304 space-separated integers (row-major), the emotion code (0 Angry,
  1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral) and the Usage ``Training`` /
  ``PublicTest`` / ``PrivateTest`` (about 80/10/10, rows in that order as in the real file). The
  crop is the one the project's face pipeline takes of a video frame (:mod:`data_prep.faces`: eyes
  levelled, the landmarks' face box enlarged by 25 %), here from the shot's true landmarks, shrunk
  to 48 px and made grey, like FER2013's registered, centred faces.
* **sfew**: ``Train/<Emotion>/<id>.png`` and ``Val/<Emotion>/<id>.png`` with AFEW's folder names,
  colour whole frames of 360x288 (AFEW's size here), uncropped: they go through dlib alignment
  like real SFEW frames. SFEW's unlabelled Test part is not made.

Sidecars at the output root (absent from the real datasets): ``synth_meta.csv`` (``row`` (the
1-based data row of ``fer2013.csv``) or ``path`` (SFEW image), subject, label, split, intensity)
and ``README.txt``. Output is byte-identical for a seed whatever the number of workers.
"""
from __future__ import annotations

import csv
import functools
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from .. import facs
from ..faces import alignment_from_landmarks, warp_crop
from ..labels import AFEW_FOLDERS, FER2013_CLASSES as FER_CLASSES
from .conditions import CLASSIC, Conditions, readme_lines
from .fingerprint import readme_line
from .layouts import AFEW_FRAME, APEX, PLAN_STREAM, random_stream
from .plans import SubjectPlan, VideoPlan, spread_subjects
from .render import imwrite
from .sources import readme_faces
from .subjects import Subject
from .wild import WildScene, shot_streams, shot_subject

FER_CSV = "fer2013.csv"
FER_HEADER = ("emotion", "pixels", "Usage")
FER_SIDE = 48
#: Enlargement of the face box in the crops: the paper's 25 %, as data_prep.faces and data_prep.prepare.
CROP_MARGIN = 0.25


def _split(totals: dict[str, int], shares: dict[str, float]) -> dict[str, dict[str, int]]:
    """Images per split and class: ``shares`` of each class total, the first split takes the rest."""
    first, *others = shares
    out = {s: {c: round(n * shares[s]) for c, n in totals.items()} for s in others}
    return {first: {c: n - sum(out[s][c] for s in others) for c, n in totals.items()}, **out}


#: Images per class of the default sizes, all splits together. FER2013's classes keep their order
#: of frequency (happy most, disgust least) without its 1:16 disgust imbalance.
_DEFAULT_IMAGES = {
    "fer2013": dict(anger=340, disgust=300, fear=350, happy=400, sadness=360, surprise=320, neutral=370),
    "sfew": dict(anger=150, disgust=100, fear=110, happy=150, neutral=140, sadness=140, surprise=110),
}
#: Share of each split: FER2013's Usages are 80/10/10 (28709 / 3589 / 3589); SFEW 2.0's Train / Val
#: are about 2:1 (958 / 436).
_SHARES = {"fer2013": dict(Training=0.8, PublicTest=0.1, PrivateTest=0.1), "sfew": dict(Train=2 / 3, Val=1 / 3)}
#: Per layout and size: subjects per split, and images per split and class.
SIZES = {
    "fer2013": {
        "smoke": dict(subjects=dict(Training=6, PublicTest=2, PrivateTest=2),
                      images=_split(dict.fromkeys(FER_CLASSES, 6), dict(Training=4 / 6, PublicTest=1 / 6,
                                                                          PrivateTest=1 / 6))),
        "default": dict(subjects=dict(Training=200, PublicTest=25, PrivateTest=25),
                        images=_split(_DEFAULT_IMAGES["fer2013"], _SHARES["fer2013"])),
    },
    "sfew": {
        "smoke": dict(subjects=dict(Train=4, Val=2),
                      images=_split(dict.fromkeys(AFEW_FOLDERS, 4), dict(Train=0.75, Val=0.25))),
        "default": dict(subjects=dict(Train=40, Val=20), images=_split(_DEFAULT_IMAGES["sfew"], _SHARES["sfew"])),
    },
}
_SUBJECT_PREFIX = {"fer2013": "F", "sfew": "W"}


# --------------------------------------------------------------------------- plans
def plan_stills(layout: str, size: str, seed: int) -> list[SubjectPlan]:
    """Subjects and their stills; a still is a one-frame :class:`~data_prep.synth.VideoPlan`.

    Subjects are split first, then each split's images of a class go round its subjects. FER2013
    stills are numbered by their row (shuffled within a Usage); SFEW stills get random 9-digit ids.
    """
    spec = SIZES[layout][size]
    rng = random_stream(seed, layout, PLAN_STREAM)
    subjects: list[SubjectPlan] = []
    stills = []
    for split, n_subjects in spec["subjects"].items():
        first = len(subjects)
        subjects += [SubjectPlan(first + i, f"{_SUBJECT_PREFIX[layout]}{first + i + 1:03d}") for i in range(n_subjects)]
        mine = spread_subjects(rng, spec["images"][split], range(first, len(subjects)))
        stills += [(split, *mine[k]) for k in rng.permutation(len(mine))]
    stems = rng.choice(np.arange(1, 10**6), len(stills), replace=False)
    for index, ((split, label, s), stem) in enumerate(zip(stills, stems)):
        if layout == "fer2013":
            image_id, path = f"{index + 1:05d}", FER_CSV
        else:
            image_id, path = f"{split.lower()}_{stem:09d}", f"{split}/{AFEW_FOLDERS[label]}/{stem:09d}.png"
        subjects[s].videos.append(VideoPlan(index=index, video_id=image_id, subject=subjects[s].name, label=label,
                                            aus=dict(facs.EXPRESSIONS[label]), split=split, n_frames=1, path=path))
    return subjects


PLANNERS = {layout: functools.partial(plan_stills, layout) for layout in SIZES}


# --------------------------------------------------------------------------- rendering
def still_intensity(rng: np.random.Generator, n: int, label: str, apex: tuple[float, float] = APEX) -> np.ndarray:
    """A still's expression intensity (n = 1 frame): its apex in the range ``apex`` (the CK+ range
    unless the ``subtle`` knob widens it), 0 for neutral."""
    return np.zeros(n) if label == "neutral" else np.full(n, rng.uniform(*apex))


def still_conditions(cond: Conditions) -> Conditions:
    """The conditions a still is made under: ``cond`` without the knobs of a clip's time, which a
    still has none of: a stretch with the face missed (a face dataset holds the images a face
    detector found) and a camera cut."""
    return replace(cond, missed=0.0, cuts=0.0)


def draw_subject(layout: str, seed: int, index: int, cond: Conditions = CLASSIC) -> Subject:
    """The synthetic subject of a still layout's planned subject ``index``, from its own stream."""
    return shot_subject(layout, seed, index, still_conditions(cond))


def _scenes(layout: str, seed: int, subj: SubjectPlan, cond: Conditions = CLASSIC
            ) -> Iterator[tuple[VideoPlan, WildScene]]:
    """Each still of a subject with its one-frame wild scene under ``cond``, from the still's
    random stream (and its wild stream under wild conditions, as an AFEW clip's)."""
    cond = still_conditions(cond)
    subject = draw_subject(layout, seed, subj.index, cond)
    for v in subj.videos:
        vr, wr, aus = shot_streams(layout, seed, v, cond)
        yield v, WildScene(vr, subject, 1, aus, functools.partial(still_intensity, label=v.label, apex=cond.apex),
                           cond, wr)


def fer_crop(scene: WildScene) -> np.ndarray:
    """The 48x48 grey FER2013 crop of a scene's frame, with data_prep.faces' alignment geometry."""
    al = alignment_from_landmarks(scene.landmarks(0))
    return cv2.cvtColor(warp_crop(scene.frame(0), al, FER_SIDE, CROP_MARGIN), cv2.COLOR_RGB2GRAY)


def _render_fer2013_subject(root: Path, seed: int, subj: SubjectPlan, cond: Conditions = CLASSIC) -> list[tuple]:
    """(plan, intensity, 48x48 crop) per still; the rows are written together by :func:`finish`."""
    return [(v, scene.intensity, fer_crop(scene)) for v, scene in _scenes("fer2013", seed, subj, cond)]


def _render_sfew_subject(root: Path, seed: int, subj: SubjectPlan, cond: Conditions = CLASSIC) -> list[tuple]:
    """Write each still's whole frame as a PNG; (plan, intensity, None) per still."""
    out = []
    for v, scene in _scenes("sfew", seed, subj, cond):
        path = root / v.path
        path.parent.mkdir(parents=True, exist_ok=True)
        imwrite(path, cv2.cvtColor(scene.frame(0), cv2.COLOR_RGB2BGR))
        out.append((v, scene.intensity, None))
    return out


RENDERERS = {"fer2013": _render_fer2013_subject, "sfew": _render_sfew_subject}


# --------------------------------------------------------------------------- files
def finish(root: Path, layout: str, size: str, seed: int, plans: list[SubjectPlan], results: list[tuple],
           cond: Conditions = CLASSIC) -> None:
    """Write the files made from all stills at once (``results`` sorted by image id)."""
    if layout == "fer2013":
        _write_fer2013(root / FER_CSV, results)
    with open(root / "synth_meta.csv", "w", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(["row" if layout == "fer2013" else "path", "subject", "label", "split", "intensity"])
        for v, intensity, _ in results:
            wr.writerow([int(v.video_id) if layout == "fer2013" else v.path, v.subject, v.label, v.split,
                         f"{intensity[0]:.4f}"])
    _write_readme(root, layout, size, seed, plans, results, cond)


def _write_fer2013(path: Path, results: list[tuple]) -> None:
    with open(path, "w", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(FER_HEADER)
        for v, _, crop in results:
            wr.writerow([FER_CLASSES.index(v.label), " ".join(map(str, crop.ravel().tolist())), v.split])


def _write_readme(root: Path, layout: str, size: str, seed: int, plans, results, cond: Conditions = CLASSIC) -> None:
    counts = Counter(f"{v.split}/{v.label}" for v, _, _ in results)
    options, named = readme_lines(still_conditions(cond))
    if layout == "fer2013":
        what = "FER2013", f"{FER_SIDE}x{FER_SIDE} grey face crops in {FER_CSV}"
        codes = "emotion codes: " + ", ".join(f"{k} {AFEW_FOLDERS[c]} ({c})" for k, c in enumerate(FER_CLASSES))
    else:
        what = "SFEW", f"colour whole frames of {AFEW_FRAME[1]}x{AFEW_FRAME[0]}, Train/Val"
        codes = "folders: " + ", ".join(f"{f} = {c}" for c, f in AFEW_FOLDERS.items())
    lines = [
        f"SYNTHETIC DATA - not {what[0]}. Generated by data_prep.synth",
        f"command: python -m data_prep.synth --layout {layout} --size {size} --seed {seed}{options}",
        readme_line(),
        f"layout: {layout} ({what[1]}); {len(plans)} subjects, {len(results)} images",
        "images per split/label: " + ", ".join(f"{k}={n}" for k, n in sorted(counts.items())),
        codes,
        "",
        *readme_faces(),
        "Each image is one frame of an AFEW-like wild shot (pose, light, blur, noise, background,",
        f"occluders, JPEG) at the expression's apex: intensity {APEX[0]}-{APEX[1]} of the prototype, 0 for",
        "neutral. The subjects (F### / W###) are not those of the synthetic CK+ or AFEW sets.",
        *([named, "(missed faces and camera cuts are knobs of a clip's time: a still takes neither)"] if named else []),
        "synth_meta.csv is a sidecar that the real dataset does not have (subject, label, split and",
        "intensity of each image).",
        "",
        facs.describe(),
        "",
    ]
    (root / "README.txt").write_text("\n".join(lines))
