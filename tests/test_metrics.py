"""Metrics against hand-computed values, the fold summary, intervals and paired tests."""
import math

import numpy as np
import pytest
from scipy.stats import binomtest

from fsa.metrics import (
    claim_verdict,
    classification_metrics,
    detectable_difference,
    difference_interval,
    independent_discordance,
    mcnemar_exact,
    paired_bootstrap,
    paired_correct,
    summarize_folds,
    t_interval,
    wilson_interval,
)

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


# -- confidence and paired tests ----------------------------------------------------------------
def test_t_interval_by_hand():
    acc = [0.80, 0.90, 0.85, 0.75, 0.95]
    mean = 4.25 / 5
    s = math.sqrt(sum((a - mean) ** 2 for a in acc) / 4)  # sample std
    t975_4 = 2.7764451051977987  # Student t, 4 degrees of freedom, 97.5 % quantile (tables: 2.776)
    ci = t_interval(acc)
    assert ci["mean"] == pytest.approx(0.85)
    half = t975_4 * s / math.sqrt(5)
    assert (ci["low"], ci["high"]) == pytest.approx((0.85 - half, 0.85 + half))
    assert ci["n"] == 5 and ci["method"] == "t over 5 folds"
    assert t_interval([0.4, 0.4, 0.4], over="seeds")["low"] == pytest.approx(0.4)
    with pytest.raises(ValueError, match=">= 2 values"):
        t_interval([0.5])


def test_difference_interval_matches_newcombes_published_examples():
    # Newcombe (1998), Table II, method 10: 56/70 - 48/80 and 9/10 - 3/10.
    for (a, n, b, m), (low, high) in (((56, 70, 48, 80), (0.0524, 0.3339)), ((9, 10, 3, 10), (0.1705, 0.8090))):
        d = difference_interval(wilson_interval(a, n), wilson_interval(b, m))
        assert d["mean"] == pytest.approx(a / n - b / m)
        assert (d["low"], d["high"]) == pytest.approx((low, high), abs=5e-5)
    same = difference_interval(wilson_interval(20, 40), wilson_interval(20, 40))
    assert same["mean"] == 0 and same["low"] == pytest.approx(-same["high"])


def test_wilson_interval_by_hand():
    # 30 of 40: p = .75, z = 1.959964; centre (p + z^2/80) / (1 + z^2/40),
    # half z / (1 + z^2/40) * sqrt(p q / 40 + z^2 / 6400)
    z = 1.959963984540054
    centre = (0.75 + z * z / 80) / (1 + z * z / 40)
    half = z / (1 + z * z / 40) * math.sqrt(0.75 * 0.25 / 40 + z * z / 6400)
    ci = wilson_interval(30, 40)
    assert (ci["mean"], ci["low"], ci["high"]) == pytest.approx((0.75, centre - half, centre + half))
    scipy_ci = binomtest(30, 40).proportion_ci(0.95, method="wilson")  # an independent implementation
    assert (ci["low"], ci["high"]) == pytest.approx((scipy_ci.low, scipy_ci.high))
    assert ci["method"] == "Wilson over 40 clips"
    assert wilson_interval(0, 10)["low"] == 0.0 and wilson_interval(10, 10)["high"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="correct=5, total=4"):
        wilson_interval(5, 4)


def test_mcnemar_exact_on_a_hand_made_table():
    # b = 10 clips only A gets right, c = 2 only B: p = 2 P(X <= 2 | 12, 1/2) = 2 (1 + 12 + 66) / 4096
    a = [True] * 10 + [False] * 2 + [True] * 5 + [False] * 3
    b = [False] * 10 + [True] * 2 + [True] * 5 + [False] * 3
    m = mcnemar_exact(a, b)
    assert (m["b"], m["c"]) == (10, 2)
    assert m["p"] == pytest.approx(2 * 79 / 4096) and round(m["p"], 4) == 0.0386
    assert mcnemar_exact([True, False], [True, False])["p"] == 1.0  # no discordant clips


