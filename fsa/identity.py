"""The identity rule: what makes two prepared sets "the same data" for the results store.

**Two sets are the same data when their index is the same**: the same items (video or image ids),
with the same labels, splits, subjects and frame counts. The store keys an experiment by the hash
of that index — ``index.csv`` for CK+ and AFEW preparations (:func:`fsa.data.index_hash`), the
format and the ids, splits and labels of the images for still-image sets
(:meth:`data_prep.stills.StillSet.data_hash`) — for the embedded sets and a user's real data alike.

**Pixels are not part of the identity; they are recorded beside it.** Floating-point arithmetic
differs between CPUs (numpy's and OpenCV's SIMD paths, BLAS reductions), so the embedded generator
makes the same index with pixels a grey level apart on another machine, and a re-encoded copy of a
real dataset does the same. Every run records the digest of the pixels it read (``data_pixels``),
and each experiment keeps a :class:`PixelPrint` per digest (``pixels-<digest>.json``: the digest and
a fixed sample of pixel values), so that a set whose pixels differ from those of a published run is
reported — how many of the sampled pixels differ, and by how many grey levels at most
(:func:`compare`) — never silently taken for the same, and never a reason to train again.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from data_prep.atomic import write_json

#: The fixed sample of a pixel print: this many images (evenly spaced over the sorted images or
#: frames), this many pixel values from each (positions drawn with the image's rank as seed).
SAMPLE_IMAGES = 64
SAMPLE_PER_IMAGE = 64
PIXELS_PREFIX = "pixels-"
#: The file of a prepared set that keeps its pixel print (:func:`clip_pixels`).
PRINT_FILE = ".pixels.json"


@dataclass(frozen=True)
class PixelPrint:
    """The digest of a set's pixels and a fixed sample of them (:data:`SAMPLE_IMAGES` ×
    :data:`SAMPLE_PER_IMAGE` ``uint8`` values), enough to say how far two sets' pixels are apart."""

    digest: str
    images: int
    sample: bytes

    def to_record(self, experiment: str, machine: str, when: str) -> dict:
        return {"kind": "pixels", "experiment": experiment, "digest": self.digest, "images": self.images,
                "sample": base64.b64encode(self.sample).decode("ascii"), "machine": machine, "recorded_at": when}

    @classmethod
    def from_record(cls, record: dict) -> "PixelPrint":
        return cls(record["digest"], record["images"], base64.b64decode(record["sample"]))


def _picks(n_images: int) -> np.ndarray:
    """The sampled images: evenly spaced over ``n_images``."""
    return np.unique(np.linspace(0, n_images - 1, min(SAMPLE_IMAGES, n_images)).round().astype(int))


def _sample_of(rank: int, img: np.ndarray) -> np.ndarray:
    """The pixel values of the ``rank``-th sampled image at its fixed positions."""
    flat = np.ascontiguousarray(img).reshape(-1)
    return flat[np.random.default_rng(rank).integers(0, flat.size, SAMPLE_PER_IMAGE)]


def _sample(n_images: int, read: Callable[[int], np.ndarray]) -> bytes:
    """The pixel values at fixed positions of evenly spaced images ``read(i)``, ``i < n_images``."""
    if n_images == 0:
        return b""
    return np.concatenate([_sample_of(rank, read(int(i))) for rank, i in enumerate(_picks(n_images))]
                          ).astype(np.uint8).tobytes()


