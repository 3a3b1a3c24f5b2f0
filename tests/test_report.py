"""fsa.report: matching recorded runs to the paper's rows, page validation, record checks."""
import json

import numpy as np
import pytest

from fsa import report
from fsa.config import ConfigError
from fsa.metrics import detectable_difference
from fsa.paper import paper_table
from fsa.report import page as report_page
from fsa.results import record
from fsa.runs import AFEW_SEEDS
from fsa.spec import make_config


def fake_run(model: str, preset: str = "cpu", accuracy: float = 0.5, **over) -> dict:
    cfg = make_config(model, preset, dataset="afew", protocol="afew", data="unused", **over)
    classes = ["anger", "disgust", "fear", "happy", "neutral", "sadness", "surprise"]
    confusion = np.diag([2, 1, 1, 3, 2, 1, 1]).tolist()
    return {"kind": "run", "model": cfg.model.name, "config": cfg.to_dict(), "config_hash": cfg.hash(),
            "metrics": {"accuracy": accuracy, "uar": accuracy, "macro_f1": accuracy / 2, "classes": classes,
                        "confusion": confusion}}


def test_runs_match_their_paper_row_whatever_the_preset_scales():
    runs = [fake_run("ecnn-fsa", "cpu", 0.40), fake_run("ecnn-fsa-2048-fc1-s0.1", "smoke", 0.30),
            fake_run("cnn-lstm", "paper", 0.35)]
    df = report.comparison(9, runs)
    fsa = df[df["row"] == "Proposed ECNN-FSA (end-to-end)"]
    assert sorted(fsa["ours acc %"]) == [30.0, 40.0] and set(fsa["profile"]) == {"cpu", "smoke"}
    assert fsa["Δ acc"].tolist() == pytest.approx([40 - 49.78, 30 - 49.78])
    assert df.loc[df["row"] == "CNN-LSTM [30] (end-to-end)", "profile"].item() == "paper"
    assert df.loc[df["row"] == "Baseline", "status"].item().startswith("cited")


def test_unrun_rows_and_extra_rows_are_marked():
    df = report.comparison(6, [fake_run("ecnn-fsa", "cpu", 0.4, s=0.2), fake_run("ecnn-fsa", "cpu", 0.4, s=0.25)])
    assert (df.loc[df["row"].str.startswith("ECNN-FSA (2048, fc, s = 0.25)"), "status"] == "extra (not in the paper)").all()
    assert df.loc[df["status"] == "measured", "paper acc %"].tolist() == [49.25]  # s = 0.2 is a paper row
    assert (df["status"] == "not run").sum() == len(paper_table(6)["rows"]) - 1
    with pytest.raises(ConfigError, match="table 5"):
        report.comparison(5, [])


def fake_seeds(run: dict, accuracies: list[float]) -> dict:
    """The seeds summary of ``run``'s configuration (fsa.runs.run_group's fields that the report reads)."""
    per = {"mean": float(np.mean(accuracies)), "std": float(np.std(accuracies)), "per_fold": accuracies}
    return {**run, "kind": "seeds", "seeds_hash": "5eed5eed5eed", "seeds_run": list(range(len(accuracies))),
            "seed_config_hashes": [f"seed{k}" for k in range(len(accuracies))],
            "metrics": {"accuracy": per, "uar": per, "macro_f1": per,
                        "pooled": {k: run["metrics"][k] for k in ("classes", "confusion")}}}


