"""The JSON Schema of every kind of record in the results store: one schema per ``kind``.

Each schema holds the fields the readers of the store use (the tables, intervals and claims of
:mod:`fsa.report`, the figures of :mod:`fsa.plots`, the notebooks' checks, the floors, the bars,
``store:`` references and Table 8's bench report) with their types, so that a hand-edited or
truncated value (``"high"`` for an accuracy) is named where it is read, not met as a crash in the
book's build. Fields a reader needs are required; fields only some records have (a run's history,
a summary's pooled clips' count) are typed where present; any other field is allowed, so records
written by older versions stay readable. The writer (:func:`fsa.results.record`), the reader
(:func:`fsa.results.inspect_record`) and ``fsa results check`` all validate with :func:`problem`.
"""
from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match

SCORE = {"type": "number", "minimum": 0, "maximum": 1}
COUNT = {"type": "integer", "minimum": 0}
TEXT = {"type": "string"}
HASH = {"type": "string", "minLength": 1}
FLAG = {"type": "boolean"}
NUMBERS = {"type": "array", "items": {"type": "number"}}
COUNTS = {"type": "array", "items": COUNT}
TEXTS = {"type": "array", "items": TEXT}
HASHES = {"type": "array", "items": HASH}
#: One matrix of clip counts, true class by predicted class.
CONFUSION = {"type": "array", "items": COUNTS}

#: The test (or validation) scores of one run, or the pooled clips of a summary
#: (:func:`fsa.metrics.classification_metrics`).
SCORES = {
    "type": "object",
    "required": ["accuracy", "uar", "macro_f1", "classes", "confusion"],
    "properties": {"accuracy": SCORE, "uar": SCORE, "macro_f1": SCORE, "n_clips": COUNT, "classes": TEXTS,
                   "confusion": CONFUSION, "confusion_pct": {"type": "array", "items": NUMBERS}},
}
#: One score of a k-fold or seeds summary over its replicates.
SPREAD = {
    "type": "object",
    "required": ["mean", "std", "per_fold"],
    "properties": {"mean": SCORE, "std": {"type": "number", "minimum": 0},
                   "per_fold": {"type": "array", "items": SCORE, "minItems": 1}},
}
#: The metrics of a summary (:func:`fsa.metrics.summarize_folds`); of its pooled clips, the readers
#: need the confusion matrix and its classes (the intervals, the majority class, the confusion tables).
GROUP_SCORES = {
    "type": "object",
    "required": ["accuracy", "uar", "macro_f1", "pooled"],
    "properties": {"folds": COUNT, "accuracy": SPREAD, "uar": SPREAD, "macro_f1": SPREAD,
                   "pooled": {**SCORES, "required": ["classes", "confusion"]}},
}
#: One test clip's prediction: what the paired claims, the checks and the attention pages read.
CLIP = {
    "type": "object",
    "required": ["clip_id", "label", "pred"],
    "properties": {
        "index": COUNT, "video_id": TEXT, "clip_id": TEXT, "label": TEXT, "pred": TEXT, "probs": NUMBERS,
        "attention": {"type": ["array", "null"], "items": {"type": "number"}}, "frame_indices": COUNTS,
        "frame_probs": {"type": "array", "items": NUMBERS},
    },
}
PER_CLIP = {"type": "array", "items": CLIP}
#: The model fields the tables match paper rows by (:func:`fsa.report.architecture`, the sweeps).
MODEL = {
    "type": "object",
    "properties": {
        "name": TEXT, "arch": TEXT, "width": {"type": "number"}, "batch_norm": FLAG, "backbone_dim": COUNT,
        "branch": FLAG, "branch_dim": COUNT, "branch_kernel": COUNT, "branch_fc": COUNT, "s": {"type": "number"},
        "fc_layers": COUNT, "dropout": {"type": "number"}, "lstm_widths": COUNTS, "lbp": FLAG, "num_classes": COUNT,
    },
}
#: A run's configuration (:class:`fsa.config.Config`, or a floor's :class:`fsa.floors.FloorConfig`).
CONFIG = {
    "type": "object",
    "properties": {"model": MODEL, "dataset": TEXT, "protocol": TEXT, "seed": {"type": ["integer", "null"]},
                   "epochs": COUNT, "features": TEXT, "feature_size": COUNT},
}
GROUP_CONFIG = {**CONFIG, "required": ["model"]}
EPOCH = {
    "type": "object",
    "properties": {k: {"type": "number"} for k in ("epoch", "lr", "train_loss", "train_accuracy", "val_loss",
                                                     "val_accuracy", "val_uar", "val_macro_f1")},
}
#: Fields of every record, typed where present.
COMMON = {
    "kind": TEXT, "experiment": TEXT, "model": TEXT, "label": TEXT, "dataset": TEXT, "protocol": TEXT,
    "started_at": TEXT, "finished_at": TEXT, "data_index_hash": TEXT, "data_pixels": {"type": ["string", "null"]},
    "data_conditions": {"type": ["string", "null"]},
    "git": {"type": "object", "properties": {"commit": {"type": ["string", "null"]},
                                             "dirty": {"type": ["boolean", "null"]}}},
    "versions": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
    "timings": {"type": "object", "additionalProperties": {"type": "number"}},
}
#: Fields of a single run (deep, still-image or floor), typed where present.
RUN = {
    **COMMON, "config": CONFIG, "config_hash": HASH, "metrics": SCORES, "val_metrics": SCORES, "per_clip": PER_CLIP,
    "n_clips": {"type": "object", "additionalProperties": COUNT}, "history": {"type": "array", "items": EPOCH},
    "stopped_early": FLAG, "selected_epoch": COUNT, "seed": {"type": "integer"},
}
#: Fields of a k-fold or seeds summary, typed where present.
GROUP = {
    **COMMON, "config": GROUP_CONFIG, "metrics": GROUP_SCORES, "folds_hash": HASH, "seeds_hash": HASH,
    "fold_config_hashes": HASHES, "seed_config_hashes": HASHES, "folds_run": COUNTS,
    "seeds_run": {"type": "array", "items": {"type": "integer"}}, "selected_epochs": COUNTS,
}


