"""Figures of the package, drawn on :class:`matplotlib.figure.Figure` objects.

Figures are built without ``pyplot``, so nothing depends on the active backend (headless
runs, ``MPLBACKEND=agg``, notebooks alike) and no global figure state leaks between calls;
in a notebook, display a returned figure by leaving it as the cell's last expression.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from .paper import paper_table
from .results import record_key, write_bytes


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


def frame_grid(rows: Sequence[tuple[str, Sequence[np.ndarray]]], title: str = "", panel: float = 1.5,
               captions: Sequence[Sequence[str]] | None = None) -> Figure:
    """Rows of images, each row labelled on its left; ``panel`` is an image's side in inches,
    ``captions`` (per row, per image) are written under the images."""
    n = max(len(images) for _, images in rows)
    fig = NotebookFigure(figsize=(panel * n + 1, (panel + 0.05 + 0.15 * bool(captions)) * len(rows)),
                         layout="constrained")
    axes = fig.subplots(len(rows), n, squeeze=False)
    for r, (ax_row, (label, images)) in enumerate(zip(axes, rows)):
        for j, ax in enumerate(ax_row):
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(images):
                ax.imshow(images[j])
                if captions:
                    ax.set_xlabel(captions[r][j], fontsize=7)
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


def _replicates(record: dict) -> list[float]:
    """A record's per-fold or per-seed accuracies, or its one accuracy."""
    acc = record["metrics"]["accuracy"]
    return [float(v) for v in acc["per_fold"]] if isinstance(acc, dict) else [float(acc)]


def figure_caption(records: Sequence[dict]) -> str:
    """Where a figure's numbers come from: for runs, the data (experiment, i.e. dataset and
    ``index.csv`` hash), the profile of each run and the hashes of the records (their JSON names
    in the store); for ``fsa bench`` records, the record's file, device, profile, start and commit."""
    from .bench.report import store_name
    from .report import profile_of

    bench = [r for r in records if r.get("kind") == "bench"]
    records = [r for r in records if r.get("kind") != "bench"]
    if not records and not bench:
        return "No run recorded on this page's data yet."
    parts = []
    if records:
        experiments = sorted({str(r.get("experiment")) for r in records})
        profiles = sorted({profile_of(r["config"]) if "model" in r["config"] else f"{r['config']['feature_size']} px"
                           for r in records})
        parts.append(f"Drawn from the results store: data {', '.join(experiments)} (dataset-index.csv hash), "
                     f"profile {', '.join(profiles)}, runs {', '.join(record_key(r) for r in records)}.")
    for b in bench:
        env = b["environment"]
        where = Path(b.get("result_path") or f"{store_name(b)}.json").name  # the name fsa.bench.save gives it
        parts.append(f"Drawn from the fsa bench record {where}: {env.get('device_name') or env['device']} "
                     f"({env['device']}, {env['threads']} threads), profile {b['profile']}, started {b['started_at']}, "
                     f"commit {str(env.get('git', {}).get('commit'))[:12]}.")
    return " ".join(parts)


def table_figure(table: int | str, records: Sequence[dict]) -> Figure:
    """Paper vs reproduced accuracy per row of a results table, in the table's row order.

    Rows and their order are :func:`fsa.report.comparison`'s; each reproduced number carries its
    95 % interval (:func:`fsa.report.intervals`) as whiskers, or its per-fold / per-seed points
    when it has fewer than :data:`MIN_FOR_WHISKERS`; the classical floors are horizontal lines.
    """
    from .report import comparison, intervals

    df = comparison(table, records)
    by_hash = {record_key(r): r for r in records}
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


@dataclass(frozen=True)
class Sweep:
    """How :func:`sweep_figure` draws accuracy against one configuration field."""

    axis: str  # the x axis label
    #: The series a model belongs to: its architecture without the swept field, named.
    series: Callable[[dict, str], str]
    #: Architectures whose runs are drawn; ``None``: those of the table's paper rows.
    archs: tuple[str, ...] | None = None
    #: The paper's rows drawn: ``all`` of the table's (of the drawn architectures), or only
    #: those of a series with a recorded run.
    paper_rows: str = "all"
    integer: bool = False  # whole-number values: ticks at integers