def test_comparison_reads_every_recorded_run_of_the_table(tmp_path, monkeypatch):
    monkeypatch.setenv("FSA_RESULTS", str(tmp_path))
    assert (report.comparison(6)["status"] == "not run").all()
    summary = fake_seeds({**fake_run("ecnn-fsa", "cpu", 0.45, s=0.2), "experiment": "afew-0123456789ab"},
                         [0.40, 0.45, 0.50])
    record("afew-0123456789ab", summary, name="seeds-5eed5eed5eed")  # what `papermill table6 -p s 0.2` leaves
    df = report.comparison(6)
    row = df[df["status"] == "measured"]
    assert row["ours acc %"].tolist() == [45.0] and row["experiment"].tolist() == ["afew-0123456789ab"]
    half = 4.302653 * 0.05 / np.sqrt(3)  # t(0.975, df 2) x sample std 0.05 / sqrt(3 seeds)
    low, high = 0.45 - half, 0.45 + half
    assert row["95 % CI"].tolist() == [f"45.0 [{100 * low:.1f}, {100 * high:.1f}]"]
    assert row["CI over"].tolist() == ["t over 3 seeds"]


def test_profile_of_names_the_preset_or_custom():
    assert report.profile_of(fake_run("ecnn-fsa", "smoke")["config"]) == "smoke"
    assert report.profile_of(fake_run("ecnn-fsa", "cpu", epochs=3)["config"]) == "custom"


def test_confusion_pct_follows_the_paper_class_order():
    paper = report.paper_confusion(10)
    run = fake_run("ecnn-fsa")
    ours = report.confusion_pct(run, paper.index)
    assert list(ours.index) == list(paper.index) and np.allclose(np.diag(ours), 100)


def test_table1_traces_the_paper_modules():
    df = report.table1(size=224, n=5).set_index("module")
    assert df.loc["Self-attention", "our output"] == "5 × 2048"
    assert df.loc["Self-attention", "our parameters"] == 3 * 2048 * 2048
    assert df.loc["Layer-norm", "our output"] == "2048" and df.loc["FC", "our output"] == "7"
    assert df.loc["Dropout", "our setting"] == "p = 0.5"


@pytest.mark.parametrize("bad, match", [(dict(s=-1), "s=-1"), (dict(n=0), "n=0"), (dict(preset="fast"), "preset='fast'"),
                                        (dict(data="/no/such/root"), "not a prepared dataset")])
def test_page_rejects_bad_parameters_before_any_work(bad, match):
    with pytest.raises(ConfigError, match=match):
        report.Page(6, **bad)


def test_page_makes_the_embedded_data_only_when_first_needed(smoke_prepared, monkeypatch):
    made = []

    def embedded(layout, size=None, jobs=2):
        made.append(layout)
        return smoke_prepared(layout)

    monkeypatch.setattr(report_page, "embedded_dataset", embedded)
    with pytest.raises(ConfigError, match="s=-1"):
        report.Page(9, preset="smoke", s=-1)
    page = report.Page(9, preset="smoke")
    assert made == []
    index = (smoke_prepared("afew") / "index.csv").read_text().splitlines()
    assert page.source["videos"] == len(index) - 1 and page.source["kind"] == "synthetic"
    assert page.data == smoke_prepared("afew") and made == ["afew"]


def test_check_records_names_a_tampered_run(one_thread, smoke_prepared, tmp_path, monkeypatch):
    monkeypatch.setenv("FSA_RESULTS", str(tmp_path))
    page = report.Page(9, preset="smoke", data=smoke_prepared("afew"), epochs=1)
    rec = page.run(page.config("ecnn-fsa"))  # AFEW: one run per seed and their summary
    again = page.run(page.config("ecnn-fsa"))  # read from the store, not retrained
    assert (again["seeds_hash"], again["finished_at"]) == (rec["seeds_hash"], rec["finished_at"])
    assert rec["seeds_run"] == list(range(AFEW_SEEDS))
    runs = report.fold_runs(rec)
    assert [r["seed"] for r in runs] == rec["seeds_run"]
    assert list(report.check_records([rec], page)) == [f"ecnn-fsa run {r['config_hash']}" for r in runs]
    run = runs[0]
    classes = run["metrics"]["classes"]

    def other_s(r):
        r["config"]["model"]["s"] = 0.3

    def wrong_pred(r):  # one clip's prediction changed: its confusion cell moves
        c = r["per_clip"][0]
        c["pred"] = classes[(classes.index(c["pred"]) + 1) % len(classes)]

    def lost_clip(r):
        r["per_clip"].pop()

    def other_accuracy(r):
        r["metrics"]["accuracy"] = 1 - r["metrics"]["accuracy"]

    for change, message in ((other_s, "config and hash differ"),
                            (wrong_pred, "confusion matrix is not the per-clip"),
                            (lost_clip, "per-clip rows for"),
                            (other_accuracy, "of the per-clip predictions are correct")):
        bad = json.loads(json.dumps(run))
        change(bad)
        with pytest.raises(AssertionError, match=message):
            report.check_records([bad], page)


