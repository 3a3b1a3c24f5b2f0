"""Raw still-image sets in their distributed formats → labelled images, and their dlib alignment.

The still-image stage (``fsa pretrain``, :mod:`fsa.stills`) reads three formats:

``fer2013``
    ``fer2013.csv`` (``--data`` is the file or a folder holding it) with the header
    ``emotion,pixels,Usage``: ``emotion`` a code of :data:`~data_prep.labels.FER2013_EMOTIONS` (0 Angry …
    6 Neutral), ``pixels`` 2304 space-separated grey values (48x48, row-major), ``Usage``
    Training / PublicTest / PrivateTest → train / val / test. Images are already face crops.
``sfew``
    SFEW 2.0: ``Train/<Emotion>/*.png|jpg`` and ``Val/<Emotion>/*``, ``<Emotion>`` one of
    AFEW's folder names (:data:`data_prep.labels.AFEW_CLASS_FOLDERS`: Angry Disgust Fear Happy
    Neutral Sad Surprise). Train → train, Val → val. Frames are whole movie frames
    (``--align`` crops the faces). SFEW's Test has no labels and is not read.
``folder``
    ``<class>/*.png|jpg``, ``<class>`` one of :data:`data_prep.labels.CLASSES_7` or an AFEW / FER
    name (case-insensitive), optionally under ``train/``, ``val/`` and ``test/`` top folders
    (``train/`` required, the others optional).

Class names: FER2013's codes name AFEW's folders, and AFEW's folders map to the paper's classes,
by the tables of :mod:`data_prep.labels`.

Which split is the test split (the rule is the same for every format): a format's own labelled
test split when it has one (FER2013 PrivateTest, a folder's ``test/``); otherwise — SFEW, whose
Test has no labels, and a folder layout without ``test/`` — the **validation split, scored once
with the selected weights**. That figure is the one the SFEW literature reports (SFEW Val), and
it is optimistic by the model selection made on the same images; the run record names it so
(``test_split``). A layout without a validation split (a folder layout without ``val/``) has one
carved from its training images by :func:`fsa.data.carve_validation` (stratified,
``val_fraction``, seeded); every image is its own group, these sets having no subject ids.

Bad input never stops a read: a CSV row with a wrong column count, a wrong pixel count,
non-numeric or out-of-range pixels, an unknown emotion code or usage, an image file in an
unknown class folder, a file that is not an image, an empty or undecodable image file — each is
a counted skip (:attr:`StillSet.skipped`, reported in the run record and printed). A layout that
is wrong (no file, no header, no ``Train/`` folder, no class folder) or leaves no usable image
raises :class:`~data_prep.video.DataError` naming the path.

Alignment (:func:`align_stills`): each image goes once through
:class:`data_prep.faces.FacePipeline` (dlib detection, 68-landmark alignment, face box +25 %,
resize), the crop written as PNG to the same relative path under an output folder (temporary file,
then rename), so the aligned folder is a set of the same format, read back by the same reader. The
folder's ``align_report.json`` holds the settings, the source digest of every crop, every skip (an
image without a face is a counted skip) and the wild conditions a generated source was made under
(:func:`set_conditions`). A rerun reuses the crops of unchanged source images and removes those
whose source is gone; a folder of other settings, or one with other files in it, is refused.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np
from tqdm import tqdm

from .atomic import write_bytes, write_json
from .faces import FacePipeline, NoFaceError
from .labels import AFEW_CLASS_FOLDERS, CLASSES_7, FER2013_EMOTIONS
from .sidecars import generator_conditions
from .video import IMAGE_SUFFIXES, DataError, read_image

FER2013_USAGE = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
FER2013_COLUMNS = ("emotion", "pixels", "Usage")
FER2013_FILE = "fer2013.csv"
FER2013_SIDE = 48
SFEW_SPLITS = {"Train": "train", "Val": "val"}
FOLDER_SPLITS = ("train", "val", "test")
FORMATS = ("fer2013", "sfew", "folder")
ALIGN_REPORT = "align_report.json"
#: Skips listed by name in a report; the rest are only counted.
MAX_LISTED = 50

#: Folder or FER name (lower case) → the paper's class, from the one AFEW table and CLASSES_7.
_CLASS_NAMES = {**{c: c for c in CLASSES_7}, **{k.lower(): v for k, v in AFEW_CLASS_FOLDERS.items()}}


def class_of(name: str) -> str | None:
    """The paper's class (:data:`data_prep.labels.CLASSES_7`) of a folder or FER name, or ``None``."""
    return _CLASS_NAMES.get(name.lower())


