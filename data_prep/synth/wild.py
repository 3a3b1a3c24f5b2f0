"""The "wild" conditions of AFEW-like shots (background, light, occluders, camera) and the AFEW clips."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from .. import facs
from .conditions import CLASSIC, Conditions
from .geometry import displacement_field, face_axes, turn_offsets
from .layouts import AFEW_FOURCC, AFEW_FPS, AFEW_FRAME, SUBJECT_STREAM, VIDEO_STREAM, WILD_STREAM, random_stream
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
    """The camera of one AFEW-like clip, drawn from the clip's random stream ``rng`` under
    ``cond``: head-pose jitter, drifting exposure with an occasional flash, optional focus blur and
    random motion-blurred frames, sensor noise and JPEG compression (before the clip's MPEG-4
    coding); with the wild stream ``wr`` (knobs ``classic`` lacks) low resolution and a stretch
    where the face is lost (the camera pans off it, or the shot goes dark)."""

    def __init__(self, rng: np.random.Generator, n: int, lm: np.ndarray, shape: tuple[int, int],
                 cond: Conditions = CLASSIC, wr: np.random.Generator | None = None):
        h, w = shape
        iod = face_axes(lm)[2]
        self.rng, self.shape, self.centre = rng, shape, lm.mean(0)
        self.roll = _smooth_walk(rng, n, rng.uniform(*cond.roll))
        self.tx = _smooth_walk(rng, n, 0.15 * iod * cond.motion)
        self.ty = _smooth_walk(rng, n, 0.1 * iod * cond.motion)
        self.zoom, self.yaw = 1 + _smooth_walk(rng, n, 0.05), 1 - np.abs(_smooth_walk(rng, n, 0.08))
        self.light = 1 + _smooth_walk(rng, n, rng.uniform(0.05, 0.2))
        if rng.random() < cond.flicker:
            k0 = int(rng.integers(n))
            self.light[k0:k0 + int(rng.integers(1, 4))] += rng.uniform(0.2, 0.4)
        self.blur = float(rng.uniform(0.6, 1.4)) if rng.random() < cond.focus_blur else 0.0
        self.motion = rng.random(n) < cond.motion_blur
        self.noise = np.round(rng.normal(0, rng.uniform(*cond.noise), (h + 16, w + 16, 3))).astype(np.int16)
        self.quality = int(rng.integers(*cond.jpeg))
        self.scale = 1.0
        self.missed = np.zeros(n, bool)
        if wr is not None:
            self.scale = float(wr.uniform(*cond.low_res))
            if wr.random() < cond.missed:
                first = int(wr.integers(0, n))
                self.missed[first:first + max(2, int(n * wr.uniform(0.1, 0.3)))] = True
                if wr.random() < 0.5:  # the camera pans off the face and back
                    side = wr.choice([-1.0, 1.0])
                    self.tx = self.tx + side * 0.75 * w * _stretch(self.missed)
                else:  # the shot goes dark
                    self.light = self.light * (1 - 0.93 * _stretch(self.missed))

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
        if self.scale < 1.0:
            small = cv2.resize(img, (max(8, round(w * self.scale)), max(8, round(h * self.scale))),
                               interpolation=cv2.INTER_AREA)
            img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        oy, ox = self.rng.integers(0, 16, 2)
        img = cv2.add(img, self.noise[oy:oy + h, ox:ox + w], dtype=cv2.CV_8U)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise RuntimeError("OpenCV could not JPEG-encode a frame")
        return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def _stretch(mask: np.ndarray) -> np.ndarray:
    """0 outside ``mask``'s frames, 1 inside, with one-frame ramps at its ends."""
    return np.clip(np.convolve(mask.astype(float), [0.5, 1.0, 0.5], mode="same"), 0, 1)


#: Speech-like mouth motion (lips part, small jaw drop) added to some wild clips as a distractor;
#: it is not the clip's expression and is not counted in its intensity.
SPEECH = {"25": 0.6, "26": 0.3}


