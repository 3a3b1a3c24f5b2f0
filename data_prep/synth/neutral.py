"""A neutral rest face made from a photo that smiles with its teeth showing.

A broad smile is more than raised lip corners: the lips part over the teeth, the mouth widens, and
the cheeks bunch beside the corners and fold along the nasolabial band (nose wings to mouth
corners). Moving the landmarks alone leaves a face that a reader, and a classifier trained on real
photographs, still reads as happy. :func:`neutral_face` undoes each sign, once per process, on the
photo in its own frame:

1. the mouth opening (teeth and the dark corners beside them, found by colour inside the lips) is
   filled with the lips' own colour, and the inner-lip landmarks are moved onto the opening's edges
   (dlib places them on the teeth), so that closing the lips closes the opening;
2. the face is warped to its neutral geometry: lips closed and the source's neutralising AUs
   (narrower, lower corners, lower cheeks; :data:`~data_prep.synth.sources.SOURCES`);
3. a thin, soft lip line is drawn where the two lips now meet;
4. the crease and bunching shading around the mouth corners and along the nasolabial band is
   removed: there the shading below a large scale (folds, bunching) is replaced by a smooth base,
   and a part of the fine skin texture is kept.

Sizes are in inter-ocular distances (IOD, :func:`~data_prep.synth.geometry.face_axes`), so they
follow the photo's scale.
"""
from __future__ import annotations

import cv2
import numpy as np

from .geometry import (
    LOWER_INNER,
    LOWER_OUTER,
    UPPER_INNER,
    UPPER_OUTER,
    _neutralise_offsets,
    displacement_field,
    face_axes,
)

OUTER_LIPS, INNER_LIPS = slice(48, 60), slice(60, 68)


def _polygon_mask(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points * 16).astype(np.int32)], 1, cv2.LINE_AA, shift=4)
    return mask


