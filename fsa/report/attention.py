"""FSA's frame weights against the synthetic ground truth: does the attention find the apex?

The embedded synthetic dataset carries the true expression intensity of every frame
(``intensity.csv``), which real datasets do not have; the attention notebook reads it here.
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

    from ..data import load_intensity

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


def attention_examples(record: dict, data: str | os.PathLike, k: int = 4, size: int = 96) -> list[dict]:
    """``k`` test clips (the most attention-peaked first) with their sampled crops, for
    :func:`fsa.plots.attention_figure`."""
    import cv2

    from ..data import frame_path, load_intensity

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
