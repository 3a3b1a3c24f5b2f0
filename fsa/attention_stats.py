"""Where FSA's attention goes, class by class: the tables behind the attention page's figures.

Two views of the frame importance that every FSA run records per test clip (``per_clip[*].attention``,
the column mean of the attention matrix A, summing to 1 over the clip's n sampled frames):

* :func:`spearman_by_class` summarises, per expression class, the per-clip Spearman ρ between
  attention and the true intensity of the sampled frames that
  :func:`fsa.report.attention_vs_intensity` computes (synthetic data only: they carry the
  intensity sidecar).
* :func:`attention_profile` lays every clip's weights out by sampled position — position j is
  the clip's j-th segment (:func:`fsa.data.sample_indices`), so on CK+, whose sequences run
  from the neutral face to the apex, position 1 is nearest the neutral face and position n the
  apex — and :func:`profile_summary` gives their mean per class and position with a 95 %
  t-interval over the clips. The profile needs no ground truth and reads real data too; where
  the data carry the intensity sidecar, the mean true intensity per position is given beside it.

Uniform attention is 1/n at every position: a profile above it at the last positions means FSA
weights the apex frames more.
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import pandas as pd

from data_prep.video import DataError

from .config import ConfigError
from .metrics import t_interval


def class_order(labels: Sequence[str]) -> list[str]:
    """The classes present in ``labels`` in the tables' order: alphabetical, which is the paper's
    (An Di Fe Ha Ne Sa Su, Tables 5 and 10) and CK+'s own seven's (:data:`fsa.config.CLASSES_CK7`)."""
    return sorted(set(labels))


def spearman_by_class(clips: pd.DataFrame) -> pd.DataFrame:
    """Per class (and ``all`` clips), the distribution of the per-clip Spearman ρ of a
    :func:`fsa.report.attention_vs_intensity` table: clips, mean, quartiles, the share of clips
    with ρ > 0, and how often the most attended frame is the most intense against chance."""
    if clips.empty:
        raise ConfigError("no clip with varying intensity to summarise (attention_vs_intensity returned none)")

    def summary(label: str, g: pd.DataFrame) -> dict:
        rho = g["spearman"].astype(float)
        return {"class": label, "clips": len(g), "mean ρ": rho.mean(), "median ρ": rho.median(),
                "q25 ρ": rho.quantile(0.25), "q75 ρ": rho.quantile(0.75), "share ρ > 0": (rho > 0).mean(),
                "top is apex": g["top_is_apex"].astype(float).mean(),
                "chance top is apex": g["chance_top_is_apex"].astype(float).mean()}

    rows = [summary(c, clips[clips["label"] == c]) for c in class_order(clips["label"])]
    return pd.DataFrame([*rows, summary("all", clips)]).round(3)


def visibility_by_class(clips: pd.DataFrame) -> pd.DataFrame:
    """Per class (and ``all`` clips) of a :func:`fsa.report.attention_vs_visibility` table: the
    clips, the mean share of their sampled frames that hide the face (what uniform attention puts
    there), the mean share of FSA's attention on those frames, their difference with its 95 %
    t-interval over the clips (below 0: FSA looks away from hidden faces), and how often the most
    attended frame is a hidden one against chance (the hidden share)."""
    if clips.empty:
        raise ConfigError("no clip with both hidden and visible sampled frames to summarise")

    def summary(label: str, g: pd.DataFrame) -> dict:
        diff = (g["hidden_attention"] - g["hidden_share"]).to_numpy(float)
        ci = t_interval(diff, over="clips", rates=False) if len(diff) >= 2 else {"low": np.nan, "high": np.nan}
        return {"class": label, "clips": len(g), "hidden share": g["hidden_share"].mean(),
                "attention on hidden": g["hidden_attention"].mean(), "difference": diff.mean(),
                "low": ci["low"], "high": ci["high"], "top is hidden": g["top_is_hidden"].astype(float).mean(),
                "chance top is hidden": g["hidden_share"].mean()}

    rows = [summary(c, clips[clips["label"] == c]) for c in class_order(clips["label"])]
    return pd.DataFrame([*rows, summary("all", clips)]).round(3)


def attention_profile(runs: Sequence[dict], data: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per (test clip, sampled position) of ``runs`` (FSA run records, e.g. the folds of a
    k-fold summary): ``run`` (config hash), ``clip``, ``label``, ``position`` (1..n), ``n``,
    ``attention`` and, when ``data`` holds the synthetic ``intensity.csv``, the true
    ``intensity`` of the sampled frame (NaN otherwise).

    The runs must share one n (a position means nothing across clip lengths). On AFEW, the
    runs of a seeds summary test the same clips, which then appear once per seed.
    """
    from .truth import load_intensity

    truth = load_intensity(data) if data is not None else None
    rows, lengths = [], set()
    for run in runs:
        for clip in run["per_clip"]:
            att = clip.get("attention")
            if att is None:
                raise ConfigError(f"run {run.get('config_hash')}: clip {clip['clip_id']} has no attention weights "
                                  "(not an FSA model)")
            frames = np.asarray(clip["frame_indices"])
            if len(att) != len(frames):
                raise DataError(f"run {run.get('config_hash')}: clip {clip['clip_id']} has {len(att)} attention "
                                f"weights for {len(frames)} sampled frames")
            intensity = np.full(len(frames), np.nan)
            if truth is not None:
                if clip["video_id"] not in truth:
                    raise DataError(f"{data}/intensity.csv: no rows for video {clip['video_id']!r}")
                intensity = truth[clip["video_id"]][frames]
            lengths.add(len(att))
            rows += [{"run": run.get("config_hash"), "clip": clip["clip_id"], "label": clip["label"],
                      "position": j + 1, "n": len(att), "attention": float(a), "intensity": float(i)}
                     for j, (a, i) in enumerate(zip(att, intensity))]
    if len(lengths) > 1:
        raise ConfigError(f"the runs sample different n ({', '.join(map(str, sorted(lengths)))}): "
                          "profile one n at a time")
    if not rows:
        raise ConfigError("no test clip in the runs given")
    return pd.DataFrame(rows)


def profile_summary(profile: pd.DataFrame) -> pd.DataFrame:
    """Per class and position of an :func:`attention_profile` table: the clips, the mean attention
    with its 95 % t-interval over the clips (NaN bounds for a class of one clip), the uniform
    weight 1/n, and the mean true intensity (NaN without the sidecar)."""
    rows = []
    for label in class_order(profile["label"]):
        of_class = profile[profile["label"] == label]
        for position, g in of_class.groupby("position", sort=True):
            att = g["attention"].to_numpy(float)
            ci = t_interval(att, over="clips") if len(att) >= 2 else {"low": np.nan, "high": np.nan}
            intensity = g["intensity"].to_numpy(float)
            rows.append({"class": label, "position": int(position), "clips": len(att), "attention": float(att.mean()),
                         "low": ci["low"], "high": ci["high"], "uniform": 1 / int(g["n"].iloc[0]),
                         "intensity": float(intensity.mean()) if np.isfinite(intensity).all() else np.nan})
    return pd.DataFrame(rows)