def _kind(properties: dict, *required: str) -> dict:
    return {"type": "object", "required": list(required), "properties": properties}


#: One schema per record kind; the kind of a record without one is ``run``.
SCHEMAS: dict[str, dict] = {
    "run": _kind(RUN, "config", "config_hash", "metrics", "per_clip"),
    "folds": _kind(GROUP, "experiment", "config", "folds_hash", "fold_config_hashes", "metrics"),
    "seeds": _kind(GROUP, "experiment", "config", "seeds_hash", "seed_config_hashes", "seeds_run", "metrics"),
    "floor": _kind({**RUN, "config": {**CONFIG, "required": ["features"]}},
                   "config", "config_hash", "label", "metrics", "per_clip"),
    "floor-folds": _kind({**GROUP, "config": {**CONFIG, "required": ["features"]}},
                         "experiment", "config", "folds_hash", "fold_config_hashes", "label", "metrics"),
    "pixels": _kind({"experiment": TEXT, "digest": HASH, "images": COUNT, "sample": TEXT, "machine": TEXT,
                     "recorded_at": TEXT}, "experiment", "digest", "images", "sample"),
    "bench": _kind({**COMMON, "profile": TEXT, "schema": COUNT,
                    "environment": {"type": "object", "required": ["device"],
                                    "properties": {"device": TEXT, "device_name": TEXT, "threads": COUNT}},
                    "models": {"type": "array", "items": {"type": "object"}}, "ratios": {"type": "object"}},
                   "profile", "started_at", "environment"),
}
#: The writer validates the Python object it is about to dump, whose tuples become JSON arrays.
Validator = validators.extend(Draft202012Validator, type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
    "array", lambda _, value: isinstance(value, (list, tuple))))
VALIDATORS = {kind: Validator(schema) for kind, schema in SCHEMAS.items()}


def field_name(path: Any) -> str:
    """A field's dotted name, list positions in brackets: ``per_clip[3].label``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f"{'.' if out else ''}{part}"
    return out


def problem(data: Any) -> str | None:
    """What makes ``data`` no record of the store (a JSON object of a known ``kind``, ``run`` when
    absent, valid against that kind's schema): one line naming the field, or ``None`` when it is one.

    Missing fields are listed together (``folds record lacks config.model``); otherwise the most
    relevant error is named by its field (``metrics.accuracy.mean: 'high' is not of type 'number'``).
    """
    if not isinstance(data, dict):
        return f"not a results record (a JSON {type(data).__name__}, expected an object)"
    kind = data.get("kind", "run")
    if not isinstance(kind, str) or kind not in SCHEMAS:
        return f"unknown record kind {kind!r} (expected one of {', '.join(SCHEMAS)})"
    errors = list(VALIDATORS[kind].iter_errors(data))
    if not errors:
        return None
    first: ValidationError = best_match(errors)
    if first.validator == "required":
        missing = [field_name([*e.absolute_path, e.validator_value[i]]) for e in errors if e.validator == "required"
                   for i in range(len(e.validator_value)) if e.validator_value[i] not in e.instance]
        return f"{kind} record lacks {', '.join(dict.fromkeys(missing))}"
    return f"{field_name(first.absolute_path) or kind + ' record'}: {first.message}"
