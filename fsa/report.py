"""What the table notebooks and the book call: data on first use, runs read-or-trained, and the
paper-vs-reproduced tables built from the results store.

A notebook never computes a number itself. It describes its runs with a :class:`Page`, whose
:meth:`Page.run` returns the stored record of a configuration (same config hash, same data)
or trains it with :mod:`fsa.engine` and records it. :func:`comparison` lines up every
recorded run with the paper's row it reproduces (``fsa/paper_results.json``); recorded runs
of configurations the paper does not have (``papermill notebooks/table6.ipynb -p s 0.25``)
become extra rows, marked so.

Runs are grouped by data: the experiment of a run is ``<dataset>-<index hash>``, so the
embedded synthetic set, its smoke version and a real CK+ / AFEW preparation never mix.
"""
from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from . import results as store
from .config import PRESETS, Config, ConfigError, ModelConfig, make_config
from .models.registry import REGISTRY
from .paper import paper_table

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Environment variables the notebooks read when a parameter is left at ``None``: the preset
#: (``cpu`` by default, ``smoke`` in the nbval tests) and the size of the embedded dataset.
PRESET_ENV = "FSA_PRESET"
DATA_SIZE_ENV = "FSA_DATA_SIZE"
#: Where the embedded synthetic dataset is generated and prepared on first use.
DATA_ROOT_ENV = "FSA_DATA"
#: Model fields a preset scales: two runs that differ only in these reproduce the same paper row.
SCALE_FIELDS = ("name", "width", "batch_norm")
#: The paper's tables with a results table (accuracy rows) and the dataset each one uses.
RESULT_TABLES = ("2", "3", "4", "6", "7", "9")


# -- data -------------------------------------------------------------------------------
def embedded_root() -> Path:
    return Path(os.environ.get(DATA_ROOT_ENV, REPO_ROOT / "data" / "embedded"))


def embedded_dataset(layout: str, size: str | None = None, jobs: int = 2) -> Path:
    """The prepared embedded dataset of ``layout`` (``ckplus`` | ``afew``), made on first use.

    The synthetic raw videos are written in the real CK+ / AFEW on-disk formats and go
    through the same dlib preparation as the real datasets. A killed preparation resumes.
    """
    from data_prep import prepare, synth

    size = size or os.environ.get(DATA_SIZE_ENV) or "default"
    if layout not in ("ckplus", "afew"):
        raise ConfigError(f"layout={layout!r}: expected 'ckplus' or 'afew'")
    if size not in synth.SIZE_NAMES:
        raise ConfigError(f"embedded dataset size={size!r}: expected one of {', '.join(synth.SIZE_NAMES)}")
    base = embedded_root() / f"{layout}-{size}"
    raw, prepared = base / "raw", base / "prepared"
    if not (prepared / "index.csv").is_file():
        if not (raw / "synth_meta.csv").is_file():
            synth.generate(layout, raw, size=size, seed=0)
        prepare.prepare(layout, raw, prepared, jobs=jobs, progress=False)
    return prepared


def data_source(root: str | os.PathLike) -> dict:
    """What a prepared dataset is: synthetic (it carries the generator's intensity sidecar) or real."""
    from .data import index_hash, load_index

    root = Path(root)
    return {
        "kind": "synthetic" if (root / "intensity.csv").is_file() else "real",
        "index_hash": index_hash(root),
        "videos": int(len(load_index(root))),
    }


def resolve_preset(preset: str | None) -> str:
    preset = preset or os.environ.get(PRESET_ENV) or "cpu"
    if preset not in PRESETS:
        raise ConfigError(f"preset={preset!r}: expected one of {', '.join(PRESETS)}")
    return preset


def profile_text(preset: str) -> str:
    p = PRESETS[preset]
    return (f"{p['image_size']} px, width ×{p['width']:g}, batch {p['batch_size']}, {p['epochs']} epochs, "
            f"lr {p['lr']:g}")


def experiment_name(cfg: Config) -> str:
    """``<dataset>-<index hash>``: the store folder of every run on one prepared dataset."""
    from .data import index_hash

    return f"{cfg.dataset}-{index_hash(cfg.data)}"


