"""fsa.results: the provenance a run records, and a store that one bad file cannot break."""
import json
import os
import re
import stat
import subprocess

import pytest

from fsa import results


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_dirty_means_the_code_differs_not_the_book_outputs(tmp_path, monkeypatch):
    for name in ("fsa/model.py", "notebooks/table4.ipynb", "results/ckplus/run.json", "book/intro.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("v1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    monkeypatch.setattr(results, "REPO_ROOT", tmp_path)
    assert results.git_commit() == {"commit": head, "dirty": False}
    for name in ("notebooks/table4.ipynb", "results/ckplus/run.json", "book/intro.md"):
        (tmp_path / name).write_text("rewritten by make book\n")
    assert results.git_commit()["dirty"] is False
    (tmp_path / "fsa/model.py").write_text("v2\n")
    assert results.git_commit() == {"commit": head, "dirty": True}


# ------------------------------------------------------------------------------- bad files in the store
def _summary(experiment: str, accuracies: list[float]) -> dict:
    """A k-fold summary of ECNN-FSA as the engine records it (the fields the tables read)."""
    from fsa.spec import make_config

    per_fold = {"mean": sum(accuracies) / len(accuracies), "std": 0.1, "per_fold": accuracies}
    return {"kind": "folds", "experiment": experiment, "model": "ecnn-fsa", "finished_at": "1",
            "config": {**make_config("ecnn-fsa", "smoke", data="x").to_dict(), "fold": None},
            "folds_hash": "f" * 12, "folds_run": list(range(len(accuracies))),
            "fold_config_hashes": ["a" * 12, "b" * 12],
            "metrics": {"accuracy": per_fold, "uar": per_fold, "macro_f1": per_fold,
                        "pooled": {"accuracy": 0.75, "uar": 0.75, "macro_f1": 0.75, "classes": ["happy", "sadness"],
                                   "confusion": [[3, 1], [1, 3]]}}}


def _run(config_hash: str = "abc") -> dict:
    """The smallest run record the readers can use: its config, scores and per-clip predictions."""
    return {"config_hash": config_hash, "config": {}, "per_clip": [{"clip_id": "c", "label": "happy", "pred": "happy"}],
            "metrics": {"accuracy": 1.0, "uar": 1.0, "macro_f1": 1.0, "classes": ["happy"], "confusion": [[1]]}}


def _hand_edited(accuracy) -> dict:
    """A k-fold summary whose mean accuracy was edited by hand to ``accuracy``."""
    summary = _summary("ckplus-x", [0.5, 0.5])
    summary["metrics"]["accuracy"] = {**summary["metrics"]["accuracy"], "mean": accuracy}
    return summary


#: Files no reader can use, and what the warning must say of each.
BAD_FILES = {
    "truncated.json": ('{"kind": "run", "config_hash": "abc", "metr', "not valid JSON"),
    "empty-object.json": ("{}", "run record lacks config, config_hash, metrics"),
    "list.json": ("[1, 2]", "not a results record (a JSON list"),
    "no-config.json": (json.dumps({"kind": "folds", **{k: v for k, v in _summary("ckplus-x", [0.5, 0.5]).items()
                                                        if k not in ("kind", "config")}}),
                       "folds record lacks config"),
    "no-model.json": (json.dumps({**_summary("ckplus-x", [0.5, 0.5]), "config": {}}), "folds record lacks config.model"),
    "high.json": (json.dumps(_hand_edited("high")), "metrics.accuracy.mean: 'high' is not of type 'number'"),
}


@pytest.fixture
def bad_store(tmp_path, monkeypatch):
    """A store with one good k-fold summary and every kind of bad file, in one experiment."""
    root = tmp_path / "store"
    monkeypatch.setenv(results.ENV_VAR, str(root))
    exp = root / "ckplus-x"
    exp.mkdir(parents=True)
    results.record("ckplus-x", _summary("ckplus-x", [0.4, 0.6]), name="folds-" + "f" * 12)
    for name, (text, _) in BAD_FILES.items():
        (exp / name).write_text(text)
    return root


def _warned(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, results.RecordWarning)]


def test_readers_skip_bad_records_naming_each(bad_store):
    with pytest.warns(results.RecordWarning) as caught:
        runs = results.load_runs("ckplus-x", kind="folds")
    assert [r["folds_hash"] for r in runs] == ["f" * 12]
    messages = _warned(caught)
    assert len(messages) == len(BAD_FILES)
    for name, (_, problem) in BAD_FILES.items():
        assert any(str(bad_store / "ckplus-x" / name) in m and problem in m for m in messages), (name, messages)


def test_a_tables_comparison_is_built_from_the_good_records(bad_store):
    from fsa import report

    with pytest.warns(results.RecordWarning):
        df = report.comparison(4, experiment="ckplus-x")
    measured = df[df["status"] == "measured"]
    assert list(measured["ours acc %"]) == [50.0] and list(measured["run"]) == ["f" * 12]