def test_attention_vs_intensity_by_hand(tmp_path):
    """Spearman's rho by hand: 1 - 6 sum d^2 / (m (m^2 - 1)) on untied ranks."""
    rows = ["video_id,frame,intensity"]
    rows += [f"up,{k + 1},{v}" for k, v in enumerate([0.0, 0.5, 0.25, 1.0, 0.75])]
    rows += [f"flat,{k + 1},0.0" for k in range(4)]
    (tmp_path / "intensity.csv").write_text("\n".join(rows) + "\n")
    clip = dict(label="happy", pred="happy", frame_indices=[0, 1, 2, 3])
    record = {"config_hash": "x", "per_clip": [
        # intensities 0, .5, .25, 1 (ranks 1 3 2 4) against attention ranks 1 2 3 4: d^2 = 0+1+1+0
        {**clip, "clip_id": "up", "video_id": "up", "attention": [0.1, 0.2, 0.3, 0.4]},
        # intensities .75, 1, .25, 0 (ranks 3 4 2 1), attention ranks 4 3 2 1: d^2 = 1+1+0+0; top frame is 0 (.75)
        {**clip, "clip_id": "up-late", "video_id": "up", "frame_indices": [4, 3, 2, 0],
         "attention": [0.4, 0.3, 0.2, 0.1]},
        {**clip, "clip_id": "flat", "video_id": "flat", "attention": [0.25] * 4},  # no variation: left out
    ]}
    df = report.attention_vs_intensity(record, tmp_path)
    assert df["clip"].tolist() == ["up", "up-late"]
    assert df["spearman"].tolist() == pytest.approx([1 - 6 * 2 / (4 * 15), 1 - 6 * 2 / (4 * 15)])
    assert df["top_is_apex"].tolist() == [True, False]
    assert df["chance_top_is_apex"].tolist() == [0.25, 0.25]
    with pytest.raises(ConfigError, match="no attention weights"):
        report.attention_vs_intensity({"per_clip": [{**clip, "video_id": "up", "attention": None}]}, tmp_path)


def test_fold_table_of_a_constructed_summary():
    import pandas as pd

    def score(per_fold, mean, std):
        return {"per_fold": per_fold, "mean": mean, "std": std}

    summary = {"folds_run": [0, 2, 4], "selected_epochs": [7, 3, 12], "metrics": {
        "accuracy": score([0.5, 2 / 3, 0.25], 0.47222, 0.17146),
        "uar": score([0.4, 5 / 9, 0.2], 0.38519, 0.14560),
        "macro_f1": score([0.3, 0.5, 0.123456], 0.30782, 0.15399),
        "pooled": {"accuracy": 0.48, "uar": 0.39, "macro_f1": 0.31}}}
    expected = pd.DataFrame({
        "accuracy": [0.5, 0.6667, 0.25, 0.4722, 0.1715, 0.48],
        "uar": [0.4, 0.5556, 0.2, 0.3852, 0.1456, 0.39],
        "macro_f1": [0.3, 0.5, 0.1235, 0.3078, 0.154, 0.31],
        "selected epoch": pd.array([7, 3, 12, None, None, None], dtype="Int64"),
    }, index=pd.Index([0, 2, 4, "mean", "std", "pooled"], name="fold"))
    pd.testing.assert_frame_equal(report.fold_table(summary), expected)