# -- one notebook page ------------------------------------------------------------------
class Page:
    """The runs of one table notebook: preset, data and the knobs its parameters cell sets.

    Building a page validates every value (a bad one raises :class:`ConfigError` naming it)
    and makes the embedded dataset on first use when ``data`` is ``None``.
    """

    def __init__(self, table: int | str, preset: str | None = None, data: str | os.PathLike | None = None,
                 device: str = "auto", seed: int = 0, **overrides: Any):
        self.table = str(table)
        self.spec = paper_table(table)
        self.dataset = self.spec.get("dataset", "ckplus")
        self.preset = resolve_preset(preset)
        self.overrides = {k: v for k, v in overrides.items() if v is not None}
        self.overrides.update(device=device, seed=seed)
        if self.dataset == "afew":
            self.overrides.setdefault("protocol", "afew")
        # Validate before any data work, so a bad parameter fails at once.
        self.config("ecnn-fsa", data="")
        if data is not None and not (Path(data) / "index.csv").is_file():
            raise ConfigError(f"data={str(data)!r}: not a prepared dataset (no index.csv; run `fsa prep`)")
        self.data = Path(data) if data is not None else embedded_dataset(self.dataset)
        self.source = data_source(self.data)

    def config(self, model: str | ModelConfig, data: str | os.PathLike | None = None, **model_overrides: Any) -> Config:
        over = {**self.overrides, **{k: v for k, v in model_overrides.items() if v is not None}}
        return make_config(model, self.preset, dataset=self.dataset,
                           data=str(self.data if data is None else data), **over)

    def banner(self) -> str:
        """Markdown: which data and which profile produced this page's numbers."""
        name = "AFEW" if self.dataset == "afew" else "CK+"
        what = (f"the **embedded synthetic {name}-layout dataset**" if self.source["kind"] == "synthetic"
                else f"a **real {name} preparation** (`{self.data}`)")
        return (f"Numbers on this page come from {what} ({self.source['videos']} videos, `index.csv` hash "
                f"`{self.source['index_hash']}`) with the **`{self.preset}` profile** "
                f"({profile_text(self.preset)}); the paper's come from {name} with pretrained weights at 224 px.")

    def configs(self, rows: str = "key", **model_overrides: Any) -> list[Config]:
        """The table's configurations: its key rows (or ``all`` the paper's rows); model knobs
        set to a value (e.g. ``s=0.2``) replace them by one run of the table's base model."""
        custom = {k: v for k, v in model_overrides.items() if v is not None}
        models = table_models(self.table, rows)
        if custom:
            return [self.config(models[-1], **custom)]
        return [self.config(m) for m in models]

    def run(self, cfg: Config, retrain: bool = False, track_test: bool = False) -> dict:
        """The record of ``cfg``: read from the store when there, else trained and recorded.

        CK+ configurations run every fold and return the k-fold summary; AFEW ones train on
        Train and test on Val once.
        """
        from . import engine

        exp = experiment_name(cfg)
        if cfg.dataset == "ckplus":
            folds = list(range(cfg.folds))
            path = store.experiment_dir(exp) / f"folds-{engine.folds_hash(cfg, folds)}.json"
            if path.is_file() and not retrain:
                return json.loads(path.read_text())
            return engine.run_folds(cfg, exp, folds, track_test=track_test, progress=False).summary
        found = None if retrain else store.find_run(exp, cfg.hash())
        return found or engine.train(cfg, exp, track_test=track_test, progress=False).record

    def run_all(self, configs: Sequence[Config], retrain: bool = False) -> list[dict]:
        return [self.run(c, retrain=retrain) for c in configs]

    def comparison(self) -> pd.DataFrame:
        """Paper vs this project for this page's table, over every recorded run on this page's data."""
        return comparison(self.table, experiment=f"{self.dataset}-{self.source['index_hash']}")


def table_models(table: int | str, rows: str = "key") -> list[str]:
    """Named models a table notebook trains: its key rows, or (``all``) every row of the paper."""
    if rows not in ("key", "all"):
        raise ConfigError(f"rows={rows!r}: expected 'key' or 'all'")
    if rows == "all":
        return [r["model"] for r in paper_table(table)["rows"] if r.get("model")]
    return list(KEY_ROWS[str(table)])


