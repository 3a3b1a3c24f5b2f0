"""Figures of the package, drawn on :class:`matplotlib.figure.Figure` objects.

Figures are built without ``pyplot``, so nothing depends on the active backend (headless
runs, ``MPLBACKEND=agg``, notebooks alike) and no global figure state leaks between calls;
in a notebook, display a returned figure by leaving it as the cell's last expression.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

from .results import atomic_write

#: At most this many windows of a long video are drawn (evenly spread); the JSON has them all.
MAX_WINDOWS_DRAWN = 6


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Write ``fig`` as PNG atomically (rendered in memory, then written and renamed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return atomic_write(path, lambda f: f.write(buf.getvalue()), mode="wb")


def probability_bars(ax, probs: Sequence[float], classes: Sequence[str], title: str = "") -> None:
    """Horizontal bars of class probabilities, the top class highlighted."""
    probs = np.asarray(probs, dtype=float)
    top = int(probs.argmax())
    palette = ["#c0392b" if i == top else "#7f8c8d" for i in range(len(classes))]
    sns.barplot(x=probs, y=list(classes), hue=list(classes), palette=palette, legend=False, orient="h", ax=ax)
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability")
    ax.set_ylabel("")
    for i, p in enumerate(probs):
        ax.text(min(p + 0.02, 0.8), i, f"{p:.2f}", va="center", fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)


def prediction_figure(windows: Sequence[dict], classes: Sequence[str], title: str = "") -> Figure:
    """The ``fsa predict`` figure: per window, its n face crops and a probability bar chart.

    Each window is a dict with ``crops`` (n RGB arrays), ``attention`` (n weights or
    ``None``), ``frame_indices``, ``times`` (seconds), ``probs`` and an optional ``label``
    (e.g. the window's time span) for its bar chart. A crop's caption gives
    its frame, time and attention weight; its frame line width grows with the weight.
    """
    if not windows:
        raise ValueError("no windows to draw")
    if len(windows) > MAX_WINDOWS_DRAWN:
        keep = np.linspace(0, len(windows) - 1, MAX_WINDOWS_DRAWN).round().astype(int)
        windows = [windows[i] for i in keep]
    n = max(len(w["crops"]) for w in windows)
    rows = len(windows)
    fig = Figure(figsize=(1.7 * n + 4.2, 2.3 * rows + 0.5))
    outer = fig.add_gridspec(1, 2, width_ratios=[1.7 * n, 3.0], wspace=0.3)
    crops_grid = outer[0].subgridspec(rows, n, wspace=0.12, hspace=0.45)
    bars_grid = outer[1].subgridspec(rows, 1, hspace=0.75)
    for r, w in enumerate(windows):
        att = w.get("attention")
        for j, crop in enumerate(w["crops"]):
            ax = fig.add_subplot(crops_grid[r, j])
            ax.imshow(crop)
            ax.set_xticks([])
            ax.set_yticks([])
            caption = f"frame {w['frame_indices'][j]} · {w['times'][j]:.2f} s"
            if att is not None:
                caption += f"\nattention {att[j]:.3f}"
                weight = att[j] * len(att)  # 1 = uniform
                for spine in ax.spines.values():
                    spine.set_color("#c0392b")
                    spine.set_linewidth(0.5 + 2.5 * min(weight, 2.0))
            ax.set_title(caption, fontsize=7)
        top = int(np.argmax(w["probs"]))
        label = f"{w['label']}: " if w.get("label") else ""
        probability_bars(fig.add_subplot(bars_grid[r, 0]), w["probs"], classes,
                         title=f"{label}{classes[top]} ({w['probs'][top]:.2f})")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def architecture_figure(name: str = "ecnn-fsa", size: int = 224, n: int = 5) -> Figure:
    """The paper's Fig. 1 redrawn from the model code: one box per module of ``fsa.models``
    with the output shape traced for a clip of ``n`` frames at ``size`` px."""
    from .models.describe import module_outputs

    shapes = {r["module"]: r for r in module_outputs(name, size, n)}

    def shape(path: str) -> str:
        return "×".join(str(s) for s in shapes[path]["output"])

    def params(path: str) -> str:
        return f"{shapes[path]['params'] / 1e6:.1f} M params"

    pool5 = next(k for k in shapes if k.startswith("ecnn.backbone.features.") and shapes[k]["type"] == "MaxPool2d")
    conv33 = next(k for k in shapes if k.startswith("ecnn.backbone.features.") and shapes[k]["type"] == "Conv2d")
    head_last = max((k for k in shapes if k.startswith("head.layers.")), key=lambda k: int(k.rsplit(".", 1)[1]))
    boxes = [  # (x, y, text, colour)
        (0.06, 0.62, f"clip\n{n}×3×{size}×{size}", "#ecf0f1"),
        (0.22, 0.78, f"VGG-16 conv1_1…conv3_3\n{shape(conv33)}", "#d6eaf8"),
        (0.40, 0.78, f"conv4…pool5\n{shape(pool5)}", "#d6eaf8"),
        (0.57, 0.78, f"3 added 3×3 convs + GAP\n{shape('ecnn.backbone.gap')}\n{params('ecnn.backbone.added')}", "#d6eaf8"),
        (0.40, 0.42, f"enhanced branch\nk×k conv, stride 4\n{shape('ecnn.branch.conv')} → GAP\n{params('ecnn.branch.conv')}", "#fdebd0"),
        (0.72, 0.60, f"ECNN frame features\nconcat → {shape('ecnn')}", "#d5f5e3"),
        (0.72, 0.30, f"FSA: A = softmax(s·QKᵀ)\nX* = AV {shape('fsa.w_v')}\nmean over frames → {shape('fsa')}\n{params('fsa')}", "#fadbd8")
        if "fsa" in shapes else (0.72, 0.30, "no attention", "#fadbd8"),
        (0.92, 0.30, f"LayerNorm → ReLU →\nDropout → FC\n{shape(head_last)} → softmax", "#e8daef"),
    ]
    fig = Figure(figsize=(12, 4.6))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_axis_off()
    texts = [
        ax.text(x, y, text, ha="center", va="center", fontsize=8.5,
                bbox=dict(boxstyle="round,pad=0.5", facecolor=colour, edgecolor="#555"))
        for x, y, text, colour in boxes
    ]
    fig.canvas.draw()  # lays out the boxes, so the arrows can be clipped to their edges
    for a, b in [(0, 1), (1, 2), (2, 3), (1, 4), (3, 5), (4, 5), (5, 6), (6, 7)]:
        ax.annotate("", xy=boxes[b][:2], xytext=boxes[a][:2],
                    arrowprops=dict(arrowstyle="->", color="#555", patchA=texts[a].get_bbox_patch(),
                                    patchB=texts[b].get_bbox_patch()))
    ax.set_title(f"{name}: output shapes traced from fsa.build_model({name!r}) for one clip", fontsize=10)
    return fig
