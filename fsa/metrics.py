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

Confidence (DESIGN: a reproduced number is a mean with a 95 % interval, a claim "A beats B"
is judged with a paired test on the same test clips):

* :func:`t_interval` — mean and Student-t interval over folds (CK+) or seeds (AFEW, >= 2);
  :func:`wilson_interval` — the Wilson score interval over the test clips of a single run;
  :func:`difference_interval` — two such runs on different clips (Newcombe's hybrid score interval).
* :func:`mcnemar_exact` and :func:`paired_bootstrap` — two models on the same clips
  (:func:`paired_correct` matches them by ``clip_id``); :func:`claim_verdict` turns both into
  ``supported`` / ``contradicted`` / ``cannot tell``.

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


# -- confidence and paired tests -------------------------------------------------------------
def _z(level: float) -> float:
    from scipy.stats import norm

    if not 0 < level < 1:
        raise ValueError(f"level={level!r}: expected 0 < level < 1")
    return float(norm.ppf(0.5 + level / 2))


def t_interval(values: Sequence[float], level: float = 0.95, over: str = "folds", rates: bool = True) -> dict:
    """Mean of ``values`` (fold or seed accuracies) with its Student-t interval.

    ``mean ± t_{(1+level)/2, n-1} · s / √n`` with the sample std ``s`` (``ddof=1``), clipped to
    [0, 1] where the values are rates (``rates=False``: differences, not clipped). Returns
    ``mean, low, high, method, n``.
    """
    from scipy.stats import t

    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size < 2:
        raise ValueError(f"a t-interval needs >= 2 values (got {v.size} {over})")
    _z(level)
    half = float(t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    mean = float(v.mean())
    low, high = (max(0.0, mean - half), min(1.0, mean + half)) if rates else (mean - half, mean + half)
    return {"mean": mean, "low": low, "high": high, "method": f"t over {v.size} {over}", "n": int(v.size)}


def wilson_interval(correct: int, total: int, level: float = 0.95) -> dict:
    """Accuracy ``correct / total`` of one run with its Wilson score interval over the clips.

    Used when a single run is all there is (AFEW with one seed): it covers the test clips'
    sampling only, not the training's randomness. Returns ``mean, low, high, method, n``.
    """
    if total < 1 or not 0 <= correct <= total:
        raise ValueError(f"correct={correct}, total={total}: need 0 <= correct <= total, total >= 1")
    z = _z(level)
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z / (1 + z * z / total) * np.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return {"mean": p, "low": float(max(0.0, centre - half)), "high": float(min(1.0, centre + half)),
            "method": f"Wilson over {total} clips", "n": int(total)}


def difference_interval(a: dict, b: dict) -> dict:
    """The difference ``a - b`` of two accuracies measured on different clips (independent
    samples), each a :func:`wilson_interval`, with Newcombe's hybrid score interval (method 10 of
    Newcombe, Statistics in Medicine 1998): each side widened by the two Wilson half-widths that
    face it, added in quadrature. Returns ``mean, low, high, method``."""
    d = a["mean"] - b["mean"]
    low = d - np.hypot(a["mean"] - a["low"], b["high"] - b["mean"])
    high = d + np.hypot(a["high"] - a["mean"], b["mean"] - b["low"])
    return {"mean": float(d), "low": float(low), "high": float(high), "method": "Newcombe hybrid score"}


def paired_correct(rows_a: Sequence[dict], rows_b: Sequence[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Per-clip correctness of two models on the same test clips, matched by ``clip_id``.

    Rows are ``per_clip`` rows (``clip_id``, ``label``, ``pred``). Different clip sets, a clip
    listed twice, or one clip with two true labels are errors: a paired test is only valid on
    one set of clips.
    """
    def table(rows: Sequence[dict], name: str) -> dict:
        out = {r["clip_id"]: r for r in rows}
        if len(out) != len(rows):
            raise ValueError(f"{name}: a clip_id occurs more than once in the per-clip rows")
        return out

    a, b = table(rows_a, "A"), table(rows_b, "B")
    if a.keys() != b.keys():
        only_a, only_b = sorted(a.keys() - b.keys()), sorted(b.keys() - a.keys())
        raise ValueError(f"the two runs were tested on different clips ({len(only_a)} only in A, e.g. "
                         f"{only_a[:3]}; {len(only_b)} only in B, e.g. {only_b[:3]})")
    ids = sorted(a)
    bad = [i for i in ids if a[i]["label"] != b[i]["label"]]
    if bad:
        raise ValueError(f"clip {bad[0]}: true label {a[bad[0]]['label']!r} in A, {b[bad[0]]['label']!r} in B")
    return (np.array([a[i]["pred"] == a[i]["label"] for i in ids]),
            np.array([b[i]["pred"] == b[i]["label"] for i in ids]))


def mcnemar_exact(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> dict:
    """Exact McNemar test of two models on the same clips: ``b`` clips only A gets right, ``c``
    only B gets right; two-sided ``p`` of ``b`` under Binomial(b + c, 1/2) (1 without discordant clips)."""
    from scipy.stats import binomtest

    a, bb = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    b, c = int(np.sum(a & ~bb)), int(np.sum(~a & bb))
    p = float(binomtest(b, b + c, 0.5).pvalue) if b + c else 1.0
    return {"b": b, "c": c, "p": p}


def paired_bootstrap(correct_a: Sequence[bool], correct_b: Sequence[bool], n_boot: int = 10000, seed: int = 0,
                     level: float = 0.95) -> dict:
    """Accuracy difference A − B on the same clips and its percentile bootstrap interval.

    Clips are resampled with replacement, both models' outcomes together (the pairing), from a
    fixed seed. Returns ``diff, low, high, n_boot, seed``.
    """
    d = np.asarray(correct_a, np.float64) - np.asarray(correct_b, np.float64)
    if d.size == 0:
        raise ValueError("no clips to compare")
    _z(level)
    rng = np.random.default_rng(seed)
    boot = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1)
    low, high = np.quantile(boot, [0.5 - level / 2, 0.5 + level / 2])
    return {"diff": float(d.mean()), "low": float(low), "high": float(high), "n_boot": int(n_boot), "seed": int(seed)}


def detectable_difference(n: int, discordance: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest accuracy difference a paired test on ``n`` clips detects with probability
    ``power`` at two-sided level ``alpha``, when a share ``discordance`` of the clips is right for
    one model only: the δ solving Connor's (1987) sample size of McNemar's test,
    ``n δ² = (z_{α/2} √ψ + z_β √(ψ − δ²))²`` with ψ the discordance. The difference cannot exceed
    ψ (every discordant clip one model's), so ψ = 0 (two models right on the same clips) detects
    nothing: ``nan``."""
    from scipy.optimize import brentq

    if n < 1 or not 0 <= discordance <= 1:
        raise ValueError(f"n={n}, discordance={discordance}: need n >= 1 and 0 <= discordance <= 1")
    za, zb = _z(1 - alpha), float(_z(2 * power - 1))
    if discordance == 0:
        return float("nan")

    def gap(d: float) -> float:
        return n * d * d - (za * np.sqrt(discordance) + zb * np.sqrt(max(0.0, discordance - d * d))) ** 2

    if gap(discordance) < 0:
        return float("nan")  # not even every discordant clip for one model would be detected
    return float(brentq(gap, 0.0, discordance))


def independent_discordance(accuracy_a: float, accuracy_b: float) -> float:
    """The discordance of two models with these accuracies whose errors are independent:
    ``a(1 − b) + b(1 − a)``. Models trained alike err on the same clips more often than that, so
    the share of discordant clips is lower and a test more powerful: a difference detectable at
    this discordance is detectable at theirs."""
    return accuracy_a * (1 - accuracy_b) + accuracy_b * (1 - accuracy_a)


#: Verdicts on a claim "A > B".
SUPPORTED, CONTRADICTED, CANNOT_TELL = "supported", "contradicted", "cannot tell"


def claim_verdict(rows_a: Sequence[dict], rows_b: Sequence[dict], alpha: float = 0.05, n_boot: int = 10000,
                  seed: int = 0) -> dict:
    """Whether per-clip results support the claim "A is more accurate than B".

    ``supported``: the paired bootstrap's ``1 − alpha`` interval of the accuracy difference is
    above 0 and the exact McNemar test is significant at ``alpha``; ``contradicted``: the
    interval is below 0 and the test significant; ``cannot tell`` otherwise. Returns the
    verdict with both accuracies, the difference, its interval, McNemar's ``b``, ``c``, ``p``
    and the number of clips.
    """
    a, b = paired_correct(rows_a, rows_b)
    test = mcnemar_exact(a, b)
    boot = paired_bootstrap(a, b, n_boot=n_boot, seed=seed, level=1 - alpha)
    significant = test["p"] < alpha
    verdict = (SUPPORTED if significant and boot["low"] > 0 else
               CONTRADICTED if significant and boot["high"] < 0 else CANNOT_TELL)
    return {"verdict": verdict, "accuracy_a": float(a.mean()), "accuracy_b": float(b.mean()),
            "diff": boot["diff"], "low": boot["low"], "high": boot["high"], "mcnemar_p": test["p"],
            "b": test["b"], "c": test["c"], "n_clips": int(a.size), "alpha": alpha}
