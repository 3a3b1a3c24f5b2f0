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
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from .results import write_bytes


class NotebookFigure(Figure):
    """A figure that shows itself as a PNG in Jupyter with any backend (IPython calls ``_repr_png_``)."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return buf.getvalue()


#: At most this many windows of a long video are drawn (evenly spread); the JSON has them all.
MAX_WINDOWS_DRAWN = 6


def windows_to_draw(count: int) -> list[int]:
    """Which of ``count`` windows the prediction figure draws: all, or :data:`MAX_WINDOWS_DRAWN`
    evenly spread (``fsa predict`` knows them before reading, so it keeps only their crops)."""
    if count <= MAX_WINDOWS_DRAWN:
        return list(range(count))
    return np.linspace(0, count - 1, MAX_WINDOWS_DRAWN).round().astype(int).tolist()


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Write ``fig`` as PNG atomically (rendered in memory, then written and renamed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return write_bytes(path, buf.getvalue())


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
    conv33 = next(k for k in shapes if k.startswith("ecnn.backbone.features.") and k != pool5)  # the branch tap
    head_last = max((k for k in shapes if k.startswith("head.layers.")), key=lambda k: int(k.rsplit(".", 1)[1]))
    boxes = [  # (x, y, text, colour)
        (0.06, 0.62, f"clip\n{n}×3×{size}×{size}", "#ecf0f1"),
        (0.22, 0.78, f"VGG-16 conv1_1…conv3_3\n{shape(conv33)}", "#d6eaf8"),
        (0.40, 0.78, f"conv4…pool5\n{shape(pool5)}", "#d6eaf8"),
        (0.57, 0.78, f"3 added 3×3 convs + GAP\n{shape('ecnn.backbone.gap')}\n{params('ecnn.backbone.added')}",
         "#d6eaf8"),
        (0.40, 0.42, f"enhanced branch\nk×k conv, stride 4\n{shape('ecnn.branch.conv')} → GAP\n"
                     f"{params('ecnn.branch.conv')}", "#fdebd0"),
        (0.72, 0.60, f"ECNN frame features\nconcat → {shape('ecnn')}", "#d5f5e3"),
        (0.72, 0.30, f"FSA: A = softmax(s·QKᵀ)\nX* = AV {shape('fsa.w_v')}\nmean over frames → {shape('fsa')}\n"
                     f"{params('fsa')}", "#fadbd8")
        if "fsa" in shapes else (0.72, 0.30, "no attention", "#fadbd8"),
        (0.92, 0.30, f"LayerNorm → ReLU →\nDropout → FC\n{shape(head_last)} → softmax", "#e8daef"),
    ]
    fig = NotebookFigure(figsize=(12, 4.6))
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


def confusion_figure(panels: Sequence[tuple[str, pd.DataFrame]]) -> Figure:
    """Row-normalised confusion matrices (%) side by side, as in the paper's Tables 5 and 10.

    ``panels`` is a list of ``(title, DataFrame)``, each frame true classes × predicted classes.
    """
    fig = NotebookFigure(figsize=(5.2 * len(panels), 4.6), layout="constrained")
    for ax, (title, df) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels):
        sns.heatmap(df, annot=True, fmt=".1f", cmap="Blues", vmin=0, vmax=100, cbar=False, square=True,
                    annot_kws={"fontsize": 8}, ax=ax)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(title, fontsize=10)
    return fig


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


def frame_grid(rows: Sequence[tuple[str, Sequence[np.ndarray]]], title: str = "") -> Figure:
    """Rows of images, each row labelled on its left."""
    n = max(len(images) for _, images in rows)
    fig = NotebookFigure(figsize=(1.5 * n + 1, 1.55 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), n, squeeze=False)
    for ax_row, (label, images) in zip(axes, rows):
        for j, ax in enumerate(ax_row):
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(images):
                ax.imshow(images[j])
            else:
                ax.set_axis_off()
        ax_row[0].set_ylabel(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


# -- figures of the results pages (drawn from the results store's records) --------------------
#: Fewer replicates than this and a reproduced number is drawn as its per-fold / per-seed points
#: instead of a 95 % interval (a t-interval over two values is too wide to read).
MIN_FOR_WHISKERS = 3
PAPER_COLOUR, OURS_COLOUR, FLOOR_COLOUR = "#7f8c8d", "#c0392b", "#2471a3"


def _run_hash(record: dict) -> str:
    return record.get("folds_hash") or record.get("seeds_hash") or record["config_hash"]


def _replicates(record: dict) -> list[float]:
    """A record's per-fold or per-seed accuracies, or its one accuracy."""
    acc = record["metrics"]["accuracy"]
    return [float(v) for v in acc["per_fold"]] if isinstance(acc, dict) else [float(acc)]


