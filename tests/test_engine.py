"""The training engine on the smoke synthetic CK+ set: learning, selection, records, resume,
determinism, divergence, checkpoints and the results store.

Mechanics tests shrink the smoke preset further (32 px, width 1/16, 2-3 epochs) — they check
that numbers are reproduced, not that they are good; the learning test uses the smoke preset.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import ALPHA, head_commit, permutation_p
from fsa import results as store
from fsa.checkpoint import CheckpointError, check_model_config, load_checkpoint, load_model, save_checkpoint
from fsa.config import Config, ConfigError
from fsa.data import ClipDataset, build_datasets, load_index, make_clips, split_clips
from fsa.engine import TrainingDiverged, epoch_batches, train
from fsa.evaluation import evaluate_checkpoint
from fsa.models import build_model
from fsa.spec import make_config

REPO = Path(__file__).resolve().parents[1]
#: Smaller than the smoke preset, for tests of the mechanics only.
TINY = dict(image_size=32, width=0.0625, epochs=3, batch_size=8)


pytestmark = pytest.mark.usefixtures("one_thread")



def tiny_config(ck, **kw):
    return make_config("ecnn-fsa", "smoke", dataset="ckplus", data=str(ck), **{**TINY, **kw})


@pytest.fixture(scope="module")
def reference(ck, tmp_path_factory):
    """One uninterrupted tiny run (with per-epoch test tracking) shared by several tests."""
    root = tmp_path_factory.mktemp("results-ref")
    t0 = time.perf_counter()
    run = train(tiny_config(ck), "ref", results_root=root, track_test=True, progress=False, keep_last=True)
    run.elapsed_s = time.perf_counter() - t0  # the wall time seen from outside, for the recorded timings
    return run, root


def state(path):
    return load_checkpoint(path)["model"]


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"weights differ at {k}"


# ------------------------------------------------------------------------------- learning
#: Trained from scratch, the smoke preset's 12 epochs do not lift ECNN-FSA off chance; without
#: BatchNorm (the paper's plain VGG-16) nothing learns for ~150 epochs. With it (the smoke and cpu
#: presets), 32 px, width 1/16, dropout 0, momentum 0.95, a constant lr 0.003 (the step comes after
#: the run) and batches of 8, the model learns the expressions of the default embedded CK+ (40
#: subjects of 3 people: every fold trains on all three) in 60 epochs; the last epoch is tested, as
#: the cpu profile does (``selection="last"``), on fold 0's ~45 test clips.
#:
#: The check is a test at :data:`conftest.ALPHA`, not a bar typed from one machine: the right
#: predictions of the seeds in :data:`LEARNING_SEEDS` against label-blind predictions on the same
#: clips (:func:`conftest.permutation_p`: each seed's test labels permuted among its own clips, the
#: clip the unit). The accuracy that null reaches with probability 0.001 — the bar the test implies —
#: was 0.33-0.39 on one seed's clips; it follows each run's own test clips and predicted classes.
#: Measured (AMD EPYC, one thread), seeds 0-5: test accuracy 0.600, 0.545, 0.816, 0.614, 0.682, 0.444,
#: each alone at p < 5e-5 (the smallest p that 20 000 permutations give); the shuffled-label control
#: below, seeds 0-5: 0.178, 0.091, 0.237, 0.205, 0.205, 0.133 (p 0.61, 0.99, 0.30, 0.55, 0.44, 0.97).
#: Every seed alone clears the test by a factor of 20 in p, so it runs one seed (a run is ~85 s on a
#: 2-core CPU without AVX-512).
LEARNING = dict(image_size=32, width=0.0625, dropout=0.0, momentum=0.95, lr=0.003, batch_size=8, epochs=60,
                step_size=400, selection="last")
LEARNING_SEEDS = (0,)


@pytest.fixture(scope="module")
def ck_default():
    """The default embedded CK+, made on first use in the session's data folder (``$FSA_DATA``), where
    the transfer test and the Table 4 notebook read it too."""
    from fsa.embedded import embedded_dataset

    return embedded_dataset("ckplus", "default")


def learning_config(ck, seed: int) -> Config:
    return make_config("ecnn-fsa", "smoke", dataset="ckplus", data=str(ck), seed=seed, fold=0, **LEARNING)


def labelled(run) -> tuple[list[str], list[str]]:
    """A run's predicted and true labels of its test clips."""
    return [c["pred"] for c in run.record["per_clip"]], [c["label"] for c in run.record["per_clip"]]


