"""Paper vs this project: the recorded runs lined up with the paper's rows they reproduce.

A run reproduces a paper row when its model has the row's architecture, whatever a preset
scales (:data:`SCALE_FIELDS`): :func:`comparison` gives one line per (paper row × matching
recorded run), marks the rows without a run, appends the recorded runs of configurations the
paper does not have (``papermill notebooks/table6.ipynb -p s 0.25``) as extra rows, and closes
with the classical floors of the same data (:mod:`fsa.floors`); every measured accuracy carries
its 95 % interval (:mod:`fsa.report.confidence`). Confusion matrices are set beside the paper's
in its class order.
"""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ..config import PRESETS, STORE_PREFIX, ConfigError, ModelConfig, parse_store_reference
from ..models.registry import REGISTRY
from ..paper import paper_table
from ..results import record_key
from .confidence import accuracy_interval, intervals, score_mean
from .records import FLOOR_KIND, GROUP_KIND, all_records

#: Model fields a preset scales: two runs that differ only in these reproduce the same paper row.
SCALE_FIELDS = ("name", "width", "batch_norm", "dropout")
#: The paper's tables with a results table (accuracy rows) and the dataset each one uses.
RESULT_TABLES = ("2", "3", "4", "6", "7", "9")


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


def start_of(config: dict) -> str:
    """What a run's weights start from: the store experiment of the still-image run it continues
    (``stills-<format>-<the set's hash>``: two still sets, two names), a weights file's name, or
    ``random``. Two runs of one paper row that differ here are two rows of a comparison."""
    weights = config.get("pretrained") or ""
    if weights.startswith(STORE_PREFIX):
        return parse_store_reference(weights)[0]
    return Path(weights).name if weights else "random"


#: The paper's cited rows that a floor of :mod:`fsa.floors` reproduces: the EmotiW challenge's AFEW
#: baseline (LBP-TOP + a kernel SVM) is the ``lbp-top`` floor.
CITED_FLOORS = {"EmotiW AFEW baseline": "lbp-top"}


def comparison(table: int | str, records: Iterable[dict] | None = None, experiment: str | None = None) -> pd.DataFrame:
    """Paper vs this project for a results table (2, 3, 4, 6, 7, 9).

    One line per (paper row × matching recorded run); paper rows without a run say
    ``not run``; rows cited from other work say so, or show the floor that reproduces them
    (:data:`CITED_FLOORS`: Tables 3 and 9's EmotiW baseline); recorded runs of the table's
    architectures that match no named configuration (e.g. ``s = 0.25``) are appended as extra rows.
    """
    if str(table) not in RESULT_TABLES:
        raise ConfigError(f"table {table}: the paper's accuracy tables are {', '.join(RESULT_TABLES)}")
    spec = paper_table(table)
    dataset = spec["dataset"]
    if records is None:
        records = all_records(dataset, GROUP_KIND[dataset], experiment)
        floors = all_records(dataset, FLOOR_KIND[dataset], experiment)
    else:
        floors = [r for r in records if r.get("kind") == FLOOR_KIND[dataset]]
        records = [r for r in records if r.get("kind") not in FLOOR_KIND.values()]
    ci = intervals([*records, *floors])
    rows, used, archs = [], set(), set()
    for prow in spec["rows"]:
        label = prow.get("label") or paper_row_label(prow)
        base = {"row": label, "paper acc %": prow.get("accuracy")}
        if "f1" in prow:
            base["paper F1"] = prow["f1"]
        if prow.get("model") is None:
            again = [r for r in floors if r["config"].get("features") == CITED_FLOORS.get(prow.get("cited"))]
            for r in again:
                used.add(id(r))
                rows.append({**base, **measured(r, prow, ci[id(r)]), "status": f"reproduced: {r['label']}"})
            if not again:
                rows.append({**base, "status": f"cited ({prow.get('cited', 'other work')})"})
            continue
        arch = architecture(REGISTRY[prow["model"]].config)
        archs.add(arch["arch"])
        matches = [r for r in records if architecture(r["config"]["model"]) == arch]
        if not matches:
            rows.append({**base, "status": "not run"})
        for r in matches:
            used.add(id(r))
            rows.append({**base, **measured(r, prow, ci[id(r)])})
    named = [architecture(entry.config) for entry in REGISTRY.values()]
    for r in records:  # a run of another table's row belongs to that table
        if id(r) not in used and r["config"]["model"]["arch"] in archs and architecture(r["config"]["model"]) not in named:
            rows.append({"row": extra_label(r["config"]["model"]), "paper acc %": None,
                         **measured(r, {}, ci[id(r)]), "status": "extra (not in the paper)"})
    rows += floor_rows([r for r in floors if id(r) not in used], ci)
    return pd.DataFrame(rows)