def with_clips(run: dict, correct: list[bool]) -> dict:
    per_clip = [{"clip_id": f"v{i}", "video_id": f"v{i}", "label": "happy", "pred": "happy" if ok else "anger"}
                for i, ok in enumerate(correct)]
    acc = sum(correct) / len(correct)
    return {**run, "experiment": "afew-0123456789ab", "per_clip": per_clip,
            "metrics": {**run["metrics"], "accuracy": acc, "confusion": [[sum(correct), len(correct) - sum(correct)]]}}


def fake_floor(correct: list[bool]) -> dict:
    config = {"features": "hog", "feature_size": 64, "seed": 0, "data": "unused", "dataset": "afew"}
    return with_clips({"kind": "floor", "label": "HOG + logistic regression (floor)", "config": config,
                       "config_hash": "f1", "metrics": {"uar": 0.3, "macro_f1": 0.2}}, correct)


def test_comparison_has_intervals_and_floor_rows():
    one = with_clips(fake_run("cnn-lstm"), [True] * 30 + [False] * 10)
    seeds = [with_clips(fake_run("ecnn-fsa", seed=s), [True] * k + [False] * (40 - k)) for s, k in ((0, 20), (1, 30))]
    df = report.comparison(9, [one, *seeds, fake_floor([True] * 10 + [False] * 30)])
    lstm = df[df["row"] == "CNN-LSTM [30] (end-to-end)"].iloc[0]
    assert lstm["CI over"] == "Wilson over 40 clips" and lstm["95 % CI"].startswith("75.0 [")
    fsa = df[df["row"] == "Proposed ECNN-FSA (end-to-end)"]
    # two seeds (0.5, 0.75): mean 0.625, half-width t(.975, 1) * std / sqrt 2 = 12.706 * 0.125 > 1 -> clipped
    assert fsa["CI over"].tolist() == ["t over 2 seeds"] * 2 and fsa["95 % CI"].tolist() == ["62.5 [0.0, 100.0]"] * 2
    floor = df[df["status"] == "floor"]
    assert floor["row"].tolist() == ["HOG + logistic regression (floor)"] and floor["ours acc %"].item() == 25.0
    assert floor["profile"].item() == "64 px" and floor["CI over"].item() == "Wilson over 40 clips"


def test_the_emotiw_baseline_row_is_the_lbp_top_floor():
    """Tables 3 and 9 cite the EmotiW AFEW baseline (38.81 %); the LBP-TOP + χ² SVM floor reproduces it."""
    top = fake_floor([True] * 14 + [False] * 26)
    top = {**top, "label": "LBP-TOP + χ² SVM (EmotiW baseline, floor)", "config": {**top["config"], "features": "lbp-top"}}
    df = report.comparison(9, [top, fake_floor([True] * 10 + [False] * 30)])
    baseline = df[df["row"] == "Baseline"].iloc[0]
    assert baseline["status"] == "reproduced: LBP-TOP + χ² SVM (EmotiW baseline, floor)"
    assert (baseline["paper acc %"], baseline["ours acc %"], baseline["Δ acc"]) == (38.81, 35.0, -3.81)
    assert df[df["status"] == "floor"]["row"].tolist() == ["HOG + logistic regression (floor)"]  # listed once
    cited = report.comparison(9, [fake_floor([True] * 40)])
    assert cited[cited["row"] == "Baseline"]["status"].item() == "cited (EmotiW AFEW baseline)"


