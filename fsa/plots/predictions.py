"""The figure of ``fsa predict``: each drawn window's frames with their attention and its class
probabilities.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

from .core import NotebookFigure

#: At most this many windows of a long video are drawn (evenly spread); the JSON has them all.
MAX_WINDOWS_DRAWN = 6


def windows_to_draw(count: int) -> list[int]:
    """Which of ``count`` windows the prediction figure draws: all, or :data:`MAX_WINDOWS_DRAWN`
    evenly spread (``fsa predict`` knows them before reading, so it keeps only their crops)."""
    if count <= MAX_WINDOWS_DRAWN:
        return list(range(count))
    return np.linspace(0, count - 1, MAX_WINDOWS_DRAWN).round().astype(int).tolist()


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
    windows = [windows[i] for i in windows_to_draw(len(windows))]
    n = max(len(w["crops"]) for w in windows)
    rows = len(windows)
    fig = NotebookFigure(figsize=(1.7 * n + 4.2, 2.3 * rows + 0.5))
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
