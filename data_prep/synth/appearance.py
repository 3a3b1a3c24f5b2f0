"""Appearance changes of the action units: the shading that landmark displacement cannot carry.

A piecewise-affine warp moves skin but cannot make it fold, nor show what the face hides at rest.
Posed expressions are recognised by these changes as much as by the shape of the features (FACS
lists them as each AU's "appearance changes", Ekman & Friesen 2002), so each frame gets, on top of
the warp:

* **colour layers** where something new becomes visible: the mouth interior with the upper teeth
  under the upper lip (and the lower teeth when the jaw drops, AU26/27) as the lips part, the
  teeth growing with the gap; the eye whites above the iris as the upper lid rises (AU5);
* **shading layers**, soft multiplicative luminance changes, for the folds and bulges: glabellar
  furrows and the shadow under lowered brows (AU4), forehead wrinkles (AU1+2), the lower-lid
  bulge, cheek highlight and crow's feet (AU6), nose-bridge wrinkles (AU9), nasolabial folds
  (AU9/10/12), the cheek dimple (AU14), shadows below lowered lip corners (AU15), stretch lines
  (AU20), chin-boss dimpling and the deepened chin furrow (AU17) and the tight lip line (AU23/24).

Every layer is placed in the face frame of :func:`~data_prep.synth.geometry.face_axes` from the
frame's landmarks and sized in inter-ocular units (IOD), so it follows the warp, the face's size
and roll. Its strength is the frame's AU intensity (expression intensity ``t`` times the AU's
weight in the expression, per side for unilateral AUs): a frame at ``t = 0`` is left untouched.
Masks are drawn at sub-pixel precision and blurred (fine lines by about 1 % of the IOD, broad
shadows by 5 %), so that nothing has a hard painted edge. Colours (teeth, sclera, iris, mouth
cavity) are set relative to the face's own skin level, so they follow the subject's tone and the
scene's light and read alike in grey (CK+) and colour (AFEW) frames.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .. import facs
from .geometry import LOWER_INNER, UPPER_INNER, face_axes

#: Blur (IOD) of fine lines (wrinkles, furrows) and of broad shading (shadows, bulges).
_FINE, _BROAD = 0.018, 0.05
#: Gap (IOD) beyond the neutral one at which the mouth interior is fully shown.
_OPEN_GAP = 0.04
_SUB = 16  # sub-pixel precision of the drawing (cv2 ``shift=4``)


def _lum(rgb) -> float:
    return float(np.dot(rgb, (0.299, 0.587, 0.114)))


@dataclass(frozen=True)
class Palette:
    """Colours of the hidden parts of one face (RGB, or one grey value), scaled to its skin level."""

    teeth: np.ndarray
    sclera: np.ndarray
    iris: np.ndarray
    cavity: np.ndarray
    tongue: np.ndarray

    @classmethod
    def of(cls, base: np.ndarray, lm: np.ndarray) -> "Palette":
        """The palette of ``base`` (grey or RGB uint8), from the median of its cheeks and nose."""
        mask = np.zeros(base.shape[:2], np.uint8)
        cv2.fillConvexPoly(mask, np.round(lm[[1, 29, 15, 12, 33, 4]]).astype(np.int32), 1)
        pix = base[mask > 0].reshape(-1, 1 if base.ndim == 2 else 3)
        skin = np.median(pix, axis=0) if len(pix) else np.full(pix.shape[1], 128.0)
        level = np.clip(_lum(skin) if base.ndim == 3 else float(skin[0]), 60.0, 200.0)
        # Half of the skin's colour cast (the scene light) tints the hidden parts too.
        cast = 0.5 + 0.5 * skin / max(_lum(skin), 1.0) if base.ndim == 3 else np.ones(3)

        def colour(rgb, gain):
            c = np.clip(np.asarray(rgb, np.float32) * cast * gain * level / 255.0, 0, 255).astype(np.float32)
            return c if base.ndim == 3 else np.array([_lum(c)], np.float32)

        return cls(teeth=colour((250, 244, 226), 1.45), sclera=colour((250, 248, 242), 1.5),
                   iris=colour((120, 85, 60), 0.8), cavity=colour((95, 30, 30), 0.45),
                   tongue=colour((200, 95, 95), 0.75))


def levels(aus: dict, t: float, extra: dict | None = None, e: float = 0.0) -> dict[str, np.ndarray]:
    """AU number -> its intensity on the subject's (right, left) side in a frame.

    ``aus`` at expression intensity ``t`` plus ``extra`` (speech-like motion) at ``e``; a "R"/"L"
    prefix puts the AU on one side only.
    """
    out: dict[str, np.ndarray] = {}
    for codes, scale in ((aus, t), (extra or {}, e)):
        for code, weight in codes.items():
            side = code[:1] if code[:1] in ("R", "L") else ""
            sides = np.array([side != "L", side != "R"], np.float32)
            num = code[1:] if side else code
            out[num] = out.get(num, np.zeros(2, np.float32)) + scale * weight * sides
    return {k: np.minimum(v, 1.0) for k, v in out.items() if v.any()}


class _Shade:
    """Luminance gains over the face's box: fine and broad darkening canvases, drawn in the face frame."""

    def __init__(self, shape: tuple[int, int], lm: np.ndarray):
        self.ex, self.ey, self.iod = face_axes(lm)
        top = lm[17:27].mean(0) - 0.9 * self.iod * self.ey
        pts = np.vstack([lm, top - 1.0 * self.iod * self.ex, top + 1.0 * self.iod * self.ex])
        lo = np.maximum(np.floor(pts.min(0) - 0.1 * self.iod).astype(int), 0)
        hi = np.minimum(np.ceil(pts.max(0) + 0.1 * self.iod).astype(int), [shape[1], shape[0]])
        self.origin, self.size = lo, np.maximum(hi - lo, 1)
        self.fine = np.zeros(self.size[::-1], np.float32)
        self.broad = np.zeros(self.size[::-1], np.float32)
        self.drawn = False

    def at(self, p: np.ndarray, u: float = 0.0, v: float = 0.0, side: int = 1) -> np.ndarray:
        """Point ``p`` moved ``u`` IOD outwards on ``side`` (0: subject's right, image left) and ``v`` down."""
        return p + self.iod * ((u if side else -u) * self.ex + v * self.ey)

    def _px(self, pts) -> np.ndarray:
        return np.round((np.asarray(pts, np.float64).reshape(-1, 2) - self.origin) * _SUB).astype(np.int32)

    def line(self, pts, depth: float, width: float = 0.018, broad: bool = False) -> None:
        """A furrow along ``pts`` darkening by ``depth`` (< 0 lightens); ``width`` in IOD."""
        if abs(depth) < 1e-3:
            return
        thick = max(1, int(round(width * self.iod)))
        cv2.polylines(self.broad if broad else self.fine, [self._px(pts)], False, float(depth), thick,
                      cv2.LINE_8, shift=4)
        self.drawn = True

    def blob(self, centre, axes: tuple[float, float], depth: float, turn: float = 0.0) -> None:
        """A soft elliptic shadow (``depth`` > 0) or highlight (< 0), axes in IOD, turned ``turn`` degrees."""
        if abs(depth) < 1e-3:
            return
        angle = np.degrees(np.arctan2(self.ex[1], self.ex[0])) + turn
        c = self._px(centre)[0]
        ax = (int(axes[0] * self.iod * _SUB), int(axes[1] * self.iod * _SUB))
        cv2.ellipse(self.broad, (int(c[0]), int(c[1])), ax, angle, 0, 360, float(depth), -1, cv2.LINE_8, shift=4)
        self.drawn = True

    def apply(self, img: np.ndarray) -> None:
        """Multiply the image in place by 1 - (blurred fine + blurred broad canvases)."""
        if not self.drawn:
            return
        dark = cv2.GaussianBlur(self.fine, (0, 0), max(0.5, _FINE * self.iod))
        dark += cv2.GaussianBlur(self.broad, (0, 0), _BROAD * self.iod)
        gain = np.clip(1.0 - dark, 0.3, 1.6)
        (x0, y0), (w, h) = self.origin, self.size
        roi = img[y0:y0 + h, x0:x0 + w]
        img[y0:y0 + h, x0:x0 + w] = np.clip(roi * (gain if roi.ndim == 2 else gain[..., None]), 0, 255)