@dataclass(frozen=True)
class Still:
    """One labelled still image.

    ``still_id``: unique in its set (``row<k>`` of the CSV, or the image's path relative to the
    root, ``/``-separated). ``subject``: the group kept on one side of a carved split (the image
    itself: these sets have no subject ids). ``split``: ``train``, ``val``, ``test`` or ``""``
    (a folder layout without split folders). ``path``: the image file, ``None`` for a CSV row.
    ``digest``: sha256 of the pixels (CSV) or of the file's bytes.
    """

    still_id: str
    label: str
    split: str
    digest: str
    path: Path | None = None

    @property
    def subject(self) -> str:
        return self.still_id


@dataclass
class StillSet:
    """The usable images of a set, their pixels when they come from a CSV, and the skips."""

    format: str
    root: Path  # the CSV file, or the root folder
    items: list[Still]
    pixels: np.ndarray | None = None  # FER2013: [len(items), 48, 48] uint8, row-aligned with items
    skipped: list[dict] = field(default_factory=list)  # {"source", "reason", "detail"}
    conditions: str | None = None  # a generated set's wild conditions (set_conditions); None: real data, classic

    def skip_counts(self) -> dict[str, int]:
        """Skipped inputs per reason, in first-seen order."""
        return dict(Counter(s["reason"] for s in self.skipped))

    def skip_report(self) -> dict:
        """``{"total", "counts", "listed"}`` (the first :data:`MAX_LISTED` skips) for a run record."""
        return {"total": len(self.skipped), "counts": self.skip_counts(), "listed": self.skipped[:MAX_LISTED]}

    def data_hash(self) -> str:
        """Short sha256 identifying the data (the identity rule, :mod:`fsa.identity`): the format and
        every image's id, split and label — not its pixels, which :meth:`pixel_hash` digests.

        File names of a CSV, its formatting and skipped inputs do not enter it; two sets with the same
        images ids, labels and splits have the same hash, whatever arithmetic made their pixels. A
        generated set made under wild conditions (:func:`set_conditions`) adds their name: FER2013's
        rows have no ids, so the same plan made under other conditions would otherwise be the
        same data to the store, as its pixels are not.
        """
        fmt = self.format if self.conditions is None else f"{self.format} {self.conditions}"
        return _digest(fmt, (f"{s.split},{s.label},{s.still_id}" for s in self.items))

    def pixel_hash(self) -> str:
        """Short sha256 of the pixels: every image's split, label and content digest (the pixels of a
        CSV row, the bytes of an image file). Recorded beside the runs, never part of their key."""
        return _digest(self.format, (f"{s.split},{s.label},{s.digest}" for s in self.items))


def _digest(fmt: str, lines: Iterable[str]) -> str:
    return hashlib.sha256("\n".join([fmt, *sorted(lines)]).encode()).hexdigest()[:12]


def _skip(skipped: list[dict], source: str, reason: str, detail: str = "") -> None:
    skipped.append({"source": source, "reason": reason, "detail": detail})


