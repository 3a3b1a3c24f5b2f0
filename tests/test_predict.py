"""``fsa predict`` on generated AFEW-layout clips: JSON, PNG, windows and clear errors; and
against ``fsa.evaluation.evaluate`` on the same CK+ sequences with a trained checkpoint.

The mechanics tests use an untrained smoke-size ECNN-FSA saved in the real checkpoint format:
prediction mechanics do not depend on the weights being good. The comparison with evaluation
needs confident, distinct predictions, so that a class-order bug shows: a model trained on four
clips of four subjects and classes.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from data_prep.faces import METHODS
from data_prep.video import read_frames, video_fps
from fsa.checkpoint import load_model, save_checkpoint
from fsa.cli import main
from fsa.config import CLASSES_7
from fsa.data import ClipDataset, load_index, make_clips, sample_indices
from fsa.evaluation import evaluate
from fsa.models import build_model
from fsa.predict import predict_video
from fsa.spec import make_config

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    cfg = make_config("ecnn-fsa", "smoke", width=0.0625)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("predict-ckpt") / "best.pt"
    save_checkpoint(path, model=build_model(cfg.model), cfg=cfg, classes=list(CLASSES_7), epoch=0)
    return path


@pytest.fixture(scope="module")
def clip(smoke_raw):
    """One generated AFEW-layout clip (``Val/<Emotion>/<id>.avi``)."""
    return sorted((smoke_raw("afew") / "Val").glob("*/*.avi"))[0]


#: How far the raw video's crops (faces found again) may move a class probability from the prepared crops'.
PROB_ATOL = 0.1


@pytest.fixture(scope="module")
def trained(ck, tmp_path_factory):
    """A tiny ECNN-FSA fitted (60 Adam steps, training augmentation) to four CK+ clips of four subjects
    and four classes, saved as a checkpoint: ``(path, dataset of the four clips in evaluation mode)``."""
    cfg = make_config("ecnn-fsa", "smoke", dataset="ckplus", data=str(ck), width=0.0625, batch_norm=False,
                      dropout=0.0)
    clips, classes = make_clips(load_index(ck), cfg.protocol)
    picked = []  # the first expressive clip of each new subject with a new label
    for c in clips:
        if len(picked) < 4 and not c.clip_id.endswith("#neutral") and all(
                c.subject != p.subject and c.label != p.label for p in picked):
            picked.append(c)
    augmented = ClipDataset(ck, picked, classes, cfg.n, cfg.image_size, train=True)
    y = torch.tensor(augmented.labels)
    torch.manual_seed(0)
    model = build_model(cfg.model).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(60):
        augmented.set_epoch(step)
        x = torch.stack([augmented[i]["frames"] for i in range(len(picked))])
        opt.zero_grad()
        F.cross_entropy(model(x).logits, y).backward()
        opt.step()
    path = tmp_path_factory.mktemp("predict-trained") / "best.pt"
    save_checkpoint(path, model=model, cfg=cfg, classes=list(classes), epoch=0)
    return path, ClipDataset(ck, picked, classes, cfg.n, cfg.image_size)


def test_predict_video_agrees_with_evaluate_on_the_same_clips(trained, ck, smoke_raw):
    """The raw sequence through ``predict_video`` (faces found again, 224 px crops) and its prepared crops
    through ``evaluate``: the same frames, the same class names on the same probabilities (within what
    the two crop paths change), the same prediction, which is the clip's label."""
    path, clips = trained
    scored = evaluate(load_model(path)[0], clips, clips.classes)
    source = load_index(ck).set_index("video_id")["source"]
    for row in scored.per_clip:
        # the precondition of comparing predictions: the fitted clip's top class ahead of the next by more
        # than the two paths may move two probabilities apart (2 x PROB_ATOL), so its argmax cannot flip
        # between them (measured: top probabilities 0.67-0.98)
        second, top = sorted(row["probs"])[-2:]
        assert row["pred"] == row["label"] and top - second > 2 * PROB_ATOL, "the fitted model is not confident"
        res = predict_video(smoke_raw("ckplus") / source[row["video_id"]], path, device="cpu")
        [window] = res["windows"]
        assert [f["frame_index"] for f in window["frames"]] == row["frame_indices"]
        assert res["classes"] == list(clips.classes)
        np.testing.assert_allclose([res["probabilities"][c] for c in clips.classes], row["probs"], atol=PROB_ATOL)
        np.testing.assert_allclose([f["attention"] for f in window["frames"]], row["attention"], atol=0.05)
        assert res["top_class"] == row["pred"] == row["label"], row["clip_id"]