def mouth_opening(image: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """Mask (uint8 0/1) of the parted mouth: teeth (almost grey: a fraction of the lips' CIELAB
    chroma) and the cavity and corner shadows (a fraction of the lips' lightness), connected to
    the inner-lip polygon. It is searched for between the upper lip's outer contour and the lower
    lip's inner one: in a broad smile dlib puts the upper inner-lip points on the teeth, but the
    lower ones on the lip, whose highlight is as grey as teeth. The lips' chroma and lightness are
    those of the reddest pixels inside the outer contour, so the rule follows the photo's colour."""
    shape = image.shape[:2]
    lips = _polygon_mask(shape, lm[OUTER_LIPS]) > 0
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    chroma = np.hypot(lab[..., 1] - 128, lab[..., 2] - 128)
    lip = lips & (lab[..., 1] >= np.percentile(lab[..., 1][lips], 80))
    teeth = chroma < _TEETH_CHROMA * float(np.median(chroma[lip]))
    dark = lab[..., 0] < _DARK_FRACTION * float(np.median(lab[..., 0][lip]))
    search = cv2.dilate(_polygon_mask(shape, lm[[48, 49, 50, 51, 52, 53, 54, 64, 65, 66, 67, 60]]),
                        np.ones((3, 3), np.uint8))
    opening = cv2.morphologyEx(((teeth | dark) & (search > 0)).astype(np.uint8), cv2.MORPH_CLOSE,
                               np.ones((3, 3), np.uint8))
    n, labels = cv2.connectedComponents(opening)
    inner = np.unique(labels[_polygon_mask(shape, lm[INNER_LIPS]) > 0])
    return np.isin(labels, inner[inner > 0]).astype(np.uint8)


#: Teeth have less than this fraction of the lips' chroma; the cavity less than this fraction of
#: their lightness.
_TEETH_CHROMA, _DARK_FRACTION = 0.7, 0.6


def _snap_inner_lips(lm: np.ndarray, opening: np.ndarray) -> np.ndarray:
    """The landmarks with the inner upper/lower lip points moved onto the opening's top/bottom edge
    in their column (dlib puts them on the teeth of a broad smile), so closing the lips closes the
    opening. A column without opening keeps its points; none crosses its outer-lip point, which
    would fold the warp."""
    lm = lm.copy()
    margin = 0.02 * face_axes(lm)[2]
    for up, down, top, bottom in zip(UPPER_INNER, LOWER_INNER, UPPER_OUTER, LOWER_OUTER):
        x = int(round((lm[up, 0] + lm[down, 0]) / 2))
        rows = np.flatnonzero(opening[:, x])
        if rows.size:
            lm[up, 1] = max(rows.min() - 0.5, lm[top, 1] + margin)
            lm[down, 1] = min(rows.max() + 0.5, lm[bottom, 1] - margin)
    return lm


def _lip_colours(image: np.ndarray, lm: np.ndarray, opening: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median RGB of the upper and of the lower lip: the outer-lip polygon without the opening,
    split at the inner-lip midline."""
    lips = _polygon_mask(image.shape[:2], lm[OUTER_LIPS]) & (1 - opening)
    midline = (lm[UPPER_INNER] + lm[LOWER_INNER]) / 2
    below = np.zeros_like(lips)
    h, w = lips.shape
    cv2.fillPoly(below, [np.round(np.vstack([lm[48], midline, lm[54], [w - 1, h - 1], [0, h - 1]])).astype(np.int32)], 1)
    upper, lower = image[(lips > 0) & (below == 0)], image[(lips > 0) & (below > 0)]
    if len(upper) == 0 or len(lower) == 0:
        raise ValueError("the lips were not found around the mouth landmarks (no lip pixels)")
    return np.median(upper, 0), np.median(lower, 0)


def _fill_opening(image: np.ndarray, lm: np.ndarray, opening: np.ndarray) -> np.ndarray:
    """The opening painted with the lips' colour (upper lip above the midline, lower below),
    feathered so that no edge of the old teeth is left."""
    upper, lower = _lip_colours(image, lm, opening)
    iod = face_axes(lm)[2]
    ys = np.arange(image.shape[0], dtype=np.float32)[:, None, None]
    mid_y = float(np.mean((lm[UPPER_INNER, 1] + lm[LOWER_INNER, 1]) / 2))
    t = np.clip((ys - mid_y) / (0.05 * iod) + 0.5, 0, 1)
    paint = upper * (1 - t) + lower * t
    mask = cv2.GaussianBlur(cv2.dilate(opening, np.ones((3, 3), np.uint8)).astype(np.float32), (0, 0), 0.6)
    mask = np.clip(2 * mask, 0, 1)[..., None]
    return np.round(image * (1 - mask) + paint * mask).astype(np.uint8)


def _warp(image: np.ndarray, lm: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The image with its landmarks ``lm`` moved by ``offsets`` (pixels); the head ring and the
    border stay put (:func:`~data_prep.synth.geometry.displacement_field`)."""
    h, w = image.shape[:2]
    field = displacement_field(lm, offsets, (h, w))
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(image, gx + field[..., 0], gy + field[..., 1], cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REFLECT101)


#: Lip line: how much darker than the lips where they meet, and its half-width (IOD).
_LIP_LINE_DARKEN, _LIP_LINE_SIGMA = 0.25, 0.02


def _draw_lip_line(image: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """A thin, soft, darker line where the closed lips meet: corner, inner-lip midline, corner."""
    iod = face_axes(lm)[2]
    line = np.vstack([lm[48], lm[60], (lm[UPPER_INNER] + lm[LOWER_INNER]) / 2, lm[64], lm[54]])
    mask = np.zeros(image.shape[:2], np.float32)
    cv2.polylines(mask, [np.round(line * 16).astype(np.int32)], False, 1.0, 1, cv2.LINE_AA, shift=4)
    mask = cv2.GaussianBlur(mask, (0, 0), max(0.5, _LIP_LINE_SIGMA * iod))
    mask = _LIP_LINE_DARKEN * mask / max(float(mask.max()), 1e-6)
    return np.round(image * (1 - mask[..., None])).astype(np.uint8)


def crease_mask(lm: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Feathered float mask of where a smile creases the face, on each side: the nasolabial band
    from beside the nose wing (31/35) down past the mouth corner (48/54), the cheek bulge beside
    the corner and the crease below it; the lips are excluded."""
    ex, ey, iod = face_axes(lm)
    mask = np.zeros(shape, np.float32)
    for wing, corner, side in ((31, 48, -1.0), (35, 54, 1.0)):
        out = side * ex
        region = [lm[wing] + iod * (0.05 * out - 0.05 * ey), lm[wing] + iod * (0.4 * out - 0.05 * ey),
                  lm[corner] + iod * (0.45 * out + 0.2 * ey), lm[corner] + iod * (0.3 * out + 0.45 * ey),
                  lm[corner] + 0.4 * iod * ey, lm[corner] - 0.02 * iod * (out + ey)]
        cv2.fillPoly(mask, [np.round(np.array(region) * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)
    mask = np.minimum(mask, 1 - _lips_region(lm, shape))
    return cv2.GaussianBlur(mask, (0, 0), 0.04 * iod)


def _lips_region(lm: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The lips with a small margin, as a float 0/1 mask."""
    k = max(3, int(round(0.05 * face_axes(lm)[2])) | 1)
    return cv2.dilate(_polygon_mask(shape, lm[OUTER_LIPS]), np.ones((k, k), np.uint8)).astype(np.float32)


#: Crease removal: the base scale (IOD) above which shading is kept, the fine-texture scale (IOD)
#: and the fraction of that texture kept (at a photo's resolution a crease is a line of a pixel or
#: two, as fine as the skin's texture), and the fraction of the shading removed in the mask.
_BASE_SIGMA, _FINE_SIGMA, _TEXTURE_KEPT, _CREASE_REMOVAL = 0.4, 0.015, 0.3, 0.9


def smooth_creases(image: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """The image with the mid-scale shading (folds, bunching) in :func:`crease_mask` replaced by a
    smooth base; some fine skin texture and the larger-scale shading are kept. The base is a blur
    of the face without the lips (normalised convolution), so neither lip colour nor the
    background bleeds onto the skin."""
    iod = face_axes(lm)[2]
    x = image.astype(np.float32)
    face = _polygon_mask(image.shape[:2], cv2.convexHull(lm[:27].astype(np.float32))[:, 0]).astype(np.float32)
    skin = face * (1 - _lips_region(lm, image.shape[:2]))
    base_sigma = _BASE_SIGMA * iod
    base = (cv2.GaussianBlur(x * skin[..., None], (0, 0), base_sigma)
            / np.maximum(cv2.GaussianBlur(skin, (0, 0), base_sigma), 1e-3)[..., None])
    fine = x - cv2.GaussianBlur(x, (0, 0), _FINE_SIGMA * iod)
    inside = cv2.GaussianBlur(face, (0, 0), 0.03 * iod) * face  # fades out before the face's edge
    m = (_CREASE_REMOVAL * crease_mask(lm, image.shape[:2]) * inside)[..., None]
    return np.clip(np.round(x + m * (base + _TEXTURE_KEPT * fine - x)), 0, 255).astype(np.uint8)


def neutral_face(image: np.ndarray, lm: np.ndarray, aus: dict) -> tuple[np.ndarray, np.ndarray]:
    """The photo of a smile with teeth made a neutral rest face: (RGB uint8 image, its (68, 2)
    landmarks). ``aus`` are the source's neutralising AU intensities (applied with the lips closed,
    :func:`~data_prep.synth.geometry._neutralise_offsets`). Deterministic: no random draw."""
    opening = mouth_opening(image, lm)
    lm = _snap_inner_lips(lm, opening)
    image = _fill_opening(image, lm, opening)
    offsets = _neutralise_offsets(lm, aus)
    image, lm = _warp(image, lm, offsets), lm + offsets
    return smooth_creases(_draw_lip_line(image, lm), lm), lm
