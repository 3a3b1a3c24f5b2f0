"""The paper's published numbers (``paper_results.json``, transcribed from its tables).

Reproduced numbers never come from here: they come from the results store
(:mod:`fsa.results`). This module only serves the "paper" column of the comparisons.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def paper_results() -> dict:
    return json.loads(resources.files("fsa").joinpath("paper_results.json").read_text(encoding="utf-8"))


def paper_table(table: str | int) -> dict:
    """One table of the paper, e.g. ``paper_table(6)["rows"]``."""
    tables = paper_results()["tables"]
    if str(table) not in tables:
        raise KeyError(f"the paper has no table {table!r}; known: {', '.join(tables)}")
    return tables[str(table)]


def real_test_clips(dataset: str) -> int:
    """How many test clips the paper's dataset has (its text, §3.1): AFEW 7.0 Val, or CK+'s labelled
    sequences, which its cross-validation tests once each."""
    sets = paper_results()["datasets"]
    if dataset not in sets:
        raise KeyError(f"the paper describes no dataset {dataset!r}; known: {', '.join(sets)}")
    return int(sets[dataset]["test_clips"])