#: Rows a table runs by default: the main contrast of each table (LSTM depth, branch kernel,
#: the s sweep and FC layers, LBP, the two architectures), so that ``make book`` stays within
#: its time budget; ``rows="all"`` runs every row of the paper. The last one is the base model
#: a ``-p s 0.2``-style run varies.
KEY_ROWS: dict[str, tuple[str, ...]] = {
    "2": ("cnn-lstm-2048", "cnn-lstm-2048-2048"),
    "3": ("ecnn-lstm-fc1-k5", "ecnn-lstm-fc1-k7"),
    "4": ("cnn-lstm", "score-fusion", "ecnn-fsa"),
    "6": ("ecnn-fsa-2048-fc1-s0.01", "ecnn-fsa-2048-fc1-s0.3", "ecnn-fsa-2048-fc2-s0.06", "ecnn-fsa-2048-fc1-s0.1"),
    "7": ("ecnn-lstm-fc6-k7", "ecnn-lstm-fc6-k7-lbp", "ecnn-fsa-2048-fc1-s0.1"),
    "9": ("cnn-lstm", "ecnn-fsa"),
}


# -- matching runs to the paper's rows ----------------------------------------------------
def all_records(dataset: str, kind: str, experiment: str | None = None) -> list[dict]:
    """Every stored record of ``kind`` (``run`` | ``folds``) for a dataset (or one experiment)."""
    root = store.results_root()
    if not root.is_dir():
        return []
    folders = [experiment] if experiment else sorted(
        p.name for p in root.iterdir() if p.is_dir() and p.name.startswith(f"{dataset}-"))
    return [r for f in folders for r in store.load_runs(f, kind=kind)]


def architecture(model: dict | ModelConfig) -> dict:
    """A model config without the fields a preset scales: what identifies a paper row."""
    d = {f.name: getattr(model, f.name) for f in fields(ModelConfig)} if isinstance(model, ModelConfig) else dict(model)
    defaults = {f.name: f.default for f in fields(ModelConfig)}
    d = {**defaults, **d, "lstm_widths": tuple(d.get("lstm_widths", ()))}
    for k in SCALE_FIELDS:
        d.pop(k, None)
    return d


def profile_of(config: dict) -> str:
    """The preset whose numbers a run's config carries, else ``custom``."""
    flat = {**config, **config["model"]}
    for name, numbers in PRESETS.items():
        if all(flat.get(k) == v for k, v in numbers.items()):
            return name
    return "custom"


def comparison(table: int | str, records: Iterable[dict] | None = None, experiment: str | None = None) -> pd.DataFrame:
    """Paper vs this project for a results table (2, 3, 4, 6, 7, 9).

    One line per (paper row × matching recorded run); paper rows without a run say
    ``not run``; rows cited from other work say so; recorded runs of the table's
    architectures that match no named configuration (e.g. ``s = 0.25``) are appended as extra rows.
    """
    if str(table) not in RESULT_TABLES:
        raise ConfigError(f"table {table}: the paper's accuracy tables are {', '.join(RESULT_TABLES)}")
    spec = paper_table(table)
    kind = "folds" if spec["dataset"] == "ckplus" else "run"
    records = list(all_records(spec["dataset"], kind, experiment) if records is None else records)
    rows, used, archs = [], set(), set()
    for prow in spec["rows"]:
        label = prow.get("label") or _paper_row_label(prow)
        base = {"row": label, "paper acc %": prow.get("accuracy")}
        if "f1" in prow:
            base["paper F1"] = prow["f1"]
        if prow.get("model") is None:
            rows.append({**base, "status": f"cited ({prow.get('cited', 'other work')})"})
            continue
        arch = architecture(REGISTRY[prow["model"]].config)
        archs.add(arch["arch"])
        matches = [r for r in records if architecture(r["config"]["model"]) == arch]
        if not matches:
            rows.append({**base, "status": "not run"})
        for r in matches:
            used.add(id(r))
            rows.append({**base, **measured(r, prow)})
    named = [architecture(entry.config) for entry in REGISTRY.values()]
    for r in records:  # a run of another table's row belongs to that table
        if id(r) not in used and r["config"]["model"]["arch"] in archs and architecture(r["config"]["model"]) not in named:
            rows.append({"row": extra_label(r["config"]["model"]), "paper acc %": None,
                         **measured(r, {}), "status": "extra (not in the paper)"})
    return pd.DataFrame(rows)