def floor_rows(records: Sequence[dict], ci: dict[int, dict] | None = None) -> list[dict]:
    """Table rows of floor records: the columns of :func:`measured`, status ``floor``."""
    ci = ci or intervals(records)
    return [{"row": r["label"], "paper acc %": None, **measured(r, {}, ci[id(r)]), "status": "floor"}
            for r in records]


def paper_row_label(prow: dict) -> str:
    """The paper's label of a row that names a configuration of the registry."""
    return REGISTRY[prow["model"]].paper_label


def extra_label(model: dict) -> str:
    """The row label of a recorded configuration the paper does not have, in the paper's terms."""
    m = ModelConfig(**{**model, "lstm_widths": tuple(model["lstm_widths"])})
    if m.arch == "ecnn-fsa":
        d = m.backbone_dim + (m.branch_dim if m.branch else 0)
        return f"ECNN-FSA ({d}, {'fc' if m.fc_layers == 1 else '2×fc'}, s = {m.s:g})"
    return f"{m.arch} ({', '.join(map(str, m.lstm_widths))})"


def measured(r: dict, prow: dict, ci: dict | None = None) -> dict:
    """This project's columns for one record (a single run or a k-fold summary, deep or floor);
    ``ci`` is its accuracy interval (:func:`accuracy_interval` of the record alone by default)."""
    met = r["metrics"]
    acc = 100 * score_mean(met["accuracy"])
    counts = np.asarray(met.get("pooled", met)["confusion"]).sum(1)
    ci = ci or accuracy_interval(r)
    config = r["config"]
    out = {
        "ours acc %": round(acc, 2),
        "± (folds)": round(100 * met["accuracy"]["std"], 2) if isinstance(met["accuracy"], dict) else None,
        "95 % CI": f"{100 * ci['mean']:.1f} [{100 * ci['low']:.1f}, {100 * ci['high']:.1f}]",
        "CI over": ci["method"],
        "Δ acc": round(acc - prow["accuracy"], 2) if prow.get("accuracy") is not None else None,
        "ours UAR %": round(100 * score_mean(met["uar"]), 2),
        "ours F1": round(score_mean(met["macro_f1"]), 4),
        "majority class %": round(100 * counts.max() / counts.sum(), 2),
        "profile": profile_of(config) if "model" in config else f"{config['feature_size']} px",
        "start": start_of(config) if "model" in config else None,
        "experiment": r.get("experiment"),
        "seed": seed_text(r),
        "run": record_key(r),
        "status": "measured",
    }
    return out


def seed_text(r: dict) -> str:
    """The seed(s) behind a record: its seed, or the range of a seeds summary (``0–2``)."""
    seeds = r.get("seeds_run")
    return f"{seeds[0]}–{seeds[-1]}" if seeds else str(r["config"].get("seed"))


def to_html(df: pd.DataFrame) -> str:
    """A compact HTML table (missing values shown as an em dash) for the book."""
    return df.to_html(index=False, na_rep="—", escape=True, border=0, classes="fsa-table",
                      float_format=lambda v: f"{v:g}")


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
    """The paper's confusion matrix (%) of a confusion table (5, 10)."""
    spec = paper_table(table)
    return pd.DataFrame(spec["confusion_pct"], index=spec["classes"], columns=spec["classes"])