def _side(i: int, side: int) -> int:
    """dlib index ``i`` (given on the subject's right) on ``side`` (0 right, 1 left)."""
    return int(facs.MIRROR[i]) if side else i


def _curve(a: np.ndarray, b: np.ndarray, bow: np.ndarray, n: int = 7) -> np.ndarray:
    """A quadratic curve from ``a`` to ``b`` bulging by ``bow`` (pixels) at its middle."""
    s = np.linspace(0, 1, n)[:, None]
    return (1 - s) * a + s * b + 4 * s * (1 - s) * bow


def _mean(lv: dict, code: str) -> float:
    return float(lv[code].mean()) if code in lv else 0.0


def _per_side(lv: dict, code: str) -> np.ndarray:
    return lv.get(code, np.zeros(2, np.float32))


# --------------------------------------------------------------------------- shading layers
def _brow_lowerer(sh: _Shade, lm: np.ndarray, lv: dict) -> None:
    """AU4: vertical glabellar furrows, the bunched skin between the brows, shadow under the brows."""
    a = _mean(lv, "4")
    mid = (lm[21] + lm[22]) / 2
    for side in (0, 1):
        sh.line([sh.at(mid, 0.05, 0.03, side), sh.at(mid, 0.035, -0.17, side)], 0.6 * a)
        sh.line([sh.at(mid, 0.11, 0.0, side), sh.at(mid, 0.085, -0.12, side)], 0.35 * a)
        brow = lm[[_side(i, side) for i in range(17, 22)]]
        sh.line(np.array([sh.at(p, 0.0, 0.08) for p in brow]), 0.5 * _per_side(lv, "4")[side], 0.07, broad=True)
    sh.line([sh.at(lm[27], -0.07, -0.03), sh.at(lm[27], 0.07, -0.03)], 0.3 * a)