# -- FER2013 ------------------------------------------------------------------------------
def fer2013_file(data: str | os.PathLike) -> Path:
    """The CSV of ``--data`` (the file itself or a folder holding ``fer2013.csv``)."""
    path = Path(data)
    if path.is_dir():
        path = path / FER2013_FILE
    if not path.is_file():
        raise DataError(f"{path}: FER2013 CSV not found (expected {FER2013_FILE} with columns "
                        f"{','.join(FER2013_COLUMNS)})")
    return path


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(line number, row)`` of a CSV file; :class:`DataError` naming it when it is not a text CSV."""
    try:
        with open(path, newline="") as f:
            reader = csv.reader(f)
            for row in reader:
                yield reader.line_num, row
    except (csv.Error, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not a readable CSV file ({type(e).__name__}: {e})") from None


def _fer2013_header(path: Path, rows: Iterator[tuple[int, list[str]]]) -> dict[str, int]:
    """Column positions of the header row (the first row of ``rows``)."""
    header = next(rows, (0, None))[1]
    columns = {name.strip().lower(): i for i, name in enumerate(header or [])}
    missing = [c for c in FER2013_COLUMNS if c.lower() not in columns]
    if missing:
        raise DataError(f"{path}: not a FER2013 CSV: the header row {','.join(header or [])[:60]!r} lacks "
                        f"{', '.join(missing)} (expected {','.join(FER2013_COLUMNS)})")
    return {c: columns[c.lower()] for c in FER2013_COLUMNS}


def _fer2013_pixels(text: str) -> tuple[np.ndarray | None, str, str]:
    """``(48x48 uint8, "", "")`` or ``(None, reason, detail)`` for one ``pixels`` field."""
    values = text.split()
    if len(values) != FER2013_SIDE**2:
        return None, "wrong pixel count", f"{len(values)} values, expected {FER2013_SIDE**2}"
    try:
        arr = np.array(values, dtype=np.int64)
    except ValueError:
        bad = next((v for v in values if not v.isdigit()), values[0])
        return None, "non-numeric pixels", f"value {bad[:20]!r}"
    if arr.min() < 0 or arr.max() > 255:
        return None, "pixel value out of range", f"values {arr.min()}..{arr.max()}, expected 0..255"
    return arr.astype(np.uint8).reshape(FER2013_SIDE, FER2013_SIDE), "", ""


def read_fer2013(data: str | os.PathLike, progress: bool = False) -> StillSet:
    """The usable rows of a FER2013 CSV (see the module docstring)."""
    path = fer2013_file(data)
    items, pixels, skipped = [], [], []
    rows = _csv_rows(path)
    col = _fer2013_header(path, rows)
    for line, row in tqdm(rows, desc="read fer2013", unit="row", disable=not progress):
        source = f"{path.name}:{line}"
        if len(row) != len(col):
            _skip(skipped, source, "malformed row", f"{len(row)} columns, expected {len(col)}")
            continue
        code = row[col["emotion"]].strip()
        if not (code.isdigit() and int(code) < len(FER2013_EMOTIONS)):
            _skip(skipped, source, "unknown emotion code", f"{code[:20]!r}, expected 0..{len(FER2013_EMOTIONS) - 1}")
            continue
        usage = row[col["Usage"]].strip()
        if usage not in FER2013_USAGE:
            _skip(skipped, source, "unknown usage", f"{usage[:20]!r}, expected {', '.join(FER2013_USAGE)}")
            continue
        img, reason, detail = _fer2013_pixels(row[col["pixels"]])
        if img is None:
            _skip(skipped, source, reason, detail)
            continue
        label = class_of(FER2013_EMOTIONS[int(code)])
        items.append(Still(f"row{line}", label, FER2013_USAGE[usage], hashlib.sha256(img.tobytes()).hexdigest()))
        pixels.append(img)
    out = StillSet("fer2013", path, items, np.stack(pixels) if pixels else None, skipped, set_conditions(path.parent))
    return _require_usable(out)


# -- image trees --------------------------------------------------------------------------
def _read_image_file(path: Path) -> tuple[str | None, str, str]:
    """``(digest, "", "")`` for a decodable image file, else ``(None, reason, detail)``."""
    data = path.read_bytes()
    if not data:
        return None, "empty image file", "0 bytes"
    if cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is None:
        return None, "unreadable image", "not a decodable image"
    return hashlib.sha256(data).hexdigest(), "", ""


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _read_class_folders(root: Path, base: Path, split: str, items: list[Still], skipped: list[dict],
                        bar: tqdm) -> None:
    """Images of ``base/<class>/*`` (ids relative to ``root``) into ``items`` / ``skipped``."""
    for folder in _visible(base):
        rel = folder.relative_to(root).as_posix()
        if not folder.is_dir():
            _skip(skipped, rel, "file outside a class folder")
            continue
        label = class_of(folder.name)
        for f in _visible(folder):
            source = f"{rel}/{f.name}"
            bar.update()
            if label is None:
                _skip(skipped, source, "unknown class folder",
                      f"{folder.name!r} is not one of {', '.join(CLASSES_7)} or {', '.join(AFEW_CLASS_FOLDERS)}")
            elif not f.is_file() or f.suffix.lower() not in IMAGE_SUFFIXES:
                _skip(skipped, source, "not an image file", f"expected {', '.join(IMAGE_SUFFIXES)}")
            else:
                digest, reason, detail = _read_image_file(f)
                if digest is None:
                    _skip(skipped, source, reason, detail)
                else:
                    items.append(Still(source, label, split, digest, f))


def _root(data: str | os.PathLike, what: str, expected: str) -> Path:
    root = Path(data)
    if not root.is_dir():
        raise DataError(f"{root}: {what} root not found (expected {expected})")
    return root


def _subfolders(root: Path) -> dict[str, Path]:
    """Visible sub-folders of ``root`` by lower-case name."""
    return {p.name.lower(): p for p in _visible(root) if p.is_dir()}


def sfew_splits(data: str | os.PathLike) -> dict[str, Path]:
    """``{"train": root/Train, "val": root/Val}`` of an SFEW root, else :class:`DataError`."""
    root = _root(data, "SFEW", "Train/<Emotion>/*.png and Val/<Emotion>/*.png")
    folders = _subfolders(root)
    for name in SFEW_SPLITS:
        if name.lower() not in folders:
            raise DataError(f"{root}: not an SFEW root: no {name}/ folder (expected Train/<Emotion>/*.png "
                            f"and Val/<Emotion>/*.png)")
    return {split: folders[name.lower()] for name, split in SFEW_SPLITS.items()}


def folder_splits(data: str | os.PathLike) -> dict[str, Path]:
    """``{split: folder}`` of a class-folder layout (``{"": root}`` without split folders)."""
    root = _root(data, "image folder", "<class>/*.png, optionally under train/ val/ test/")
    folders = _subfolders(root)
    splits = {name: p for name, p in folders.items() if name in FOLDER_SPLITS}
    classes = sorted(p.name for name, p in folders.items() if class_of(name))
    if splits and classes:
        raise DataError(f"{root}: both split folders ({', '.join(sorted(splits))}) and class folders "
                        f"({', '.join(classes)}) at the top; put the class folders under train/ val/ test/")
    if splits:
        if "train" not in splits:
            raise DataError(f"{root}: split folders {', '.join(sorted(splits))} but no train/ folder")
        return {split: splits[split] for split in FOLDER_SPLITS if split in splits}
    if not classes:
        raise DataError(f"{root}: no class folder (expected <class>/*.png with <class> one of "
                        f"{', '.join(CLASSES_7)} or {', '.join(AFEW_CLASS_FOLDERS)}, "
                        "optionally under train/ val/ test/)")
    return {"": root}


def read_tree(fmt: str, data: str | os.PathLike, progress: bool = False) -> StillSet:
    """The usable images of an SFEW root (``fmt="sfew"``) or a class-folder layout (``"folder"``)."""
    splits = sfew_splits(data) if fmt == "sfew" else folder_splits(data)
    root = Path(data)
    items: list[Still] = []
    skipped: list[dict] = []
    with tqdm(desc=f"read {fmt}", unit="image", disable=not progress) as bar:
        for split, base in splits.items():
            _read_class_folders(root, base, split, items, skipped, bar)
    return _require_usable(StillSet(fmt, root, items, None, skipped, set_conditions(root)))


def set_conditions(folder: Path) -> str | None:
    """The wild conditions a generated set in ``folder`` was made under, as its ``README.txt``
    names them (:func:`data_prep.sidecars.generator_conditions`), or as the report of an aligned
    folder carries them from its source; ``None`` for real data and ``classic`` sets."""
    report = aligned_report(folder)
    return report.get("conditions") if report is not None else generator_conditions(folder)


def _require_usable(stills: StillSet) -> StillSet:
    if not stills.items:
        counts = ", ".join(f"{k} {v}" for k, v in stills.skip_counts().items()) or "none found"
        raise DataError(f"{stills.root}: no usable {stills.format} image (skipped: {counts})")
    return stills


def check_layout(fmt: str, data: str | os.PathLike) -> None:
    """Raise :class:`DataError` for a path that is not a ``fmt`` set, reading no image."""
    if fmt == "fer2013":
        path = fer2013_file(data)
        with closing(_csv_rows(path)) as rows:
            _fer2013_header(path, rows)
    elif fmt == "sfew":
        sfew_splits(data)
    elif fmt == "folder":
        folder_splits(data)
    else:
        raise DataError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")


def read_stills(fmt: str, data: str | os.PathLike, progress: bool = False) -> StillSet:
    """The usable images of a set of format ``fmt`` (``fer2013``, ``sfew`` or ``folder``) at ``data``."""
    check_layout(fmt, data)
    return read_fer2013(data, progress) if fmt == "fer2013" else read_tree(fmt, data, progress)


# -- alignment ----------------------------------------------------------------------------
def aligned_report(root: str | os.PathLike) -> dict | None:
    """``align_report.json`` of an aligned folder, or ``None`` for a folder that is not one."""
    path = Path(root) / ALIGN_REPORT
    return json.loads(path.read_text()) if path.is_file() else None


def align_stills(stills: StillSet, out: str | os.PathLike, size: int = 224, margin: float = 0.25,
                 progress: bool = False) -> StillSet:
    """Face crops of every image of an SFEW / folder set, written under ``out`` (see the module docstring).

    Returns the aligned set (its items point to the crops); its skips are the source's plus
    the images without a face. ``out/align_report.json`` records the settings, the source
    digest of every crop (a crop is reused only for the same source image) and every skip.
    """
    if stills.format == "fer2013":
        raise DataError(f"{stills.root}: FER2013 images are already 48x48 face crops; alignment is for "
                        "whole frames (sfew, folder)")
    out = Path(out)
    if out.resolve() == stills.root.resolve() or stills.root.resolve() in out.resolve().parents:
        raise DataError(f"{out}: the aligned folder must be outside the source set {stills.root}")
    settings = {"format": stills.format, "size": size, "margin": margin}
    before = _claim(out, settings)
    pipeline = FacePipeline(size=size, margin=margin)
    items, sources, no_face = [], {}, []
    for s in tqdm(stills.items, desc="align", unit="image", disable=not progress):
        target = out / s.still_id
        if not (target.is_file() and before.get(s.still_id) == s.digest):
            try:
                crop = pipeline.process([read_image(s.path)], source=s.still_id).crops[0]
            except NoFaceError as e:
                _skip(no_face, s.still_id, "no face found", str(e))
                continue
            ok, png = cv2.imencode(".png", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
            if not ok:
                raise OSError(f"{target}: could not encode the PNG")
            write_bytes(target, png.tobytes())
        sources[s.still_id] = s.digest
        items.append(replace(s, path=target, digest=hashlib.sha256(target.read_bytes()).hexdigest()))
    kept = {s.path for s in items}
    for p in out.rglob("*"):
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and p not in kept:
            p.unlink()  # the crop of a source image that is gone, or that has no face any more
    aligned = StillSet(stills.format, out, items, None, stills.skipped + no_face, stills.conditions)
    write_json(out / ALIGN_REPORT, {
        **settings, "source": str(stills.root), "conditions": stills.conditions, "complete": True,
        "images": {"source": len(stills.items), "aligned": len(items)},
        "skipped": aligned.skipped, "sources": sources,
    })
    return _require_usable(aligned)


def _claim(out: Path, settings: dict) -> dict[str, str]:
    """Make ``out`` an aligned folder of ``settings``; the source digests of its reusable crops.

    A folder that holds other files (no report) or crops of other settings is refused, so
    that pruning never deletes files that alignment did not write. The report is written
    first, marked incomplete, so that a killed run's folder is recognised by the next one.
    """
    report = aligned_report(out)
    if report is None and out.is_dir() and any(out.iterdir()):
        raise DataError(f"{out}: not empty and not an aligned folder (no {ALIGN_REPORT}); "
                        "choose a new or empty folder for the aligned crops")
    if report is not None and {k: report.get(k) for k in settings} != settings:
        before = {k: report.get(k) for k in settings}
        raise DataError(f"{out}: already aligned with {before}, now asked for {settings}; "
                        "use another output folder or delete it")
    sources = {} if report is None else report["sources"]
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / ALIGN_REPORT, {**settings, "source": None, "complete": False, "images": {}, "skipped": [],
                                    "sources": sources})
    return sources