class WildScene:
    """One AFEW-like ("wild") shot of a subject: n frames at AFEW's frame size, under ``cond``.

    Everything ``classic`` has is drawn from the shot's random stream ``vr``, in a fixed order:
    placement of the face (size, position, roll), a background (70 %), the scene light (colour
    temperature, exposure, side light), speech-like mouth motion (``talking``), the expression
    intensity of each frame (``profile(vr, n)``), an occluder (``occlusion``), and the camera
    (:class:`_WildCamera`). The knobs ``classic`` lacks draw from the wild stream ``wr``: head pose
    (the face turned before it is animated), a hard side light, the occluders other than the
    lower-face one, and a camera cut to another shot of the same person (a scene of its own that
    continues the same expression). The AFEW clips and the SFEW / FER2013 stills share it.
    ``track`` (intensity, mouth) makes a shot continue another's expression and speech.
    """

    def __init__(self, vr: np.random.Generator, subject: Subject, n: int, aus: dict,
                 profile: Callable[[np.random.Generator, int], np.ndarray], cond: Conditions = CLASSIC,
                 wr: np.random.Generator | None = None, track: tuple[np.ndarray, np.ndarray] | None = None):
        h, w = AFEW_FRAME
        base, lm = subject.render(AFEW_FRAME, iod=float(vr.uniform(50, 64)),
                                  centre=(w / 2 + vr.uniform(-0.12, 0.12) * w, h / 2 + vr.uniform(-0.05, 0.08) * h),
                                  roll_deg=float(vr.uniform(-6, 6)))
        self.yaw = self.pitch = 0.0
        if wr is not None and (cond.yaw or cond.pitch):
            self.yaw, self.pitch = (float(wr.uniform(-limit, limit)) for limit in (cond.yaw, cond.pitch))
            base, lm = _turn(base, lm, self.yaw, self.pitch)
        if vr.random() < 0.7:
            base = _composite_background(vr, base, lm)
        # Scene light: colour temperature, exposure and a side light for this shot.
        side = 1 + vr.uniform(-cond.side_light, cond.side_light) * (np.arange(w, dtype=np.float32) - w / 2) / w
        gains = side[None, :, None] * vr.uniform(*cond.colour_cast, 3).astype(np.float32)[None, None]
        if wr is not None and wr.random() < cond.hard_light:
            gains = gains * _hard_light(wr, lm, w)[None, :, None]
        base = cv2.convertScaleAbs(base * gains, alpha=float(vr.uniform(*cond.exposure)))
        speech = vr.random() < cond.talking if track is None else bool(track[1].any())
        self.anim = _Animator(base, lm, aus, extra=SPEECH if speech else None)
        if track is None:
            self.intensity = profile(vr, n)
            self.mouth = (np.abs(np.sin(np.arange(n) * vr.uniform(0.6, 1.2) + vr.uniform(0, np.pi))) if speech
                          else np.zeros(n))
        else:
            self.intensity, self.mouth = track
        self.occluder = None
        if vr.random() < cond.occlusion:
            self.occluder = (_occluder(vr, n, lm) if wr is None or cond.occluders == ("lower",)
                             else _wild_occluder(wr, n, lm, cond.occluders))
        self.camera = _WildCamera(vr, n, lm, AFEW_FRAME, cond, wr)
        self.cut, self.next = n, None
        if wr is not None and track is None and wr.random() < cond.cuts:
            self.cut = int(wr.integers(max(1, int(0.3 * n)), max(2, int(0.7 * n))))
            shot = np.random.default_rng(wr.integers(2**63))
            self.next = WildScene(shot, subject, n, aus, profile, cond, shot, (self.intensity, self.mouth))

    def frame(self, k: int) -> np.ndarray:
        """Frame ``k`` as the camera records it (RGB uint8)."""
        if k >= self.cut:
            return self.next.frame(k)
        img = self.anim.frame(float(self.intensity[k]), extra=float(self.mouth[k]))
        occ = self.occluder
        if occ and occ[0] <= k <= occ[1]:
            occ[2](img, k)
        return self.camera(img, k)

    def landmarks(self, k: int) -> np.ndarray:
        """The true (68, 2) landmarks of frame ``k`` in camera pixels."""
        if k >= self.cut:
            return self.next.landmarks(k)
        lm = self.anim.landmarks(float(self.intensity[k]), extra=float(self.mouth[k]))
        pose = self.camera.pose(k)
        return lm @ pose[:, :2].T + pose[:, 2]

    def conditions(self, k: int) -> dict:
        """What frame ``k`` shows beside its expression: the shot (0, 1 after a cut), the head's
        yaw and pitch, whether an occluder covers part of the face, whether the face is lost."""
        if k >= self.cut:
            return {**self.next.conditions(k), "shot": 1}
        occ = self.occluder
        return {"shot": 0, "yaw": round(self.yaw, 1), "pitch": round(self.pitch, 1),
                "occluded": int(bool(occ and occ[0] <= k <= occ[1])), "missed": int(self.camera.missed[k])}