@pytest.mark.slow
def test_training_from_scratch_learns_the_expressions(ck_default, tmp_path):
    runs = [train(learning_config(ck_default, seed), "learning", results_root=tmp_path, progress=False)
            for seed in LEARNING_SEEDS]
    p = permutation_p([labelled(run) for run in runs])
    for seed, run in zip(LEARNING_SEEDS, runs):
        print(f"ecnn-fsa from scratch, fold 0, seed {seed}: test accuracy {run.metrics['accuracy']:.3f} on "
              f"{len(run.record['per_clip'])} clips (epoch {run.selected_epoch}); last train accuracy "
              f"{run.history[-1]['train_accuracy']:.3f}")
    print(f"permutation p of seeds {LEARNING_SEEDS} together: {p:.2g}")
    assert p < ALPHA, f"test accuracy {[round(r.metrics['accuracy'], 3) for r in runs]} is not above chance (p {p:.3g})"
    rec = json.loads(runs[0].result_path.read_text())
    assert rec["metrics"]["accuracy"] == runs[0].metrics["accuracy"] and rec["selected_epoch"] == LEARNING["epochs"]


@pytest.mark.slow
def test_shuffled_label_control_stays_at_chance(ck_default, tmp_path):
    """The learning test with the training labels permuted (test labels untouched): without the labels
    its check must fail, i.e. the control's own permutation p stays at or above :data:`conftest.ALPHA`.
    The false alarm of this control is ALPHA by construction (its predictions cannot know the test
    labels), so it does not hinge on where a handful of clips land; a leak of labels into training
    (or of test clips into the training split) makes it fail."""
    cfg = learning_config(ck_default, LEARNING_SEEDS[0])
    splits = build_datasets(cfg)
    train_clips = splits.train.clips
    permuted = np.random.default_rng(0).permutation([c.label for c in train_clips])
    assert np.mean(permuted != [c.label for c in train_clips]) > 0.8
    shuffled = ClipDataset(ck_default, [replace(c, label=lab) for c, lab in zip(train_clips, permuted)],
                           splits.classes, cfg.n, cfg.image_size, train=True, seed=cfg.seed)
    run = train(cfg, "control", results_root=tmp_path, progress=False, splits=splits._replace(train=shuffled))
    p = permutation_p([labelled(run)])
    print(f"shuffled-label control: test accuracy {run.metrics['accuracy']:.3f} on {len(run.record['per_clip'])} "
          f"clips, permutation p {p:.3g}; last train accuracy {run.history[-1]['train_accuracy']:.3f}")
    assert p >= ALPHA, f"trained on shuffled labels, the model is above chance: {run.metrics['accuracy']:.3f} (p {p:.3g})"


# ------------------------------------------------------------------------------- the record
def test_record_contents_and_validation_only_selection(reference, ck):
    run, root = reference
    rec = json.loads((root / "ref" / f"{run.config_hash}.json").read_text())
    cfg = tiny_config(ck)
    assert rec["config_hash"] == cfg.hash() == run.config_hash and Config.from_dict(rec["config"]) == cfg
    assert rec["kind"] == "run" and rec["seed"] == 0 and rec["world_size"] == 1
    assert {"python", "torch", "torchvision", "numpy", "sklearn", "dlib", "opencv", "fsa"} <= set(rec["versions"])
    assert rec["git"]["commit"] == head_commit() and rec["device"] == "cpu" and rec["device_name"]
    # every training clip is seen once per epoch with n frames; the test split is scored with n frames per clip
    t = rec["timings"]
    train_frames, test_frames = cfg.epochs * rec["n_clips"]["train"] * cfg.n, rec["n_clips"]["test"] * cfg.n
    assert 0 < t["train_ms_per_frame"] * train_frames / 1000 < t["wall_s"] <= run.elapsed_s
    assert 0 < t["test_ms_per_frame"] * test_frames / 1000 < t["wall_s"]
    assert rec["data_index_hash"] and len(rec["history"]) == cfg.epochs
    # selection by validation only: the epoch with the best (val accuracy, -val loss)
    best = max(rec["history"], key=lambda h: (h["val_accuracy"], -h["val_loss"]))
    assert rec["selected_epoch"] == best["epoch"]
    assert rec["val_metrics"]["accuracy"] == pytest.approx(best["val_accuracy"])
    assert len(rec["test_per_epoch"]["accuracy"]) == cfg.epochs and "never used" in rec["test_per_epoch"]["note"]
    # test metrics and per-clip outputs
    splits = build_datasets(cfg)
    m = rec["metrics"]
    assert m["n_clips"] == len(splits.test) == len(rec["per_clip"])
    assert np.array(m["confusion"]).sum() == len(splits.test)
    acc = np.mean([c["label"] == c["pred"] for c in rec["per_clip"]])
    assert m["accuracy"] == pytest.approx(acc)
    for c in rec["per_clip"]:
        assert sum(c["probs"]) == pytest.approx(1, abs=1e-4)
        assert len(c["attention"]) == cfg.n == len(c["frame_indices"])
        assert sum(c["attention"]) == pytest.approx(1, abs=1e-4)
        assert c["pred"] == m["classes"][int(np.argmax(c["probs"]))]
    assert Path(rec["checkpoint"]).is_file() and load_checkpoint(rec["checkpoint"])["epoch"] + 1 == best["epoch"]
    # the stored run is found again
    assert store.find_run("ref", run.config_hash, root)["metrics"] == m
    assert [r["config_hash"] for r in store.load_runs("ref", root)] == [run.config_hash]


