"""The results pages' figures: the paper's tables beside the reproduced numbers, the sweeps of ``s`` and
``n``, training curves, confusion matrices and the paper's Fig. 1 redrawn from the model code.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ..paper import paper_table
from ..results import record_key
from .core import NotebookFigure


def architecture_figure(name: str = "ecnn-fsa", size: int = 224, n: int = 5) -> Figure:
    """The paper's Fig. 1 redrawn from the model code: one box per module of ``fsa.models``
    with the output shape traced for a clip of ``n`` frames at ``size`` px."""
    from ..models.describe import module_outputs

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


#: Fewer replicates than this and a reproduced number is drawn as its per-fold / per-seed points
#: instead of a 95 % interval (a t-interval over two values is too wide to read).
MIN_FOR_WHISKERS = 3


PAPER_COLOUR, OURS_COLOUR, FLOOR_COLOUR = "#7f8c8d", "#c0392b", "#2471a3"


def _replicates(record: dict) -> list[float]:
    """A record's per-fold or per-seed accuracies, or its one accuracy."""
    acc = record["metrics"]["accuracy"]
    return [float(v) for v in acc["per_fold"]] if isinstance(acc, dict) else [float(acc)]


def table_figure(table: int | str, records: Sequence[dict]) -> Figure:
    """Paper vs reproduced accuracy per row of a results table, in the table's row order.

    Rows and their order are :func:`fsa.report.comparison`'s; each reproduced number carries its
    95 % interval (:func:`fsa.report.intervals`) as whiskers, or its per-fold / per-seed points
    when it has fewer than :data:`MIN_FOR_WHISKERS`; the classical floors are horizontal lines.
    """
    from ..report import comparison, intervals

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
    from ..report import architecture

    m = architecture(model)
    d = m["backbone_dim"] + (m["branch_dim"] if m["branch"] else 0)
    return f"D = {d}, {'1 FC' if m['fc_layers'] == 1 else '2 FC'}"


def _row_series(model: dict, table: str) -> str:
    """The table's row label of the model's architecture (its extra label when the paper has none)."""
    from ..models.registry import REGISTRY
    from ..report import architecture, extra_label

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
    from ..models.registry import REGISTRY

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

    from ..config import Config
    from ..models.registry import REGISTRY
    from ..report import intervals

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
