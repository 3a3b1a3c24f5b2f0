"""Table 8's figures from ``fsa bench`` records: time per frame and the roofline.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from .core import NotebookFigure
from .tables import PAPER_COLOUR

MODE_MARKERS = {"inference": "o", "train": "s"}


def _setting(size: str, image_size: int, precision: str) -> str:
    return f"{size} size ({image_size} px), {precision}"


def bench_time_figure(result: dict) -> Figure:
    """Table 8 beside a bench record: ms per frame of a training step and of inference per model,
    the paper's (GTX 1080Ti) and each measured size × precision (log scale), and the
    ECNN-FSA / CNN-LSTM time ratio, the number that compares across machines."""
    from ..bench import table8_rows

    rows = pd.DataFrame(table8_rows(result))
    if rows.empty:
        raise ValueError("the bench record times neither ECNN-FSA nor CNN-LSTM (Table 8's models)")
    px = {r["size"]: r["image_size"] for r in result["models"]}
    settings = list(dict.fromkeys(zip(rows["size"], rows["precision"])))
    labels = list(dict.fromkeys(rows["label"]))
    colours = dict(zip(settings, sns.color_palette("deep", len(settings))))
    fig = NotebookFigure(figsize=(12, 0.5 * len(labels) + 2.6), layout="constrained")
    axes = fig.subplots(1, 3, width_ratios=[1, 1, 0.9])
    # one line per model: the paper's marker on top, then each measured setting below it
    offset = dict(zip([None, *settings], np.linspace(-0.3, 0.3, len(settings) + 1)))
    for ax, (mode, column) in zip(axes, (("training step", "train_ms_per_frame"), ("inference", "test_ms_per_frame"))):
        paper = rows.drop_duplicates("label")
        ax.scatter(paper[f"paper_{column}"], [labels.index(x) + offset[None] for x in paper["label"]], marker="D",
                   color=PAPER_COLOUR, zorder=3, label="paper (GTX 1080Ti)")
        for key in settings:
            sub = rows[(rows["size"] == key[0]) & (rows["precision"] == key[1])]
            ax.scatter(sub[column], [labels.index(x) + offset[key] for x in sub["label"]], color=colours[key],
                       zorder=3, label=f"measured, {_setting(key[0], px[key[0]], key[1])}")
        ax.set_xscale("log")
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.set_xlabel("ms per frame (log)")
        ax.set_title(f"{mode} time per frame", fontsize=9)
    axes[0].legend(fontsize=7, loc="lower right")
    ratio_ax = axes[2]
    keys = list(result["ratios"])
    for j, mode in enumerate(("train", "inference")):
        values = [result["ratios"][k][mode] for k in keys]
        ratio_ax.barh(np.arange(len(keys)) + 0.2 * (2 * j - 1), values, height=0.4, label=mode,
                      color=sns.color_palette("colorblind")[j])
    ratio_ax.axvline(1.0, color="k", linewidth=0.8)
    ratio_ax.set_yticks(range(len(keys)), ["paper (GTX 1080Ti)" if k == "published" else f"measured, {k}"
                                           for k in keys], fontsize=8)
    ratio_ax.invert_yaxis()
    ratio_ax.set_xlabel("ECNN-FSA / CNN-LSTM time per frame")
    ratio_ax.set_title("time ratio (< 1: ECNN-FSA faster)", fontsize=9)
    ratio_ax.legend(fontsize=7)
    fig.suptitle("Table 8: time per frame, paper vs this machine", fontsize=10)
    return fig


def _plain_log_axis(axis) -> None:
    """A log axis ticked at 1, 2, 5 × 10^k with plain numbers."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def roofline_figure(result: dict) -> Figure:
    """Achieved GFLOP/s of every model × mode × precision of a bench record against its arithmetic
    intensity (FLOPs per weight byte, :mod:`fsa.bench.roofline`), one panel per benchmark size,
    under the measured matmul roof of each precision (horizontal lines); each point is labelled
    with its fraction of the roof of its own precision. fp32 points are filled, bf16 ones hollow."""
    from ..bench import roofline_points, roofs

    points = pd.DataFrame(roofline_points(result))
    models = list(dict.fromkeys(points["model"]))
    sizes = list(dict.fromkeys(points["size"]))
    colours = dict(zip(models, sns.color_palette("deep", len(models))))
    fig = NotebookFigure(figsize=(4.2 * len(sizes) + 2.2, 4.4), layout="constrained")
    axes = fig.subplots(1, len(sizes), sharey=True, squeeze=False)[0]
    for ax, size in zip(axes, sizes):
        for (precision, roof), style in zip(roofs(result).items(), ("-", "--")):
            ax.axhline(roof, color="k", linestyle=style, linewidth=1,
                       label=f"{precision} matmul peak {roof:.4g} GFLOP/s")
        of_size = points[points["size"] == size]
        for _, p in of_size.iterrows():
            colour = colours[p["model"]]
            ax.scatter(p["flop_per_weight_byte"], p["gflops_per_s"], marker=MODE_MARKERS[p["mode"]], s=50, zorder=3,
                       edgecolor=colour, facecolor=colour if p["precision"] == "fp32" else "none")
            if p["fraction_of_peak"] is not None:
                ax.annotate(f"{p['fraction_of_peak']:.0%}", (p["flop_per_weight_byte"], p["gflops_per_s"]),
                            textcoords="offset points", xytext=(6, -3), fontsize=7, color=colour)
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_log_axis(ax.xaxis)
        _plain_log_axis(ax.yaxis)
        frames = "/".join(map(str, sorted(set(of_size["frames_per_step"]))))
        ax.set_title(f"{size} size ({of_size['image_size'].iloc[0]} px, {frames} frames per step)", fontsize=9)
    for model in models:
        axes[-1].plot([], [], "o", color=colours[model], label=model)
    for mode, marker in MODE_MARKERS.items():
        axes[-1].plot([], [], marker, color="grey", label=mode)
    if (points["precision"] == "bf16").any():
        axes[-1].scatter([], [], marker="o", edgecolor="grey", facecolor="none", label="bf16 (hollow)")
    axes[0].set_ylabel("achieved GFLOP/s")
    fig.supxlabel("arithmetic intensity: FLOPs of a step per byte of its weights read once (an upper bound)",
                  fontsize=9)
    axes[-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle("roofline: achieved FLOP/s under the measured matmul peak (labels: share of the peak "
                 "of the point's precision)", fontsize=10)
    return fig