def write_video(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def run_main(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_predict_prints_json_and_writes_png(clip, checkpoint, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "fsa", "predict", str(clip), "--checkpoint", str(checkpoint),
                           "--n", "5", "--out", str(tmp_path), "--device", "cpu"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    n_frames, fps = len(read_frames(clip)), video_fps(clip)
    assert res["n_frames"] == n_frames and res["fps"] == fps and res["model"] == "ecnn-fsa"
    assert list(res["probabilities"]) == list(CLASSES_7)
    assert sum(res["probabilities"].values()) == pytest.approx(1, abs=1e-6)
    assert res["top_class"] == max(res["probabilities"], key=res["probabilities"].get)
    assert len(res["windows"]) == 1  # a clip of AFEW length is one window, predicted as in evaluation
    frames = res["windows"][0]["frames"]
    assert len(frames) == 5
    assert [f["frame_index"] for f in frames] == sample_indices(n_frames, 5).tolist()
    assert [f["time_s"] for f in frames] == [round(f["frame_index"] / fps, 3) for f in frames]
    assert sum(f["attention"] for f in frames) == pytest.approx(1, abs=1e-5)
    assert all(f["face"] in METHODS for f in frames)
    png = cv2.imread(res["png"])
    assert Path(res["png"]) == tmp_path / f"{clip.stem}.predict.png"
    assert png is not None and png.shape[0] > 100 and png.shape[1] > 5 * 50


def test_long_video_is_cut_into_windows(clip, checkpoint, tmp_path, capsys):
    frames = read_frames(clip)
    long = write_video(tmp_path / "long.avi", (frames * (200 // len(frames) + 1))[:200])  # 8 s at 25 fps
    code, out, err = run_main(["predict", str(long), "--checkpoint", str(checkpoint), "--n", "3",
                               "--window", "3", "--out", str(tmp_path), "--device", "cpu"], capsys)
    assert code == 0, err
    res = json.loads(out)
    wins = res["windows"]
    assert len(wins) == 3  # round(8 s / 3 s)
    assert wins[0]["start_frame"] == 0 and wins[-1]["end_frame"] == 199
    assert all(a["end_frame"] + 1 == b["start_frame"] for a, b in zip(wins, wins[1:]))
    for w in wins:
        assert len(w["frames"]) == 3
        assert all(w["start_frame"] <= f["frame_index"] <= w["end_frame"] for f in w["frames"])
        assert sum(w["probabilities"].values()) == pytest.approx(1, abs=1e-6)
    mean = np.mean([list(w["probabilities"].values()) for w in wins], axis=0)
    np.testing.assert_allclose(list(res["probabilities"].values()), mean / mean.sum(), atol=1e-9)
    assert Path(res["png"]).is_file()


def test_clear_errors_and_nonzero_exit(clip, checkpoint, tmp_path, capsys):
    faceless = write_video(tmp_path / "wall.avi", [np.full((120, 160, 3), 90 + t, np.uint8) for t in range(20)])
    garbage = tmp_path / "garbage.avi"
    garbage.write_bytes(os.urandom(4096))
    empty = tmp_path / "empty.avi"
    empty.touch()
    foreign = tmp_path / "foreign.pt"
    torch.save(build_model(make_config("ecnn-fsa", "smoke", width=0.0625).model).state_dict(), foreign)
    cases = [
        ([str(faceless), "--checkpoint", str(checkpoint)], 1, "no face found"),
        ([str(garbage), "--checkpoint", str(checkpoint)], 1, "garbage.avi: not a decodable video"),
        ([str(empty), "--checkpoint", str(checkpoint)], 1, "empty.avi: empty file (0 bytes)"),
        ([str(clip), "--checkpoint", str(checkpoint), "--model", "cnn-lstm"], 1,
         "checkpoint of model 'ecnn-fsa', not 'cnn-lstm'"),
        ([str(clip), "--checkpoint", str(foreign)], 1, "foreign.pt: not an fsa checkpoint"),
        ([str(tmp_path / "missing.avi"), "--checkpoint", str(checkpoint)], 2, "missing.avi: video file not found"),
        ([str(clip), "--checkpoint", str(checkpoint), "--n", "0"], 2, "n=0"),
        ([str(clip), "--checkpoint", str(checkpoint), "--window", "0"], 2, "window=0.0"),
        ([str(clip), "--checkpoint", str(checkpoint), "--window", "inf"], 2, "window=inf: expected a finite"),
        ([str(clip), "--checkpoint", str(checkpoint), "--window", "nan"], 2, "window=nan"),
    ]
    for args, code_expected, message in cases:
        code, out, err = run_main(["predict", *args, "--out", str(tmp_path / "png"), "--device", "cpu"], capsys)
        assert code == code_expected and message in err, (args, code, err)
        assert out == "" and "Traceback" not in err
    assert not (tmp_path / "png").exists()


def test_a_cuda_index_beyond_the_machines_devices_is_refused(monkeypatch):
    """``cuda:7`` on a machine with one GPU: a clear error, not a failure when the model moves."""
    from fsa.config import ConfigError
    from fsa.distributed import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(ConfigError, match=r"device='cuda:7': this machine has 1 CUDA device\(s\)"):
        resolve_device("cuda:7")
