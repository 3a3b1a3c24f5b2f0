"""Appearance layers of the synthetic expressions: each shows where its action unit acts, scaled by
the frame's intensity, and a neutral frame is the untouched face.

Regions and statistics are computed here from the landmarks (an eye-line frame of the test's own),
not with the module's helpers: black-hat filtering finds thin dark lines, polygon masks find teeth
and eye whites.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from data_prep import facs
from data_prep.synth import CK_FRAME, SOURCES, Subject, random_stream
from data_prep.synth.appearance import Appearance, levels
from data_prep.synth.render import _Animator

IOD = 110.0
#: People whose eyes the eye-white test cannot see, and why.
EYES_HIDDEN = {"grace_hopper": "her glasses reflect over her eyes"}


def frame_axes(lm: np.ndarray):
    a, b = lm[36:42].mean(0), lm[42:48].mean(0)
    ex = (b - a) / np.hypot(*(b - a))
    return ex, np.array([-ex[1], ex[0]]), float(np.hypot(*(b - a)))


def at(lm, p, u=0.0, v=0.0):
    """Point p moved u IOD along the eye line (image right) and v IOD down."""
    ex, ey, iod = frame_axes(lm)
    return np.asarray(p, float) + iod * (u * ex + v * ey)


def box_mask(shape, lm, centre, half_u, half_v) -> np.ndarray:
    """A face-frame rectangle of half sizes (IOD) around ``centre`` as a boolean mask."""
    ex, ey, iod = frame_axes(lm)
    corners = [centre + iod * (su * half_u * ex + sv * half_v * ey) for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    m = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(m, np.round(corners).astype(np.int32), 1)
    return m.astype(bool)


def poly_mask(shape, pts, erode=0) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 1)
    if erode:
        m = cv2.erode(m, np.ones((2 * erode + 1, 2 * erode + 1), np.uint8))
    return m.astype(bool)


def face_region(shape, lm, margin: float = 0.25) -> np.ndarray:
    """The face and its forehead as a mask: the convex hull of the landmarks and of the brows raised
    by 1 IOD, grown by ``margin`` IOD. Shading an action unit belongs inside it."""
    _, ey, iod = frame_axes(lm)
    hull = cv2.convexHull(np.round(np.vstack([lm, lm[17:27] - iod * ey])).astype(np.int32))
    m = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(m, hull, 1)
    k = int(round(margin * iod))
    return cv2.dilate(m, np.ones((2 * k + 1, 2 * k + 1), np.uint8)).astype(bool)


def line_energy(gray: np.ndarray, horizontal: bool, length: int = 9) -> np.ndarray:
    """Black-hat response to thin dark lines: horizontal lines with a vertical element, and vice versa."""
    k = np.ones((length, 1) if horizontal else (1, length), np.uint8)
    return cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, k).astype(float)


def neutral_face(index: int):
    """A grey CK+-sized neutral face of synthetic subject ``index`` (subjects take the source photos
    in turn), its landmarks and the index."""
    subject = Subject.draw(random_stream(3, "ckplus", 0, index), index)
    base, lm = subject.render(CK_FRAME, iod=IOD, centre=(320, 240), roll_deg=3.0)
    return cv2.cvtColor(base, cv2.COLOR_RGB2GRAY), lm, index


@pytest.fixture(scope="module", params=range(len(SOURCES)), ids=list(SOURCES))
def face(request):
    """The neutral face of a subject of each source photo."""
    return neutral_face(request.param)


@pytest.fixture(scope="module", params=[i for i, name in enumerate(SOURCES) if name not in EYES_HIDDEN],
                ids=[name for name in SOURCES if name not in EYES_HIDDEN])
def face_with_visible_eyes(request):
    """The neutral face of a subject of each source photo whose eyes are not hidden (:data:`EYES_HIDDEN`)."""
    return neutral_face(request.param)


def apex(face, label, t=1.0):
    gray, lm, _ = face
    anim = _Animator(gray, lm, facs.EXPRESSIONS[label])
    return anim.frame(t), anim.landmarks(t)


def skin_level(gray, lm) -> float:
    """Median grey level of the face inside its jaw line and brows."""
    return float(np.median(gray[poly_mask(gray.shape, np.vstack([lm[:17], lm[26:16:-1]]))]))


def test_neutral_frame_is_the_untouched_face(face):
    gray, lm, _ = face
    for label, aus in facs.EXPRESSIONS.items():
        assert np.array_equal(_Animator(gray, lm, aus).frame(0.0), gray), label
    colour = cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
    assert np.array_equal(_Animator(colour, lm, facs.EXPRESSIONS["fear"]).frame(0.0), colour)


def test_happy_apex_shows_teeth_between_the_lips(face):
    gray, lm, _ = face
    skin = skin_level(gray, lm)
    shares = []
    for t in (0.5, 1.0):
        img, lm1 = apex(face, "happy", t)
        inner = poly_mask(img.shape, lm1[60:68], erode=1)
        assert inner.sum() > 0.02 * IOD ** 2 * t  # the lips are parted
        shares.append(float(np.mean(img[inner] > skin)))
    assert shares[1] > 0.4, f"only {shares[1]:.0%} of the inner-lip polygon is brighter than the skin"
    assert not (gray[poly_mask(gray.shape, lm[60:68])] > skin + 40).any()  # no teeth at rest


def white_rows_above_iris(img, lm, eye, skin) -> int:
    """Rows of the eye's middle column, above its darkest row (the iris), brighter than the skin."""
    column = poly_mask(img.shape, lm[eye]) & box_mask(img.shape, lm, lm[eye].mean(0), 0.03, 0.5)
    rows = np.unique(np.nonzero(column)[0])
    means = np.array([img[r][column[r]].mean() for r in rows])
    assert means.min() < 0.5 * skin, "no dark iris in the eye"
    return int(np.sum(means[:int(np.argmin(means))] > skin))