def _fsa_series(model: dict, table: str) -> str:
    from .report import architecture

    m = architecture(model)
    d = m["backbone_dim"] + (m["branch_dim"] if m["branch"] else 0)
    return f"D = {d}, {'1 FC' if m['fc_layers'] == 1 else '2 FC'}"


def _row_series(model: dict, table: str) -> str:
    """The table's row label of the model's architecture (its extra label when the paper has none)."""
    from .models.registry import REGISTRY
    from .report import architecture, extra_label

    arch = architecture(model)
    for p in paper_table(table)["rows"]:
        if p.get("model") and architecture(REGISTRY[p["model"]].config) == arch:
            return p.get("label") or REGISTRY[p["model"]].paper_label
    return extra_label(model)


#: The fields an accuracy curve sweeps. ``s`` varies along the paper's Table 6 (one series per
#: feature size and head); the paper fixes ``n = 5`` (§2.1, "The default value of n is set to
#: 5") in every table, so an ``n`` curve has the paper's row at n = 5 beside each recorded model.
SWEEPS = {
    "s": Sweep("s (FSA super-parameter)", _fsa_series, archs=("ecnn-fsa",)),
    "n": Sweep("n (frames per clip)", _row_series, paper_rows="recorded", integer=True),
}
#: Horizontal offset (points) between series drawn at one x, and between the paper's marker and
#: ours within a series: display-only, so the plotted data stay the recorded values.
SERIES_DODGE, PAPER_DODGE = 7.0, 2.5


def swept_value(config: dict, field: str) -> float:
    """The value of ``field`` in a run's config (a model field, else a run field)."""
    return config["model"][field] if field in config["model"] else config[field]


def _sweep_legend(ax, colours: dict) -> None:
    """One entry per series colour, then the paper's and the reproduced points' markers."""
    for name, colour in colours.items():
        ax.plot([], [], "o", color=colour, label=name)
    ax.scatter([], [], marker="D", facecolor="none", edgecolor="k", label="paper")
    ax.scatter([], [], marker="o", color="k", label="reproduced, 95 % CI")


def _sweep_archs(field: str, table: str) -> set[str]:
    """The architectures a sweep draws: its own (:data:`SWEEPS`), else those of the table's rows."""
    from .models.registry import REGISTRY

    if field not in SWEEPS:
        raise ValueError(f"field={field!r}: expected one of {', '.join(SWEEPS)}")
    spec = SWEEPS[field]
    return set(spec.archs or {REGISTRY[p["model"]].config.arch for p in paper_table(table)["rows"] if p.get("model")})


def sweep_records(records: Sequence[dict], field: str, table: int | str) -> list[dict]:
    """The records :func:`sweep_figure` draws as points, in the order of the swept field."""
    archs = _sweep_archs(field, str(table))
    ours = [r for r in records if r["config"].get("model", {}).get("arch") in archs]
    return sorted(ours, key=lambda r: swept_value(r["config"], field))


