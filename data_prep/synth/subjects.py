"""Synthetic subjects: one source photo, mirrored or not, warped to a new face shape and toned."""
from __future__ import annotations

from dataclasses import dataclass

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

    @classmethod
    def draw(cls, rng: np.random.Generator, index: int) -> "Subject":
        return cls(source={s.name: s for s in load_sources()}[source_of(index)], flip=bool(rng.random() < 0.5),
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
