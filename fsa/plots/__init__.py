"""Figures of the package, drawn on :class:`matplotlib.figure.Figure` objects.

Figures are built without ``pyplot``, so nothing depends on the active backend (headless
runs, ``MPLBACKEND=agg``, notebooks alike) and no global figure state leaks between calls;
in a notebook, display a returned figure by leaving it as the cell's last expression.

One module per subject, on a small shared core (:mod:`.core`: notebook figures, atomic PNG writes,
image grids, captions): :mod:`.tables` (the results pages, sweeps, curves, confusion matrices, Fig.
1), :mod:`.benchmark` (Table 8), :mod:`.attention`, :mod:`.dataset` and :mod:`.predictions`
(``fsa predict``).
"""
from __future__ import annotations

from .attention import attention_figure, attention_profile_figure, spearman_figure
from .benchmark import MODE_MARKERS, bench_time_figure, roofline_figure
from .core import NotebookFigure, figure_caption, frame_grid, save_figure
from .dataset import (
    APEX_PANEL,
    STRIP_PANEL,
    action_units,
    expression_figure,
    expression_strip_figure,
    sample_figure,
    wild_conditions_figure,
)
from .predictions import MAX_WINDOWS_DRAWN, prediction_figure, probability_bars, windows_to_draw
from .tables import (
    FLOOR_COLOUR,
    MIN_FOR_WHISKERS,
    OURS_COLOUR,
    PAPER_COLOUR,
    PAPER_DODGE,
    SERIES_DODGE,
    SWEEPS,
    Sweep,
    architecture_figure,
    confusion_figure,
    n_figure,
    s_figure,
    sweep_figure,
    sweep_records,
    swept_value,
    table_figure,
    training_curves,
)

__all__ = [
    "APEX_PANEL",
    "FLOOR_COLOUR",
    "MAX_WINDOWS_DRAWN",
    "MIN_FOR_WHISKERS",
    "MODE_MARKERS",
    "NotebookFigure",
    "OURS_COLOUR",
    "PAPER_COLOUR",
    "PAPER_DODGE",
    "SERIES_DODGE",
    "STRIP_PANEL",
    "SWEEPS",
    "Sweep",
    "action_units",
    "architecture_figure",
    "attention_figure",
    "attention_profile_figure",
    "bench_time_figure",
    "confusion_figure",
    "expression_figure",
    "expression_strip_figure",
    "figure_caption",
    "frame_grid",
    "n_figure",
    "prediction_figure",
    "probability_bars",
    "roofline_figure",
    "s_figure",
    "sample_figure",
    "save_figure",
    "spearman_figure",
    "sweep_figure",
    "sweep_records",
    "swept_value",
    "table_figure",
    "training_curves",
    "wild_conditions_figure",
    "windows_to_draw",
]