def sweep_figure(records: Sequence[dict], field: str, table: int | str) -> Figure:
    """Accuracy against a configuration field (:data:`SWEEPS`): one point per recorded summary of
    the drawn architectures, with its 95 % interval, and the paper's rows beside them (open
    diamonds), one colour per series: a run and a paper row share a series when their
    architectures agree but for the swept field. Points at one x are spread by a few display
    points per series (:data:`SERIES_DODGE`)."""
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import ScaledTranslation

    from .config import Config
    from .models.registry import REGISTRY
    from .report import intervals

    archs = _sweep_archs(field, str(table))
    spec, table = SWEEPS[field], str(table)
    ours = sweep_records(records, field, table)
    paper = [(Config(model=REGISTRY[p["model"]].config).to_dict(), p["accuracy"]) for p in paper_table(table)["rows"]
             if p.get("model") and p.get("accuracy") is not None and REGISTRY[p["model"]].config.arch in archs]
    recorded = {spec.series(r["config"]["model"], table) for r in ours}
    if spec.paper_rows == "recorded":
        paper = [(c, acc) for c, acc in paper if spec.series(c["model"], table) in recorded]
    names = sorted(recorded | {spec.series(c["model"], table) for c, _ in paper})
    colours = dict(zip(names, sns.color_palette("deep", len(names))))
    ci = intervals(ours)
    fig = NotebookFigure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()

    def shifted(name: str, within: float):
        points = SERIES_DODGE * (names.index(name) - (len(names) - 1) / 2) + within
        return ax.transData + ScaledTranslation(points / 72, 0, fig.dpi_scale_trans)

    extent = []  # data limits by hand: autoscaling skips artists drawn with an offset transform
    for c, acc in paper:
        name = spec.series(c["model"], table)
        ax.scatter(swept_value(c, field), acc, marker="D", facecolor="none", edgecolor=colours[name], zorder=3,
                   transform=shifted(name, -PAPER_DODGE))
        extent.append((swept_value(c, field), acc))
    for r in sorted(ours, key=lambda r: swept_value(r["config"], field)):
        c, name, x = ci[id(r)], spec.series(r["config"]["model"], table), swept_value(r["config"], field)
        ax.errorbar(x, 100 * c["mean"], capsize=4, fmt="o", zorder=3, color=colours[name],
                    yerr=[[100 * (c["mean"] - c["low"])], [100 * (c["high"] - c["mean"])]],
                    transform=shifted(name, PAPER_DODGE))
        extent += [(x, 100 * c["low"]), (x, 100 * c["high"])]
    if extent:
        ax.update_datalim(extent)
        ax.autoscale_view()
    _sweep_legend(ax, colours)
    if spec.integer and extent:  # ticks at whole values, a margin of one on each side
        xs = [x for x, _ in extent]
        ax.set_xlim(min(xs) - 1, max(xs) + 1)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(spec.axis)
    ax.set_ylabel("accuracy %")
    ax.legend(fontsize=7)
    ax.set_title(f"Table {table}: accuracy against {field}", fontsize=10)
    return fig


def s_figure(records: Sequence[dict], table: int | str = 6) -> Figure:
    """Accuracy against FSA's super-parameter s (:func:`sweep_figure`), one series per (feature
    size, FC layers), every ECNN-FSA row of the paper's table beside the recorded runs."""
    return sweep_figure(records, "s", table)


def n_figure(records: Sequence[dict], table: int | str) -> Figure:
    """Accuracy against the frames per clip n (:func:`sweep_figure`), one series per row of the
    table, the paper's accuracy of each recorded row at its n = 5 beside the runs."""
    return sweep_figure(records, "n", table)


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


# -- Table 8: the speed benchmark's figures (drawn from an ``fsa bench`` record) ----------------
MODE_MARKERS = {"inference": "o", "train": "s"}


def _setting(size: str, image_size: int, precision: str) -> str:
    return f"{size} size ({image_size} px), {precision}"


def bench_time_figure(result: dict) -> Figure:
    """Table 8 beside a bench record: ms per frame of a training step and of inference per model,
    the paper's (GTX 1080Ti) and each measured size × precision (log scale), and the
    ECNN-FSA / CNN-LSTM time ratio, the number that compares across machines."""
    from .bench import table8_rows

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
    from .bench import roofline_points, roofs

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


# -- the attention page: per-class distributions ------------------------------------------------
def spearman_figure(clips: pd.DataFrame) -> Figure:
    """Per class, the per-clip Spearman ρ between FSA's frame weights and the true intensity (a
    :func:`fsa.report.attention_vs_intensity` table): a box of its quartiles and every clip as a
    point (spread vertically by a fixed-seed jitter), 0 marked."""
    from .attention_stats import class_order

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


def sample_figure(root: str | os.PathLike, per_class: int = 1, frames: int = 5):
    """One clip per class of a prepared dataset: ``frames`` evenly spaced aligned face crops."""
    import cv2

    from .data import frame_path, load_index

    root = Path(root)
    rows = []
    for label, g in load_index(root).groupby("label"):
        for _, v in g.head(per_class).iterrows():
            picks = np.linspace(0, v["n_frames"] - 1, frames).round().astype(int)
            crops = [cv2.cvtColor(cv2.imread(str(frame_path(root, v["video_id"], int(k)))), cv2.COLOR_BGR2RGB)
                     for k in picks]
            rows.append((f"{label}\n{v['video_id']}", crops))
    return frame_grid(rows, title=f"{root.parent.name}: aligned faces, first to last frame")


