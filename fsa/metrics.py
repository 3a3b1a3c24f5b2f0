"""Classification metrics of the paper's tables, computed with scikit-learn.

* **accuracy** — the fraction of clips classified correctly. FER papers call it the
  weighted average recall (WAR): it is the per-class recall weighted by class support.
  The paper's tables report this number.
* **uar** — unweighted average recall: the mean per-class recall over the classes that
  occur in the ground truth (a class absent from a test fold has no recall to average).
* **macro_f1** — the unweighted mean of per-class F1 over every class of the protocol that
  occurs in the ground truth or the predictions (scikit-learn's default label set), with
  0 for a class that is predicted but never correct.
* **confusion** — counts, rows = true class, columns = predicted class, in the protocol's
  class order; **confusion_pct** — each row divided by its support, in percent (the
  paper's Tables 5 and 10); a row without support is all zeros.

All values are plain Python numbers and lists so they go straight into the results JSON.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score


def classification_metrics(
    y_true: Sequence[int], y_pred: Sequence[int], classes: Sequence[str]
) -> dict:
    """Accuracy (WAR), UAR, macro-F1 and the confusion matrix of integer labels.

    ``classes[i]`` names label ``i``; labels outside ``range(len(classes))`` are an error.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    k = len(classes)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} must be 1-d and equal in length")
    if y_true.size == 0:
        raise ValueError("no clips to score: y_true is empty")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.min() < 0 or y.max() >= k:
            raise ValueError(f"{name} holds labels outside 0..{k - 1} ({k} classes: {', '.join(classes)})")
    present = np.unique(y_true)
    counts = confusion_matrix(y_true, y_pred, labels=np.arange(k))
    support = counts.sum(axis=1, keepdims=True)
    pct = np.divide(100.0 * counts, support, out=np.zeros(counts.shape), where=support > 0)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "uar": float(recall_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "n_clips": int(y_true.size),
        "classes": list(classes),
        "confusion": counts.tolist(),
        "confusion_pct": pct.round(4).tolist(),
    }


def summarize_folds(fold_metrics: Sequence[dict], pooled_true: Sequence[int], pooled_pred: Sequence[int]) -> dict:
    """Mean ± std (population std, ``ddof=0``, over folds) of each score, and the pooled result.

    ``pooled_*`` are the concatenated test predictions of all folds; every clip is tested
    exactly once in k-fold CV, so their confusion matrix is the sum of the fold matrices
    and their scores are the "pooled" figures some CK+ papers report instead of the mean.
    """
    if not fold_metrics:
        raise ValueError("no folds to summarise")
    classes = fold_metrics[0]["classes"]
    out: dict = {"folds": len(fold_metrics)}
    for key in ("accuracy", "uar", "macro_f1"):
        vals = np.array([m[key] for m in fold_metrics], dtype=np.float64)
        out[key] = {"mean": float(vals.mean()), "std": float(vals.std()), "per_fold": vals.tolist()}
    out["pooled"] = classification_metrics(pooled_true, pooled_pred, classes)
    return out