def _decode(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        from .data import DataError

        raise DataError(f"{path}: prepared frame missing or unreadable")
    return img


def _frame_paths(root: str) -> list[Path]:
    from .data import frame_path, load_index

    index = load_index(root).sort_values("video_id")
    return [frame_path(root, v, k) for v, n in zip(index["video_id"], index["n_frames"]) for k in range(n)]


@lru_cache(maxsize=8)
def _clip_print(root: str, files: str, paths: tuple[Path, ...]) -> PixelPrint:
    kept = Path(root, PRINT_FILE)
    try:
        saved = json.loads(kept.read_text(encoding="utf-8"))
        if saved["files"] == files:
            return PixelPrint.from_record(saved)
    except (OSError, ValueError, KeyError, TypeError):
        pass  # none kept, or unreadable: computed again
    pixels = _decoded_print(paths)
    try:
        write_json(kept, {"files": files, "digest": pixels.digest, "images": pixels.images,
                          "sample": base64.b64encode(pixels.sample).decode("ascii")}, what="the pixel print")
    except OSError:
        pass  # a read-only copy of the data: computed again next time
    return pixels


def _decoded_print(paths: tuple[Path, ...]) -> PixelPrint:
    digest = hashlib.sha256()
    rank = {int(i): r for r, i in enumerate(_picks(len(paths)))} if paths else {}
    sample = []
    for i, path in enumerate(paths):  # the decoded pixels, as the datasets read them, each frame read once
        img = _decode(path)
        digest.update(f"{img.shape}".encode())
        digest.update(img.tobytes())
        if i in rank:
            sample.append(_sample_of(rank[i], img))
    sampled = np.concatenate(sample).astype(np.uint8).tobytes() if sample else b""
    return PixelPrint(digest.hexdigest()[:12], len(paths), sampled)


def clip_pixels(root: str | os.PathLike) -> PixelPrint:
    """The pixel print of a prepared CK+ / AFEW set: every frame of every indexed video, decoded.

    Decoding every frame of AFEW takes seconds, and every page and run asks: the print is kept in the
    set's :data:`PRINT_FILE` with the key of the files it was computed from (the index's bytes, each
    frame's size and time), and computed again once any of them changed."""
    root = str(Path(root).resolve())
    paths = tuple(_frame_paths(root))
    # kept (per process and in the set) while the index and every frame file keep their size and time
    files = hashlib.sha256(Path(root, "index.csv").read_bytes())
    for path in paths:
        st = path.stat() if path.is_file() else None
        files.update(f"{path.name}:{st and (st.st_size, st.st_mtime_ns)};".encode())
    return _clip_print(root, files.hexdigest(), paths)


def still_pixels(stills) -> PixelPrint:
    """The pixel print of a :class:`data_prep.stills.StillSet`: its :meth:`~data_prep.stills.StillSet.pixel_hash`,
    sampled in the order of the image ids."""
    order = sorted(range(len(stills.items)), key=lambda i: stills.items[i].still_id)

    def read(i: int) -> np.ndarray:
        k = order[i]
        if stills.pixels is not None:
            return stills.pixels[k]
        return _decode(stills.items[k].path)

    return PixelPrint(stills.pixel_hash(), len(order), _sample(len(order), read))


def split_pixels(splits) -> PixelPrint | None:
    """The pixel print of a run's data, from its splits: the still set of a still-image run, the
    prepared root of a clip run; ``None`` for datasets that say neither (a test's own splits)."""
    stills = getattr(splits.train, "stills", None)
    if stills is not None:
        return still_pixels(stills)
    root = getattr(splits.train, "root", None)
    return clip_pixels(root) if root is not None and (Path(root) / "index.csv").is_file() else None


def compare(local: PixelPrint, published: PixelPrint) -> str:
    """One sentence: whether this machine's pixels are those of a published run, and if not, how
    far apart the two samples are."""
    if local.digest == published.digest:
        return f"the pixels are those of the published runs (digest {local.digest})"
    head = f"the pixels differ from those of the published runs (digest {published.digest}, here {local.digest})"
    a, b = (np.frombuffer(p.sample, np.uint8).astype(int) for p in (local, published))
    if local.images != published.images or a.size != b.size or a.size == 0:
        return f"{head}: {published.images} images there, {local.images} here; the samples cannot be compared"
    diff = np.abs(a - b)
    return (f"{head}: {100 * np.mean(diff > 0):.1f} % of {a.size} sampled pixels differ, "
            f"by at most {int(diff.max())} grey levels")