def test_record_lists_the_subject_disjoint_clip_ids_of_each_split(reference, ck):
    run, _ = reference
    cfg = tiny_config(ck)
    clips, _ = make_clips(load_index(ck), cfg.protocol)
    parts = split_clips(clips, cfg.protocol, cfg.folds, cfg.fold, cfg.val_fraction, cfg.seed)
    expected = {name: sorted(clips[i].clip_id for i in idx) for name, idx in zip(("train", "val", "test"), parts)}
    recorded = run.record["splits"]
    assert {k: recorded[k] for k in expected} == expected
    assert recorded["hash"] == hashlib.sha256(json.dumps(expected, sort_keys=True).encode()).hexdigest()[:12]
    assert sorted(c["clip_id"] for c in run.per_clip) == recorded["test"]
    subject = {c.clip_id: c.subject for c in clips}
    train, val, test = ({subject[i] for i in recorded[k]} for k in ("train", "val", "test"))
    assert train and val and test and not (train & val or train & test or val & test)


def test_evaluate_checkpoint_scores_the_test_split_by_hand(reference, ck):
    """The saved weights in a fresh model, the test clips' frames through it one clip at a time:
    probabilities, predictions, accuracy and confusion counted here, not by fsa.evaluation.evaluate."""
    run, _ = reference
    out = evaluate_checkpoint(run.checkpoint, device="cpu", progress=False)
    ckpt = load_checkpoint(run.checkpoint)
    cfg = Config.from_dict(ckpt["config"])
    model = build_model(cfg.model)
    model.load_state_dict(ckpt["model"])
    model.eval()
    test = build_datasets(cfg).test
    classes = ckpt["classes"]
    confusion = np.zeros((len(classes), len(classes)), int)
    assert len(out["per_clip"]) == len(test)
    for i, row in enumerate(out["per_clip"]):
        item = test[i]
        with torch.no_grad():
            probs = torch.softmax(model(item["frames"][None]).logits[0], 0).numpy()
        assert row["clip_id"] == item["clip_id"] and row["label"] == classes[item["label"]]
        np.testing.assert_allclose(row["probs"], probs, atol=1e-5)
        assert row["pred"] == classes[int(np.argmax(probs))]
        confusion[item["label"], int(np.argmax(probs))] += 1
    assert out["metrics"]["confusion"] == confusion.tolist()
    assert out["metrics"]["accuracy"] == pytest.approx(np.trace(confusion) / len(test))
    assert out["metrics"] == run.metrics  # and the run recorded what the checkpoint gives