def figure_caption(records: Sequence[dict]) -> str:
    """Where a figure's numbers come from: the data (experiment, i.e. dataset and ``index.csv``
    hash), the profile of each run and the hashes of the records (their JSON names in the store)."""
    from .report import profile_of

    if not records:
        return "No run recorded on this page's data yet."
    experiments = sorted({str(r.get("experiment")) for r in records})
    profiles = sorted({profile_of(r["config"]) if "model" in r["config"] else f"{r['config']['feature_size']} px"
                       for r in records})
    return (f"Drawn from the results store: data {', '.join(experiments)} (dataset-index.csv hash), "
            f"profile {', '.join(profiles)}, runs {', '.join(_run_hash(r) for r in records)}.")


def table_figure(table: int | str, records: Sequence[dict]) -> Figure:
    """Paper vs reproduced accuracy per row of a results table, in the table's row order.

    Rows and their order are :func:`fsa.report.comparison`'s; each reproduced number carries its
    95 % interval (:func:`fsa.report.intervals`) as whiskers, or its per-fold / per-seed points
    when it has fewer than :data:`MIN_FOR_WHISKERS`; the classical floors are horizontal lines.
    """
    from .report import comparison, intervals

    df = comparison(table, records)
    by_hash = {_run_hash(r): r for r in records}
    ci = intervals(records)
    floors = df[df["status"] == "floor"]
    rows = df[(df["status"] != "floor") & df["row"].notna()]
    fig = NotebookFigure(figsize=(7.5, 0.45 * rows["row"].nunique() + 1.6), layout="constrained")
    ax = fig.add_subplot()
    labels = list(dict.fromkeys(rows["row"]))  # the table's order, one line per paper row
    y_of = {label: len(labels) - 1 - i for i, label in enumerate(labels)}
    ax.scatter(rows["paper acc %"], rows["row"].map(y_of) + 0.15, marker="D", color=PAPER_COLOUR, label="paper",
               zorder=3)
    drawn_points = False
    reproduced = rows[rows["run"].notna()] if "run" in rows else rows.iloc[:0]
    for _, row in reproduced.iterrows():
        rec, y = by_hash[row["run"]], y_of[row["row"]] - 0.15
        values = 100 * np.asarray(_replicates(rec))
        if len(values) >= MIN_FOR_WHISKERS:
            c = ci[id(rec)]
            ax.errorbar(100 * c["mean"], y, xerr=[[100 * (c["mean"] - c["low"])], [100 * (c["high"] - c["mean"])]],
                        fmt="o", color=OURS_COLOUR, capsize=4, zorder=3)
        else:
            ax.scatter(values, np.full(len(values), y), marker="o", facecolor="none", edgecolor=OURS_COLOUR,
                       zorder=3, label=None if drawn_points else "reproduced, per fold / seed")
            drawn_points = True
    ax.plot([], [], "o", color=OURS_COLOUR, label="reproduced, 95 % CI")
    for k, (_, f) in enumerate(floors.iterrows()):
        ax.axvline(f["ours acc %"], color=FLOOR_COLOUR, linestyle=("--", ":", "-.")[k % 3], label=f"floor: {f['row']}")
    ax.set_yticks(range(len(labels)), labels[::-1], fontsize=8)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.set_xlabel("accuracy %")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(f"Table {table}: paper vs reproduced", fontsize=10)
    return fig


