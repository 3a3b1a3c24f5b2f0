"""A rebuilt results store against the published one: does each rebuilt group fall inside the
published group's 95 % interval? (``fsa results compare --rebuilt DIR``)

A rebuild is the same configurations trained again from empty — on another machine, whose
arithmetic and, for the embedded sets, pixels differ (the identity rule, :mod:`fsa.identity`).
Groups are matched by their name in the store (``<experiment>/folds-<hash>.json``), which the
identity rule makes the same on every machine.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import floors as floor
from ..results import inspect_record
from .confidence import accuracy_interval
from .page import KEY_ROWS, table_models

#: The summary kinds a page shows a mean and an interval of.
GROUP_KINDS = ("folds", "seeds", floor.FOLDS_KIND)


def pages_of(record: dict) -> str:
    """The table pages whose key rows (or confusion pages) show a group's model on its dataset."""
    from ..paper import paper_table

    tables = [t for t in (*KEY_ROWS, "5", "10") if paper_table(t).get("dataset", "ckplus") == record.get("dataset")
              and record.get("model") in (table_models(t) if t in KEY_ROWS else ("ecnn-fsa",))]
    return ", ".join(sorted(set(tables), key=int))


def compare_stores(published: str | Path, rebuilt: str | Path) -> pd.DataFrame:
    """One row per group summary of ``published``: its mean accuracy and 95 % interval, the
    rebuilt group's mean, and whether it falls inside."""
    published, rebuilt = Path(published), Path(rebuilt)
    rows = []
    for path in sorted(published.glob("*/*.json")):
        rec, _ = inspect_record(path)
        if rec is None or rec["kind"] not in GROUP_KINDS:
            continue
        ci = accuracy_interval(rec)
        again, _ = inspect_record(rebuilt / path.parent.name / path.name)
        mean = None if again is None else accuracy_interval(again)["mean"]
        rows.append({
            "experiment": path.parent.name, "group": path.stem, "model": rec.get("label") or rec["model"],
            "pages": pages_of(rec), "published %": round(100 * ci["mean"], 2),
            "95 % interval": f"[{100 * ci['low']:.1f}, {100 * ci['high']:.1f}]",
            "rebuilt %": None if mean is None else round(100 * mean, 2),
            "inside": "not rebuilt" if mean is None else ("yes" if ci["low"] <= mean <= ci["high"] else "NO"),
        })
    return pd.DataFrame(rows)