def segment_centres(length: int, n: int) -> list[int]:
    """The evaluation frames of a clip of ``length`` >= n frames (paper §2.1), by hand."""
    return [(k * length // n + (k + 1) * length // n) // 2 for k in range(n)]


@pytest.mark.parametrize("split", ["train", "val"])
def test_evaluate_checkpoint_on_the_other_splits(reference, ck, split):
    """The per-clip ids are the split's (from the fold assignment, recomputed here), and every clip is
    scored with the evaluation frames (segment centres, no augmentation), the train split's too."""
    run, _ = reference
    cfg = tiny_config(ck)
    clips, _ = make_clips(load_index(ck), cfg.protocol)
    parts = dict(zip(("train", "val", "test"),
                     split_clips(clips, cfg.protocol, cfg.folds, cfg.fold, cfg.val_fraction, cfg.seed)))
    out = evaluate_checkpoint(run.checkpoint, split=split, device="cpu", progress=False)
    assert out["split"] == split and out["metrics"]["n_clips"] == len(parts[split])
    assert sorted(c["clip_id"] for c in out["per_clip"]) == sorted(clips[i].clip_id for i in parts[split])
    by_id = {c.clip_id: c for c in clips}
    for row in out["per_clip"]:
        clip = by_id[row["clip_id"]]
        if clip.length >= cfg.n:
            assert row["frame_indices"] == [clip.start + k for k in segment_centres(clip.length, cfg.n)]


# ------------------------------------------------------------------------------- determinism
def test_same_seed_twice_gives_identical_results(reference, ck, tmp_path):
    ref, ref_root = reference
    # no test tracking here: scoring the test split every epoch must not change training
    again = train(tiny_config(ck), "ref", results_root=tmp_path, progress=False)
    assert again.metrics == ref.metrics and again.val_metrics == ref.val_metrics
    assert [c["probs"] for c in again.per_clip] == [c["probs"] for c in ref.per_clip]
    keys = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
    assert [[h[k] for k in keys] for h in again.history] == [[h[k] for k in keys] for h in ref.history]
    assert_same_weights(state(again.checkpoint), state(ref.checkpoint))
    other = train(tiny_config(ck, seed=1, epochs=1), "seed1", results_root=tmp_path, progress=False)
    assert other.history[0]["train_loss"] != ref.history[0]["train_loss"]


@pytest.mark.slow
def test_resume_after_kill_matches_uninterrupted_run(reference, ck, tmp_path):
    ref, ref_root = reference
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tiny_config(ck).to_dict()))
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    driver = [sys.executable, str(REPO / "tests" / "train_killed.py"), str(config), "ref", str(tmp_path),
              "--kill-after-epoch", "2", "--track-test"]
    killed = subprocess.run(driver, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    ckdir = tmp_path / "ref" / "checkpoints" / f"{ref.config_hash}-fold0"
    assert load_checkpoint(ckdir / "last.pt")["epoch"] == 1  # two epochs done, the third never ran
    assert not (tmp_path / "ref" / f"{ref.config_hash}.json").exists()
    assert not list(ckdir.glob(".*.tmp"))

    cmd = [sys.executable, "-m", "fsa", "train", "--model", "ecnn-fsa", "--dataset", "ckplus", "--data", str(ck),
           "--preset", "smoke", "--experiment", "ref", "--results", str(tmp_path), "--quiet", "--track-test"]
    for k, v in TINY.items():
        cmd += ["--set", f"{k}={v}"]
    resumed = subprocess.run(cmd + ["--resume", "--keep-last"], cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    rec = json.loads((tmp_path / "ref" / f"{ref.config_hash}.json").read_text())
    assert rec["resumed_from_epoch"] == 2
    assert rec["metrics"] == ref.metrics and rec["selected_epoch"] == ref.selected_epoch
    assert [c["probs"] for c in rec["per_clip"]] == [c["probs"] for c in ref.per_clip]
    assert [h["train_loss"] for h in rec["history"]] == [h["train_loss"] for h in ref.history]
    assert_same_weights(state(ckdir / "last.pt"), state(ref_root / "ref" / "checkpoints" / ckdir.name / "last.pt"))
    assert_same_weights(state(ckdir / "best.pt"), state(ref.checkpoint))


# ------------------------------------------------------------------------------- schedules, early stopping
#: With lr 1e-30 and no BatchNorm, training leaves every weight as it is (an update is ~1e-28, far
#: below a float32 step): every epoch scores the validation split alike.
FROZEN = dict(lr=1e-30, batch_norm=False)


def test_early_stopping_after_patience_epochs_without_improvement(ck, tmp_path):
    cfg = tiny_config(ck, epochs=6, patience=2, **FROZEN)
    last_pt = tmp_path / "patience" / "checkpoints" / f"{cfg.hash()}-fold0" / "last.pt"
    ended = []  # (epochs completed, epochs in last.pt at that moment)
    run = train(cfg, "patience", results_root=tmp_path, progress=False, keep_last=True,
                on_epoch_end=lambda done: ended.append((done, load_checkpoint(last_pt)["epoch"] + 1)))
    assert ended == [(1, 1), (2, 2), (3, 3)]
    assert len({(h["val_accuracy"], h["val_loss"]) for h in run.history}) == 1, "the weights moved"
    # epoch 1 is the best; epochs 2 and 3 do not improve on it (a tie is no improvement): stop after 3
    assert [h["epoch"] for h in run.history] == [1, 2, 3]
    assert run.record["stopped_early"] is True and run.record["epochs_run"] == 3 and run.selected_epoch == 1
    last = load_checkpoint(last_pt)
    assert last["epoch"] == 2 and last["stopped_early"] is True


def test_selection_last_tests_the_last_epoch_whatever_the_validation_says(ck, tmp_path):
    """Frozen weights score every epoch alike: the validation selection keeps epoch 1 (a tie is no
    improvement), ``selection="last"`` the last epoch, and its best.pt is the last epoch's."""
    runs = {sel: train(tiny_config(ck, epochs=3, selection=sel, **FROZEN), f"sel-{sel}", results_root=tmp_path,
                       progress=False) for sel in ("val", "last")}
    assert runs["val"].selected_epoch == 1 and runs["last"].selected_epoch == 3
    assert load_checkpoint(runs["last"].checkpoint)["epoch"] == 2 and load_checkpoint(runs["val"].checkpoint)["epoch"] == 0
    assert "last epoch" in runs["last"].record["selection"] and "validation" in runs["val"].record["selection"]
    with pytest.raises(ConfigError, match="patience=2.*selection='last'"):
        tiny_config(ck, selection="last", patience=2)


@pytest.mark.parametrize("schedule, expected", [
    ("step", [1.0, 0.5, 0.25]),  # lr0 * gamma ** floor(e / step_size), step_size 1, gamma 0.5
    ("cosine", [(1 + math.cos(math.pi * e / 3)) / 2 for e in range(3)]),  # lr0 (1 + cos(pi e / T)) / 2, T = 3
])
def test_lr_per_epoch_follows_the_schedule(ck, tmp_path, schedule, expected):
    cfg = tiny_config(ck, schedule=schedule, step_size=1, gamma=0.5, epochs=3, **FROZEN)
    run = train(cfg, "lr", results_root=tmp_path, progress=False)
    assert [h["lr"] / cfg.lr for h in run.history] == pytest.approx(expected, rel=1e-9, abs=0)


def test_resume_refuses_a_checkpoint_of_another_config(reference, ck, tmp_path):
    ref, ref_root = reference
    other = tiny_config(ck, seed=1)
    ckdir = tmp_path / "ref" / "checkpoints" / f"{other.hash()}-fold0"
    ckdir.mkdir(parents=True)
    shutil.copy(ref_root / "ref" / "checkpoints" / f"{ref.config_hash}-fold0" / "last.pt", ckdir / "last.pt")
    with pytest.raises(CheckpointError, match=rf"last\.pt: checkpoint of config {ref.config_hash}, not {other.hash()}"):
        train(other, "ref", results_root=tmp_path, resume=True, progress=False)
    assert not (tmp_path / "ref" / f"{other.hash()}.json").exists()
    assert load_checkpoint(ckdir / "last.pt")["config_hash"] == ref.config_hash, "the foreign checkpoint is kept"


# ------------------------------------------------------------------------------- divergence
class PoisonedAfterFirstEpoch(torch.utils.data.Dataset):
    """The real training split, whose frames turn to NaN from the second epoch on."""

    def __init__(self, base):
        self.base, self.epoch = base, 0

    def set_epoch(self, epoch):
        self.epoch = epoch
        self.base.set_epoch(epoch)

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        item = self.base[i]
        if self.epoch >= 1:
            item["frames"] = torch.full_like(item["frames"], float("nan"))
        return item


def test_nan_loss_stops_with_clear_error_and_keeps_last_good_checkpoint(ck, tmp_path):
    cfg = tiny_config(ck, epochs=3)
    splits = build_datasets(cfg)
    splits = splits._replace(train=PoisonedAfterFirstEpoch(splits.train))
    with pytest.raises(TrainingDiverged, match=r"loss is nan at epoch 2, step 1.*last\.pt \(epoch 1\)"):
        train(cfg, "nan", results_root=tmp_path, splits=splits, progress=False)
    last = load_checkpoint(tmp_path / "nan" / "checkpoints" / f"{cfg.hash()}-fold0" / "last.pt")
    assert last["epoch"] == 0
    assert all(torch.isfinite(v).all() for v in last["model"].values())
    assert not (tmp_path / "nan" / f"{cfg.hash()}.json").exists()


# ------------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("n_items,batch", [(35, 8), (33, 8), (16, 16), (7, 3)])
def test_k_processes_see_the_global_batches_of_one(n_items, batch):
    one = epoch_batches(n_items, batch, seed=3, epoch=5)
    two = [epoch_batches(n_items, batch, seed=3, epoch=5, rank=r, world=2) for r in range(2)]
    kept = [b for b, g in one if g >= 2]  # a final batch of one clip cannot be split over 2 ranks
    assert [sorted(a + b) for (a, g), (b, _) in zip(*two)] == [sorted(b) for b in kept]
    assert all(g == len(b) for b, g in one)
    assert sorted(i for b, _ in one for i in b) == list(range(n_items))
    assert one != epoch_batches(n_items, batch, seed=3, epoch=6)


# ------------------------------------------------------------------------------- checkpoints
def test_checkpoint_errors_are_clear(reference, tmp_path):
    run, _ = reference
    with pytest.raises(CheckpointError, match="checkpoint of model 'ecnn-fsa', not 'cnn-lstm'"):
        load_model(run.checkpoint, expect_model="cnn-lstm")
    ckpt = load_checkpoint(run.checkpoint)
    other = make_config("cnn-lstm", "smoke").model
    with pytest.raises(CheckpointError, match="does not match model 'cnn-lstm'.*arch: checkpoint 'ecnn-fsa'"):
        check_model_config(ckpt, other, run.checkpoint)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": ckpt["model"]}, foreign)
    with pytest.raises(CheckpointError, match="not an fsa checkpoint"):
        load_model(foreign)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt: not a readable PyTorch checkpoint"):
        load_model(junk)
    # a config that says one architecture with weights of another
    from fsa.models import build_model

    bad = tmp_path / "bad.pt"
    cfg = make_config("ecnn-fsa", "smoke")
    save_checkpoint(bad, model=build_model(make_config("cnn-lstm", "smoke").model), cfg=cfg,
                    classes=list(ckpt["classes"]), epoch=0)
    with pytest.raises(CheckpointError, match="weights do not fit the model"):
        load_model(bad)


# ------------------------------------------------------------------------------- results store
def test_results_store_root_atomic_writes_and_errors(tmp_path, monkeypatch):
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path / "store"))
    assert store.results_root() == tmp_path / "store"
    scores = {"accuracy": 0.5, "uar": 0.5, "macro_f1": 0.5, "classes": ["happy", "sadness"], "confusion": [[1, 0], [1, 0]]}
    run = {"config_hash": "abc", "config": {}, "metrics": scores, "finished_at": "2",
           "per_clip": [{"clip_id": "a", "label": "happy", "pred": "happy"}, {"clip_id": "b", "label": "sadness",
                                                                               "pred": "happy"}]}
    spread = {"mean": 0.5, "std": 0.0, "per_fold": [0.5]}
    p = store.record("exp", run)
    store.record("exp", {"kind": "folds", "config_hash": "f", "finished_at": "1", "experiment": "exp",
                         "config": {"model": {}}, "folds_hash": "f", "fold_config_hashes": [],
                         "metrics": {"accuracy": spread, "uar": spread, "macro_f1": spread, "pooled": scores}},
                 name="folds-f")
    assert p == tmp_path / "store" / "exp" / "abc.json"
    assert sorted(x.name for x in p.parent.iterdir()) == ["abc.json", "folds-f.json"]  # no temporaries
    assert [r["config_hash"] for r in store.load_runs("exp")] == ["abc"]
    assert [r["config_hash"] for r in store.load_runs("exp", kind="folds")] == ["f"]
    assert store.find_run("exp", "abc")["metrics"]["accuracy"] == 0.5 and store.find_run("exp", "zzz") is None
    with pytest.raises(ValueError, match="JSON compliant"):  # strict JSON: a NaN never reaches the store
        store.record("exp", {**run, "config_hash": "nan", "x": float("nan")})
    assert not (p.parent / "nan.json").exists() and not list(p.parent.glob(".*"))
    (p.parent / "broken.json").write_text("{")
    with pytest.warns(store.RecordWarning, match="broken.json: not valid JSON"):  # named and skipped
        assert [r["config_hash"] for r in store.load_runs("exp")] == ["abc"]
    with pytest.raises(ValueError, match="experiment='a/b'"):
        store.record("a/b", {"config_hash": "x"})
    monkeypatch.delenv(store.ENV_VAR)
    assert store.results_root() == REPO / "results"


