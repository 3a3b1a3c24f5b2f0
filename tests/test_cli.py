"""The ``fsa`` command: help, validation before any work, k-fold training, eval, models, prep."""
from __future__ import annotations

import errno
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fsa.cli import EXIT_USAGE, main

REPO = Path(__file__).resolve().parents[1]
TINY_SETS = ["--set", "image_size=32", "--set", "width=0.0625", "--set", "batch_size=8"]


pytestmark = pytest.mark.usefixtures("one_thread")



def run_main(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_python_dash_m_fsa_lists_the_subcommands():
    proc = subprocess.run([sys.executable, "-m", "fsa", "--help"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0
    for sub in ("train", "eval", "predict", "models", "prep", "bench"):
        assert sub in proc.stdout


@pytest.mark.parametrize("sub,expected", [
    ("train", "--folds"), ("eval", "--checkpoint"), ("predict", "--window"), ("models", "--json"),
    ("prep", "--dataset"), ("bench", "--repeats"),
])
def test_every_subcommand_has_help(sub, expected, capsys):
    with pytest.raises(SystemExit) as e:
        main([sub, "--help"])
    assert e.value.code == 0
    assert expected in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["--model", "nope"], "unknown model 'nope'"),
    (["--dataset", "mnist"], "dataset='mnist'"),
    (["--preset", "huge"], "preset='huge'"),
    (["--set", "s=0"], "s=0.0"),
    (["--set", "s=-1"], "s=-1.0"),
    (["--set", "n=0"], "n=0"),
    (["--set", "nonsense=1"], "unknown config field: nonsense"),
    (["--set", "epochs"], "--set 'epochs': expected KEY=VALUE"),
    (["--set", "lr=fast"], "'fast' is not a valid float"),
    (["--protocol", "ck+9"], "protocol='ck+9'"),
    (["--folds", "7"], "--folds '7': folds must be in 0..4"),
    (["--fold", "5"], "fold=5"),
])
def test_invalid_values_are_rejected_before_any_work(args, message, ck, tmp_path, capsys):
    base = {"--model": "ecnn-fsa", "--dataset": "ckplus", "--data": str(ck), "--preset": "smoke"}
    argv = ["train"]
    for k, v in base.items():
        if k not in args:
            argv += [k, v]
    argv += args + ["--results", str(tmp_path / "res")]
    code, out, err = run_main(argv, capsys)
    assert code == 2
    assert message in err and err.startswith("fsa: error:") and "Traceback" not in err
    assert out == "" and not (tmp_path / "res").exists()


#: For every config field a command line can set, values it must refuse before any work: each is
#: either unparsable or outside what the field's code accepts (NumPy's seed range, SGD's momentum,
#: torch's LSTM and conv sizes, a CUDA device name ...).
BAD_FIELD_VALUES = {
    "arch": ["resnet"], "width": ["0", "nan", "5"], "batch_norm": ["maybe"], "backbone_dim": ["512"],
    "branch": ["2"], "branch_dim": ["0"], "branch_kernel": ["4"], "branch_stride": ["0"], "branch_fc": ["3"],
    "s": ["0", "-1", "nan", "inf", "abc"], "fc_layers": ["3"], "dropout": ["1", "nan"],
    "lstm_widths": ["abc", "0", "-5,3"], "lbp": ["x"], "num_classes": ["1"],
    "protocol": ["ck+9"], "folds": ["1"], "fold": ["-1", "5"], "val_fraction": ["0", "1", "nan"], "n": ["0"],
    "image_size": ["31"], "batch_size": ["0"], "epochs": ["0", "1.5"], "lr": ["0", "nan", "inf", "fast"],
    "momentum": ["-0.1", "1", "nan"], "weight_decay": ["-1", "nan", "inf"], "gamma": ["0", "1.5", "nan"],
    "schedule": ["linear"], "step_size": ["0"], "patience": ["-1"], "selection": ["best"], "seed": ["-1", "4294967296", "x"],
    "pretrained": ["store:../x", "store:exp/nothex"], "pretrained_format": ["onnx"], "pretrained_head": ["partly"],
    "input_norm": ["bgr", "VGGFace"], "frozen_convs": ["-1", "8", "all"],
    "device": ["gpu", "cudax", "cuda:"], "num_workers": ["-1"], "compile": ["perhaps"],
}
#: Fields that --set cannot make bad: the model's label, and the data fields the options set.
FREE_FIELDS = {"name", "dataset", "data"}


