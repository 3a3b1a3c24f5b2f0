"""The astronaut photo's neutral rest face (data_prep.synth.neutral): fewer smile creases, a narrower
mouth, closed lips without teeth, measured by dlib's landmarks re-detected on the result."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from data_prep import synth
from data_prep.synth.geometry import face_axes
from data_prep.synth.neutral import crease_mask


@pytest.fixture(scope="module")
def astronaut() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The photo as shipped ("smile") and as the generator uses it ("rest"), each with the
    landmarks dlib finds on it (None when it finds no face)."""
    rest = next(p for p in synth.load_sources() if p.name == "astronaut").image
    return {k: (rgb, synth.detect_landmarks(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)))
            for k, rgb in (("smile", synth.SOURCES["astronaut"].load()), ("rest", rest))}


def crease_detail(rgb: np.ndarray, lm: np.ndarray) -> float:
    """Mean absolute Laplacian (fine shading: folds, bunching) weighted by the crease mask."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    w = crease_mask(lm, gray.shape)
    return float((np.abs(cv2.Laplacian(gray, cv2.CV_32F)) * w).sum() / w.sum())


def mouth_width(lm: np.ndarray) -> float:
    """Mouth corner to corner (48-54), in inter-ocular distances."""
    return float(np.hypot(*(lm[54] - lm[48])) / face_axes(lm)[2])


def teeth_fraction(rgb: np.ndarray, lm: np.ndarray) -> float:
    """Share of the pixels inside the outer lip contour that look like teeth: bright and nearly
    unsaturated (lips are red, skin is tinted)."""
    mask = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(lm[48:60]).astype(np.int32)], 1)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[mask > 0]
    return float(np.mean((hsv[:, 1] < 50) & (hsv[:, 2] > 170)))


def test_dlib_reads_the_rest_face(astronaut):
    assert all(lm is not None for _, lm in astronaut.values())


def test_the_rest_face_loses_the_smile_creases(astronaut):
    smile, rest = (crease_detail(*astronaut[k]) for k in ("smile", "rest"))
    assert rest < 0.6 * smile


def test_the_rest_face_has_a_narrower_mouth(astronaut):
    smile, rest = (mouth_width(astronaut[k][1]) for k in ("smile", "rest"))
    assert rest < smile - 0.15  # about the closed-mouth width of the other photos (0.82 IOD)


def test_the_rest_face_shows_no_teeth(astronaut):
    smile, rest = (teeth_fraction(*astronaut[k]) for k in ("smile", "rest"))
    assert smile > 0.15 and rest < 0.02
