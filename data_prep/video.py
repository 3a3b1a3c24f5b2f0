"""Reading raw clips: a video file (AVI, MP4, ...) or a folder of frame images (CK+ PNGs).

Both ``data_prep.prepare`` and ``fsa predict`` start here. Every frame comes back as an
RGB ``uint8`` array of shape ``[H, W, 3]`` (OpenCV decodes BGR, converted here; grayscale
sources such as CK+ are replicated to three channels), in source order, so frame ``k``
(0-based) of the returned list is frame ``k`` of the clip.

A file that cannot be read raises :class:`VideoReadError` whose message names the path and
the problem (missing, zero bytes, not decodable, no frames) — never an empty list.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

#: File suffixes accepted as frames of an image-folder clip.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
#: File suffixes accepted as video files.
VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".mov", ".mpg", ".mpeg", ".webm", ".m4v")


class DataError(ValueError):
    """A dataset on disk (raw or prepared) is not what it should be; the message names the
    path and the problem. Also available as ``fsa.data.DataError``."""


def require_root(raw: str | os.PathLike, name: str, expected: str) -> Path:
    """``raw`` as a Path if it is an existing, non-empty dataset folder; else a :class:`DataError`
    naming the path and what a ``name`` root should hold (``expected``)."""
    raw = Path(raw)
    if not raw.is_dir():
        raise DataError(f"{raw}: {name} root not found")
    if not any(raw.iterdir()):
        raise DataError(f"{raw}: empty dataset root (expected {expected})")
    return raw


class VideoReadError(DataError):
    """A clip could not be read; ``path`` is the offending file, ``problem`` says why."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass(frozen=True)
class RawVideo:
    """One raw clip as found by a dataset indexer (``data_prep.ckplus`` / ``data_prep.afew``).

    ``path`` is the video file or the frame folder; ``source`` is that path relative to the
    raw dataset root (the ``source`` column of ``index.csv``). ``label`` is a canonical
    lowercase class name, or ``""`` when the clip is unlabelled; ``split`` is ``train`` /
    ``val`` for AFEW and ``""`` for CK+.
    """

    video_id: str
    subject: str
    label: str
    split: str
    source: str
    path: Path


def frame_files(folder: str | os.PathLike) -> list[Path]:
    """The image files of a frame folder, sorted by name (CK+ names are zero-padded)."""
    folder = Path(folder)
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
    )


def read_image(path: str | os.PathLike) -> np.ndarray:
    """One image file as RGB uint8 ``[H, W, 3]``."""
    path = Path(path)
    if not path.is_file():
        raise VideoReadError(path, "file not found")
    if path.stat().st_size == 0:
        raise VideoReadError(path, "empty file (0 bytes)")
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise VideoReadError(path, "not a decodable image")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_frames(path: str | os.PathLike, max_frames: int | None = None) -> list[np.ndarray]:
    """All frames of a video file or an image folder, as RGB uint8 arrays in source order.

    ``max_frames`` stops early (``None`` reads everything). Raises :class:`VideoReadError`
    for a missing path, a zero-byte file, an undecodable file or a clip without frames.
    """
    path = Path(path)
    if path.is_dir():
        files = frame_files(path)
        if not files:
            raise VideoReadError(path, f"frame folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
        return [read_image(f) for f in files[:max_frames]]
    if not path.exists():
        raise VideoReadError(path, "file not found")
    if path.stat().st_size == 0:
        raise VideoReadError(path, "empty file (0 bytes)")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return [read_image(path)]
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise VideoReadError(path, "not a decodable video (OpenCV cannot open it)")
        frames = []
        while max_frames is None or len(frames) < max_frames:
            ok, frame = cap.read()
            if not ok:
                break
            if frame.ndim == 2:
                frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
            else:
                frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            frames.append(frame)
    finally:
        cap.release()
    if not frames:
        raise VideoReadError(path, "video has no decodable frames (corrupt or truncated)")
    return frames


def video_fps(path: str | os.PathLike, default: float = 25.0) -> float:
    """Frame rate stored in a video file (``default`` for frame folders or when unknown)."""
    path = Path(path)
    if path.is_dir():
        return default
    cap = cv2.VideoCapture(str(path))
    try:
        fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
    finally:
        cap.release()
    return float(fps) if fps and fps > 0 else default