# -- the dataset page: the expressions, large enough to judge ----------------------------------
#: Side (inches) of an apex frame on the dataset page and of a frame of its neutral -> apex strips:
#: at the notebooks' 100 dpi, at least 160 and 120 px once titles and captions are laid out.
APEX_PANEL, STRIP_PANEL = 2.3, 1.55


def action_units(label: str) -> str:
    """A class's action units in FACS notation (``AU 6+12+25``; ``R`` marks a unilateral one)."""
    from data_prep.facs import EXPRESSIONS

    codes = list(EXPRESSIONS[label])
    return "AU " + "+".join(codes) if codes else "no action unit"


def _who(clip) -> str:
    return clip.person or f"subject {clip.subject}"


def expression_figure(root: str | os.PathLike, raw: str | os.PathLike | None = None, cols: int = 4) -> Figure:
    """The apex frame of one video per class of a prepared dataset (:func:`fsa.report.expression_clips`:
    the people of the source photos in turn), titled with its class and action units and captioned
    with the person, the video and the frame."""
    from data_prep.video import read_image

    from .data import frame_path
    from .report import expression_clips

    root = Path(root)
    clips = expression_clips(root, raw)
    rows = -(-len(clips) // cols)
    fig = NotebookFigure(figsize=(APEX_PANEL * cols, (APEX_PANEL + 0.6) * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, c in zip(axes, clips.itertuples()):
        ax.imshow(read_image(frame_path(root, c.video_id, c.apex)))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{c.label} — {action_units(c.label)}", fontsize=9)
        ax.set_xlabel(f"{_who(c)} · {c.video_id}, frame {c.apex + 1}", fontsize=7)
    for ax in axes[len(clips):]:
        ax.set_axis_off()
    fig.suptitle(f"{root.parent.name}: the apex of each class (aligned face crops)", fontsize=10)
    return fig


def expression_strip_figure(root: str | os.PathLike, raw: str | os.PathLike | None = None,
                            frames: int = 6) -> Figure:
    """Per class, ``frames`` evenly spaced aligned crops of one video from its last neutral frame
    to its apex (the videos of :func:`expression_figure`), each captioned with its frame and, for
    synthetic data, the intensity shown (the fraction of the full AU displacement)."""
    from data_prep.video import read_image

    from .data import frame_path, load_intensity
    from .report import expression_clips

    root = Path(root)
    intensity = load_intensity(root) or {}
    rows, captions = [], []
    for c in expression_clips(root, raw).itertuples():
        picks = np.unique(np.linspace(c.onset, c.apex, frames).round().astype(int))
        curve = intensity.get(c.video_id)
        rows.append((f"{c.label}\n{action_units(c.label)}\n{_who(c)}",
                     [read_image(frame_path(root, c.video_id, int(k))) for k in picks]))
        captions.append([f"frame {k + 1}" + (f" · I={curve[k]:.2f}" if curve is not None else "") for k in picks])
    return frame_grid(rows, title=f"{root.parent.name}: neutral → apex", panel=STRIP_PANEL, captions=captions)


def wild_conditions_figure(root: str | os.PathLike, raw: str | os.PathLike | None = None) -> Figure:
    """The apex of one clip per class of a prepared AFEW-like set, as recorded (the raw frame:
    pose, light, blur, occluders, compression, background) above its aligned face crop; without
    the raw set, the crops alone."""
    from data_prep.video import iter_frames, read_image

    from .data import frame_path
    from .report import expression_clips, raw_of

    root = Path(root)
    raw = Path(raw) if raw is not None else raw_of(root)
    clips = list(expression_clips(root, raw).itertuples())
    rows = []
    if raw is not None:
        rows.append(("as recorded", [next(iter_frames(raw / c.source, [c.apex])) for c in clips]))
    rows.append(("aligned crop", [read_image(frame_path(root, c.video_id, c.apex)) for c in clips]))
    captions = [[f"{c.label} · {_who(c)}" for c in clips]] * len(rows)
    return frame_grid(rows, title=f"{root.parent.name}: the apex frames in their wild conditions",
                      panel=APEX_PANEL, captions=captions)