def _brow_raiser(sh: _Shade, lm: np.ndarray, lv: dict) -> None:
    """AU1+2: horizontal forehead wrinkles that follow the raised brows; the inner raiser alone (AU1,
    sadness) wrinkles only the middle of the forehead, above the inner brows it lifts."""
    inner, outer = 0.6 * _mean(lv, "1"), 0.5 * _mean(lv, "2")
    a = min(1.0, inner + outer)
    brow = lm[18:26] if outer >= 0.5 * inner else lm[20:24]
    for k, up in enumerate((0.2, 0.32, 0.44, 0.56)):
        sh.line(np.array([sh.at(p, 0.0, -up) for p in brow]), (0.4 - 0.05 * k) * a)


def _cheek_raiser(sh: _Shade, lm: np.ndarray, lv: dict) -> None:
    """AU6: lower-lid bulge with the furrow below it, cheek highlight, crow's feet at the outer corners."""
    for side, a in enumerate(_per_side(lv, "6")):
        lid = lm[[_side(i, side) for i in (36, 41, 40, 39)]]
        sh.line(np.array([sh.at(p, 0.0, 0.05) for p in lid]), -0.2 * a, 0.04, broad=True)
        sh.line(np.array([sh.at(p, 0.0, 0.11) for p in lid[:3]]), 0.3 * a)
        eye = lid.mean(0)
        sh.blob(sh.at(eye, 0.08, 0.45, side), (0.22, 0.14), -0.08 * a)
        corner = lm[_side(36, side)]
        for dv in (-0.11, 0.0, 0.11):
            sh.line([sh.at(corner, 0.05, dv / 3, side), sh.at(corner, 0.17, dv, side)], 0.4 * a)


