"""CK+ raw-layout indexer.

Layout (as distributed)::

    RAW/cohn-kanade-images/S005/001/S005_001_00000001.png ...   grayscale frames, neutral -> apex
    RAW/Emotion/S005/001/S005_001_00000011_emotion.txt            "   3.0000000e+00" (labelled only)

``video_id`` is ``S005_001``, ``subject`` is ``S005``, ``source`` is the sequence folder
relative to RAW. Emotion codes: 0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear,
5 happy, 6 sadness, 7 surprise. Of the 593 sequences only 327 have a label file; by default
only those are indexed (the unlabelled ones cannot be used by either protocol, and skipping
them halves the preparation cost); ``labelled_only=False`` indexes every sequence.

The labels are also accepted where CK+'s ``Emotion_labels.zip`` unpacks them,
``RAW/Emotion_labels/Emotion/S005/...``. :data:`PUBLISHED` holds the counts of the real CK+,
which ``data_prep.prepare`` compares the counts of a copy with (:func:`index` returns them).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from .labels import CK_EMOTIONS, CLASSES_CK7
from .video import DataError, RawVideo, one_folder, require_root

IMAGES = "cohn-kanade-images"
EMOTION = "Emotion"
#: Where the label tree may sit under the root: as documented, or as ``Emotion_labels.zip`` unpacks.
EMOTION_FOLDERS = (EMOTION, "Emotion_labels/Emotion")

#: The real CK+ as published by Lucey et al. 2010 ("The Extended Cohn-Kanade Dataset (CK+)", CVPR
#: workshops): its sequences and subjects and its label counts, under the names of :func:`index`'s counts.
PUBLISHED = {
    "sequences": 593, "labelled sequences": 327, "subjects": 123, "subjects with a labelled sequence": 118,
    "anger sequences": 45, "contempt sequences": 18, "disgust sequences": 59, "fear sequences": 25,
    "happy sequences": 69, "sadness sequences": 28, "surprise sequences": 83,
}
PUBLISHED_SOURCE = "Lucey et al. 2010"


def read_label(path: str | Path) -> str:
    """Canonical label name of one ``*_emotion.txt`` file; :class:`DataError` if malformed."""
    path = Path(path)
    text = path.read_text(errors="replace").strip()
    if not text:
        raise DataError(f"{path}: empty CK+ label file")
    try:
        value = float(text.split()[0])
    except ValueError:
        raise DataError(f"{path}: CK+ label is not a number: {text!r}") from None
    if not value.is_integer() or int(value) not in CK_EMOTIONS:
        codes = ", ".join(f"{k} {v}" for k, v in CK_EMOTIONS.items())
        raise DataError(f"{path}: unknown CK+ emotion code {text!r} (expected one of: {codes})")
    return CK_EMOTIONS[int(value)]


def _dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _layout(raw: str | Path) -> tuple[Path, Path, Path]:
    """The root, its image folder and its label folder (``Emotion/`` or ``Emotion_labels/Emotion/``);
    a :class:`DataError` naming what is missing."""
    raw = require_root(raw, "CK+", f"{IMAGES}/ and {EMOTION}/")
    images = raw / IMAGES
    if not images.is_dir():
        raise DataError(f"{images}: missing; {raw} is not a CK+ root (expected {IMAGES}/S005/001/*.png)")
    emotion = one_folder(raw, EMOTION_FOLDERS)
    if emotion is None:
        raise DataError(
            f"{raw / EMOTION}: missing Emotion/ folder; CK+ labels are read from "
            f"{EMOTION}/S005/001/S005_001_<frame>_emotion.txt (or {EMOTION_FOLDERS[1]}/S005/001/...)"
        )
    return raw, images, emotion


def _labels_without_images(raw: Path, emotion: Path, seen: set[tuple[str, str]]) -> list[dict]:
    """The skips of label folders whose sequence has no images (``seen``: the (subject, sequence) pairs)."""
    rel = emotion.relative_to(raw).as_posix()
    return [{"path": f"{rel}/{subject.name}/{seq.name}", "reason": "label file without an image sequence"}
            for subject in _dirs(emotion) for seq in _dirs(subject)
            if (subject.name, seq.name) not in seen and any(seq.glob("*_emotion.txt"))]


def index(raw: str | Path, labelled_only: bool = True) -> tuple[list[RawVideo], list[dict], dict[str, int]]:
    """Walk a CK+ root; returns ``(records, skipped, counts)``.

    ``skipped`` lists ``{"path", "reason"}`` for things left out: unlabelled sequences when
    ``labelled_only``, label files without an image sequence, and sequences whose label file is
    unusable (empty, not a number, an unknown code, two files), the reason naming the file.
    ``counts`` are those of the copy whatever ``labelled_only`` (the keys of :data:`PUBLISHED`):
    sequences, labelled sequences, subjects, subjects with a labelled sequence, and labelled
    sequences per class. A layout that is not CK+ (no ``cohn-kanade-images/``, no ``Emotion/``,
    nothing at all) raises :class:`DataError` naming the path.
    """
    raw, images, emotion = _layout(raw)
    records: list[RawVideo] = []
    skipped: list[dict] = []
    seen: set[tuple[str, str]] = set()
    per_class: Counter = Counter(dict.fromkeys(CLASSES_CK7, 0))
    labelled_subjects: set[str] = set()
    for subject in _dirs(images):
        for seq in _dirs(subject):
            seen.add((subject.name, seq.name))
            labels = sorted((emotion / subject.name / seq.name).glob("*_emotion.txt"))
            source = f"{IMAGES}/{subject.name}/{seq.name}"
            try:
                if len(labels) > 1:
                    raise DataError(f"{emotion / subject.name / seq.name}: {len(labels)} label files, "
                                    "expected at most one")
                label = read_label(labels[0]) if labels else ""
            except DataError as e:  # one sequence's bad label file leaves the others to prepare
                skipped.append({"path": source, "reason": f"unusable label: {e}"})
                continue
            if label:
                per_class[label] += 1
                labelled_subjects.add(subject.name)
            if labelled_only and not label:
                skipped.append({"path": source, "reason": "unlabelled sequence (prepare with --all to include)"})
                continue
            records.append(RawVideo(f"{subject.name}_{seq.name}", subject.name, label, "", source, seq))
    skipped += _labels_without_images(raw, emotion, seen)
    if not records:
        what = "labelled sequences" if labelled_only else "sequences"
        raise DataError(f"{images}: no CK+ {what} found (expected {IMAGES}/S005/001/*.png)")
    counts = {
        "sequences": len(seen),
        "labelled sequences": sum(per_class.values()),
        "subjects": len({subject for subject, _ in seen}),
        "subjects with a labelled sequence": len(labelled_subjects),
        **{f"{label} sequences": n for label, n in per_class.items()},
    }
    return records, skipped, counts
