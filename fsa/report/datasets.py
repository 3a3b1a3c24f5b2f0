"""The datasets the notebooks read: the embedded synthetic one, generated and prepared on first
use, and what a prepared dataset holds (its kind, its classes per split, a few of its faces).

The embedded raw videos are written in the real CK+ / AFEW on-disk formats and go through the
same dlib preparation as the real datasets (:mod:`data_prep`), so a notebook runs unchanged on a
real preparation (``data=``) or on the embedded one.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import pandas as pd

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
    through the same dlib preparation as the real datasets. A killed preparation resumes.
    """
    from data_prep import prepare, synth

    size = size or os.environ.get(DATA_SIZE_ENV) or "default"
    if layout not in synth.LAYOUTS:
        raise ConfigError(f"layout={layout!r}: expected one of {', '.join(synth.LAYOUTS)}")
    if size not in synth.SIZE_NAMES:
        raise ConfigError(f"embedded dataset size={size!r}: expected one of {', '.join(synth.SIZE_NAMES)}")
    base = embedded_root() / f"{layout}-{size}"
    raw, prepared = base / "raw", base / "prepared"
    if not (raw / "synth_meta.csv").is_file():
        synth.generate(layout, raw, size=size, seed=0, workers=jobs)
    if layout not in synth.VIDEO_LAYOUTS:
        return raw
    if not (prepared / "index.csv").is_file():
        prepare.prepare(layout, raw, prepared, jobs=jobs, progress=False)
    return prepared


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