def _nose_wrinkler(sh: _Shade, lm: np.ndarray, lv: dict) -> None:
    """AU9: horizontal wrinkles across the nose bridge and shadow at the nose root."""
    a = _mean(lv, "9")
    for f in (0.2, 0.45):
        p = lm[27] + f * (lm[29] - lm[27])
        sh.line(_curve(sh.at(p, -0.08), sh.at(p, 0.08), -0.025 * sh.iod * sh.ey), 0.35 * a, 0.022)
    sh.blob(sh.at(lm[27], 0.0, 0.05), (0.1, 0.06), 0.2 * a)


def _nasolabial(sh: _Shade, lm: np.ndarray, lv: dict) -> None:
    """AU9/10/12 deepen the nasolabial folds (smile lines); AU14 dimples the cheek beside the corner."""
    deep = 0.7 * _per_side(lv, "9") + _per_side(lv, "10") + 0.9 * _per_side(lv, "12") + 0.4 * _per_side(lv, "14")
    for side, a in enumerate(np.minimum(deep, 1.0)):
        wing, corner = lm[_side(31, side)], lm[_side(48, side)]
        fold = _curve(sh.at(wing, 0.08, -0.03, side), sh.at(corner, 0.07, 0.05, side),
                      sh.at(np.zeros(2), 0.05, 0.0, side))
        sh.line(fold, 0.45 * a, 0.022)
        sh.line(fold + sh.at(np.zeros(2), 0.05, -0.02, side), -0.2 * a, 0.06, broad=True)
        d = _per_side(lv, "14")[side]
        sh.line([sh.at(corner, 0.05, -0.03, side), sh.at(corner, 0.06, 0.03, side)], 0.45 * d, 0.025)


def _lip_corners(sh: _Shade, lm: np.ndarray, lv: dict) -> None:
    """AU15: shadow and a fold below the lowered corners; AU20: stretch lines from the pulled corners."""
    for side in (0, 1):
        corner = lm[_side(48, side)]
        a15, a20 = _per_side(lv, "15")[side], _per_side(lv, "20")[side]
        sh.blob(sh.at(corner, 0.02, 0.08, side), (0.06, 0.05), 0.35 * a15)
        sh.line([sh.at(corner, 0.02, 0.03, side), sh.at(corner, 0.04, 0.13, side)], 0.25 * a15, 0.025)
        sh.line([sh.at(corner, 0.03, 0.0, side), sh.at(corner, 0.14, 0.04, side)], 0.35 * a20)
        sh.line([sh.at(corner, 0.02, 0.05, side), sh.at(corner, 0.11, 0.13, side)], 0.3 * a20)
    lips = lm[48:55]
    sh.line(np.array([sh.at(p, 0.0, 0.01) for p in lips]), -0.12 * _mean(lv, "20"), 0.04, broad=True)


def _chin_raiser(sh: _Shade, lm: np.ndarray, lv: dict) -> None:
    """AU17: deepened chin furrow under the pushed-up lower lip, chin-boss bulge and dimpling."""
    a = _mean(lv, "17")
    furrow = np.array([sh.at(lm[59], 0.0, 0.08), sh.at(lm[57], 0.0, 0.07), sh.at(lm[55], 0.0, 0.08)])
    sh.line(furrow, 0.4 * a, 0.02)
    sh.line(furrow, 0.2 * a, 0.06, broad=True)
    boss = sh.at(lm[8], 0.0, -0.13)
    sh.blob(boss, (0.15, 0.08), -0.15 * a)
    for du, dv in ((-0.06, -0.03), (0.0, 0.0), (0.06, -0.03), (-0.03, 0.04), (0.03, 0.04)):
        p = sh.at(boss, du, dv)
        sh.line([p, p + 0.008 * sh.iod * sh.ex], 0.35 * a, 0.02)


def _lips_pressed(sh: _Shade, lm: np.ndarray, lv: dict) -> None:
    """AU23/24: a dark, tight line between the pressed lips and the bulge of skin above them."""
    a = max(_mean(lv, "23"), _mean(lv, "24"))
    sh.line(lm[[60, 61, 62, 63, 64]], 0.45 * a, 0.02)
    sh.line(np.array([sh.at(p, 0.0, -0.05) for p in lm[49:54]]), -0.12 * a, 0.05, broad=True)


