"""AFEW 7.0 raw-layout indexer.

Layout::

    RAW/Train/<Emotion>/<id>.avi     773 clips in the real dataset
    RAW/Val/<Emotion>/<id>.avi       383 clips; results are reported on Val

``<Emotion>`` is one of Angry, Disgust, Fear, Happy, Neutral, Sad, Surprise (matched
case-insensitively) and maps to the canonical names anger, disgust, fear, happy, neutral,
sadness, surprise. ``video_id`` is ``train_<stem>`` / ``val_<stem>``. Real AFEW has no
subject ids, so ``subject`` is the video id, unless a synthetic ``synth_meta.csv`` sidecar
at the root gives the true subject (the synthetic set reuses faces across clips, and folds
must keep them apart).
"""
from __future__ import annotations

import csv
from pathlib import Path

from .labels import AFEW_CLASS_FOLDERS
from .video import VIDEO_SUFFIXES, DataError, RawVideo, require_root

SPLITS = {"Train": "train", "Val": "val"}
META = "synth_meta.csv"


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


def index(raw: str | Path) -> tuple[list[RawVideo], list[dict]]:
    """Walk an AFEW root; returns ``(records, skipped)``.

    Files that are not videos are skipped and listed; a folder that is not a class name, a
    root without ``Train/`` or ``Val/``, an empty root or two clips with the same id raise
    :class:`DataError` naming the path.
    """
    raw = require_root(raw, "AFEW", "Train/<Emotion>/*.avi and Val/<Emotion>/*.avi")
    present = [name for name in SPLITS if (raw / name).is_dir()]
    if not present:
        raise DataError(f"{raw}: not an AFEW root: no Train/ or Val/ folder")
    subjects = read_subjects(raw)
    by_lower = {k.lower(): v for k, v in AFEW_CLASS_FOLDERS.items()}
    records: list[RawVideo] = []
    skipped: list[dict] = []
    where: dict[str, str] = {}
    for split_name in present:
        split = SPLITS[split_name]
        for folder in sorted((raw / split_name).iterdir()):
            rel = f"{split_name}/{folder.name}"
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
                records.append(RawVideo(video_id, subjects.get(video_id, video_id), label, split, source, f))
    if not records:
        raise DataError(f"{raw}: no AFEW clips found under {', '.join(present)}/<Emotion>/")
    return records, skipped
