"""The "wild" conditions of AFEW-like shots (background, light, occluders, camera) and the AFEW clips."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from .geometry import face_axes
from .layouts import AFEW_FOURCC, AFEW_FPS, AFEW_FRAME, SUBJECT_STREAM, VIDEO_STREAM, random_stream
from .plans import SubjectPlan, VideoPlan
from .profiles import afew_profile
from .render import _Animator
from .sources import _backgrounds
from .subjects import Subject


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
        img = self.anim.frame(float(self.intensity[k]), extra=float(self.mouth[k]))
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
    subject = Subject.draw(random_stream(seed, "afew", SUBJECT_STREAM, subj.index), subj.index)
    h, w = AFEW_FRAME
    out = []
    for v in subj.videos:
        scene = WildScene(random_stream(seed, "afew", VIDEO_STREAM, v.index), subject, v.n_frames, v.aus,
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