def test_every_settable_field_is_probed_with_bad_values():
    from dataclasses import fields

    from fsa.config import Config, ModelConfig

    settable = {f.name for f in fields(Config) + fields(ModelConfig)} - {"model"} - FREE_FIELDS
    assert settable == set(BAD_FIELD_VALUES)


@pytest.mark.parametrize("field", sorted(BAD_FIELD_VALUES))
def test_a_bad_field_value_is_one_line_naming_it(field, tmp_path, capsys):
    """``--set field=bad``: exit 2 and one ``fsa: error:`` line naming the field (or the value that
    does not parse) — not a traceback, and not the later complaint about ``--data``."""
    for value in BAD_FIELD_VALUES[field]:
        code, out, err = run_main(["train", "--model", "ecnn-fsa", "--dataset", "ckplus", "--preset", "smoke",
                                   "--data", str(tmp_path / "not-prepared"), "--set", f"{field}={value}",
                                   "--results", str(tmp_path / "res")], capsys)
        assert code == 2 and out == "" and err.startswith("fsa: error:") and err.count("\n") == 1, (value, err)
        assert f"{field}=" in err or f"{value!r} is not" in err, (value, err)
    assert not (tmp_path / "res").exists()


@pytest.mark.parametrize("experiment", ["../evil", "a/b", "..", ".", "", "x y", "/abs"])
def test_an_experiment_must_be_a_plain_name(experiment, ck, tmp_path, capsys, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("the experiment name was checked after the work started")

    for name in ("fsa.data.build_datasets", "fsa.stills.pretrain_config"):
        monkeypatch.setattr(name, no_work)
    for command in (["train", "--model", "ecnn-fsa", "--dataset", "ckplus", "--data", str(ck)],
                    ["pretrain", "--format", "fer2013", "--data", str(tmp_path / "fer2013.csv")]):
        code, out, err = run_main([*command, "--experiment", experiment, "--results", str(tmp_path / "res")], capsys)
        assert code == 2 and out == "" and err.count("\n") == 1, err
        assert f"experiment={experiment!r}: expected a plain name" in err
    assert not (tmp_path / "res").exists() and not (tmp_path / "evil").exists()


def test_a_missing_pretrained_file_is_refused_before_any_work(ck, tmp_path, capsys):
    code, out, err = run_main(["train", "--model", "ecnn-fsa", "--dataset", "ckplus", "--data", str(ck),
                               "--set", f"pretrained={tmp_path / 'vgg.pth'}", "--results", str(tmp_path / "res")],
                              capsys)
    assert code == 2 and f"pretrained={str(tmp_path / 'vgg.pth')!r}: weights file not found" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "res").exists()


