"""Face geometry: the eye-line frame, piecewise-affine warps of landmarks, and the offsets that
neutralise a source photo and reshape a face."""
from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import Delaunay

from .. import facs


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


#: Relief of each landmark (IOD) in front of the head's ellipsoid: the nose forward, the eyes set
#: back, brows and lips slightly forward (dlib's 68-point order).
_RELIEF = np.zeros(68)
_RELIEF[17:27] = 0.06
_RELIEF[27:31] = (0.15, 0.25, 0.35, 0.45)
_RELIEF[31:36] = (0.2, 0.3, 0.35, 0.3, 0.2)
_RELIEF[36:48] = -0.08
_RELIEF[48:68] = 0.08


def turn_offsets(lm: np.ndarray, yaw: float, pitch: float) -> np.ndarray:
    """Offsets (pixels) that turn a frontal face by ``yaw`` and ``pitch`` degrees: each landmark is
    given a depth — on an ellipsoid as deep as the face is wide, plus :data:`_RELIEF` — rotated about
    the head's vertical then horizontal axis and projected back orthographically; the face's mean
    position is kept (the head turns in place). Positive yaw turns the face towards the image's
    right, positive pitch down."""
    ex, ey, iod = face_axes(lm)
    rel = lm - lm.mean(0)
    u, v = rel @ ex / iod, rel @ ey / iod
    half = 1.05 * float(np.abs(u[[0, 16]]).max())
    z = half * np.sqrt(np.clip(1 - (u / half) ** 2, 0, 1)) + _RELIEF
    a, b = np.deg2rad(yaw), np.deg2rad(pitch)
    u2, z2 = u * np.cos(a) + z * np.sin(a), -u * np.sin(a) + z * np.cos(a)
    v2 = v * np.cos(b) + z2 * np.sin(b)
    du, dv = u2 - u, v2 - v
    du, dv = du - du.mean(), dv - dv.mean()
    return iod * (du[:, None] * ex + dv[:, None] * ey)


#: Inner-lip points of the upper lip and, below each, of the lower lip (dlib order).
UPPER_INNER, LOWER_INNER = [61, 62, 63], [67, 66, 65]
#: Outer-lip points above :data:`UPPER_INNER` and below :data:`LOWER_INNER`.
UPPER_OUTER, LOWER_OUTER = [50, 51, 52], [58, 57, 56]


def _neutralise_offsets(lm: np.ndarray, aus: dict) -> np.ndarray:
    """Offsets (pixels) that close the inner lips and apply the source's neutralising AUs."""
    _, ey, iod = face_axes(lm)
    off = np.zeros_like(lm)
    half = (lm[LOWER_INNER] - lm[UPPER_INNER]) / 2 - 0.005 * iod * ey  # keep a hairline gap: no duplicate points
    off[UPPER_INNER] += half
    off[LOWER_INNER] -= half
    off[UPPER_OUTER] += half
    off[LOWER_OUTER] -= half
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