def test_group_hash_ignores_the_registry_name():
    """Two tables' rows that are one configuration share their group (and so their runs)."""
    from fsa.runs import group_hash

    same = [make_config(m, "smoke", dataset="afew", protocol="afew", data="x") for m in ("cnn-lstm", "cnn-lstm-2048-2048")]
    other = make_config("cnn-lstm-2048", "smoke", dataset="afew", protocol="afew", data="x")
    assert same[0].hash() == same[1].hash()
    assert group_hash(same[0], "seed", [0, 1, 2]) == group_hash(same[1], "seed", [0, 1, 2])
    assert group_hash(other, "seed", [0, 1, 2]) != group_hash(same[0], "seed", [0, 1, 2])
    assert group_hash(same[0], "seed", [0, 1, 2]) != group_hash(same[0], "seed", [1, 2, 3])


# ------------------------------------------------------------------------------- what a run leaves and says
def test_a_run_keeps_its_frozen_layers_at_the_weights_it_started_from(ck, tmp_path):
    """``frozen_convs``: the first convs and their BatchNorm scale and shift end the run as they started,
    their running statistics follow the run's frames, the layers above learn; without starting weights
    the run is refused before any work."""
    from fsa.models.backbone import freeze_convs

    source = train(tiny_config(ck, epochs=1), "source", results_root=tmp_path, progress=False)
    cfg = tiny_config(ck, epochs=2, pretrained=str(source.checkpoint), pretrained_format="fsa", frozen_convs=7)
    run = train(cfg, "frozen", results_root=tmp_path, progress=False)
    start, end = state(source.checkpoint), state(run.checkpoint)
    model = build_model(cfg.model)
    freeze_convs(model, 7)
    kept = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert len(kept) == 7 * 4  # conv weight and bias, BatchNorm scale and shift
    assert all(torch.equal(start[n], end[n]) for n in kept)
    assert not torch.equal(start["ecnn.backbone.features.1.running_mean"], end["ecnn.backbone.features.1.running_mean"])
    above = next(n for n, p in model.named_parameters() if p.requires_grad and n.startswith("ecnn.backbone.features."))
    assert not torch.equal(start[above], end[above])
    with pytest.raises(ConfigError, match=r"frozen_convs=7: .* without pretrained weights"):
        train(tiny_config(ck, frozen_convs=7), "scratch", results_root=tmp_path, progress=False)
    assert not (tmp_path / "scratch").exists()


