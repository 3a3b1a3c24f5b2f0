"""A run is keyed by its data and named by its architecture (``fsa train`` / ``fsa predict``).

* the default experiment is ``<dataset>-<index hash>``, so runs on other data get their own
  record and checkpoint folder;
* ``--resume`` refuses a checkpoint of other data; a record of other data under the same key is
  kept unless ``--force``; a run being trained by another process is refused (lock file);
* ``--set arch=…`` cannot contradict ``--model``; ``--model X`` refuses a checkpoint whose
  architecture is not X's.

Runs are one epoch of the smoke preset shrunk to 32 px and width 1/16: the mechanics, not the numbers.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
from pathlib import Path

import pytest
import torch

from fsa.checkpoint import save_checkpoint
from fsa.cli import main
from fsa.config import CLASSES_7
from fsa.engine import checkpoint_dir
from fsa.models import build_model
from fsa.spec import make_config

TINY = {"epochs": "1", "image_size": "32", "width": "0.0625", "batch_size": "8"}

pytestmark = pytest.mark.usefixtures("one_thread")


def run_main(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def train(data: Path, res: Path, capsys, *extra: str):
    sets = [a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]
    return run_main(["train", "--model", "ecnn-fsa", "--dataset", "ckplus", "--data", str(data), "--preset",
                     "smoke", *sets, "--results", str(res), "--quiet", *extra], capsys)


def sha12(root: Path) -> str:
    """The data's identity as the store records it: sha256 of ``index.csv``, 12 hex digits."""
    return hashlib.sha256((root / "index.csv").read_bytes()).hexdigest()[:12]


@pytest.fixture(scope="module")
def other(ck, tmp_path_factory) -> Path:
    """Other prepared data: the smoke CK+ frames, indexed without their last video."""
    root = tmp_path_factory.mktemp("other-data")
    (root / "frames").symlink_to(ck / "frames")
    lines = (ck / "index.csv").read_text().splitlines(keepends=True)
    (root / "index.csv").write_text("".join(lines[:-1]))
    return root


def test_default_experiment_is_keyed_by_the_data(ck, other, tmp_path, capsys):
    res = tmp_path / "res"
    printed = {}
    for data in (ck, other):
        code, out, err = train(data, res, capsys)
        assert code == 0, err
        printed[data] = json.loads(out)
    assert sha12(ck) != sha12(other)
    for data, p in printed.items():
        assert p["experiment"] == f"ckplus-{sha12(data)}"
        assert Path(p["result"]) == res / p["experiment"] / f"{p['config_hash']}.json"
        assert Path(p["checkpoint"]).is_relative_to(res / p["experiment"] / "checkpoints")
        assert json.loads(Path(p["result"]).read_text())["data_index_hash"] == sha12(data)
    assert printed[ck]["config_hash"] == printed[other]["config_hash"], "the data's path is not in the config hash"


def test_resume_refuses_a_checkpoint_of_other_data(ck, other, tmp_path, capsys):
    res = tmp_path / "res"
    code, out, err = train(ck, res, capsys, "--experiment", "x", "--keep-last")
    assert code == 0, err
    first = json.loads(out)
    Path(first["result"]).unlink()  # as if the run had been killed before its record
    last = Path(first["checkpoint"]).with_name("last.pt")
    before = last.read_bytes()
    code, out, err = train(other, res, capsys, "--experiment", "x", "--resume")
    assert code == 1 and out == "" and "Traceback" not in err
    assert str(last) in err and sha12(ck) in err and sha12(other) in err, err
    assert len(err.strip().splitlines()) == 1
    assert last.read_bytes() == before and not Path(first["result"]).exists()
    code, _, err = train(ck, res, capsys, "--experiment", "x", "--resume")
    assert code == 0, err


def test_record_of_other_data_is_kept_unless_forced(ck, other, tmp_path, capsys):
    res = tmp_path / "res"
    code, out, err = train(ck, res, capsys, "--experiment", "x")
    assert code == 0, err
    first = json.loads(out)
    record, best = Path(first["result"]), Path(first["checkpoint"])
    kept = record.read_bytes(), best.read_bytes()
    code, out, err = train(other, res, capsys, "--experiment", "x")
    assert code == 1 and out == "" and "Traceback" not in err
    assert str(record) in err and sha12(ck) in err and sha12(other) in err and "--force" in err, err
    assert (record.read_bytes(), best.read_bytes()) == kept
    code, out, err = train(ck, res, capsys, "--experiment", "x")  # the same data again: replaced
    assert code == 0, err
    code, out, err = train(other, res, capsys, "--experiment", "x", "--force")
    assert code == 0, err
    assert json.loads(record.read_text())["data_index_hash"] == sha12(other)


def test_a_run_being_trained_elsewhere_is_refused(ck, tmp_path, capsys):
    res = tmp_path / "res"
    cfg = make_config("ecnn-fsa", "smoke", dataset="ckplus", data=str(ck), **TINY)
    lock = checkpoint_dir(cfg, "x", res) / ".lock"
    lock.parent.mkdir(parents=True)
    with open(lock, "w") as held:  # another trainer: an exclusive lock, its pid inside
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write(f"{os.getpid()}\n")
        held.flush()
        code, out, err = train(ck, res, capsys, "--experiment", "x")
        assert code == 1 and out == "" and "Traceback" not in err
        assert f"already being trained by pid {os.getpid()}" in err and str(lock.parent) in err, err
        assert not list((res / "x").glob("*.json")) and not list(lock.parent.glob("*.pt"))
    code, out, err = train(ck, res, capsys, "--experiment", "x")
    assert code == 0, err
    assert Path(json.loads(out)["checkpoint"]).parent == lock.parent


def test_arch_that_contradicts_the_model_name_is_refused(ck, tmp_path, capsys):
    res = tmp_path / "res"
    code, out, err = train(ck, res, capsys, "--set", "arch=cnn-lstm")
    assert code == 2 and out == "" and "Traceback" not in err
    assert "arch='cnn-lstm'" in err and "ecnn-fsa" in err and "--model" in err, err
    assert not res.exists()


def test_model_guard_checks_the_architecture_not_only_the_name(smoke_raw, tmp_path, capsys):
    """A checkpoint named ``ecnn-fsa`` that holds a CNN-LSTM (as a run with ``--set arch=cnn-lstm``
    once recorded) is not an ``ecnn-fsa`` for ``predict --model`` or ``eval --model``."""
    cfg = make_config("ecnn-fsa", "smoke", width=0.0625).override(arch="cnn-lstm")
    torch.manual_seed(0)
    path = tmp_path / "mislabelled.pt"
    save_checkpoint(path, model=build_model(cfg.model), cfg=cfg, classes=list(CLASSES_7), epoch=0)
    clip = sorted((smoke_raw("afew") / "Val").glob("*/*.avi"))[0]
    for argv in (["predict", str(clip), "--checkpoint", str(path), "--out", str(tmp_path), "--device", "cpu"],
                 ["eval", "--checkpoint", str(path), "--device", "cpu"]):
        code, out, err = run_main([*argv, "--model", "ecnn-fsa"], capsys)
        assert code == 1 and out == "" and "Traceback" not in err, err
        assert "mislabelled.pt" in err and "cnn-lstm" in err and "architecture" in err, err
    assert not list(tmp_path.glob("*.png"))