def _paper_row_label(prow: dict) -> str:
    return REGISTRY[prow["model"]].paper_label


def extra_label(model: dict) -> str:
    m = ModelConfig(**{**model, "lstm_widths": tuple(model["lstm_widths"])})
    if m.arch == "ecnn-fsa":
        d = m.backbone_dim + (m.branch_dim if m.branch else 0)
        return f"ECNN-FSA ({d}, {'fc' if m.fc_layers == 1 else '2×fc'}, s = {m.s:g})"
    return f"{m.arch} ({', '.join(map(str, m.lstm_widths))})"


def _mean(v: Any) -> float:
    return float(v["mean"] if isinstance(v, dict) else v)


def measured(r: dict, prow: dict) -> dict:
    """This project's columns for one record (a single run or a k-fold summary)."""
    met = r["metrics"]
    acc = 100 * _mean(met["accuracy"])
    counts = np.asarray(met.get("pooled", met)["confusion"]).sum(1)
    out = {
        "ours acc %": round(acc, 2),
        "± (folds)": round(100 * met["accuracy"]["std"], 2) if isinstance(met["accuracy"], dict) else None,
        "Δ acc": round(acc - prow["accuracy"], 2) if prow.get("accuracy") is not None else None,
        "ours UAR %": round(100 * _mean(met["uar"]), 2),
        "ours F1": round(_mean(met["macro_f1"]), 4),
        "majority class %": round(100 * counts.max() / counts.sum(), 2),
        "profile": profile_of(r["config"]),
        "experiment": r.get("experiment"),
        "run": r.get("folds_hash") or r.get("config_hash"),
        "status": "measured",
    }
    return out


def to_html(df: pd.DataFrame) -> str:
    """A compact HTML table (missing values shown as an em dash) for the book."""
    return df.to_html(index=False, na_rep="—", escape=True, border=0, classes="fsa-table",
                      float_format=lambda v: f"{v:g}")


# -- confusion matrices -------------------------------------------------------------------
def confusion_pct(record: dict, classes: Sequence[str]) -> pd.DataFrame:
    """Row-normalised confusion (%) of a record, rows/columns in ``classes`` order
    (the pooled matrix for a k-fold summary). Classes a dataset lacks are dropped."""
    met = record["metrics"]
    met = met.get("pooled", met)
    counts = np.asarray(met["confusion"], float)
    own = list(met["classes"])
    keep = [c for c in classes if c in own]
    idx = [own.index(c) for c in keep]
    counts = counts[np.ix_(idx, idx)]
    pct = 100 * counts / np.maximum(counts.sum(1, keepdims=True), 1)
    return pd.DataFrame(pct.round(2), index=keep, columns=keep)


def paper_confusion(table: int | str) -> pd.DataFrame:
    spec = paper_table(table)
    return pd.DataFrame(spec["confusion_pct"], index=spec["classes"], columns=spec["classes"])


# -- attention against the synthetic ground truth -------------------------------------------
def attention_vs_intensity(record: dict, data: str | os.PathLike) -> pd.DataFrame:
    """Per test clip: Spearman correlation between FSA's frame weights and the true expression
    intensity of the sampled frames (the synthetic sidecar), and whether the most attended
    frame is the most intense one. Clips whose sampled frames all share one intensity
    (neutral clips) have no correlation and are left out."""
    from scipy.stats import spearmanr

    from .data import load_intensity

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

    from .data import frame_path, load_intensity

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


