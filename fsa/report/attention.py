"""FSA's frame weights against the synthetic ground truth: does the attention find the apex, and
does it look away from frames where the face is hidden?

The embedded synthetic datasets carry the true expression intensity of every frame
(``intensity.csv``) and, for the wild AFEW clips, whether the face is in view in each frame
(``conditions.csv``: missed, occluded, head turn); real datasets have neither. The attention
notebook reads them here.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..config import ConfigError


def attention_vs_intensity(record: dict, data: str | os.PathLike) -> pd.DataFrame:
    """Per test clip: Spearman correlation between FSA's frame weights and the true expression
    intensity of the sampled frames (the synthetic sidecar), and whether the most attended
    frame is the most intense one. Clips whose sampled frames all share one intensity
    (neutral clips) have no correlation and are left out."""
    from scipy.stats import spearmanr

    from ..truth import load_intensity

    truth = load_intensity(data)
    if truth is None:
        raise ConfigError(f"{data}: no intensity.csv (only the synthetic dataset has frame-level ground truth)")
    rows = []
    for clip in record["per_clip"]:
        if clip.get("attention") is None:
            raise ConfigError(f"run {record.get('config_hash')}: no attention weights (not an FSA model)")
        inten = truth[clip["video_id"]][np.asarray(clip["frame_indices"])]
        att = np.asarray(clip["attention"])
        if np.ptp(inten) < 1e-6:
            continue
        rows.append({
            "clip": clip["clip_id"], "label": clip["label"], "pred": clip["pred"],
            "spearman": float(spearmanr(att, inten).statistic),
            "top_is_apex": bool(inten[att.argmax()] >= inten.max() - 1e-6),
            "chance_top_is_apex": float(np.mean(inten >= inten.max() - 1e-6)),
        })
    return pd.DataFrame(rows)


def attention_vs_visibility(record: dict, data: str | os.PathLike) -> pd.DataFrame:
    """Per test clip whose sampled frames show the face in some and hide it in others
    (:func:`fsa.truth.load_visibility`: missed, occluded or turned away): the share of the sampled
    frames that are hidden (``hidden_share``: what uniform attention puts on them), the share of
    FSA's attention that goes to them (``hidden_attention``), and whether the most attended frame
    is a hidden one (``top_is_hidden``; chance: ``hidden_share``). Clips with every sampled frame in
    view, or none, leave FSA no choice and are left out."""
    from ..truth import load_visibility

    visible = load_visibility(data)
    if visible is None:
        raise ConfigError(f"{data}: no conditions.csv (only the wild synthetic AFEW records whether the face is in view)")
    rows = []
    for clip in record["per_clip"]:
        if clip.get("attention") is None:
            raise ConfigError(f"run {record.get('config_hash')}: no attention weights (not an FSA model)")
        hidden = visible[clip["video_id"]][np.asarray(clip["frame_indices"])] == 0
        att = np.asarray(clip["attention"])
        if hidden.all() or not hidden.any():
            continue
        rows.append({"clip": clip["clip_id"], "label": clip["label"], "pred": clip["pred"],
                     "hidden_share": float(hidden.mean()), "hidden_attention": float(att[hidden].sum()),
                     "top_is_hidden": bool(hidden[att.argmax()])})
    return pd.DataFrame(rows)


def over_runs(measure, runs: list[dict], data: str | os.PathLike) -> pd.DataFrame:
    """``measure(record, data)`` (:func:`attention_vs_intensity`, :func:`attention_vs_visibility`)
    over several runs, one row per clip: a clip tested by several runs (AFEW's seeds all test its
    Val clips) gets the mean of its numbers over them, so that each clip counts once; the clips
    of CK+'s folds are each tested once and pass as they are."""
    tables = [t for t in (measure(r, data) for r in runs) if not t.empty]
    if not tables:
        return pd.DataFrame()
    clips = pd.concat(tables, ignore_index=True)
    numbers = [c for c in clips.columns if c not in ("clip", "label", "pred")]
    return clips.groupby(["clip", "label"], sort=True)[numbers].mean().astype(float).reset_index()


def attention_examples(record: dict, data: str | os.PathLike, k: int = 4, size: int = 96) -> list[dict]:
    """``k`` test clips (the most attention-peaked first) with their sampled crops, for
    :func:`fsa.plots.attention_figure`."""
    import cv2

    from ..data import frame_path
    from ..truth import load_intensity

    truth = load_intensity(data)
    clips = sorted((c for c in record["per_clip"] if c.get("attention")), key=lambda c: -max(c["attention"]))[:k]
    out = []
    for c in clips:
        crops = [cv2.resize(cv2.cvtColor(cv2.imread(str(frame_path(data, c["video_id"], i))), cv2.COLOR_BGR2RGB),
                            (size, size)) for i in c["frame_indices"]]
        inten = truth[c["video_id"]][np.asarray(c["frame_indices"])] if truth else None
        out.append({"crops": crops, "attention": c["attention"], "intensity": inten,
                    "label": f"{c['clip_id']}\ntrue {c['label']}\npred {c['pred']}"})
    return out
