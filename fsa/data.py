"""Prepared datasets: index loading, evaluation protocols, subject-independent folds, clip datasets,
and the still-image sets of the still-image stage (:mod:`fsa.stills`) as clips of one frame.

Input is the output of ``python -m data_prep.prepare``: ``ROOT/index.csv`` and one folder of
aligned RGB face crops per source clip, ``ROOT/frames/<video_id>/00001.jpg ...``, 1:1 with
the source frames.

Protocols (paper §2.1, Table 5):

* ``ck+7`` — CK+'s own labels: every labelled sequence, whole, classes
  :data:`~fsa.config.CLASSES_CK7` (anger, contempt, disgust, fear, happy, sadness, surprise).
* ``paper`` — Table 5's classes :data:`~fsa.config.CLASSES_7` (An Di Fe Ha Ne Sa Su). §2.1
  names contempt but Table 5 has neutral instead; CK+ has no neutral label, so, as static
  CK+ protocols take "the first frame (neutral face)" of the sequences, neutral clips are
  built from onset frames. Rule: contempt sequences are dropped; every other labelled
  sequence is one clip (whole sequence); each subject adds **one** neutral clip made of the
  first ``max(3, ceil(m / 3))`` frames (at most ``m``) of that subject's first labelled
  sequence (lowest ``video_id``, contempt ones included — their onsets are neutral too),
  ``m`` being its length. The neutral clip shares the subject of the subject's expressive
  clips, so subject-grouped folds keep it on the same side. A subject whose first sequence has
  at most 3 frames gets no neutral clip (counted in a warning): its onset would be the whole
  sequence, apex included — the very frames of its expressive clip under another label. A clip
  is thus a frame range ``[start, end)`` of a prepared video: the item's ``video_id`` is the
  frame folder and ``clip_id`` (``S005_001`` or ``S005_001#neutral``) is unique per clip.
* ``afew`` — Train / Val, :data:`~fsa.config.CLASSES_7`; Val is the test set (results are
  reported on Val).

Folds: CK+ uses scikit-learn's ``StratifiedGroupKFold(n_splits=folds, shuffle=True,
random_state=seed)`` over clips grouped by subject; fold ``k``'s held-out part is the test
set. Model selection never sees the test data: the validation set is carved from the
remaining training subjects by a second ``StratifiedGroupKFold`` with ``round(1 /
val_fraction)`` splits (capped by the number of training subjects), taking its first
held-out part. AFEW carves validation from Train the same
way (subject = video id on real AFEW). On small sets the class strata are best effort (a
plain ``GroupKFold`` when no class has as many clips as splits); subject disjointness is
always exact.

Sampling (paper §2.1): a clip of ``L`` frames is cut into ``n`` equal segments with integer
edges ``floor(k L / n)``; evaluation takes each segment's centre, training a uniformly random
frame of each segment. Clips shorter than ``n`` take ``floor((k + 0.5) L / n)`` in both
modes, which repeats frames. Training augmentation is one random resized crop (area 80-100 %,
aspect 0.9-1.1) and a horizontal flip with p = 0.5, the same for every frame of a clip. Pixels are
then normalised as the run's weights expect (``Config.input_norm``, :data:`fsa.config.INPUT_NORMS`).
All training randomness comes from ``np.random.default_rng([seed, epoch, index])``, so the
data seen do not depend on worker count, DDP rank or resuming.

Still images (``dataset="stills"``): a set in one of the formats of :mod:`data_prep.stills`
(:func:`load_stills`), each image a clip of one frame (:class:`StillDataset`), split by the
format's own splits (:func:`still_splits`).
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Sequence

import cv2
import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as TF

from data_prep.video import DataError

from .config import CLASSES_7, CLASSES_CK7, INPUT_NORMS, ConfigError

INDEX_COLUMNS = ("video_id", "subject", "label", "split", "n_frames", "source")
LABELS = tuple(sorted(set(CLASSES_7) | set(CLASSES_CK7)))
PROTOCOL_CLASSES = {"paper": CLASSES_7, "ck+7": CLASSES_CK7, "afew": CLASSES_7}
NEUTRAL_SUFFIX = "#neutral"
#: Mild training crop: fraction of the area kept and aspect-ratio range.
CROP_SCALE = (0.8, 1.0)
CROP_RATIO = (0.9, 1.1)
#: A prepared frame is first reduced (INTER_AREA) to at most this multiple of the training size:
#: the random crop keeps its detail, and a CPU profile's frames fit in memory once decoded.
SOURCE_FACTOR = 2
#: The decoded frames a process keeps in memory (:class:`FrameCache`; still images: when all of a
#: dataset's fit), in bytes.
CACHE_BYTES = 1 << 30


@dataclass(frozen=True)
class Clip:
    """One sample: frames ``[start, end)`` (0-based) of the prepared video ``video_id``."""

    clip_id: str
    video_id: str
    subject: str
    label: str
    start: int
    end: int
    split: str = ""  # AFEW: train | val

    @property
    def length(self) -> int:
        return self.end - self.start


class Splits(NamedTuple):
    train: Dataset
    val: Dataset
    test: Dataset
    classes: tuple[str, ...]
    #: Run-record entries describing the data (``test_split``, ``data_index_hash``, skips, ...).
    #: ``None`` for a prepared video root, whose entries the engine derives from the config.
    record: dict | None = None


# -- the prepared root ----------------------------------------------------------------
def frame_path(root: str | os.PathLike, video_id: str, k: int) -> Path:
    """Path of 0-based frame ``k`` of a prepared video (files are 1-based: ``00001.jpg``)."""
    return Path(root) / "frames" / video_id / f"{k + 1:05d}.jpg"


def read_text(path: Path) -> str:
    """The text of a file ``fsa prep`` writes (UTF-8), or :class:`DataError` naming the first byte
    that is not UTF-8 (a file saved again in Latin-1 by a spreadsheet, say)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8").removeprefix("\ufeff")  # as pandas did, a byte-order mark is not data
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
                        "write it again with fsa prep") from None