def test_a_finished_run_keeps_its_selected_weights_and_its_log_names_it(ck, tmp_path, caplog):
    """Once recorded, a run keeps ``best.pt`` only (``last.pt`` holds the optimizer's state, for resuming
    an unfinished run), and the record says so; the log names the store, the run's fold and seed on every
    epoch line, and the weights it started from (file, digest, tensors loaded)."""
    import hashlib
    import logging

    source = train(tiny_config(ck, epochs=1), "source", results_root=tmp_path, progress=False)
    cfg = tiny_config(ck, seed=3, fold=2, epochs=2, pretrained=str(source.checkpoint), pretrained_format="fsa")
    with caplog.at_level(logging.INFO, logger="fsa.engine"):
        run = train(cfg, "warm", results_root=tmp_path, progress=False)
    ckdir = run.checkpoint.parent
    assert sorted(p.name for p in ckdir.glob("*.pt")) == ["best.pt"] and run.record["last_checkpoint"] is None
    assert not (source.checkpoint.parent / "last.pt").exists()
    lines = [r.getMessage() for r in caplog.records]
    assert any(f"results store {tmp_path}, record warm/{cfg.hash()}.json" in line for line in lines), lines
    epochs = [line for line in lines if " epoch " in line]
    assert len(epochs) == 2 and all(line.startswith("ecnn-fsa fold 2 seed 3 epoch ") for line in epochs), epochs
    digest = hashlib.sha256(source.checkpoint.read_bytes()).hexdigest()[:12]
    loaded = next(line for line in lines if "initial weights from" in line)
    total = len(build_model(cfg.model).state_dict())
    assert f"{source.checkpoint} (fsa format, sha256 {digest})" in loaded and f"of the model's {total} tensors" in loaded
