"""AFEW 7.0 raw-layout indexer.

Layout::

    RAW/Train/<Emotion>/<id>.avi     773 clips in the real dataset
    RAW/Val/<Emotion>/<id>.avi       383 clips; results are reported on Val

``Train_AFEW/`` and ``Val_AFEW/``, the folders as EmotiW distributes them, are read as ``Train/``
and ``Val/``. A root without one of the two splits is an error unless ``allow_missing_split``.

``<Emotion>`` is one of Angry, Disgust, Fear, Happy, Neutral, Sad, Surprise (matched
case-insensitively) and maps to the canonical names anger, disgust, fear, happy, neutral,
sadness, surprise. ``video_id`` is ``train_<stem>`` / ``val_<stem>``. Real AFEW has no
subject ids, so ``subject`` is the video id, unless a synthetic ``synth_meta.csv`` sidecar
at the root gives the true subject (the synthetic set reuses faces across clips, and folds
must keep them apart). :data:`PUBLISHED` holds the clip counts of AFEW 7.0, which
``data_prep.prepare`` compares the counts of a copy with (:func:`index` returns them).
"""
from __future__ import annotations

import csv
from pathlib import Path

from .labels import AFEW_CLASS_FOLDERS, CLASSES_7
from .video import VIDEO_SUFFIXES, DataError, RawVideo, one_folder, require_root

#: Each split's id and its folder's spellings: the documented one first, then EmotiW's.
SPLITS = {"train": ("Train", "Train_AFEW"), "val": ("Val", "Val_AFEW")}
META = "synth_meta.csv"

#: AFEW 7.0 as EmotiW 2017 published it (Dhall et al. 2017, "From individual to group-level emotion
#: recognition: EmotiW 5.0"; also the paper's section 2.1): clips per split, under the names of
#: :func:`index`'s counts. Per-class counts are counted and shown, not compared: no source here gives them.
PUBLISHED = {"Train clips": 773, "Val clips": 383}
PUBLISHED_SOURCE = "AFEW 7.0, EmotiW 2017"


def read_subjects(raw: Path) -> dict[str, str]:
    """``{video_id: subject}`` from the synthetic sidecar, or ``{}`` when it is absent."""
    path = raw / META
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"video_id", "subject"} <= set(reader.fieldnames):
            raise DataError(f"{path}: expected columns video_id, subject (got {reader.fieldnames})")
        return {row["video_id"]: row["subject"] for row in reader}


def split_folders(raw: Path) -> dict[str, Path]:
    """``{split: folder}`` of the splits that ``raw`` holds, under either spelling of :data:`SPLITS`."""
    found = {split: one_folder(raw, names) for split, names in SPLITS.items()}
    return {split: folder for split, folder in found.items() if folder is not None}


def missing_splits(raw: Path) -> list[str]:
    """The folders (``Train``, ``Val``) of the splits that ``raw`` lacks under every spelling."""
    present = split_folders(raw)
    return [names[0] for split, names in SPLITS.items() if split not in present]


def index(raw: str | Path, allow_missing_split: bool = False) -> tuple[list[RawVideo], list[dict], dict[str, int]]:
    """Walk an AFEW root; returns ``(records, skipped, counts)``.

    Files that are not videos are skipped and listed. ``counts`` are the clips per split and per
    split and class (``"Train clips"``, ``"Train anger clips"`` ...; the keys of :data:`PUBLISHED`
    among them). A folder that is not a class name, a root without ``Train/`` or ``Val/`` (both
    unless ``allow_missing_split``), an empty root or two clips with the same id raise
    :class:`DataError` naming the path.
    """
    raw = require_root(raw, "AFEW", "Train/<Emotion>/*.avi and Val/<Emotion>/*.avi")
    present = split_folders(raw)
    if not present:
        raise DataError(f"{raw}: not an AFEW root: no Train/ or Val/ folder (nor EmotiW's Train_AFEW/ or Val_AFEW/)")
    missing = missing_splits(raw)
    if missing and not allow_missing_split:
        alone = next(iter(present.values())).name
        raise DataError(f"{raw / missing[0]}: missing; an AFEW root holds Train/ and Val/ "
                        f"(with --allow-missing-split, {alone}/ is prepared alone)")
    subjects = read_subjects(raw)
    by_lower = {k.lower(): v for k, v in AFEW_CLASS_FOLDERS.items()}
    records: list[RawVideo] = []
    skipped: list[dict] = []
    where: dict[str, str] = {}
    counts = {f"{names[0]} clips": 0 for names in SPLITS.values()}
    counts |= {f"{names[0]} {label} clips": 0 for names in SPLITS.values() for label in CLASSES_7}
    for split, split_dir in present.items():
        split_name = SPLITS[split][0]
        for folder in sorted(split_dir.iterdir()):
            rel = f"{split_dir.name}/{folder.name}"
            if folder.name.startswith("."):
                continue
            if not folder.is_dir():
                skipped.append({"path": rel, "reason": "file outside a class folder"})
                continue
            label = by_lower.get(folder.name.lower())
            if label is None:
                raise DataError(
                    f"{folder}: not an AFEW class folder (expected one of {', '.join(AFEW_CLASS_FOLDERS)})"
                )
            for f in sorted(folder.iterdir()):
                if f.name.startswith("."):
                    continue
                source = f"{rel}/{f.name}"
                if not f.is_file() or f.suffix.lower() not in VIDEO_SUFFIXES:
                    skipped.append({"path": source, "reason": "not a video file"})
                    continue
                video_id = f"{split}_{f.stem}"
                if video_id in where:
                    raise DataError(f"{raw / source}: duplicate clip id {video_id!r} (also {where[video_id]})")
                where[video_id] = source
                counts[f"{split_name} clips"] += 1
                counts[f"{split_name} {label} clips"] += 1
                records.append(RawVideo(video_id, subjects.get(video_id, video_id), label, split, source, f))
    if not records:
        raise DataError(f"{raw}: no AFEW clips found under {', '.join(p.name for p in present.values())}/<Emotion>/")
    return records, skipped, counts