def s_figure(records: Sequence[dict], table: int | str = 6) -> Figure:
    """Accuracy against FSA's super-parameter s: one point per recorded ECNN-FSA summary, with its
    95 % interval, and the paper's rows beside them, one series per (feature size, FC layers)."""
    from .models.registry import REGISTRY
    from .paper import paper_table
    from .report import architecture, intervals

    def series(model: dict) -> str:
        m = architecture(model)
        d = m["backbone_dim"] + (m["branch_dim"] if m["branch"] else 0)
        return f"D = {d}, {'1 FC' if m['fc_layers'] == 1 else '2 FC'}"

    ours = [r for r in records if r["config"].get("model", {}).get("arch") == "ecnn-fsa"]
    paper = [(REGISTRY[p["model"]].config, p["accuracy"]) for p in paper_table(table)["rows"]
             if p.get("model") and p.get("accuracy") is not None
             and REGISTRY[p["model"]].config.arch == "ecnn-fsa"]
    names = sorted({series(architecture(m)) for m, _ in paper} | {series(r["config"]["model"]) for r in ours})
    colours = dict(zip(names, sns.color_palette("deep", len(names))))
    ci = intervals(ours)
    fig = NotebookFigure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    for m, acc in paper:
        ax.scatter(m.s, acc, marker="D", facecolor="none", edgecolor=colours[series(architecture(m))], zorder=3)
    for r in sorted(ours, key=lambda r: r["config"]["model"]["s"]):
        c = ci[id(r)]
        ax.errorbar(r["config"]["model"]["s"], 100 * c["mean"], capsize=4, fmt="o", zorder=3,
                    yerr=[[100 * (c["mean"] - c["low"])], [100 * (c["high"] - c["mean"])]],
                    color=colours[series(r["config"]["model"])])
    for name in names:
        ax.plot([], [], "o", color=colours[name], label=name)
    ax.scatter([], [], marker="D", facecolor="none", edgecolor="k", label="paper")
    ax.scatter([], [], marker="o", color="k", label="reproduced, 95 % CI")
    ax.set_xlabel("s (FSA super-parameter)")
    ax.set_ylabel("accuracy %")
    ax.legend(fontsize=7)
    ax.set_title(f"Table {table}: accuracy against s", fontsize=10)
    return fig


def training_curves(runs: Sequence[dict], title: str = "") -> Figure:
    """Train loss and validation accuracy per epoch of the runs of one summary (its folds or
    seeds overlaid), each run's selected epoch marked on both panels."""
    if not runs:
        raise ValueError("no runs to draw")
    fig = NotebookFigure(figsize=(9, 3.2), layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    colours = sns.color_palette("colorblind", len(runs))
    for colour, r in zip(colours, runs):
        h = pd.DataFrame(r["history"])
        name = f"fold {r['fold']}" if r.get("fold") is not None else f"seed {r['seed']}"
        best = h[h["epoch"] == r["selected_epoch"]]
        for ax, column in ((loss_ax, "train_loss"), (acc_ax, "val_accuracy")):
            ax.plot(h["epoch"], h[column], color=colour, label=name)
            ax.scatter(best["epoch"], best[column], marker="*", s=120, color=colour, edgecolor="k", zorder=3)
    acc_ax.scatter([], [], marker="*", s=120, color="w", edgecolor="k", label="selected epoch")
    loss_ax.set(xlabel="epoch", ylabel="train loss")
    acc_ax.set(xlabel="epoch", ylabel="validation accuracy")
    acc_ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