def test_paired_bootstrap_contains_the_difference_and_shrinks_with_more_clips():
    a = np.array([1, 1, 1, 0, 1, 1, 0, 1, 1, 1], bool)
    b = np.array([1, 0, 1, 0, 0, 1, 1, 0, 1, 0], bool)
    small = paired_bootstrap(a, b, seed=3)
    large = paired_bootstrap(np.tile(a, 10), np.tile(b, 10), seed=3)
    assert small["diff"] == large["diff"] == pytest.approx(0.3)
    for r in (small, large):
        assert r["low"] <= r["diff"] <= r["high"]
    assert large["high"] - large["low"] < 0.5 * (small["high"] - small["low"])
    assert paired_bootstrap(a, b, seed=3) == small  # fixed seed, same numbers
    # B = A plus 5 more right clips: every paired resample has A - B <= 0 (independent resampling
    # of A and B would not)
    a = np.arange(100) % 2 == 0
    b = a | (np.arange(100) < 10)
    assert paired_bootstrap(a, b)["high"] <= 0


def rows(correct, labels=None):
    labels = labels or ["happy"] * len(correct)
    return [{"clip_id": f"c{i}", "label": lab, "pred": lab if ok else "anger"}
            for i, (ok, lab) in enumerate(zip(correct, labels))]


def test_verdicts_on_constructed_clips():
    always = [True] * 40
    often_wrong = [i % 3 == 0 for i in range(40)]  # 14 of 40 right
    v = claim_verdict(rows(always), rows(often_wrong))
    assert v["verdict"] == "supported" and (v["b"], v["c"], v["n_clips"]) == (26, 0, 40)
    assert v["diff"] == pytest.approx(26 / 40) and 0 < v["low"] <= v["diff"] <= v["high"]
    assert claim_verdict(rows(often_wrong), rows(always))["verdict"] == "contradicted"
    same = claim_verdict(rows(often_wrong), rows(often_wrong))
    assert same["verdict"] == "cannot tell" and same["diff"] == 0 and same["mcnemar_p"] == 1.0
    # 5 clips only A gets right: the bootstrap interval clears 0 ((35/40)^40 < 2.5 % of the resamples
    # miss all five), but McNemar's p = 2 / 2^5 = 0.0625 does not: no verdict
    edge = claim_verdict(rows([True] * 5 + [False] * 35), rows([False] * 40))
    assert edge["low"] > 0 and edge["mcnemar_p"] == pytest.approx(0.0625) and edge["verdict"] == "cannot tell"


def test_paired_tests_need_the_same_clips():
    with pytest.raises(ValueError, match="different clips"):
        paired_correct(rows([True] * 3), rows([True] * 4))
    with pytest.raises(ValueError, match="more than once"):
        paired_correct(rows([True] * 2) * 2, rows([True] * 2) * 2)
    with pytest.raises(ValueError, match="true label"):
        paired_correct(rows([True, True]), rows([True, True], ["happy", "fear"]))
    a, b = paired_correct(rows([True, False])[::-1], rows([False, True]))  # matched by clip_id, not order
    assert a.tolist() == [True, False] and b.tolist() == [False, True]


@pytest.mark.parametrize("n,discordance", [(383, 0.3), (120, 0.5), (1000, 0.1)])
def test_the_detectable_difference_is_detected_four_times_in_five(n, discordance):
    delta = detectable_difference(n, discordance)
    assert 0 < delta < discordance
    rng = np.random.default_rng(0)
    sims = 1500
    discordant = rng.binomial(n, discordance, sims)
    a_only = rng.binomial(discordant, (1 + delta / discordance) / 2)
    detected = [binomtest(int(b), int(m), 0.5).pvalue < 0.05 and b > m - b for b, m in zip(a_only, discordant)]
    assert 0.72 < np.mean(detected) < 0.86  # the exact test is a little conservative against Connor's approximation
    assert detectable_difference(4 * n, discordance) < delta  # more clips, smaller differences
    assert np.isnan(detectable_difference(n, 0.0)) and np.isnan(detectable_difference(5, 0.1))


def test_independent_errors_discordance():
    assert independent_discordance(0.5, 0.5) == 0.5
    assert independent_discordance(1.0, 0.4) == pytest.approx(0.6)  # B's errors are all discordant
    rng = np.random.default_rng(1)
    a, b = rng.random(200000) < 0.8, rng.random(200000) < 0.6
    assert np.mean(a != b) == pytest.approx(independent_discordance(0.8, 0.6), abs=0.005)
