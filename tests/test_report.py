"""fsa.report: matching recorded runs to the paper's rows, page validation, record checks."""
import json

import numpy as np
import pytest

from fsa import report
from fsa.config import ConfigError, make_config
from fsa.results import record


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
    assert (df["status"] == "not run").sum() == len(report.paper_table(6)["rows"]) - 1
    with pytest.raises(ConfigError, match="table 5"):
        report.comparison(5, [])


def test_comparison_reads_every_recorded_run_of_the_table(tmp_path, monkeypatch):
    monkeypatch.setenv("FSA_RESULTS", str(tmp_path))
    assert (report.comparison(6)["status"] == "not run").all()
    run = {**fake_run("ecnn-fsa", "cpu", 0.45, s=0.2), "experiment": "afew-0123456789ab"}
    record("afew-0123456789ab", run, name=run["config_hash"])  # what `papermill table6 -p s 0.2` leaves
    df = report.comparison(6)
    row = df[df["status"] == "measured"]
    assert row["ours acc %"].tolist() == [45.0] and row["experiment"].tolist() == ["afew-0123456789ab"]


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


def test_check_records_names_a_tampered_run(one_thread, smoke_prepared, tmp_path, monkeypatch):
    monkeypatch.setenv("FSA_RESULTS", str(tmp_path))
    page = report.Page(9, preset="smoke", data=smoke_prepared("afew"), epochs=1)
    rec = page.run(page.config("ecnn-fsa"))
    again = page.run(page.config("ecnn-fsa"))  # read from the store, not retrained
    assert (again["config_hash"], again["finished_at"]) == (rec["config_hash"], rec["finished_at"])
    assert list(report.check_records([rec], page)) == [f"ecnn-fsa run {rec['config_hash']}"]
    classes = rec["metrics"]["classes"]

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
        bad = json.loads(json.dumps(rec))
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


def test_cpu_ckplus_bar_flags_an_accuracy_regression():
    from types import SimpleNamespace

    confusion = np.diag([10, 2, 2, 2, 2, 2, 2]).tolist()  # majority class: 10 of 22 clips
    low = {"kind": "folds", "model": "ecnn-fsa", "folds_hash": "f0",
           "metrics": {"accuracy": {"mean": 0.5}, "pooled": {"confusion": confusion}}}
    page = SimpleNamespace(preset="cpu", source={"kind": "synthetic"})
    with pytest.raises(AssertionError, match="accuracy regression"):
        report.check_records([low], page)