def test_data_folder_that_is_not_a_prepared_dataset_is_rejected(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    for data, message in ((tmp_path / "missing", "prepared dataset root not found"),
                          (raw, "not a prepared dataset (no index.csv")):
        code, _, err = run_main(["train", "--model", "ecnn-fsa", "--dataset", "ckplus", "--data", str(data),
                                 "--results", str(tmp_path / "res")], capsys)
        assert code == 2 and str(data) in err and message in err
    assert not (tmp_path / "res").exists()


def test_an_index_that_is_not_utf8_is_one_line(tmp_path, capsys):
    data = tmp_path / "prepared"
    (data / "frames" / "S005_001").mkdir(parents=True)
    text = "video_id,subject,label,split,n_frames,source\nS005_001,José,happy,,3,S005/001\n"
    (data / "index.csv").write_bytes(text.encode("latin-1"))  # saved again by a spreadsheet
    offset = text.index("é")
    code, out, err = run_main(["train", "--model", "ecnn-fsa", "--dataset", "ckplus", "--data", str(data),
                               "--results", str(tmp_path / "res")], capsys)
    assert code == 2 and out == ""
    assert err == (f"fsa: error: --data {data}: {data / 'index.csv'}: not UTF-8 text (byte 0xe9 at offset {offset}); "
                   "write it again with fsa prep\n")


#: What the file system says when the disk fills up, or a file outgrows its limit.
NO_ROOM = {errno.ENOSPC: "no space left on device", errno.EFBIG: "file too large"}


def _fail_writes(monkeypatch, module, name, code, after=100):
    """Make ``module.name`` (a serializer: ``torch.save``, ``json.dump``) write through a file that
    raises ``OSError(code)`` once ``after`` bytes are in it, as a full disk does mid-write."""
    real = getattr(module, name)

    class Full:
        def __init__(self, f):
            self.f, self.written = f, 0

        def write(self, data):
            self.written += len(data)
            if self.written > after:
                raise OSError(code, os.strerror(code))
            return self.f.write(data)

        def __getattr__(self, attr):
            return getattr(self.f, attr)

    monkeypatch.setattr(module, name, lambda obj, f, *a, **k: real(obj, Full(f), *a, **k))


def _left_files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _train_on_a_full_disk(ck, res, capsys) -> str:
    """``fsa train`` of one tiny epoch into ``res``, which must fail with exit 1 and one line: that line."""
    code, out, err = run_main(["train", "--model", "ecnn-fsa", "--dataset", "ckplus", "--data", str(ck), "--preset",
                               "smoke", "--set", "epochs=1", *TINY_SETS, "--results", str(res), "--experiment", "full",
                               "--quiet"], capsys)
    assert code == 1 and out == ""
    [line] = err.splitlines()
    return line


@pytest.mark.parametrize("code", NO_ROOM)
def test_a_full_disk_while_writing_a_checkpoint_is_one_line(code, ck, tmp_path, capsys, monkeypatch):
    import torch

    _fail_writes(monkeypatch, torch, "save", code)
    res = tmp_path / "res"
    line = _train_on_a_full_disk(ck, res, capsys)
    assert re.fullmatch(rf"fsa: error: {re.escape(str(res))}/full/checkpoints/\w+-fold0/best\.pt: "
                        rf"{NO_ROOM[code]} while writing the checkpoint", line), line
    assert [p for p in _left_files(res) if not p.endswith(".lock")] == []  # neither best.pt nor a temporary


@pytest.mark.parametrize("code", NO_ROOM)
def test_a_full_disk_while_writing_a_record_is_one_line(code, ck, tmp_path, capsys, monkeypatch):
    _fail_writes(monkeypatch, json, "dump", code)
    res = tmp_path / "res"
    line = _train_on_a_full_disk(ck, res, capsys)
    assert re.fullmatch(rf"fsa: error: {re.escape(str(res))}/full/[\w-]+\.json: {NO_ROOM[code]} while writing the "
                        "results record", line), line
    left = _left_files(res / "full")
    assert not [p for p in left if p.endswith(".json") or p.endswith(".tmp")], left  # no record, no temporary
    assert any(p.endswith("best.pt") for p in left)  # the checkpoints were written before


def test_kfold_training_eval_and_checkpoint_guard(ck, tmp_path, capsys):
    res = tmp_path / "res"
    argv = ["train", "--model", "ecnn-fsa", "--dataset", "ckplus", "--data", str(ck), "--preset", "smoke",
            "--folds", "0,1", "--set", "epochs=1", *TINY_SETS, "--results", str(res), "--experiment", "kf",
            "--quiet"]
    code, out, err = run_main(argv, capsys)
    assert code == 0, err
    printed = json.loads(out)
    summary = json.loads(Path(printed["result"]).read_text())
    assert summary["kind"] == "folds" and summary["folds_run"] == [0, 1]
    runs = [json.loads(Path(p).read_text()) for p in printed["runs"]]
    assert [r["fold"] for r in runs] == [0, 1] and runs[0]["config_hash"] != runs[1]["config_hash"]
    accs = [r["metrics"]["accuracy"] for r in runs]
    assert summary["metrics"]["accuracy"]["mean"] == pytest.approx(np.mean(accs))
    assert summary["metrics"]["accuracy"]["std"] == pytest.approx(np.std(accs))
    pooled = np.sum([r["metrics"]["confusion"] for r in runs], axis=0)
    assert summary["metrics"]["pooled"]["confusion"] == pooled.tolist()
    # every test clip of the two folds is scored once, and the folds' test subjects are disjoint
    assert pooled.sum() == sum(len(r["per_clip"]) for r in runs)
    subjects = [{c["video_id"].split("_")[0] for c in r["per_clip"]} for r in runs]
    assert not subjects[0] & subjects[1]

    ckpt = runs[0]["checkpoint"]
    code, out, err = run_main(["eval", "--checkpoint", ckpt, "--data", str(ck), "--device", "cpu"], capsys)
    assert code == 0, err
    assert json.loads(out)["metrics"] == runs[0]["metrics"]
    code, out, err = run_main(["eval", "--checkpoint", ckpt, "--model", "score-fusion"], capsys)
    assert code == 1 and "checkpoint of model 'ecnn-fsa', not 'score-fusion'" in err and out == ""
    code, _, err = run_main(["eval", "--checkpoint", str(tmp_path / "none.pt")], capsys)
    assert code == 1 and "none.pt: checkpoint not found" in err


def test_kfold_is_refused_for_afew(tmp_path, capsys, ck):
    code, _, err = run_main(["train", "--model", "ecnn-fsa", "--dataset", "afew", "--data", str(ck),
                             "--folds", "all"], capsys)
    assert code == 2 and "--folds all: k-fold runs are for ckplus" in err


def test_models_json_lists_the_registry(capsys):
    code, out, _ = run_main(["models", "--json"], capsys)
    rows = json.loads(out)
    assert code == 0
    by_name = {r["name"]: r for r in rows}
    assert "ecnn-fsa" in by_name and "score-fusion" in by_name
    assert by_name["ecnn-fsa"]["params"] > 1e7 and by_name["ecnn-fsa"]["gflops_per_frame"] > 1


def test_train_says_its_chain_and_chain_starts_from_the_still_image_stage(ck, tmp_path, capsys, monkeypatch, caplog):
    """``fsa train --chain`` asks the run layer for the chain the book's runs have (its still-image run
    on the embedded FER2013 set, trained first into the same store); without it the log says that the
    run starts from random weights."""
    monkeypatch.setenv("FSA_DATA_SIZE", "smoke")
    res = tmp_path / "res"
    argv = ["train", "--model", "ecnn-fsa", "--dataset", "ckplus", "--data", str(ck), "--preset", "smoke",
            "--set", "epochs=1", *TINY_SETS, "--results", str(res)]
    with caplog.at_level(logging.INFO, logger="fsa.cli"):
        code, out, err = run_main(argv, capsys)
        assert code == 0, err
        assert "ecnn-fsa: starts from random weights" in caplog.text
        weights = tmp_path / "x.pt"
        weights.write_bytes(b"")
        code, _, err = run_main([*argv, "--chain", "--set", f"pretrained={weights}"], capsys)
        assert code == EXIT_USAGE and "--chain and pretrained=" in err
        code, out, err = run_main([*argv, "--chain"], capsys)
    assert code == 0, err
    record = json.loads(Path(json.loads(out)["result"]).read_text())
    experiment, still_hash = record["config"]["pretrained"][len("store:"):].split("/")
    assert experiment.startswith("stills-fer2013-") and record["config"]["pretrained_format"] == "fsa"
    still = json.loads((res / experiment / f"{still_hash}.json").read_text())
    assert still["dataset"] == "stills" and still["config"]["model"]["width"] == record["config"]["model"]["width"]
    assert f"starts from the still-image run store:{experiment}/{still_hash}" in caplog.text


def test_train_takes_a_whole_config_as_the_run_layer_hands_it_to_torchrun(ck, tmp_path, capsys):
    from fsa.spec import make_config

    cfg = make_config("ecnn-fsa", "smoke", dataset="ckplus", data=str(ck), s=0.5, epochs=1, image_size=32,
                      width=0.0625, batch_size=8)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg.to_dict()))
    code, out, err = run_main(["train", "--config", str(path), "--results", str(tmp_path / "res"), "--experiment",
                               "c", "--quiet"], capsys)
    assert code == 0, err
    record = json.loads(Path(json.loads(out)["result"]).read_text())
    assert record["config_hash"] == cfg.hash() and record["model"] == "ecnn-fsa[s=0.5]"
    code, _, err = run_main(["train", "--dataset", "ckplus"], capsys)
    assert code == EXIT_USAGE and "required: --model, --data (or --config)" in err
    path.write_text(json.dumps({**cfg.to_dict(), "model": {**cfg.to_dict()["model"], "name": "cnn-lstm"}}))
    code, _, err = run_main(["train", "--config", str(path)], capsys)
    assert code == EXIT_USAGE and "a model named 'cnn-lstm' with these knobs is 'ecnn-fsa[s=0.5]'" in err