def _turn(base: np.ndarray, lm: np.ndarray, yaw: float, pitch: float) -> tuple[np.ndarray, np.ndarray]:
    """The face of ``base`` turned by ``yaw`` and ``pitch`` degrees (:func:`turn_offsets`): the image
    warped so that its landmarks move there, the head ring and the frame border fixed."""
    off = turn_offsets(lm, yaw, pitch)
    field = displacement_field(lm, off, base.shape[:2])
    gy, gx = np.mgrid[0:base.shape[0], 0:base.shape[1]].astype(np.float32)
    turned = cv2.remap(base, gx + field[..., 0], gy + field[..., 1], cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REFLECT101)
    return turned, lm + off


def _hard_light(wr: np.random.Generator, lm: np.ndarray, w: int) -> np.ndarray:
    """Per-column gains of a hard side light: one half of the face in shadow, a soft terminator."""
    iod = face_axes(lm)[2]
    x = (np.arange(w, dtype=np.float32) - float(lm[:, 0].mean())) / (0.25 * iod) * float(wr.choice([-1.0, 1.0]))
    return (1 - wr.uniform(0.45, 0.8) / (1 + np.exp(-x))).astype(np.float32)


def _wild_occluder(wr: np.random.Generator, n: int, lm: np.ndarray, kinds: tuple[str, ...]):
    """An occluder of one of ``kinds`` over part of the face for a stretch of frames:
    (first, last, draw(img, k)). A hand (skin-toned palm and fingers) over the mouth, a cheek or an
    eye; hair (dark strands) over the forehead and an eye; an object (a dark or bright block, a cup,
    a glass, a microphone) anywhere on the face; or the lower-face ellipse."""
    kind = kinds[int(wr.integers(len(kinds)))]
    if kind == "lower":
        return _occluder(wr, n, lm)
    ex, ey, iod = face_axes(lm)
    first = int(wr.integers(0, max(1, n // 2)))
    last = min(n - 1, first + int(n * wr.uniform(0.3, 0.8)))
    drift = wr.normal(0, 0.02 * iod, 2)
    if kind == "hand":
        target = lm[[66, 48, 54, 36, 45][int(wr.integers(5))]] + wr.normal(0, 0.15 * iod, 2)
        skin = wr.uniform(0.55, 1.0) * np.array([225, 180, 150]) * wr.uniform(0.9, 1.1, 3)
        colour = tuple(int(c) for c in np.clip(skin, 0, 255))
        angle = float(wr.uniform(-60, 60))
        palm = (int(0.45 * iod), int(0.55 * iod))
        rot = np.deg2rad(angle)
        up = np.array([np.sin(rot), -np.cos(rot)])
        across = np.array([np.cos(rot), np.sin(rot)])
        fingers = [(o * 0.2 * iod * across + 0.45 * iod * up, 0.5 * iod * up) for o in (-1.5, -0.5, 0.5, 1.5)]

        def draw(img: np.ndarray, k: int) -> None:
            c = target + drift * (k - first)
            cv2.ellipse(img, (int(c[0]), int(c[1])), palm, angle, 0, 360, colour, -1, cv2.LINE_AA)
            for base_off, length in fingers:
                a, b = c + base_off, c + base_off + length
                cv2.line(img, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), colour, max(2, int(0.17 * iod)),
                         cv2.LINE_AA)
        return first, last, draw
    if kind == "hair":
        side = wr.choice([-1.0, 1.0])
        top = lm[[19, 24]].mean(0) - 0.5 * iod * ey
        colour = tuple(int(c) for c in wr.uniform(15, 90) * wr.uniform(0.7, 1.2, 3))
        strands = [(top + (s * 0.25 * iod + side * wr.uniform(0, 0.3) * iod) * ex,
                    top + side * wr.uniform(0.4, 1.1) * iod * ex + wr.uniform(0.7, 1.3) * iod * ey)
                   for s in np.linspace(-2, 2, 9)]

        def draw(img: np.ndarray, k: int) -> None:
            shift = drift * (k - first)
            for a, b in strands:
                cv2.line(img, (int(a[0] + shift[0]), int(a[1] + shift[1])), (int(b[0] + shift[0]), int(b[1] + shift[1])),
                         colour, max(2, int(0.12 * iod)), cv2.LINE_AA)
        return first, last, draw
    centre = lm[int(wr.integers(68))] + wr.normal(0, 0.2 * iod, 2)
    size = (int(iod * wr.uniform(0.3, 0.7)), int(iod * wr.uniform(0.4, 0.9)))
    colour = tuple(int(c) for c in (wr.uniform(140, 240, 3) if wr.random() < 0.5 else wr.uniform(10, 80, 3)))
    angle = float(wr.uniform(-30, 30))

    def draw(img: np.ndarray, k: int) -> None:
        c = centre + drift * (k - first)
        box = cv2.boxPoints(((float(c[0]), float(c[1])), (2.0 * size[0], 2.0 * size[1]), angle))
        cv2.fillConvexPoly(img, np.round(box).astype(np.int32), colour, cv2.LINE_AA)
    return first, last, draw


def blend(aus: dict, label: str, wr: np.random.Generator, share: float) -> dict:
    """The expression of a clip of class ``label``: its prototype, or with probability ``share``
    the prototype with a second class's blended in at a lower weight (the larger weight per AU)."""
    if wr.random() >= share:
        return aus
    others = [c for c in facs.EXPRESSIONS if c not in (label, "neutral")]
    other = others[int(wr.integers(len(others)))]
    weight = float(wr.uniform(0.25, 0.5))
    mixed = dict(aus)
    for code, value in facs.EXPRESSIONS[other].items():
        mixed[code] = max(mixed.get(code, 0.0), weight * value)
    return mixed


def shot_subject(layout: str, seed: int, index: int, cond: Conditions = CLASSIC) -> Subject:
    """The synthetic subject of a layout's planned subject ``index``, from its own stream; under the
    ``identity`` knob, made more distinct from the wild stream."""
    identity = random_stream(seed, layout, WILD_STREAM, SUBJECT_STREAM, index) if cond.identity else None
    return Subject.draw(random_stream(seed, layout, SUBJECT_STREAM, index), index, identity, cond.identity)


def shot_streams(layout: str, seed: int, v: VideoPlan, cond: Conditions = CLASSIC
                 ) -> tuple[np.random.Generator, np.random.Generator | None, dict]:
    """A shot's random stream, its wild stream (``None`` unless ``cond`` is wild) and its
    expression: the prototype of its class, blended with another under the ``blends`` knob."""
    wr = random_stream(seed, layout, WILD_STREAM, VIDEO_STREAM, v.index) if cond.wild else None
    aus = blend(v.aus, v.label, wr, cond.blends) if wr is not None and v.label != "neutral" else v.aus
    return random_stream(seed, layout, VIDEO_STREAM, v.index), wr, aus


def _render_afew_subject(root: Path, seed: int, subj: SubjectPlan, cond: Conditions = CLASSIC
                         ) -> list[tuple[VideoPlan, np.ndarray, list[dict] | None]]:
    subject = shot_subject("afew", seed, subj.index, cond)
    h, w = AFEW_FRAME
    out = []
    for v in subj.videos:
        vr, wr, aus = shot_streams("afew", seed, v, cond)
        scene = WildScene(vr, subject, v.n_frames, aus,
                          functools.partial(afew_profile, label=v.label, apex=cond.apex, ramp=cond.ramp,
                                            plateau=cond.plateau), cond, wr)
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
        out.append((v, scene.intensity, [scene.conditions(k) for k in range(v.n_frames)] if cond.wild else None))
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