def test_claims_follow_the_paper_order_and_face_the_floor():
    always, often_wrong = [True] * 40, [i % 3 == 0 for i in range(40)]
    ecnn = with_clips(fake_run("ecnn-fsa"), always)
    lstm = with_clips(fake_run("cnn-lstm"), often_wrong)
    df = report.claims(9, [ecnn, lstm, fake_floor(often_wrong)]).set_index("claim")
    main = df.loc["Proposed ECNN-FSA (end-to-end) > CNN-LSTM [30] (end-to-end)"]  # paper: 49.78 > 41.57
    assert main["verdict"] == "supported" and main["source"] == "paper: 49.78 > 41.57"
    assert (main["A acc %"], main["B acc %"], main["only A right"], main["only B right"]) == (100.0, 35.0, 26, 0)
    # Power: at these 40 clips, 26 of them discordant; and on AFEW 7.0's 383 Val clips for the paper's pair.
    assert main["detectable Δ (pp)"] == round(100 * detectable_difference(40, 26 / 40), 1)
    real = detectable_difference(383, 0.4978 * (1 - 0.4157) + 0.4157 * (1 - 0.4978))
    assert (main["paper Δ (pp)"], main["real set detects (pp)"]) == (8.21, round(100 * real, 1))
    assert main["real set can settle it"] == ("yes" if 8.21 >= 100 * real else "no") == "no"
    floor_claim = df.loc["Proposed ECNN-FSA (end-to-end) > HOG + logistic regression (floor)"]
    assert np.isnan(floor_claim["paper Δ (pp)"]) and floor_claim["detectable Δ (pp)"] > 0
    assert df.loc["CNN-LSTM [30] (end-to-end) > HOG + logistic regression (floor)", "verdict"] == "cannot tell"
    assert df.loc["Proposed ECNN-FSA (end-to-end) > HOG + logistic regression (floor)", "verdict"] == "supported"
    assert len(df) == 3
    swapped = report.claims(9, [with_clips(fake_run("ecnn-fsa"), often_wrong),
                                with_clips(fake_run("cnn-lstm"), always)])
    assert swapped["verdict"].tolist() == ["contradicted"]


def test_claims_of_a_k_fold_summary_need_its_fold_records(tmp_path, monkeypatch):
    monkeypatch.setenv("FSA_RESULTS", str(tmp_path))
    summary = {"kind": "folds", "experiment": "ckplus-0123456789ab", "folds_hash": "ab",
               "fold_config_hashes": ["h0", "h1"]}
    fold = {"config": {}, "metrics": {"accuracy": 1.0, "uar": 1.0, "macro_f1": 1.0, "classes": ["happy"],
                                      "confusion": [[1]]}}  # the fields every run record has
    clip = {"label": "happy", "pred": "happy"}
    record("ckplus-0123456789ab", {**fold, "config_hash": "h0", "per_clip": [{**clip, "clip_id": "a"}]}, name="h0")
    with pytest.raises(ConfigError, match="h1 are missing"):
        report.per_clip_rows(summary)
    record("ckplus-0123456789ab", {**fold, "config_hash": "h1", "per_clip": [{**clip, "clip_id": "b"}]}, name="h1")
    assert [c["clip_id"] for c in report.per_clip_rows(summary)] == ["a", "b"]


