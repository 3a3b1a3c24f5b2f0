"""fsa.runs.difficulty: the Baseline with each wild knob off, read from the store and measured."""
import pytest
from scipy.stats import binomtest

from data_prep.synth import KNOBS, afew_fraction, afew_size
from fsa import results as store
from fsa.runs import difficulty

SIZE = afew_fraction(difficulty.FRACTION)


def floor(conditions: str, correct: int, n: int, features: str = "lbp-top", size: str = SIZE,
          index: str = "0123456789ab", finished_at: str = "2026-12-01T00:00:00+00:00") -> dict:
    experiment = difficulty.experiment(size, index)
    return {"kind": "floor", "experiment": experiment, "model": f"{features}-floor", "label": f"{features} floor",
            "dataset": "afew", "config": {"features": features, "dataset": "afew"},
            "config_hash": f"{features}-{conditions}", "finished_at": finished_at, "data_index_hash": index,
            "data_conditions": conditions,
            "metrics": {"accuracy": correct / n, "uar": 0.0, "macro_f1": 0.0, "n_clips": n, "classes": ["a", "b"],
                        "confusion": [[0, 0], [0, 0]]}, "per_clip": []}


def test_difficulty_table_gives_each_knobs_baseline_and_its_difference_from_the_wild_set(tmp_path):
    for rec in (floor("afew7", 48, 80, index="aaaaaaaaaaaa"), floor("afew7-without-pose", 56, 70, index="bbbbbbbbbbbb"),
                floor("afew7-without-pose", 1, 70, features="hog", index="bbbbbbbbbbbb",  # another floor, later
                      finished_at="2026-12-02T00:00:00+00:00"),
                floor("afew7-without-talking", 70, 70, size="default", index="cccccccccccc")):  # another size
        store.record(rec["experiment"], rec, tmp_path)
    table = difficulty.difficulty_table(results_root=tmp_path)
    assert list(table.index) == ["none (the wild set)", *KNOBS]
    wild, pose = table.loc["none (the wild set)"], table.loc["pose"]
    scipy_ci = binomtest(48, 80).proportion_ci(0.95, method="wilson")
    assert wild["accuracy %"] == 60.0 and wild["95 % CI"] == f"[{100 * scipy_ci.low:.1f}, {100 * scipy_ci.high:.1f}]"
    assert wild["Val clips"] == 80 and wild["record"].endswith("/lbp-top-afew7")
    # Newcombe (1998), Table II: 56/70 - 48/80 = 0.2 [0.0524, 0.3339]
    assert pose["accuracy %"] == 80.0 and pose["Δ from the wild set (pp)"] == 20.0 and pose["Δ 95 % CI"] == "[5.2, 33.4]"
    talking = table.loc["talking"]
    assert talking.isna()["accuracy %"], "a record of another size is not this table's"
    assert talking["recorded by"] == "fsa difficulty --knobs talking"
    for knob in KNOBS:
        store.record(difficulty.experiment(SIZE, "d" * 12), floor(f"afew7-without-{knob}", 40, 80, index="d" * 12),
                     tmp_path)
    table = difficulty.difficulty_table(results_root=tmp_path)
    assert table["accuracy %"].notna().all() and "recorded by" not in table.columns


@pytest.mark.slow
def test_fsa_difficulty_records_the_baseline_of_each_set_with_its_conditions(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path / "results"))
    work = tmp_path / "work"
    assert difficulty.main(["--fraction", "0.02", "--knobs", "pose", "--work", str(work)]) == 0
    assert not any(work.iterdir()), "the sets are removed once their floors are recorded"
    records = difficulty.difficulty_records(0.02)
    assert sorted(r["data_conditions"] for r in records) == ["afew7", "afew7-without-pose"]
    val = sum(afew_size(0.02)["clips"]["val"].values())
    for rec in records:
        assert rec["kind"] == "floor" and rec["config"]["features"] == "lbp-top"
        assert rec["experiment"] == difficulty.experiment("afew7x0.02", rec["data_index_hash"])
        assert 0.9 * val <= rec["metrics"]["n_clips"] <= val
    table = difficulty.difficulty_table(0.02)
    assert table["accuracy %"].notna().sum() == 2 and table.loc["pose", "Δ 95 % CI"].startswith("[")
    assert difficulty.main(["--fraction", "0.02", "--knobs", "nose", "--work", str(work)]) == 1
    assert "knob 'nose'" in capsys.readouterr().err


def test_a_recorded_set_is_read_not_made_again_unless_its_conditions_numbers_changed(tmp_path, monkeypatch):
    from dataclasses import replace

    import data_prep.synth
    from data_prep.synth import conditions, plan_afew

    def fail(*args, **kwargs):
        raise AssertionError("the set was made again")

    fraction, wild = 0.02, conditions("afew7")
    val = [v.video_id for s in plan_afew(afew_fraction(fraction), difficulty.SEED, wild) for v in s.videos
           if v.split == "val"]
    rec = floor("afew7", 3, len(val), size=afew_fraction(fraction))
    rec["config"]["n"], rec["per_clip"] = 1, [{"video_id": v, "clip_id": v, "label": "a", "pred": "b"} for v in val]
    store.record(rec["experiment"], rec, tmp_path)
    monkeypatch.setattr(data_prep.synth, "generate", fail)
    found = difficulty.measure(wild, fraction, tmp_path / "work", results_root=tmp_path)
    assert [r["config_hash"] for r in found] == [rec["config_hash"]]
    assert difficulty.recorded(wild, fraction, [("hog", 1)], tmp_path) is None, "another floor is not recorded"
    changed = replace(wild, talking=wild.talking / 2)
    assert changed.name == wild.name
    assert difficulty.recorded(changed, fraction, difficulty.FLOORS[:1], tmp_path) is None, \
        "a record of other numbers under the same name is not this set's"
    with pytest.raises(AssertionError, match="made again"):
        difficulty.measure(changed, fraction, tmp_path / "work", results_root=tmp_path)