def load_index(root: str | os.PathLike) -> pd.DataFrame:
    """``index.csv`` of a prepared root, validated; ``n_frames`` as int, other columns str."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: prepared dataset root not found")
    path = root / "index.csv"
    if not path.is_file():
        raise DataError(f"{root}: not a prepared dataset (no index.csv; run python -m data_prep.prepare)")
    if not (root / "frames").is_dir():
        raise DataError(f"{root / 'frames'}: missing frames folder of a prepared dataset")
    df = pd.read_csv(io.StringIO(read_text(path)), dtype=str, keep_default_na=False)
    missing = [c for c in INDEX_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    n_frames = pd.to_numeric(df["n_frames"], errors="coerce")
    for i in range(len(df)):
        row = df.iloc[i]
        where = f"{path}: row {i + 2} ({row['video_id']})"
        if row["label"] and row["label"] not in LABELS:
            raise DataError(f"{where}: unknown label {row['label']!r} (expected one of {', '.join(LABELS)})")
        if not (n_frames.iloc[i] >= 1 and n_frames.iloc[i] % 1 == 0):
            raise DataError(f"{where}: n_frames {row['n_frames']!r} is not a positive integer")
        vid = row["video_id"]
        if vid in ("", ".", "..") or Path(vid).name != vid or "\\" in vid:
            raise DataError(f"{where}: video_id {vid!r} is not a folder name under "
                            f"{root / 'frames'} (frames are never read outside the prepared dataset)")
    if df["video_id"].duplicated().any():
        raise DataError(f"{path}: duplicate video_id {df['video_id'][df['video_id'].duplicated()].iloc[0]!r}")
    return df.assign(n_frames=n_frames.astype(int))


def index_hash(root: str | os.PathLike) -> str:
    """Short sha256 of ``index.csv``: identifies the prepared data a result was computed on."""
    path = Path(root) / "index.csv"
    if not path.is_file():
        raise DataError(f"{Path(root)}: not a prepared dataset (no index.csv)")
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


# -- protocols and folds ----------------------------------------------------------------
#: The fewest frames of a neutral onset clip (see :func:`onset_length`).
MIN_ONSET = 3


def onset_length(m: int) -> int:
    """Frames of a CK+ sequence of length ``m`` used as its neutral onset clip."""
    return min(m, max(MIN_ONSET, math.ceil(m / 3)))


def make_clips(index: pd.DataFrame, protocol: str) -> tuple[list[Clip], tuple[str, ...]]:
    """The clips of a protocol (see the module docstring) and its class order."""
    if protocol not in PROTOCOL_CLASSES:
        raise DataError(f"protocol={protocol!r}: expected one of {', '.join(PROTOCOL_CLASSES)}")
    classes = PROTOCOL_CLASSES[protocol]
    rows = index.sort_values("video_id", kind="stable")
    if protocol == "afew":
        rows = rows[rows["split"].isin(["train", "val"])]
        if rows.empty:
            raise DataError("protocol 'afew' needs rows with split train/val; this index has none (a CK+ root?)")
    labelled = rows[rows["label"] != ""]
    clips = [
        Clip(r.video_id, r.video_id, r.subject, r.label, 0, int(r.n_frames), r.split)
        for r in labelled.itertuples()
        if r.label in classes and not (protocol == "paper" and r.label == "neutral")
    ]
    if protocol == "paper":
        too_short = []
        for _, group in labelled.groupby("subject", sort=True):
            first = group.iloc[0]
            onset = onset_length(int(first.n_frames))
            if onset == int(first.n_frames):  # the whole sequence: its apex frames are not neutral
                too_short.append(first.video_id)
                continue
            clips.append(Clip(first.video_id + NEUTRAL_SUFFIX, first.video_id, first.subject, "neutral", 0, onset))
        if too_short:
            warnings.warn(f"protocol 'paper': {len(too_short)} subject(s) without a neutral clip, their first "
                          f"sequence having {MIN_ONSET} frames or fewer ({', '.join(too_short)})", stacklevel=2)
    if not clips:
        raise DataError(f"protocol {protocol!r}: no labelled clips of classes {', '.join(classes)} in the index")
    return clips, classes


def _group_split(labels: np.ndarray, groups: np.ndarray, n_splits: int, seed: int, which: int):
    """Part ``which`` of a subject-grouped, label-stratified k-fold: ``(rest, held)`` positions."""
    if np.unique(labels, return_counts=True)[1].max() < n_splits:
        # No class has n_splits members: scikit-learn refuses to stratify; group only.
        cv = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    else:
        cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # Small sets have classes rarer than n_splits; strata are then best effort.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        for k, (rest, held) in enumerate(cv.split(np.zeros(len(labels)), labels, groups)):
            if k == which:
                return rest, held
    raise AssertionError("unreachable: which < n_splits")


def carve_validation(clips: Sequence[Clip], idx: np.ndarray, val_fraction: float, seed: int):
    """Split clip indices ``idx`` into (train, val) by subject, stratified by label."""
    idx = np.asarray(idx)
    labels = np.array([clips[i].label for i in idx])
    groups = np.array([clips[i].subject for i in idx])
    n_subjects = len(set(groups))
    if n_subjects < 2:
        raise DataError(f"cannot carve a validation split: the training part has {n_subjects} subject(s)")
    n_splits = max(2, min(round(1 / val_fraction), n_subjects))
    rest, held = _group_split(labels, groups, n_splits, seed, 0)
    return idx[rest], idx[held]


def split_clips(clips: Sequence[Clip], protocol: str, folds: int = 5, fold: int = 0,
                val_fraction: float = 0.15, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(train, val, test)`` clip indices, subject-disjoint (see the module docstring)."""
    if protocol == "afew":
        test = np.array([i for i, c in enumerate(clips) if c.split == "val"], dtype=int)
        pool = np.array([i for i, c in enumerate(clips) if c.split == "train"], dtype=int)
        if len(test) == 0 or len(pool) == 0:
            raise DataError(f"protocol 'afew' needs Train and Val clips (found {len(pool)} train, {len(test)} val)")
    else:
        if not 0 <= fold < folds:
            raise DataError(f"fold={fold}: expected 0 <= fold < folds={folds}")
        labels = np.array([c.label for c in clips])
        groups = np.array([c.subject for c in clips])
        n_subjects = len(set(groups))
        if n_subjects < folds:
            raise DataError(f"{folds}-fold cross-validation needs at least {folds} subjects; the data have {n_subjects}")
        pool, test = _group_split(labels, groups, folds, seed, fold)
    train, val = carve_validation(clips, pool, val_fraction, seed)
    return np.sort(train), np.sort(val), np.sort(test)


