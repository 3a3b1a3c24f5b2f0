"""The records a notebook reads from the results store: every summary of a dataset, the runs
behind a summary, and a summary's per-fold scores.

Runs are grouped by data: the experiment of a run is ``<dataset>-<index hash>``, so the
embedded synthetic set, its smoke version and a real CK+ / AFEW preparation never mix.
"""
from __future__ import annotations

import pandas as pd

from .. import floors as floor, results as store
from ..runs.chain import experiment_name as experiment_name

#: The summary kind that holds a dataset's reproduced numbers.
GROUP_KIND = {"ckplus": "folds", "afew": "seeds"}
#: Record kinds of a table's floor rows, per dataset (its deep rows are :data:`GROUP_KIND`'s).
FLOOR_KIND = {"ckplus": floor.FOLDS_KIND, "afew": floor.KIND}


def all_records(dataset: str, kind: str, experiment: str | None = None) -> list[dict]:
    """Every stored record of ``kind`` (``run`` | ``folds``) for a dataset (or one experiment)."""
    root = store.results_root()
    if not root.is_dir():
        return []
    folders = [experiment] if experiment else sorted(
        p.name for p in root.iterdir() if p.is_dir() and p.name.startswith(f"{dataset}-"))
    return [r for f in folders for r in store.load_runs(f, kind=kind)]


def fold_runs(summary: dict) -> list[dict]:
    """The records behind a group summary: one per fold (CK+) or per seed (AFEW)."""
    key = "seed" if summary["kind"] == "seeds" else "fold"
    return [store.find_run(summary["experiment"], h) for h in summary[f"{key}_config_hashes"]]


def machines(records: list[dict]) -> list[str]:
    """The machines (device, torch version) the runs behind ``records`` ran on: a run's own, a
    summary's runs'; floors, fitted with scikit-learn, name none."""
    found = set()
    for rec in records:
        runs = fold_runs(rec) if rec.get("kind") in ("folds", "seeds") else [rec]
        for run in runs:
            if run is not None and run.get("device_name"):
                found.add(f"{run['device_name']} (torch {(run.get('versions') or {}).get('torch')})")
    return sorted(found)


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

