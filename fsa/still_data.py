"""The still-image sets as training data: every image a clip of one frame, split by the format's
rule (:mod:`data_prep.stills`), for the still-image stage (:mod:`fsa.stills`). The items, the
augmentation and the frame pipeline are those of the clip datasets (:mod:`fsa.data`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from data_prep.faces import to_rgb
from data_prep.stills import StillSet, aligned_report, read_stills
from data_prep.video import DataError, read_image

from .config import CLASSES_7, Config
from .data import CACHE_BYTES, LabelledDataset, Splits, build_datasets, carve_validation, fit_source, frames_tensor

#: Names of the validation split of each format, when it has one.
VAL_SPLITS = {"fer2013": "FER2013 PublicTest", "sfew": "SFEW Val", "folder": "the val/ folder"}
TEST_SPLITS = {"fer2013": "FER2013 PrivateTest", "folder": "the test/ folder"}


class StillDataset(LabelledDataset):
    """Still images as clips of one frame: the item format of :class:`fsa.data.ClipDataset`.

    ``__getitem__(i)`` returns ``dict(frames=FloatTensor[1, 3, S, S]`` (RGB normalised by ``input_norm``;
    grey images replicated to three channels), ``label=int``, ``video_id`` = ``clip_id`` = the
    image's id, ``frame_indices=LongTensor([0])``, ``index=i)``. Training draws its augmentation
    from ``np.random.default_rng([seed, epoch, index])``, like the clip datasets. Image files are
    reduced to ``SOURCE_FACTOR × image_size`` when read and kept in memory when they all fit in
    ``CACHE_BYTES``.
    """

    def __init__(self, stills: StillSet, idx: Sequence[int], classes: Sequence[str], image_size: int = 224,
                 train: bool = False, seed: int = 0, input_norm: str = "imagenet"):
        idx = [int(i) for i in idx]
        super().__init__([stills.items[i] for i in idx], classes, image_size, train, seed, input_norm)
        self.stills = stills  # the whole set, whose pixels the run records (:func:`fsa.identity.split_pixels`)
        self.pixels = stills.pixels[idx] if stills.pixels is not None else None
        files = len(self.items) if self.pixels is None else 0
        self._cache: dict[int, np.ndarray] | None = {} if files * self.source_side**2 * 3 <= CACHE_BYTES else None

    def _image(self, i: int) -> np.ndarray:
        if self.pixels is not None:
            return to_rgb(self.pixels[i])
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        img = fit_source(read_image(self.items[i].path), self.source_side)
        if self._cache is not None:
            self._cache[i] = img
        return img

    def __getitem__(self, i: int) -> dict:
        item = self.items[i]
        return {
            "frames": frames_tensor([self._image(i)], self.image_size, self.input_norm, self._rng(i)),
            "label": self.classes.index(item.label),
            "video_id": item.still_id,
            "clip_id": item.still_id,
            "frame_indices": torch.zeros(1, dtype=torch.long),
            "index": i,
        }


def load_stills(cfg: Config, progress: bool = False) -> StillSet:
    """The still images of a config (``protocol`` = format, ``data``); an aligned folder adds the
    skips of its alignment (:func:`data_prep.stills.align_stills`) to its own."""
    stills = read_stills(cfg.protocol, cfg.data, progress)
    report = aligned_report(cfg.data)
    if report is not None:
        stills.skipped = report["skipped"] + stills.skipped
    return stills


def still_splits(stills: StillSet, cfg: Config) -> Splits:
    """Train / val / test :class:`StillDataset` of a still set, and the data's record entries.

    The split rule is that of :mod:`data_prep.stills`: the format's splits; a validation split
    carved from the training images when there is none; the validation split as the test split
    when there is no labelled test split.
    """
    where = {split: np.array([i for i, s in enumerate(stills.items) if s.split == split], dtype=int)
             for split in ("train", "val", "test", "")}
    train = np.sort(np.concatenate([where["train"], where[""]]))
    if len(train) == 0:
        raise DataError(f"{stills.root}: no training images")
    val, val_name = where["val"], VAL_SPLITS[stills.format]
    if len(val) == 0:
        train, val = carve_validation(stills.items, train, cfg.val_fraction, cfg.seed)
        train, val = np.sort(train), np.sort(val)
        val_name = f"carved from the training images (val_fraction={cfg.val_fraction:g}, seed {cfg.seed})"
    test, test_name = where["test"], TEST_SPLITS.get(stills.format)
    if len(test) == 0:
        test = val
        test_name = (f"{val_name}, the validation split, scored once with the selected weights "
                     f"({stills.format} has no labelled test split here)")

    def make(ids: np.ndarray, is_train: bool) -> StillDataset:
        return StillDataset(stills, ids, CLASSES_7, cfg.image_size, is_train, cfg.seed, cfg.input_norm)

    aligned = aligned_report(stills.root)
    record = {
        "test_split": test_name,
        "val_split": val_name,
        "data_index_hash": stills.data_hash(),
        "skipped": stills.skip_report(),
        "stills": {
            "format": stills.format,
            "images": {"train": len(train), "val": len(val), "test": len(test)},
            "aligned": None if aligned is None else {k: aligned[k] for k in ("source", "size", "margin", "complete")},
        },
    }
    return Splits(make(train, True), make(val, False), make(test, False), CLASSES_7, record)


def build_still_splits(cfg: Config) -> Splits:
    """:func:`still_splits` of the config's still images."""
    if not cfg.data:
        raise DataError(f"config field 'data' is empty: set it to the {cfg.protocol} set to read")
    return still_splits(load_stills(cfg), cfg)


def build_splits(cfg: Config) -> Splits:
    """The splits of any config: its still images for ``dataset="stills"`` (:func:`build_still_splits`),
    else its clips (:func:`fsa.data.build_datasets`)."""
    return build_still_splits(cfg) if cfg.dataset == "stills" else build_datasets(cfg)
