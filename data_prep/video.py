"""Reading raw clips: a video file (AVI, MP4, ...) or a folder of frame images (CK+ PNGs).

Both ``data_prep.prepare`` and ``fsa predict`` start here. Every frame comes back as an
RGB ``uint8`` array of shape ``[H, W, 3]`` (OpenCV decodes BGR, converted here; grayscale
sources such as CK+ are replicated to three channels), in source order, so frame ``k``
(0-based) of the returned list is frame ``k`` of the clip.

Long videos are read as a stream: :func:`iter_frames` yields one frame at a time (all of
them, or only the indices asked for, skipping the others without converting them), so a
reader holds what it keeps, not the video. A clip's length comes from :func:`frame_count`,
one decoding pass that keeps no frame: the container's ``CAP_PROP_FRAME_COUNT`` is only what
its header claims, wrong for a truncated file (and an estimate for some codecs). Frame ``k``
is the ``k``-th frame OpenCV decodes, the count is the number it decodes before its first
failure, in every function here. :func:`declared_frame_count` reads the header's claim, which
``data_prep.prepare`` holds the decoded count to, to find truncated files.

A file that cannot be read raises :class:`VideoReadError` whose message names the path and
the problem (missing, zero bytes, not decodable, no frames) — never an empty list.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator, Sequence

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


def one_folder(root: Path, names: Sequence[str]) -> Path | None:
    """The folder of ``root`` under one of ``names`` (the spellings of one part of a dataset layout, e.g.
    ``Train`` and EmotiW's ``Train_AFEW``), ``None`` if there is none; two of them raise :class:`DataError`,
    since which one to read is the user's choice."""
    found = [root / name for name in names if (root / name).is_dir()]
    if len(found) > 1:
        raise DataError(f"{root}: holds both {' and '.join(f'{p.name}/' for p in found)}, two spellings of one "
                        "folder of the layout; keep one")
    return found[0] if found else None


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


def _to_rgb(frame: np.ndarray) -> np.ndarray:
    """An OpenCV frame (BGR, or grayscale for some codecs) as RGB."""
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB if frame.ndim == 2 else cv2.COLOR_BGR2RGB)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise VideoReadError(path, "file not found")
    if path.stat().st_size == 0:
        raise VideoReadError(path, "empty file (0 bytes)")


def _open_video(path: Path) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise VideoReadError(path, "not a decodable video (OpenCV cannot open it)")
    return cap


def _folder_images(path: Path) -> list[Path]:
    files = frame_files(path)
    if not files:
        raise VideoReadError(path, f"frame folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def frame_count(path: str | os.PathLike) -> int:
    """Number of frames of a video file (decoded once, none kept) or an image folder.

    Raises :class:`VideoReadError` like :func:`read_frames`, a video without a decodable frame included.
    """
    path = Path(path)
    if path.is_dir():
        return len(_folder_images(path))
    return sum(1 for _ in iter_frames(path))


def declared_frame_count(path: str | os.PathLike) -> int | None:
    """The frame count a video file's container declares (``CAP_PROP_FRAME_COUNT``), or ``None`` when
    there is none to trust: a frame folder, a file OpenCV cannot open, a count of 0 or below (unknown)."""
    path = Path(path)
    if not path.is_file():
        return None
    cap = cv2.VideoCapture(str(path))
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
    finally:
        cap.release()
    return n if n > 0 else None


def iter_frames(path: str | os.PathLike, indices: Iterable[int] | None = None) -> Iterator[np.ndarray]:
    """The frames of a video file or an image folder one at a time, as RGB uint8 arrays in source order.

    ``indices`` (increasing 0-based frame numbers) yields only those frames; the others are
    decoded but neither converted nor kept. A missing, empty or unopenable file raises
    :class:`VideoReadError` here; a video without frames, or one that ends before the last of
    ``indices``, raises it while iterating.
    """
    path = Path(path)
    wanted = None if indices is None else [int(k) for k in indices]
    if wanted is not None and any(b <= a for a, b in zip(wanted, wanted[1:])):
        raise ValueError(f"{path}: frame indices must be increasing")
    if path.is_dir():
        return _image_frames(path, _folder_images(path), wanted)
    _check_file(path)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return _image_frames(path, [path], wanted)
    return _video_frames(path, _open_video(path), wanted)


def _image_frames(path: Path, files: list[Path], wanted: list[int] | None) -> Iterator[np.ndarray]:
    for k in range(len(files)) if wanted is None else wanted:
        if k >= len(files):
            raise VideoReadError(path, f"clip has {len(files)} frames, no frame {k}")
        yield read_image(files[k])


def _video_frames(path: Path, cap: cv2.VideoCapture, wanted: list[int] | None) -> Iterator[np.ndarray]:
    try:
        k = 0  # frames decoded so far
        if wanted is None:
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                k += 1
                yield _to_rgb(frame)
            if not k:
                raise VideoReadError(path, "video has no decodable frames (corrupt or truncated)")
            return
        for target in wanted:
            while k < target:
                if not cap.grab():  # decoded, not converted: a skipped frame costs no copy
                    break
                k += 1
            ok, frame = cap.read() if k == target else (False, None)
            if not ok:
                raise VideoReadError(path, f"video ends after {k} frames, before frame {target}")
            k += 1
            yield _to_rgb(frame)
    finally:
        cap.release()


def read_frames(path: str | os.PathLike, max_frames: int | None = None) -> list[np.ndarray]:
    """All frames of a video file or an image folder, as RGB uint8 arrays in source order.

    ``max_frames`` stops early (``None`` reads everything). Raises :class:`VideoReadError`
    for a missing path, a zero-byte file, an undecodable file or a clip without frames.
    Short clips only: a long video is read with :func:`iter_frames`.
    """
    return list(islice(iter_frames(path), max_frames))


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