# -- Table 1 and the model family -----------------------------------------------------------
#: Table 1's modules and the module of ``fsa.models`` that implements each one.
TABLE1_MODULES = {"Self-attention": "fsa", "Layer-norm": "head.layers.0", "ReLU": "head.layers.1",
                  "Dropout": "head.layers.2", "FC": "head.layers.3", "Softmax": None}


def table1(size: int = 224, n: int = 5) -> pd.DataFrame:
    """The paper's Table 1 beside the traced ECNN-FSA (output without the batch dimension)."""
    from .models.describe import module_outputs

    traced = {r["module"]: r for r in module_outputs("ecnn-fsa", size, n)}
    cfg = REGISTRY["ecnn-fsa"].config
    rows = []
    for prow in paper_table(1)["rows"]:
        path = TABLE1_MODULES[prow["module"]]
        if path == "fsa":
            ours, params = traced["fsa.w_v"]["output"][1:], traced["fsa"]["params"]
            setting = f"W_q, W_k, W_v {cfg.feature_dim}×{cfg.feature_dim} (no bias), s = {cfg.s:g}"
        elif path is None:
            ours, params, setting = traced["head.layers.3"]["output"][1:], 0, "in the loss / at prediction"
        else:
            ours, params = traced[path]["output"][1:], traced[path]["params"]
            setting = f"p = {cfg.dropout:g}" if prow["module"] == "Dropout" else "-"
        rows.append({"module": prow["module"], "paper output": prow["output"], "paper parameter": prow["parameter"],
                     "fsa module": path or "—", "our output": " × ".join(map(str, ours)),
                     "our parameters": params, "our setting": setting})
    return pd.DataFrame(rows)


def model_summary(size: int = 224) -> pd.DataFrame:
    """Parameters and GFLOPs per frame of every named configuration, with the tables it appears in."""
    from .models.describe import describe_models

    df = pd.DataFrame(describe_models(size))
    df["tables"] = df["tables"].map(", ".join)
    df["params (M)"] = (df.pop("params") / 1e6).round(2)
    return df[["name", "paper_label", "tables", "arch", "feature_dim", "params (M)", "gflops_per_frame"]]


def fold_table(record: dict) -> pd.DataFrame:
    """Per-fold test scores of a k-fold summary, with the mean, std and pooled rows."""
    met = record["metrics"]
    keys = ("accuracy", "uar", "macro_f1")
    rows = [{"fold": k, **{m: round(met[m]["per_fold"][i], 4) for m in keys}, "selected epoch": e}
            for i, (k, e) in enumerate(zip(record["folds_run"], record["selected_epochs"]))]
    rows.append({"fold": "mean", **{m: round(met[m]["mean"], 4) for m in keys}})
    rows.append({"fold": "std", **{m: round(met[m]["std"], 4) for m in keys}})
    rows.append({"fold": "pooled", **{m: round(met["pooled"][m], 4) for m in keys}})
    return pd.DataFrame(rows).astype({"selected epoch": "Int64"}).set_index("fold")


def fold_runs(summary: dict) -> list[dict]:
    """The per-fold records behind a k-fold summary."""
    return [store.find_run(summary["experiment"], h) for h in summary["fold_config_hashes"]]


# -- checks the notebooks end with (nbval fails a notebook whose check fails) ---------------
#: Under the ``cpu`` preset on the embedded CK+ set, a k-fold model must reach at least this multiple
#: of the majority-class rate (mean test accuracy over folds). Calibration (seed 0, 15 epochs, majority
#: 21.9 %): CNN-LSTM 44.8 %, ECNN-FSA 37.6 %, score fusion 36.8 %, i.e. 1.68x to 2.05x. The embedded
#: AFEW set stays near its majority rate under this profile, so it has no bar.
CPU_CKPLUS_BAR = 1.4


