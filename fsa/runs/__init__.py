"""The run layer: what a group of runs is and how it is run, above the engine, which trains and
evaluates one run. Every reproduced number of the book is a group's mean over its folds (CK+) or
seeds (AFEW), keyed in the results store by the group's configuration and the replicates it ran.
"""
from __future__ import annotations

from .groups import (
    AFEW_SEEDS,
    REPLICATES,
    GroupResult,
    folds_hash,
    group_hash,
    replicates,
    run_folds,
    run_group,
    run_seeds,
)

__all__ = ["AFEW_SEEDS", "REPLICATES", "GroupResult", "folds_hash", "group_hash", "replicates", "run_folds",
           "run_group", "run_seeds"]