def test_a_claim_pooled_over_seeds_counts_every_seeds_clips():
    """Three seeds on the same clip ids are three replicates: their pairs add up, not merge.
    By hand: A right and B wrong on 4 of 12 clips per seed; McNemar's exact p is 2 · 0.5^4 = 0.125
    for one seed (cannot tell) and 2 · 0.5^12 ≈ 4.9e-4 for the three (supported)."""
    from types import SimpleNamespace

    from fsa.report.verdicts import claim_table, pooled_verdict

    a_right, b_right = [True] * 12, [True] * 8 + [False] * 4
    pairs = [(with_clips(fake_run("ecnn-fsa", seed=s), a_right), fake_floor(b_right)) for s in range(3)]
    one, three = pooled_verdict(pairs[:1]), pooled_verdict(pairs)
    assert (one["verdict"], one["b"], one["c"], one["n_clips"]) == ("cannot tell", 4, 0, 12)
    assert one["mcnemar_p"] == pytest.approx(0.125)
    assert (three["verdict"], three["b"], three["c"], three["n_clips"]) == ("supported", 12, 0, 36)
    assert three["mcnemar_p"] == pytest.approx(2 * 0.5 ** 12)
    page = SimpleNamespace(preset="cpu", source={"kind": "synthetic"}, table="4")
    floors = [pairs[0][1]]
    assert report.check_above_floor([], floors, page, over_seeds=claim_table([("A > floor", "3 seeds", three)])) \
        == {"A > floor": "supported"}
    with pytest.raises(AssertionError, match="cannot tell"):
        report.check_above_floor([], floors, page, over_seeds=claim_table([("A > floor", "1 seed", one)]))
    # A floor at the ceiling may be tied: the model passes unless it is further below it than the margin.
    tie = {"hog": 0.05}
    assert report.check_above_floor([], floors, page, over_seeds=claim_table([("A > floor", "1 seed", one)]),
                                    tie=tie) == {"A > floor": "cannot tell"}
    below = pooled_verdict([(fake_floor(b_right), with_clips(fake_run("ecnn-fsa", seed=s), a_right)) for s in range(3)])
    assert below["verdict"] == "contradicted" and below["diff"] == pytest.approx(-1 / 3)
    with pytest.raises(AssertionError, match=r"contradicted, -33.33 pp \(more than 5 below\)"):
        report.check_above_floor([], floors, page, over_seeds=claim_table([("A > floor", "3 seeds", below)]), tie=tie)
    assert report.check_above_floor([], floors, page, over_seeds=claim_table([("A > floor", "3 seeds", below)]),
                                    tie={"hog": 0.34}) == {"A > floor": "contradicted"}
    # The tie is allowed for the floor it names only: an LBP floor at the same level must still be beaten.
    lbp = {**floors[0], "config": {**floors[0]["config"], "features": "lbp"}, "label": "LBP + logistic regression (floor)"}
    with pytest.raises(AssertionError, match="A > LBP over 1 seed: cannot tell"):
        report.check_above_floor([], [floors[0], lbp], page, tie=tie,
                                 over_seeds=claim_table([("A > HOG", "1 seed", one), ("A > LBP", "1 seed", one)]))
    with pytest.raises(AssertionError, match="not a floor of the page"):
        report.check_above_floor([], floors, page, over_seeds=claim_table([("A > floor", "3 seeds", three)]),
                                 tie={"sift": 0.05})


def test_frame_view_reads_one_frame_of_score_fusion():
    """Clip 0: the fused prediction (anger) is wrong, the last frame alone (happy) right; clip 1
    the other way round; clip 2 both right. The view predicts from the last frame only."""
    classes = ["anger", "happy"]
    frames = [[[0.9, 0.1], [0.9, 0.1], [0.2, 0.8]], [[0.1, 0.9], [0.2, 0.8], [0.6, 0.4]], [[0.3, 0.7]] * 3]
    per_clip = [{"clip_id": f"v{i}", "video_id": f"v{i}", "label": "happy", "pred": p, "frame_probs": f}
                for i, (p, f) in enumerate(zip(["anger", "happy", "happy"], frames))]
    fusion = {**fake_run("score-fusion"), "per_clip": per_clip,
              "metrics": {"accuracy": 2 / 3, "classes": classes}}
    view = report.frame_view(fusion)
    assert [c["pred"] for c in view["per_clip"]] == ["happy", "anger", "happy"]
    assert [c["pred"] for c in report.frame_view(fusion, frame=0)["per_clip"]] == ["anger", "happy", "happy"]
    floor = fake_floor([False, False, False])
    df = report.frame_claims([fusion], [floor])
    assert df["only A right"].tolist() == [1, 2] and df["only B right"].tolist() == [1, 0]
    assert report.frame_claims([with_clips(fake_run("ecnn-fsa"), [True])], [floor]).empty
    with pytest.raises(ConfigError, match="no per-frame probabilities"):
        report.frame_view(with_clips(fake_run("score-fusion"), [True, False]))