def check_metrics(r: dict, name: str) -> None:
    """A run's test metrics are those of its per-clip predictions: one row per test clip, the
    confusion matrix counted from the rows, the accuracy their fraction of correct clips."""
    met, clips = r["metrics"], r["per_clip"]
    assert len(clips) == r["n_clips"]["test"] == met["n_clips"], (
        f"{name}: {len(clips)} per-clip rows for {r['n_clips']['test']} test clips ({met['n_clips']} scored)")
    index = {c: i for i, c in enumerate(met["classes"])}
    counts = np.zeros((len(index), len(index)), int)
    for c in clips:
        counts[index[c["label"]], index[c["pred"]]] += 1
    assert counts.tolist() == met["confusion"], f"{name}: the confusion matrix is not the per-clip predictions'"
    correct = sum(c["label"] == c["pred"] for c in clips) / len(clips)
    assert abs(met["accuracy"] - correct) < 1e-9, (
        f"{name}: accuracy {met['accuracy']:.4f}, but {correct:.4f} of the per-clip predictions are correct")


def check_records(records: Sequence[dict], page: Page) -> dict:
    """Every record is complete, traceable to its config, data and commit, and its test metrics
    are those of its per-clip predictions (:func:`check_metrics`); under the ``cpu``
    preset on synthetic CK+, every k-fold model also beats the majority class by
    :data:`CPU_CKPLUS_BAR`. (The ``smoke`` preset, used by the notebook tests, keeps these
    from-scratch models near chance; the engine's own test checks learning at that scale.)

    Returns each run's last-epoch training accuracy; an ``AssertionError`` names the run that failed.
    """
    checked = {}
    for rec in records:
        if rec["kind"] == "folds" and page.preset == "cpu" and page.source["kind"] == "synthetic":
            pooled = np.asarray(rec["metrics"]["pooled"]["confusion"]).sum(1)
            majority, acc = pooled.max() / pooled.sum(), rec["metrics"]["accuracy"]["mean"]
            assert acc >= CPU_CKPLUS_BAR * majority, (
                f"{rec['model']} k-fold {rec['folds_hash']}: mean accuracy {acc:.3f} < {CPU_CKPLUS_BAR} x the "
                f"majority-class rate {majority:.3f} — an accuracy regression")
        runs = fold_runs(rec) if rec["kind"] == "folds" else [rec]
        for r in runs:
            assert r is not None, f"a fold of {rec.get('folds_hash')} is missing from the store"
            name = f"{r['model']} run {r['config_hash']}"
            assert r["data_index_hash"] == page.source["index_hash"], f"{name}: recorded on other data"
            assert r["git"]["commit"] and r["versions"]["torch"], f"{name}: no provenance"
            assert Config.from_dict(r["config"]).hash() == r["config_hash"], f"{name}: config and hash differ"
            assert len(r["history"]) == r["config"]["epochs"] or r["stopped_early"], f"{name}: unfinished"
            check_metrics(r, name)
            checked[name] = round(r["history"][-1]["train_accuracy"], 3)
    return checked


# -- the embedded dataset page --------------------------------------------------------------
def dataset_summary(roots: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Videos per split and class of prepared datasets."""
    from .data import load_index

    rows = []
    for root in map(Path, roots):
        index = load_index(root)
        prep = json.loads((root / "prep_report.json").read_text())
        split = index["split"].fillna("").replace("", "all")
        for (sp, label), g in index.groupby([split, "label"]):
            rows.append({"dataset": prep["dataset"], "split": sp, "label": label, "videos": len(g)})
    return pd.DataFrame(rows).pivot_table(index=["dataset", "split"], columns="label", values="videos",
                                          fill_value=0, aggfunc="sum")


def sample_figure(root: str | os.PathLike, per_class: int = 1, frames: int = 5):
    """One clip per class of a prepared dataset: ``frames`` evenly spaced aligned face crops."""
    import cv2

    from .data import frame_path, load_index
    from .plots import frame_grid

    root = Path(root)
    rows = []
    for label, g in load_index(root).groupby("label"):
        for _, v in g.head(per_class).iterrows():
            picks = np.linspace(0, v["n_frames"] - 1, frames).round().astype(int)
            crops = [cv2.cvtColor(cv2.imread(str(frame_path(root, v["video_id"], int(k)))), cv2.COLOR_BGR2RGB)
                     for k in picks]
            rows.append((f"{label}\n{v['video_id']}", crops))
    return frame_grid(rows, title=f"{root.parent.name}: aligned faces, first to last frame")
