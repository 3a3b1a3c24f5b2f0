"""Metrics against hand-computed values, and the fold summary."""
import numpy as np
import pytest

from fsa.metrics import classification_metrics, summarize_folds

CLASSES = ("a", "b", "c")


def test_hand_computed_example():
    # true a a a a b b c ; pred a a b c b a c
    y_true = [0, 0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 1, 2, 1, 0, 2]
    m = classification_metrics(y_true, y_pred, CLASSES)
    assert m["accuracy"] == pytest.approx(4 / 7)
    # recalls: a 2/4, b 1/2, c 1/1
    assert m["uar"] == pytest.approx((0.5 + 0.5 + 1.0) / 3)
    # precision: a 2/3, b 1/2, c 1/2 ; F1 = 2PR/(P+R)
    f1 = [2 * (2 / 3) * 0.5 / (2 / 3 + 0.5), 0.5, 2 * 0.5 * 1.0 / 1.5]
    assert m["macro_f1"] == pytest.approx(np.mean(f1))
    assert m["confusion"] == [[2, 1, 1], [1, 1, 0], [0, 0, 1]]
    assert m["confusion_pct"][0] == pytest.approx([50.0, 25.0, 25.0])
    assert m["confusion_pct"][2] == pytest.approx([0.0, 0.0, 100.0])
    assert m["classes"] == list(CLASSES) and m["n_clips"] == 7


def test_uar_ignores_classes_absent_from_ground_truth_and_zero_rows():
    # class c never occurs in y_true: UAR averages a and b only; its confusion row stays 0
    m = classification_metrics([0, 0, 1, 1], [0, 2, 1, 1], CLASSES)
    assert m["uar"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["confusion_pct"][2] == [0.0, 0.0, 0.0]
    assert sum(map(sum, m["confusion"])) == 4


def test_perfect_and_bad_inputs():
    m = classification_metrics([2, 1, 0], [2, 1, 0], CLASSES)
    assert m["accuracy"] == m["uar"] == m["macro_f1"] == 1.0
    with pytest.raises(ValueError, match="outside 0..2"):
        classification_metrics([0, 3], [0, 1], CLASSES)
    with pytest.raises(ValueError, match="empty"):
        classification_metrics([], [], CLASSES)
    with pytest.raises(ValueError, match="equal in length"):
        classification_metrics([0, 1], [0], CLASSES)


def test_fold_summary_mean_std_and_pooled_confusion():
    f1 = classification_metrics([0, 1, 2], [0, 1, 1], CLASSES)
    f2 = classification_metrics([0, 1], [1, 1], CLASSES)
    s = summarize_folds([f1, f2], [0, 1, 2, 0, 1], [0, 1, 1, 1, 1])
    assert s["folds"] == 2
    assert s["accuracy"]["mean"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert s["accuracy"]["std"] == pytest.approx(np.std([2 / 3, 1 / 2]))
    pooled = np.array(f1["confusion"]) + np.array(f2["confusion"])
    assert s["pooled"]["confusion"] == pooled.tolist()
    assert s["pooled"]["accuracy"] == pytest.approx(3 / 5)