def test_attention_vs_visibility_by_hand(tmp_path):
    """A sampled frame is hidden when missed, occluded or turned past 30° of yaw; a clip's
    attention on hidden frames is the sum of their weights, its chance their share."""
    rows = ["video_id,frame,shot,yaw,pitch,occluded,missed"]
    # frames 1-6: in view; missed; occluded; turned 35° and -31° (hidden); turned 29° (in view)
    rows += [f"v,{k},0,{yaw},0,{occ},{miss}" for k, (yaw, occ, miss) in
             enumerate([(0, 0, 0), (0, 0, 1), (5, 1, 0), (35, 0, 0), (-31, 0, 0), (29, 0, 0)], 1)]
    rows += [f"clear,{k},0,0,0,0,0" for k in range(1, 4)]
    (tmp_path / "conditions.csv").write_text("\n".join(rows) + "\n")
    clip = dict(label="fear", pred="sadness", video_id="v")
    record = {"config_hash": "x", "per_clip": [
        {**clip, "clip_id": "a", "frame_indices": [0, 1, 2, 3, 4, 5], "attention": [0.3, 0.1, 0.1, 0.1, 0.1, 0.3]},
        {**clip, "clip_id": "b", "frame_indices": [0, 3], "attention": [0.2, 0.8]},
        {**clip, "clip_id": "all-hidden", "frame_indices": [1, 2], "attention": [0.5, 0.5]},  # no choice: out
        {**clip, "clip_id": "clear", "video_id": "clear", "frame_indices": [0, 1, 2], "attention": [0.2, 0.3, 0.5]},
    ]}
    df = report.attention_vs_visibility(record, tmp_path)
    assert df["clip"].tolist() == ["a", "b"]
    assert df["hidden_share"].tolist() == pytest.approx([4 / 6, 1 / 2])
    assert df["hidden_attention"].tolist() == pytest.approx([0.4, 0.8])
    assert df["top_is_hidden"].tolist() == [False, True]
    with pytest.raises(ConfigError, match="no conditions.csv"):
        report.attention_vs_visibility(record, tmp_path / "elsewhere")


def test_over_runs_counts_a_clip_tested_by_several_seeds_once():
    import pandas as pd

    def measure(record, data):
        return pd.DataFrame(record["rows"])

    runs = [{"rows": [dict(clip="c1", label="happy", pred="happy", x=0.2, top=True),
                      dict(clip="c2", label="fear", pred="anger", x=0.4, top=False)]},
            {"rows": [dict(clip="c1", label="happy", pred="anger", x=0.6, top=False)]},
            {"rows": []}]
    df = report.over_runs(measure, runs, "data").set_index("clip")
    assert list(df.index) == ["c1", "c2"] and "pred" not in df
    assert df.loc["c1", "x"] == pytest.approx(0.4) and df.loc["c1", "top"] == pytest.approx(0.5)
    assert df.loc["c2", "label"] == "fear" and df.loc["c2", "x"] == pytest.approx(0.4)
    assert report.over_runs(measure, runs[2:], "data").empty


def test_runs_of_one_row_from_two_starts_are_told_apart_by_their_start():
    runs = [fake_run("ecnn-fsa", accuracy=0.40, pretrained="store:stills-fer2013-aaaaaaaaaaaa/0123456789ab",
                     pretrained_format="fsa"),
            fake_run("ecnn-fsa", accuracy=0.45, pretrained="store:stills-fer2013-bbbbbbbbbbbb/0123456789ab",
                     pretrained_format="fsa"),
            fake_run("ecnn-fsa", accuracy=0.35)]
    df = report.comparison(9, runs)
    fsa = df[df["row"] == "Proposed ECNN-FSA (end-to-end)"]
    assert dict(zip(fsa["start"], fsa["ours acc %"])) == {"stills-fer2013-aaaaaaaaaaaa": 40.0,
                                                         "stills-fer2013-bbbbbbbbbbbb": 45.0, "random": 35.0}