def test_surprise_apex_shows_white_above_the_iris(face_with_visible_eyes):
    gray, lm, _ = face_with_visible_eyes
    skin = skin_level(gray, lm)
    img, lm1 = apex(face_with_visible_eyes, "surprise")
    for eye in (slice(36, 42), slice(42, 48)):
        # A band of white at least 0.03 IOD tall above the iris, where the neutral eye has none.
        assert white_rows_above_iris(img, lm1, eye, skin) >= 0.03 * IOD
        assert white_rows_above_iris(gray, lm, eye, skin) == 0


def test_anger_apex_furrows_the_glabella(face):
    gray, lm, _ = face
    img, lm1 = apex(face, "anger")

    def furrows(g, pts):
        region = box_mask(g.shape, pts, at(pts, (pts[21] + pts[22]) / 2, 0, -0.07), 0.09, 0.08)
        return line_energy(g, horizontal=False)[region].mean()

    assert furrows(img, lm1) > 1.5 * furrows(gray, lm) + 2


def test_disgust_apex_wrinkles_the_nose_bridge(face):
    gray, lm, _ = face
    img, lm1 = apex(face, "disgust")

    def wrinkles(g, pts):
        region = box_mask(g.shape, pts, (pts[27] + pts[29]) / 2 - 0.1 * (pts[29] - pts[27]), 0.07, 0.12)
        return line_energy(g, horizontal=True)[region].mean()

    assert wrinkles(img, lm1) > wrinkles(gray, lm) + 3


#: AU -> (region centre as (landmark, u, v) on the subject's right side, half sizes in IOD, lines
#: to look for: "h"/"v" orientation or "dark" for a shadow). u > 0 is outwards (image left here).
REGIONS = {
    "1": ((27, 0.0, -0.42), (0.3, 0.08), "dark"),
    "2": ((19, 0.0, -0.28), (0.12, 0.06), "dark"),
    "4": (((21, 22), 0.0, -0.07), (0.08, 0.08), "v"),
    "6": ((36, 0.12, 0.0), (0.06, 0.08), "dark"),
    "9": ((28, 0.0, -0.03), (0.06, 0.08), "h"),
    "10": (((31, 48), 0.1, 0.0), (0.04, 0.06), "dark"),
    "12": (((31, 48), 0.1, 0.0), (0.04, 0.06), "dark"),
    "14": ((48, 0.055, 0.0), (0.03, 0.04), "dark"),
    "15": ((48, 0.02, 0.09), (0.05, 0.06), "dark"),
    "17": ((57, 0.0, 0.07), (0.1, 0.025), "h"),
    "20": ((48, 0.08, 0.06), (0.05, 0.06), "dark"),
    "23": ((62, 0.0, 0.0), (0.1, 0.02), "h"),
}


@pytest.mark.parametrize("code", list(REGIONS))
def test_each_layer_shades_where_its_action_unit_acts(face, code):
    """The layer alone (no warp) darkens its region and leaves the face far from it alone."""
    gray, lm, _ = face
    (idx, u, v), (hu, hv), kind = REGIONS[code]
    img = gray.copy()
    Appearance(gray, lm).render(img, lm, levels({code: 1.0}, 1.0))
    centre = at(lm, lm[list(np.atleast_1d(idx))].mean(0), -u, v)  # subject's right is image left: outwards is -x
    region = box_mask(gray.shape, lm, centre, hu, hv)
    if kind == "dark":
        change = gray[region].astype(float).mean() - img[region].mean()
    else:
        change = (line_energy(img, kind == "h")[region].mean() - line_energy(gray, kind == "h")[region].mean())
    assert change > 2.0, f"AU{code}: region change {change:.2f}"
    off_face = ~face_region(gray.shape, lm)
    assert np.array_equal(img[off_face], gray[off_face])


def test_unilateral_au_shades_one_side(face):
    gray, lm, _ = face
    img = gray.copy()
    Appearance(gray, lm).render(img, lm, levels({"R14": 1.0}, 1.0))
    right, left = (box_mask(gray.shape, lm, at(lm, lm[i], s * 0.055, 0.0), 0.03, 0.04) for i, s in ((48, -1), (54, 1)))
    assert gray[right].mean() - img[right].mean() > 2.0
    assert np.array_equal(img[left], gray[left])


def test_colour_frames_get_colour_teeth(face):
    gray, lm, _ = face
    colour = cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
    colour = np.clip(colour * np.array([1.1, 0.95, 0.8]), 0, 255).astype(np.uint8)  # warm light
    anim = _Animator(colour, lm, facs.EXPRESSIONS["happy"])
    img, lm1 = anim.frame(1.0), anim.landmarks(1.0)
    teeth = img[poly_mask(img.shape[:2], lm1[60:68], erode=1)].astype(float)
    bright = teeth[teeth.mean(1) > np.median(teeth.mean(1))]
    assert bright.shape[0] and (bright[:, 0] >= bright[:, 2]).mean() > 0.9  # teeth take the warm cast
