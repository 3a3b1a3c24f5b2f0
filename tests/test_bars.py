"""Accuracy bars from recorded runs (fsa.report.bars) and the notebooks' checks that use them: a group
against its page's bar, every fold against its own majority class.

Expected bars are worked out here by hand or with the standard library's ``statistics``, not with
the code under test; the committed bars are checked against the committed results store.
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path
from types import SimpleNamespace

import pytest

from fsa import report
from fsa.config import ConfigError
from fsa.models.registry import REGISTRY
from fsa.report import bars
from fsa.results import record
from fsa.runs import group_hash
from fsa.spec import make_config

REPO = Path(__file__).resolve().parents[1]
CLASSES = ["anger", "disgust", "fear", "happy", "neutral", "sadness", "surprise"]
#: Ten test clips whose majority class, happy, is 4 of 10.
LABELS = ["happy"] * 4 + ["anger"] * 3 + ["surprise"] * 3
EXPERIMENT = "ckplus-0123456789ab"


#: Student's t quantiles t(0.999, df), from a printed table: the bar's multiple of the SE is
#: t(1 - alpha, n - 1) x sqrt 2 for alpha 0.001 and n replicates.
T999 = {1: 318.309, 2: 22.327, 4: 7.173}


def test_bar_is_where_a_rebuild_falls_with_probability_alpha():
    summary = {"kind": "folds", "folds_hash": "f0", "experiment": EXPERIMENT,
               "config": make_config("ecnn-fsa", "cpu", data="unused").to_dict(),
               "metrics": {"accuracy": {"per_fold": [0.9, 0.8, 0.85, 0.95, 0.7], "mean": 0.84, "std": 0.086}}}
    bar = bars.bar_of(summary, "4", "ecnn-fsa", "cpu")
    # mean 0.84; deviations .06 -.04 .01 .11 -.14, squares sum to .037: sample sd sqrt(.037 / 4) = .0961769,
    # SE = .0961769 / sqrt 5 = .0430116, bar = .84 - 7.173 x sqrt 2 x .0430116 = .84 - .436313
    assert bar["se_multiple"] == pytest.approx(T999[4] * 2 ** 0.5, abs=1e-3)
    assert (bar["mean"], bar["se"], bar["bar"]) == pytest.approx((0.84, 0.0430116, 0.403687), abs=1e-4)
    assert (bar["group"], bar["over"], bar["table"], bar["model"]) == ("folds-f0", "folds", "4", "ecnn-fsa")
    # folds at the ceiling: the SE is the pooled clips' (200 of 200 right: p = 201 / 202, sqrt(p(1 - p) / 200))
    ceiling = {**summary, "metrics": {"accuracy": {"per_fold": [1.0] * 5},
                                      "pooled": {"accuracy": 1.0, "n_clips": 200}}}
    top = bars.bar_of(ceiling, "4", "ecnn-fsa", "cpu")
    assert top["se"] == pytest.approx(0.0049629, abs=1e-6) and top["bar"] == pytest.approx(1 - 0.050345, abs=1e-4)
    one = {**summary, "metrics": {"accuracy": {"per_fold": [0.9]}}}
    with pytest.raises(ConfigError, match="1 replicate"):
        bars.bar_of(one, "4", "ecnn-fsa", "cpu")


def test_profile_hash_ignores_the_seed_and_where_a_run_ran_only():
    cfg = make_config("ecnn-fsa", "cpu", dataset="ckplus", data="/a")
    same = [cfg.override(seed=3), cfg.override(fold=2, data="/b", device="cpu"), cfg.override(name="ecnn-fsa-x")]
    other = [cfg.override(epochs=20), cfg.override(s=0.2), cfg.override(n=3), cfg.override(pretrained="x.pt")]
    assert {bars.profile_hash(c.to_dict()) for c in [cfg, *same]} == {bars.profile_hash(cfg.to_dict())}
    assert len({bars.profile_hash(c.to_dict()) for c in [cfg, *other]}) == 1 + len(other)


def notebook_pages_with_checks() -> set[str]:
    """The table pages whose hidden check calls check_records, read from the notebooks."""
    pages = set()
    for path in (REPO / "notebooks").glob("table*.ipynb"):
        cells = json.loads(path.read_text())["cells"]
        if any("report.check_records(" in "".join(c["source"]) for c in cells if c["cell_type"] == "code"):
            pages.add(path.stem.removeprefix("table"))
    return pages


def test_committed_bars_are_those_of_the_committed_store_under_the_current_profile():
    """Every bar of fsa/bars.json is its source group's bar (worked out here), the group is in the
    committed store and carries the cpu preset's current numbers (a changed preset fails here until
    ``make book`` and ``make bars`` have run), and every checked table page has a bar per model it runs."""
    committed = json.loads(bars.BARS_FILE.read_text())["bars"]
    for b in committed:
        path = REPO / "results" / b["experiment"] / f"{b['group']}.json"
        assert path.is_file(), f"bar of Table {b['table']} {b['model']}: its group {path} is not in the store"
        summary = json.loads(path.read_text())
        acc = summary["metrics"]["accuracy"]["per_fold"]
        pooled = summary["metrics"]["pooled"]
        right = round(pooled["accuracy"] * pooled["n_clips"])
        p = (right + 1) / (pooled["n_clips"] + 2)
        se = max(statistics.stdev(acc) / len(acc) ** 0.5, (p * (1 - p) / pooled["n_clips"]) ** 0.5)
        assert b["accuracies"] == acc and b["over"] == summary["kind"]
        mean = statistics.mean(acc)
        bar = mean - T999[len(acc) - 1] * 2 ** 0.5 * se
        assert (b["mean"], b["se"], b["bar"]) == pytest.approx((mean, se, bar), abs=1e-4)
        assert report.profile_of(summary["config"]) == b["preset"], (
            f"Table {b['table']} {b['model']}: its bar comes from a group of another {b['preset']} profile; "
            f"record the current one's with make book, then make bars")
        assert report.architecture(summary["config"]["model"]) == report.architecture(REGISTRY[b["model"]].config)
    pages = notebook_pages_with_checks()
    assert {"4", "9"} <= pages
    expected = {(t, m) for t in pages for m in report.KEY_ROWS.get(t, ("ecnn-fsa",))}
    assert sorted((b["table"], b["model"]) for b in committed if b["preset"] == "cpu") == sorted(expected)


def fake_run(preset: str, fold: int, correct: int, seed: int = 0, **over) -> dict:
    """A complete run record of fold ``fold`` on the ten :data:`LABELS` clips, the first ``correct``
    predicted right and the others as the next class."""
    cfg = make_config("ecnn-fsa", preset, dataset="ckplus", data="unused", seed=seed, fold=fold, **over)
    per_clip = [{"clip_id": f"f{fold}c{i}", "video_id": f"f{fold}c{i}", "label": lab,
                 "pred": lab if i < correct else CLASSES[(CLASSES.index(lab) + 1) % 7]} for i, lab in enumerate(LABELS)]
    confusion = [[sum(c["label"] == a and c["pred"] == b for c in per_clip) for b in CLASSES] for a in CLASSES]
    return {"kind": "run", "model": "ecnn-fsa", "dataset": "ckplus", "experiment": EXPERIMENT,
            "config": cfg.to_dict(), "config_hash": cfg.hash(), "data_index_hash": EXPERIMENT[-12:],
            "git": {"commit": "c0ffee"}, "versions": {"torch": "2"}, "stopped_early": False,
            "history": [{"train_accuracy": 0.5}] * cfg.epochs, "n_clips": {"test": len(LABELS)},
            "metrics": {"accuracy": correct / len(LABELS), "uar": correct / len(LABELS), "macro_f1": correct / len(LABELS),
                        "classes": CLASSES, "confusion": confusion, "n_clips": len(LABELS)}, "per_clip": per_clip}


def fake_group(preset: str, correct: list[int], seed: int = 0, name: str | None = None, **over) -> dict:
    """A k-fold summary and its runs, recorded in the store of ``$FSA_RESULTS``."""
    runs = [fake_run(preset, fold, k, seed, **over) for fold, k in enumerate(correct)]
    for r in runs:
        record(EXPERIMENT, r)
    acc = [k / len(LABELS) for k in correct]
    spread = {"per_fold": acc, "mean": statistics.mean(acc), "std": 0.0}
    pooled = {"classes": CLASSES, "confusion": [[sum(cells) for cells in zip(*rows)]
                                                  for rows in zip(*(r["metrics"]["confusion"] for r in runs))]}
    config = {**runs[0]["config"], "fold": None}
    summary = {"kind": "folds", "experiment": EXPERIMENT, "model": "ecnn-fsa", "config": config,
               "folds_hash": name or bars.profile_hash(config) + str(seed), "folds_run": list(range(len(correct))),
               "fold_config_hashes": [r["config_hash"] for r in runs],
               "metrics": {"accuracy": spread, "uar": spread, "macro_f1": spread, "pooled": pooled}}
    record(EXPERIMENT, summary, name=bars.group_name(summary))
    return summary


def fake_page(preset: str = "cpu", table: str = "4") -> SimpleNamespace:
    return SimpleNamespace(table=table, preset=preset, source={"kind": "synthetic", "index_hash": EXPERIMENT[-12:]})


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("FSA_RESULTS", str(tmp_path / "results"))
    monkeypatch.setattr(bars, "BARS_FILE", tmp_path / "bars.json")
    return tmp_path


def test_a_rebuild_is_held_to_the_bar_and_its_source_to_the_independent_checks(store):
    source = fake_group("cpu", [9, 10, 10, 10, 9], name="5041ce")
    bar = bars.bar_of(source, "4", "ecnn-fsa", "cpu")
    # accuracies .9 1 1 1 .9: mean .96, sample sd .054772, SE .054772 / sqrt 5 = .024495, bar .96 - 7.173 x
    # sqrt 2 x .024495 = .96 - .248479
    assert bar["bar"] == pytest.approx(0.711521, abs=1e-4)
    bars.write_bars([bar])
    assert bars.load_bars() == [bar]

    def check(summary, page=None):
        return report.check_bar(summary, report.fold_runs(summary), page or fake_page())

    assert check(source).startswith("the source of the bar")
    assert check(source, fake_page(table="5")) == "no bar of this profile"  # the bar is Table 4's
    assert check(fake_group("cpu", [8, 8, 8], seed=1)) == "0.8000 >= bar 0.7115"  # another seed, above
    with pytest.raises(AssertionError, match=r"0\.7000 over 3 folds < its bar 0\.7115 .* folds-5041ce"):
        check(fake_group("cpu", [7, 7, 7], seed=2))  # another seed, below
    with pytest.raises(AssertionError, match="accuracy regression"):
        check(fake_group("cpu", [7, 7, 7, 7, 7], name="5041ce"))  # the source's configuration trained again, below
    assert check(fake_group("cpu", [5, 5, 5], epochs=20)) == "no bar of this profile"
    # check_records runs it on every group of a page
    with pytest.raises(AssertionError, match="accuracy regression"):
        report.check_records([fake_group("cpu", [7, 7, 7], seed=3)], fake_page())


def test_every_fold_beats_the_majority_class_of_its_own_test_clips(store):
    run = fake_run("cpu", 0, correct=4)  # 4 of 10 right: the majority share (happy, 4 of 10)
    run["metrics"]["accuracy"] = 0.9  # the recorded metric is not what is checked
    with pytest.raises(AssertionError, match=r"accuracy 0\.400 .* class \(happy, 0\.400\) — a collapsed fold"):
        report.check_above_majority(run, "run")
    assert report.check_above_majority(fake_run("cpu", 0, correct=5), "run") == pytest.approx(0.4)
    collapsed = fake_group("cpu", [9, 4, 9])
    with pytest.raises(AssertionError, match="a collapsed fold"):
        report.check_records([collapsed], fake_page())
    # the smoke preset's models stay near chance: its runs are held to completeness only
    assert len(report.check_records([fake_group("smoke", [9, 4, 9])], fake_page("smoke"))) == 3


def test_derive_reads_each_pages_recorded_group(store, smoke_prepared):
    ck = smoke_prepared("ckplus")
    cfg = make_config("ecnn-fsa", "cpu", dataset="ckplus", data=str(ck), seed=0, device="auto")
    name = group_hash(cfg, "fold", list(range(cfg.folds)))
    summary = {"kind": "folds", "experiment": report.experiment_name(cfg), "model": "ecnn-fsa",
               "config": {**cfg.to_dict(), "fold": None}, "folds_hash": name, "fold_config_hashes": ["h0", "h1"],
               "metrics": {**dict.fromkeys(("accuracy", "uar", "macro_f1"), {"per_fold": [0.5, 0.7], "mean": 0.6,
                                                                             "std": 0.1}),
                           "pooled": {"classes": ["happy"], "confusion": [[1]]}}}
    record(summary["experiment"], summary, name=f"folds-{name}")
    found, missing = bars.derive("cpu", {"4": ("ecnn-fsa", "cnn-lstm")}, data={"ckplus": ck})
    assert [(b["table"], b["model"], b["group"]) for b in found] == [("4", "ecnn-fsa", f"folds-{name}")]
    assert found[0]["bar"] == pytest.approx(0.6 - T999[1] * 2 ** 0.5 * 0.1, abs=1e-3)  # sd of .5, .7 .1414; SE .1
    assert len(missing) == 1 and missing[0].startswith("Table 4 cnn-lstm (cpu): no recorded group")


def test_a_broken_bars_file_is_named(store):
    bars.BARS_FILE.write_text("{")
    with pytest.raises(ConfigError, match="bars.json: not a bars file"):
        bars.load_bars()


def test_fsa_bars_same_groups_derives_the_committed_bars_again(store, capsys):
    """``fsa bars --same-groups --write``: each committed bar derived again from the group it names, under
    the current rule, with no data; a group no longer in the store leaves the file as it was."""
    from fsa.cli import main

    group = fake_group("cpu", [9, 10, 10, 10, 9], name="5041ce")
    old = {**bars.bar_of(group, "4", "ecnn-fsa", "cpu"), "bar": 0.9, "se_multiple": 2.0}  # an older rule's bar
    bars.write_bars([old])
    assert main(["bars", "--same-groups", "--write"]) == 0
    [bar] = bars.load_bars()
    assert bar["bar"] == pytest.approx(0.711521, abs=1e-4)  # worked out in the test above
    assert "was 0.9000 from folds-5041ce" in capsys.readouterr().out
    gone = {**old, "group": "folds-0000000000aa"}
    bars.write_bars([gone])
    assert main(["bars", "--same-groups", "--write"]) == 1
    assert "folds-0000000000aa is not in" in capsys.readouterr().err and bars.load_bars() == [gone]