# --------------------------------------------------------------------------- colour layers
def mouth_gap(lm: np.ndarray) -> float:
    """Mean distance (pixels) between the inner upper and lower lip points 61-63 / 67-65."""
    return float(np.mean(np.hypot(*(lm[LOWER_INNER] - lm[UPPER_INNER]).T)))


def _region(img: np.ndarray, pts: np.ndarray, alpha: float, pad: int = 3):
    """(box slices, frame-coordinate grid (h, w, 2), soft polygon mask * alpha) around ``pts``."""
    h, w = img.shape[:2]
    x0, y0 = np.maximum(np.floor(pts.min(0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(pts.max(0)).astype(int) + pad + 1, [w, h])
    if x1 <= x0 or y1 <= y0:
        return None
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    cv2.fillPoly(mask, [np.round((pts - [x0, y0]) * _SUB).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)
    # Soft edge without a halo outside the polygon, where the lips or lids are.
    mask = np.clip((cv2.GaussianBlur(mask, (0, 0), 0.7) - 0.25) / 0.75, 0, 1) * alpha
    gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    return (slice(y0, y1), slice(x0, x1)), np.dstack([gx, gy]), mask


def _blend(img: np.ndarray, box, colour: np.ndarray, mask: np.ndarray) -> None:
    roi = img[box].astype(np.float32)
    m = mask if roi.ndim == 2 else mask[..., None]
    colour = colour[..., 0] if roi.ndim == 2 else colour
    img[box] = np.clip(roi * (1 - m) + colour * m + 0.5, 0, 255).astype(np.uint8)


def _smooth(chain: np.ndarray, rounds: int = 2) -> np.ndarray:
    """Chaikin corner cutting of an open polyline (ends kept): the lips are curves, not polygons."""
    for _ in range(rounds):
        a, b = chain[:-1], chain[1:]
        cut = np.stack([0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b], 1).reshape(-1, 2)
        chain = np.vstack([chain[:1], cut, chain[-1:]])
    return chain


def _lip(u: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Height (face frame) of the lip line through ``pts`` at lateral positions ``u``."""
    order = np.argsort(pts[:, 0])
    return np.interp(u, pts[order, 0], pts[order, 1])


def _mouth(img: np.ndarray, lm: np.ndarray, sh: _Shade, pal: Palette, base_gap: float, lv: dict) -> None:
    """Parted lips: a cavity darkening towards the back and corners, the upper teeth under the upper
    lip (growing with the gap), the lower teeth when the jaw drops (AU26/27)."""
    gap = mouth_gap(lm)
    upper, lower = _smooth(lm[[60, 61, 62, 63, 64]]), _smooth(lm[[60, 67, 66, 65, 64]])
    reg = _region(img, np.vstack([upper, lower[::-1]]), float(np.clip((gap - base_gap) / (_OPEN_GAP * sh.iod), 0, 1)))
    if reg is None or not reg[2].any():
        return
    box, grid, mask = reg
    iod, centre = sh.iod, lm[60:68].mean(0)
    frame = lambda p: np.stack([(p - centre) @ sh.ex, (p - centre) @ sh.ey], -1) / iod  # noqa: E731
    u, v = np.moveaxis(frame(grid), -1, 0)
    upper, lower = frame(upper), frame(lower)
    below = v - _lip(u, upper)  # depth under the upper lip, IOD
    above = _lip(u, lower) - v  # height over the lower lip, IOD
    w = np.clip(u / max(1e-3, (upper[-1, 0] - upper[0, 0]) / 2), -1, 1)
    s = np.clip(below / np.maximum(below + above, 1e-3), 0, 1)[..., None]
    col = (pal.cavity + (pal.tongue - pal.cavity) * s ** 2) * (1 - 0.4 * w ** 2)[..., None]
    g = gap / iod * (0.35 + 0.5 * max(_mean(lv, "12"), _mean(lv, "10")))  # raised lips bare the teeth
    drop = np.clip((_mean(lv, "26") + _mean(lv, "27") - 0.35) / 0.35, 0, 1)
    seps = np.abs(u[..., None] - np.array([-0.21, -0.12, 0.0, 0.12, 0.21])).min(-1)
    tooth = pal.teeth * ((1 - 0.5 * w ** 2) * (1 - 0.12 * np.exp(-(seps * iod / 0.8) ** 2)))[..., None]
    for depth, height in ((below, min(g, 0.13)), (above, min(0.3 * g, 0.05) * drop)):
        hgt = height * (1 - 0.35 * w ** 2)
        on = np.clip((hgt - depth) * iod + 0.5, 0, 1)[..., None] * (height > 0)
        shade = 1 - 0.2 * np.clip(depth / np.maximum(hgt, 1e-3), 0, 1)[..., None]
        col = col * (1 - on) + tooth * shade * on
    _blend(img, box, col, mask)


def _eyes(img: np.ndarray, lm: np.ndarray, sh: _Shade, pal: Palette, lv: dict) -> None:
    """AU5: the widened eye shows sclera above the iris; the dark iris and pupil sit on the lower lid."""
    iod = sh.iod
    r = 0.085 * iod
    for side, a in enumerate(_per_side(lv, "5")):
        pts = lm[36:42] if side == 0 else lm[42:48]
        reg = _region(img, pts, float(np.clip(1.6 * a, 0, 1)), pad=2)
        if a <= 0 or reg is None:
            continue
        box, grid, mask = reg
        low = (pts[4] + pts[5]) / 2  # the iris rests on the lower lid, below the eye's centre
        centre = low + ((pts.mean(0) - low) @ sh.ex) * sh.ex - (r - 0.03 * iod) * sh.ey
        rel = grid - centre
        dist = np.hypot(rel[..., 0], rel[..., 1])
        across = np.clip((rel @ sh.ex) / max(1.0, np.hypot(*(pts[3] - pts[0])) / 2), -1, 1)
        lid = (rel @ sh.ey + r) / (0.05 * iod)  # 0 at the top of the iris
        col = pal.sclera * ((1 - 0.35 * across ** 2) * (1 - 0.3 * np.clip(-lid, 0, 1) ** 2))[..., None]
        ring = 1 - 0.5 * np.clip((dist - 0.75 * r) / (0.25 * r), 0, 1)
        for colour, radius in ((pal.iris * ring[..., None], r), (pal.iris * 0.12, 0.42 * r)):
            on = np.clip(radius - dist + 0.5, 0, 1)[..., None]
            col = col * (1 - on) + colour * on
        glint = np.clip(0.12 * r + 0.5 - np.hypot(*(rel + 0.32 * r * (sh.ex + sh.ey)).transpose(2, 0, 1)), 0, 1)
        col = col * (1 - glint[..., None]) + pal.sclera * glint[..., None]
        _blend(img, box, col, mask)
        sh.line(pts[:4], 0.4 * min(1.0, 1.6 * a), 0.02)


_SHADING = (_brow_lowerer, _brow_raiser, _cheek_raiser, _nose_wrinkler, _nasolabial, _lip_corners,
            _chin_raiser, _lips_pressed)


class Appearance:
    """The appearance changes of one face: its palette and neutral mouth gap, applied per frame."""

    def __init__(self, base: np.ndarray, lm: np.ndarray):
        self.palette = Palette.of(base, lm)
        self.base_gap = mouth_gap(lm)

    def render(self, img: np.ndarray, lm: np.ndarray, lv: dict) -> None:
        """Draw the layers of AU intensities ``lv`` (see :func:`levels`) on frame ``img`` in place;
        ``lm`` are the frame's landmarks. Nothing is changed where every intensity is 0."""
        if not lv:
            return
        sh = _Shade(img.shape[:2], lm)
        _mouth(img, lm, sh, self.palette, self.base_gap, lv)
        _eyes(img, lm, sh, self.palette, lv)
        for layer in _SHADING:
            layer(sh, lm, lv)
        sh.apply(img)