# -- sampling and the dataset -----------------------------------------------------------
def sample_indices(length: int, n: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """``n`` frame indices in ``[0, length)``: segment centres, or random per segment with ``rng``."""
    if length < 1 or n < 1:
        raise ValueError(f"length={length}, n={n}: both must be >= 1")
    if length < n:
        return ((np.arange(n) + 0.5) * length / n).astype(np.int64)
    edges = (np.arange(n + 1) * length) // n
    if rng is None:
        return (edges[:-1] + edges[1:]) // 2
    return rng.integers(edges[:-1], edges[1:]).astype(np.int64)


def fit_source(img: np.ndarray, side: int) -> np.ndarray:
    """``img`` reduced (INTER_AREA) so that its longer side is at most ``side``; smaller images unchanged."""
    h, w = img.shape[:2]
    if max(h, w) <= side:
        return img
    f = side / max(h, w)
    return cv2.resize(img, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)


def frames_tensor(imgs: Sequence[np.ndarray], image_size: int, norm: str, rng: np.random.Generator | None = None
                  ) -> torch.Tensor:
    """RGB ``uint8`` frames of one clip (same size) → the model's input ``float32 [n, 3, S, S]``,
    normalised by ``INPUT_NORMS[norm]`` (:data:`fsa.config.INPUT_NORMS`, ``Config.input_norm``).

    With ``rng`` (training), the clip's augmentation: one random resized crop (area
    :data:`CROP_SCALE`, aspect :data:`CROP_RATIO`) and a horizontal flip with p = 0.5, the same
    for every frame; without it, a plain resize to ``S``. Video clips, still images
    (:class:`StillDataset`, a clip of one frame) and ``fsa predict``'s crops go through this one function.
    """
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2)  # [n, 3, H, W] uint8
    size = [image_size, image_size]
    if rng is not None:
        h, w = x.shape[-2:]
        scale = rng.uniform(*CROP_SCALE)
        ratio = math.exp(rng.uniform(math.log(CROP_RATIO[0]), math.log(CROP_RATIO[1])))
        cw = min(w, max(1, round(w * math.sqrt(scale * ratio))))
        ch = min(h, max(1, round(h * math.sqrt(scale / ratio))))
        top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        x = TF.resized_crop(x, top, left, ch, cw, size, antialias=True)
        if rng.random() < 0.5:
            x = TF.horizontal_flip(x)
    elif list(x.shape[-2:]) != size:
        x = TF.resize(x, size, antialias=True)
    pixels = INPUT_NORMS[norm]
    # x.float() * (1/255) is torchvision's uint8-to-float scaling, bit for bit.
    return TF.normalize(x.to(torch.float32).mul_(pixels.scale), pixels.mean, pixels.std)


