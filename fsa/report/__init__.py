"""What the table notebooks and the book call: data on first use, runs read-or-trained, and the
paper-vs-reproduced tables built from the results store.

A notebook never computes a number itself. It describes its runs with a :class:`Page`, whose
:meth:`Page.run` returns the stored record of a configuration (same config hash, same data)
or trains it with :mod:`fsa.engine` and records it. :func:`comparison` lines up every
recorded run with the paper's row it reproduces (``fsa/paper_results.json``); recorded runs
of configurations the paper does not have (``papermill notebooks/table6.ipynb -p s 0.25``)
become extra rows, marked so; the classical floors of the same data (:mod:`fsa.floors`) close
the table, and every measured accuracy carries its 95 % interval. :func:`claims` judges each
ordering of the paper's rows ("A > B"), and every model against each floor, with paired tests
on the same test clips (:func:`fsa.metrics.claim_verdict`).

Runs are grouped by data: the experiment of a run is ``<dataset>-<index hash>``, so the
embedded synthetic set, its smoke version and a real CK+ / AFEW preparation never mix.

=======================  ==========================================================================
``datasets.py``          the embedded dataset, made on first use; what a prepared dataset holds
``page.py``              :class:`Page`: one notebook's preset, data, parameters and runs
``records.py``           the records a page reads from the results store
``confidence.py``        the 95 % interval of each accuracy; a record's test predictions
``matching.py``          paper rows vs recorded runs and floors; confusion matrices
``verdicts.py``          the paper's orderings and the floors judged with paired tests
``attention.py``         FSA's frame weights against the synthetic intensity
``tracing.py``           Table 1 traced on the model; parameters and FLOPs of every model
``transfer.py``          the still-image stage made under the wild AFEW's conditions, judged
``checks.py``            the checks the notebooks end with
=======================  ==========================================================================
"""
from __future__ import annotations

from ..embedded import DATA_ROOT_ENV, DATA_SIZE_ENV, embedded_dataset, embedded_root
from ..runs.chain import EMBEDDED_STILLS
from ..runs.difficulty import difficulty_table
from .attention import attention_examples, attention_vs_intensity, attention_vs_visibility, over_runs
from .checks import MEASURED_PRESET, check_above_floor, check_above_majority, check_bar, check_metrics, check_records
from .confidence import accuracy_interval, intervals, per_clip_rows, replicate_rows, score_mean
from .datasets import (
    data_source,
    dataset_summary,
    expression_clips,
    face_credits,
    knob_table,
    raw_of,
    set_conditions,
    visibility_summary,
)
from .matching import (
    RESULT_TABLES,
    SCALE_FIELDS,
    architecture,
    comparison,
    confusion_pct,
    extra_label,
    floor_rows,
    measured,
    paper_confusion,
    paper_row_label,
    profile_of,
    seed_text,
    to_html,
)
from .page import (
    KEY_ROWS,
    PRESET_ENV,
    ROWS,
    Page,
    check_flag,
    one_line_errors,
    profile_text,
    resolve_preset,
    table_models,
)
from .records import FLOOR_KIND, GROUP_KIND, all_records, experiment_name, fold_runs, fold_table
from .tracing import TABLE1_MODULES, model_summary, table1
from .transfer import WILD_STILLS, stills_transfer, wild_stills
from .verdicts import claims, frame_claims, frame_view, glue_findings, verdict

__all__ = [
    "DATA_ROOT_ENV", "DATA_SIZE_ENV", "EMBEDDED_STILLS", "FLOOR_KIND", "GROUP_KIND", "KEY_ROWS", "MEASURED_PRESET",
    "PRESET_ENV", "RESULT_TABLES", "ROWS", "SCALE_FIELDS", "TABLE1_MODULES", "WILD_STILLS", "Page", "accuracy_interval",
    "all_records", "architecture", "attention_examples", "attention_vs_intensity", "attention_vs_visibility",
    "check_above_floor", "check_above_majority", "check_flag", "check_bar", "check_metrics", "check_records", "claims",
    "comparison", "confusion_pct", "data_source", "dataset_summary", "difficulty_table", "embedded_dataset", "embedded_root",
    "experiment_name", "expression_clips", "extra_label", "face_credits", "floor_rows", "fold_runs", "fold_table",
    "frame_claims", "frame_view", "glue_findings", "intervals", "knob_table", "measured", "model_summary",
    "one_line_errors", "over_runs", "paper_confusion", "paper_row_label", "per_clip_rows", "profile_of",
    "profile_text", "raw_of", "replicate_rows", "resolve_preset", "score_mean", "seed_text", "set_conditions",
    "stills_transfer", "table1", "table_models", "to_html", "verdict", "visibility_summary", "wild_stills",
]