def test_a_truncated_own_record_is_not_recorded(tmp_path, monkeypatch):
    """Page.run's "already recorded?" lookup: a cut-short summary is warned about and trained again."""
    from types import SimpleNamespace

    from fsa import report
    from fsa.runs import chain, group_hash

    monkeypatch.setenv(results.ENV_VAR, str(tmp_path / "store"))
    data = tmp_path / "prepared"
    (data / "frames").mkdir(parents=True)
    (data / "index.csv").write_text("video_id,subject,label,split,n_frames,source\n")
    page = report.Page(4, preset="smoke", data=data)
    cfg = page.config("ecnn-fsa")
    name = f"folds-{group_hash(cfg, 'fold', list(range(cfg.folds)))}"
    path = results.experiment_dir(report.experiment_name(cfg)) / f"{name}.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"kind": "folds", "experiment"')
    trained = []
    monkeypatch.setattr(chain, "run_group", lambda *a, **k: trained.append(a) or SimpleNamespace(summary="new"))
    with pytest.warns(results.RecordWarning, match=f"{name}.json: not valid JSON"):
        assert results.find_run(report.experiment_name(cfg), name) is None
    with pytest.warns(results.RecordWarning):
        assert page.run(cfg) == "new"
    assert len(trained) == 1


def test_results_check_lists_every_record_and_names_the_bad_ones(bad_store, capsys):
    from fsa.cli import main

    assert main(["results", "check", "--root", str(bad_store)]) == 1
    out, err = capsys.readouterr()
    assert f"ok  folds       ckplus-x/folds-{'f' * 12}.json" in out.splitlines()
    assert len(out.splitlines()) == 1 + len(BAD_FILES)
    errors = [line for line in err.splitlines() if line.startswith("fsa: error:")]
    assert len(errors) == len(BAD_FILES)
    for name, (_, problem) in BAD_FILES.items():
        assert any(line.startswith(f"BAD ?           ckplus-x/{name}") and problem in line for line in out.splitlines())
        assert any(str(bad_store / "ckplus-x" / name) in line and problem in line for line in errors)
    for name in BAD_FILES:
        (bad_store / "ckplus-x" / name).unlink()
    assert main(["results", "check", "--root", str(bad_store)]) == 0
    assert main(["results", "check", "--root", str(bad_store / "missing")]) == 2
    assert "no results store there" in capsys.readouterr().err


def test_the_book_page_names_a_skipped_record(bad_store):
    """What the fsa-table directive shows above the table and logs: every skipped file, even one
    already warned about in this process, and even where warnings are filtered out."""
    import warnings

    from fsa import report

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(2):
            with results.skipped_records() as skipped:
                report.comparison(4, experiment="ckplus-x")
            assert len(skipped) >= len(BAD_FILES)
            assert all(any(name in m for m in skipped) for name in BAD_FILES)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_records_and_checkpoints_get_the_umasks_mode(tmp_path, mask, mode):
    """Written through a temporary file (mkstemp: 0600), then given the mode any new file gets."""
    import torch

    from fsa.checkpoint import save_checkpoint
    from fsa.models import build_model
    from fsa.spec import make_config

    cfg = make_config("ecnn-fsa", "smoke", width=0.03125)
    old = os.umask(mask)
    try:
        written = [results.record("exp", _run(), root=tmp_path),
                   save_checkpoint(tmp_path / "exp" / "best.pt", model=build_model(cfg.model), cfg=cfg,
                                   classes=["a"] * 7, epoch=0)]
    finally:
        os.umask(old)
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == mode, (path, oct(path.stat().st_mode))
    assert torch.load(written[1], weights_only=True)["epoch"] == 0


def test_every_committed_record_fits_its_kinds_schema():
    """The published store is read by a fresh clone: every file of it is a record the readers use."""
    files = results.store_files(results.REPO_ROOT / "results")
    assert files
    bad = {str(p): problem for p in files for _, problem in [results.inspect_record(p)] if problem}
    assert not bad, bad


@pytest.mark.parametrize("result, problem", [
    (_hand_edited("high"), "metrics.accuracy.mean: 'high' is not of type 'number'"),
    (_hand_edited(1.5), "metrics.accuracy.mean: 1.5 is greater than the maximum of 1"),
    ({**_run(), "per_clip": [{"clip_id": "c", "label": 3, "pred": "happy"}]}, "per_clip[0].label: 3 is not of type"),
    ({**_run(), "metrics": {**_run()["metrics"], "confusion": [[0.5]]}}, "metrics.confusion[0][0]: 0.5 is not of type"),
    ({"config_hash": "abc", "config": {}}, "run record lacks metrics, per_clip"),
])
def test_a_record_that_does_not_fit_its_schema_is_never_written(tmp_path, result, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        results.record("ckplus-x", result, root=tmp_path, name="folds-" + "f" * 12)
    assert not (tmp_path / "ckplus-x").exists() or not list((tmp_path / "ckplus-x").iterdir())


def test_a_record_edited_after_it_was_read_is_checked_again(tmp_path):
    """The schema's verdict is kept per text, not per file: a record read once and then edited by
    hand to break its schema is skipped on the next read."""
    path = tmp_path / "ckplus-x" / "abc.json"
    path.parent.mkdir()
    path.write_text(json.dumps(_run()), encoding="utf-8")
    assert results.inspect_record(path) == ({**_run(), "kind": "run", "result_path": str(path)}, None)
    path.write_text(json.dumps(_hand_edited(1.5)), encoding="utf-8")
    record, problem = results.inspect_record(path)
    assert record is None and "1.5 is greater than the maximum of 1" in problem
