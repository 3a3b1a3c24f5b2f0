"""The attention page's figures: frame importance on clips, its agreement with the true intensity
per class, and its profile over the clip.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .core import NotebookFigure
from .tables import FLOOR_COLOUR, OURS_COLOUR


def attention_figure(clips: Sequence[dict], title: str = "") -> Figure:
    """Per clip, its n sampled face crops captioned with FSA's weight and the true intensity.

    Each clip is a dict with ``crops`` (n RGB arrays), ``attention``, ``intensity`` (n values,
    or ``None`` for real data) and a ``label`` line; the most attended crop is framed in red.
    """
    if not clips:
        raise ValueError("no clips to draw")
    n = max(len(c["crops"]) for c in clips)
    fig = NotebookFigure(figsize=(1.6 * n, 1.9 * len(clips)), layout="constrained")
    axes = fig.subplots(len(clips), n, squeeze=False)
    for row, clip in zip(axes, clips):
        top = int(np.argmax(clip["attention"]))
        for j, ax in enumerate(row):
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= len(clip["crops"]):
                ax.set_axis_off()
                continue
            ax.imshow(clip["crops"][j])
            caption = f"a={clip['attention'][j]:.2f}"
            if clip.get("intensity") is not None:
                caption += f"  I={clip['intensity'][j]:.2f}"
            ax.set_xlabel(caption, fontsize=8)
            for side in ax.spines.values():
                side.set_color("#c0392b" if j == top else "#bbb")
                side.set_linewidth(3 if j == top else 1)
        row[0].set_ylabel(clip["label"], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def spearman_figure(clips: pd.DataFrame) -> Figure:
    """Per class, the per-clip Spearman ρ between FSA's frame weights and the true intensity (a
    :func:`fsa.report.attention_vs_intensity` table): a box of its quartiles and every clip as a
    point (spread vertically by a fixed-seed jitter), 0 marked."""
    from ..attention_stats import class_order

    if clips.empty:
        raise ValueError("no clip with varying intensity to draw")
    classes = class_order(clips["label"])
    groups = [clips.loc[clips["label"] == c, "spearman"].to_numpy(float) for c in classes]
    fig = NotebookFigure(figsize=(6.5, 0.45 * len(classes) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    ax.boxplot(groups, positions=range(len(classes)), orientation="horizontal", widths=0.55, showfliers=False,
               medianprops={"color": OURS_COLOUR})
    jitter = np.random.default_rng(0)
    for y, rho in enumerate(groups):
        ax.scatter(rho, y + jitter.uniform(-0.18, 0.18, len(rho)), s=12, color="k", alpha=0.6, zorder=3)
    ax.axvline(0, color=FLOOR_COLOUR, linestyle="--", linewidth=1)
    ax.set_yticks(range(len(classes)), [f"{c} ({len(g)})" for c, g in zip(classes, groups)], fontsize=8)
    ax.set_ylim(len(classes) - 0.5, -0.5)
    ax.set_xlim(-1.05, 1.05)
    ax.set_xlabel("Spearman ρ, attention vs true intensity (per clip)")
    ax.set_title("per class: does FSA attend to the more intense frames? (clips in brackets)", fontsize=10)
    return fig


def attention_profile_figure(summary: pd.DataFrame) -> Figure:
    """One panel per class of a :func:`fsa.attention_stats.profile_summary` table: the mean
    attention weight per sampled position (neutral → apex) with its 95 % band over the clips, the
    uniform weight 1/n dashed, and the mean true intensity on the right axis where the data have it."""
    classes = list(dict.fromkeys(summary["class"]))
    cols = min(4, len(classes))
    rows = -(-len(classes) // cols)
    fig = NotebookFigure(figsize=(2.6 * cols + 0.6, 2.3 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
    top = max(float(np.nanmax(summary[["attention", "high"]].to_numpy(float))), float(summary["uniform"].max()))
    for k, (ax, label) in enumerate(zip(axes, classes)):
        g = summary[summary["class"] == label]
        ax.plot(g["position"], g["attention"], "o-", color=OURS_COLOUR, markersize=4)
        ax.fill_between(g["position"], g["low"], g["high"], color=OURS_COLOUR, alpha=0.2, linewidth=0)
        ax.axhline(g["uniform"].iloc[0], color="k", linestyle="--", linewidth=0.8)
        if g["intensity"].notna().all():
            twin = ax.twinx()
            twin.plot(g["position"], g["intensity"], ":", color=FLOOR_COLOUR)
            twin.set_ylim(0, 1.05)
            twin.tick_params(labelsize=7, colors=FLOOR_COLOUR, labelright=k % cols == cols - 1 or k == len(classes) - 1)
        ax.set_title(f"{label} ({g['clips'].iloc[0]} clips)", fontsize=9)
        ax.set_ylim(0, 1.1 * top)
    for ax in axes[len(classes):]:
        ax.set_axis_off()
    positions = sorted(summary["position"].unique())
    for ax in axes[:len(classes)]:
        ax.set_xticks(positions)
    fig.supxlabel("sampled position in the clip (1: neutral end → n: apex end)", fontsize=9)
    fig.supylabel("attention weight (mean, 95 % band)", fontsize=9)
    fig.suptitle("attention over the clip's segments per class (dashed: uniform 1/n; dotted, right axis: "
                 "mean true intensity)", fontsize=10)
    return fig