class LabelledDataset(Dataset):
    """What the clip and still datasets share: their labelled items (``.label`` each), the class
    order, the input size and normalisation, the size frames are reduced to when read, and the
    training randomness of item ``i`` in an epoch, ``np.random.default_rng([seed, epoch, i])``."""

    def __init__(self, items: Sequence, classes: Sequence[str], image_size: int, train: bool, seed: int,
                 input_norm: str):
        if input_norm not in INPUT_NORMS:
            raise ConfigError(f"input_norm={input_norm!r}: expected one of {', '.join(INPUT_NORMS)}")
        self.items = list(items)
        self.classes = tuple(classes)
        self.image_size = int(image_size)
        self.input_norm = input_norm
        self.train = bool(train)
        self.seed = int(seed)
        self.epoch = 0
        self.source_side = SOURCE_FACTOR * self.image_size

    def set_epoch(self, epoch: int) -> None:
        """Select the training randomness of an epoch (no effect in evaluation mode)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def labels(self) -> list[int]:
        return [self.classes.index(x.label) for x in self.items]

    def _rng(self, i: int) -> np.random.Generator | None:
        return np.random.default_rng([self.seed, self.epoch, i]) if self.train else None


class FrameCache:
    """The prepared frames a process has read, decoded and reduced to a source side (RGB
    ``uint8``), up to :data:`CACHE_BYTES`: the splits of a run and the runs after it (a page's
    seeds and rows) decode each frame once. A frame is served from memory while its file keeps the
    size and time it had when read, so a file rewritten since is read again."""

    def __init__(self):
        self.frames: dict[tuple[str, int], tuple[tuple[int, int], np.ndarray]] = {}
        self.nbytes = 0

    def read(self, path: Path, side: int) -> np.ndarray:
        try:
            st = path.stat()
        except OSError:
            raise DataError(f"{path}: prepared frame missing or unreadable") from None
        stamp, key = (st.st_size, st.st_mtime_ns), (str(path), side)
        kept = self.frames.get(key)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise DataError(f"{path}: prepared frame missing or unreadable")
        img = cv2.cvtColor(fit_source(img, side), cv2.COLOR_BGR2RGB)
        if kept is not None:  # the file was rewritten since it was read
            del self.frames[key]
            self.nbytes -= kept[1].nbytes
        if self.nbytes + img.nbytes <= CACHE_BYTES:
            self.frames[key] = (stamp, img)
            self.nbytes += img.nbytes
        return img


#: The process's :class:`FrameCache`.
FRAMES = FrameCache()


class ClipDataset(LabelledDataset):
    """n-frame clips of a prepared root.

    ``__getitem__(i)`` returns ``dict(frames=FloatTensor[n, 3, S, S]`` (RGB normalised by
    ``input_norm``, :data:`fsa.config.INPUT_NORMS`), ``label=int`` (index in ``classes``),
    ``video_id=str`` (frame folder), ``clip_id=str``, ``frame_indices=LongTensor[n]`` (0-based source
    frames), ``index=int)``.

    Frames larger than ``SOURCE_FACTOR × image_size`` are reduced to it when read (the same
    way whether they are then kept in :data:`FRAMES` or not, so caching never changes a number).
    """

    def __init__(self, root: str | os.PathLike, clips: Sequence[Clip], classes: Sequence[str],
                 n: int = 5, image_size: int = 224, train: bool = False, seed: int = 0,
                 input_norm: str = "imagenet"):
        super().__init__(clips, classes, image_size, train, seed, input_norm)
        self.root = Path(root)
        self.n = int(n)
        for c in self.clips:
            if c.label not in self.classes:
                raise DataError(f"clip {c.clip_id}: label {c.label!r} is not one of {', '.join(self.classes)}")
            folder = self.root / "frames" / c.video_id
            if not folder.is_dir():
                raise DataError(f"{folder}: frame folder of {c.video_id} missing from the prepared dataset")

    @property
    def clips(self) -> list[Clip]:
        return self.items

    def _read(self, video_id: str, k: int) -> np.ndarray:
        return FRAMES.read(frame_path(self.root, video_id, k), self.source_side)

    def read_frames(self, video_id: str, frames: Sequence[int]) -> list[np.ndarray]:
        """0-based ``frames`` of a prepared video as read, before any resizing to ``image_size``:
        RGB ``uint8 [H, W, 3]`` arrays (a repeated frame is read once)."""
        cache: dict[int, np.ndarray] = {}  # short clips repeat frames
        for k in map(int, frames):
            if k not in cache:
                cache[k] = self._read(video_id, k)
        return [cache[int(k)] for k in frames]

    def __getitem__(self, i: int) -> dict:
        clip = self.clips[i]
        rng = self._rng(i)
        idx = clip.start + sample_indices(clip.length, self.n, rng)
        imgs = self.read_frames(clip.video_id, idx)
        return {
            "frames": frames_tensor(imgs, self.image_size, self.input_norm, rng),
            "label": self.classes.index(clip.label),
            "video_id": clip.video_id,
            "clip_id": clip.clip_id,
            "frame_indices": torch.as_tensor(idx, dtype=torch.long),
            "index": i,
        }


def _check_dataset(root: Path, dataset: str) -> None:
    report = root / "prep_report.json"
    if report.is_file():
        prepared = json.loads(report.read_text()).get("dataset")
        if prepared and prepared != dataset:
            raise DataError(f"{root}: prepared from {prepared!r} data, but the config says dataset={dataset!r}")


def dataset_clips(cfg) -> tuple[list[Clip], tuple[str, ...]]:
    """The clips and class order of a config's prepared data (``dataset``, ``data``, ``protocol``)."""
    if not cfg.data:
        raise DataError("config field 'data' is empty: set it to a prepared dataset root (data_prep.prepare --out)")
    root = Path(cfg.data)
    index = load_index(root)
    _check_dataset(root, cfg.dataset)
    return make_clips(index, cfg.protocol)


def build_datasets(cfg) -> Splits:
    """Train / val / test :class:`ClipDataset` of a config (``dataset``, ``data``, ``protocol``,
    ``folds``, ``fold``, ``val_fraction``, ``n``, ``image_size``, ``seed``, ``input_norm``); the
    still-image sets have theirs in :mod:`fsa.still_data`."""
    root = Path(cfg.data)
    clips, classes = dataset_clips(cfg)
    train, val, test = split_clips(clips, cfg.protocol, cfg.folds, cfg.fold, cfg.val_fraction, cfg.seed)

    def make(ids: np.ndarray, is_train: bool) -> ClipDataset:
        return ClipDataset(root, [clips[i] for i in ids], classes, cfg.n, cfg.image_size, is_train, cfg.seed,
                           cfg.input_norm)

    return Splits(make(train, True), make(val, False), make(test, False), classes)
