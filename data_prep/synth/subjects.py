"""Synthetic subjects: one source photo, mirrored or not, warped to a new face shape and toned."""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .. import facs
from .geometry import _border_points, _head_ring, _neutralise_offsets, _shape_offsets, face_axes, piecewise_affine_map
from .sources import SourcePhoto, load_sources, source_of

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
    looks: dict = field(default_factory=dict)  # identity variation: glasses, beard, fringe (see draw)

    @classmethod
    def draw(cls, rng: np.random.Generator, index: int, wild: np.random.Generator | None = None,
             identity: float = 0.0) -> "Subject":
        """A subject from its random stream ``rng``; with the wild stream ``wild``, and with
        probability ``identity``, a more distinct one (the ``identity`` knob of
        :mod:`.conditions`): a face shape up to twice as far from the photo's, a skin tone from a
        wider range, and some of glasses, a beard and a hair fringe."""
        subject = cls(source={s.name: s for s in load_sources()}[source_of(index)], flip=bool(rng.random() < 0.5),
                      shape_k=np.clip(rng.normal(0, _SHAPE_SPREAD), -2 * _SHAPE_SPREAD, 2 * _SHAPE_SPREAD),
                      aspect=float(rng.uniform(0.94, 1.06)), gamma=float(rng.uniform(0.75, 1.35)),
                      contrast=float(rng.uniform(0.85, 1.15)), tint=rng.uniform(0.9, 1.1, 3),
                      light=float(rng.uniform(-0.3, 0.3)))
        if wild is None or wild.random() >= identity:
            return subject
        subject.shape_k = subject.shape_k + np.clip(wild.normal(0, _SHAPE_SPREAD), -2 * _SHAPE_SPREAD, 2 * _SHAPE_SPREAD)
        subject.tint = subject.tint * wild.uniform(0.65, 1.15) * np.array([1.0, *wild.uniform(0.85, 1.0, 2)])
        subject.looks = {
            "glasses": float(wild.uniform(10, 70)) if wild.random() < 0.35 else None,
            "beard": float(wild.uniform(0.2, 0.45)) if wild.random() < 0.3 else None,
            "fringe": (float(wild.uniform(10, 80)), float(wild.uniform(0.1, 0.5))) if wild.random() < 0.35 else None,
        }
        return subject

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
        return self._wear(self._tone(face, lm_dst), lm_dst), lm_dst

    def _wear(self, img: np.ndarray, lm: np.ndarray) -> np.ndarray:
        """The subject's :attr:`looks` drawn on its neutral face (they then move with every warp)."""
        ex, ey, iod = face_axes(lm)
        glasses, beard, fringe = (self.looks.get(k) for k in ("glasses", "beard", "fringe"))
        if beard is not None:
            mask = np.zeros(img.shape[:2], np.float32)
            jaw = lm[3:14]
            lip = lm[[54, 53, 52, 51, 50, 49, 48]] - 0.08 * iod * ey
            cv2.fillPoly(mask, [np.round(np.vstack([jaw, lip]) * 16).astype(np.int32)], 1.0, cv2.LINE_AA, 4)
            mouth = np.round(lm[48:60] * 16).astype(np.int32)
            cv2.fillPoly(mask, [mouth], 0.0, cv2.LINE_AA, 4)
            mask = cv2.GaussianBlur(mask, (0, 0), 0.06 * iod)
            grain = np.random.default_rng(int(iod * 1000)).uniform(0.6, 1.0, mask.shape).astype(np.float32)
            img = (img * (1 - beard * mask * grain)[..., None]).astype(np.uint8)
        if fringe is not None:
            level, depth = fringe
            brow = lm[17:27]
            top = brow - (0.9 + depth) * iod * ey
            edge = brow - (0.35 - depth) * iod * ey
            poly = np.vstack([top, edge[::-1]])
            cv2.fillPoly(img, [np.round(poly * 16).astype(np.int32)], (level, level * 0.8, level * 0.6), cv2.LINE_AA, 4)
        if glasses is not None:
            thick = max(1, int(round(0.05 * iod)))
            colour = (glasses, glasses, glasses)
            for eye in (lm[36:42], lm[42:48]):
                c = eye.mean(0)
                cv2.ellipse(img, (int(c[0]), int(c[1])), (int(0.42 * iod), int(0.28 * iod)),
                            float(np.degrees(np.arctan2(ex[1], ex[0]))), 0, 360, colour, thick, cv2.LINE_AA)
            a, b = lm[39] + 0.05 * iod * ex, lm[42] - 0.05 * iod * ex
            cv2.line(img, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), colour, thick, cv2.LINE_AA)
        return img

    def _tone(self, img: np.ndarray, lm: np.ndarray) -> np.ndarray:
        x = img.astype(np.float32) / 255.0
        x = x * self.tint.astype(np.float32)
        x = np.clip(x, 0, 1) ** self.gamma
        x = (x - x.mean()) * self.contrast + x.mean()
        w = img.shape[1]
        ramp = 1 + self.light * (np.arange(w, dtype=np.float32) - lm[:, 0].mean()) / w
        return np.clip(x * ramp[None, :, None] * 255, 0, 255).astype(np.uint8)
