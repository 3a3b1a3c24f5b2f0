"""``python -m data_prep.prepare``: real layouts, resumability, bad input, smoke-set detection rates."""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from conftest import REPO, SMOKE_PREP_SIZE, face_clip, write_avi
from data_prep import afew, ckplus
from data_prep.prepare import main
from data_prep.video import DataError, read_frames
from fsa.config import Config
from fsa.data import build_datasets

SIZE = 64
INDEX_COLUMNS = ["video_id", "subject", "label", "split", "n_frames", "source"]


def run(capsys, dataset: str, raw: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    rc = main(["--dataset", dataset, "--raw", str(raw), "--out", str(out), "--size", str(SIZE), "--quiet", *extra])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def read_index(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "index.csv", dtype=str, keep_default_na=False)


def report(out: Path) -> dict:
    return json.loads((out / "prep_report.json").read_text())


def assert_complete(out: Path) -> None:
    """Every frame folder is complete and indexed; nothing temporary or empty is left."""
    index = read_index(out)
    folders = {p.name: p for p in (out / "frames").iterdir() if not p.name.startswith(".")}
    assert not list((out / "frames").glob(".tmp-*")), "temporary folders left behind"
    assert set(folders) == set(index["video_id"])
    for row in index.itertuples():
        jpgs = sorted(folders[row.video_id].glob("*.jpg"))
        assert len(jpgs) == int(row.n_frames) > 0
        assert [p.name for p in jpgs] == [f"{k:05d}.jpg" for k in range(1, len(jpgs) + 1)]


def snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture
def ck_raw(tmp_path, write_ckplus_raw):
    return write_ckplus_raw(tmp_path / "ck", subjects=4, seqs=2, frames=5, unlabelled=1)


@pytest.fixture
def afew_raw(tmp_path, write_afew_raw):
    return write_afew_raw(tmp_path / "afew", per_class=1, frames=4)


# -- real layouts ---------------------------------------------------------------------
def test_ckplus_layout_through_prepare_indexer_and_folds(capsys, ck_raw, tmp_path):
    out = tmp_path / "out"
    rc, stdout, _ = run(capsys, "ckplus", ck_raw, out, "-j", "2")
    assert rc == 0
    assert re.search(r"with -j 2 = [\d.]+ frames/s", stdout)
    index = read_index(out)
    assert list(index.columns) == INDEX_COLUMNS
    assert len(index) == 8 and (index["label"] != "").all() and (index["split"] == "").all()
    assert index["video_id"].tolist()[:2] == ["S010_001", "S010_002"]
    assert (index["subject"] == index["video_id"].str[:4]).all()
    for row in index.itertuples():
        n_src = len(list((ck_raw / row.source).glob("*.png")))
        assert int(row.n_frames) == n_src == 5
        img = cv2.imread(str(out / "frames" / row.video_id / "00001.jpg"))
        assert img.shape == (SIZE, SIZE, 3)
    assert_complete(out)
    rep = report(out)
    assert rep["videos"] == {"indexed": 8, "prepared": 8, "failed": 0, "skipped": 4}
    frames = rep["frames"]
    assert frames["total"] == 40 and frames["dropped"] == 0
    assert sum(frames[m] for m in ("hog", "hog-up", "clahe", "cnn", "track", "interpolated")) == 40
    assert {s["reason"] for s in rep["skipped"]} == {"unlabelled sequence (prepare with --all to include)"}
    assert not (out / "intensity.csv").exists(), "no sidecar, no intensity file"

    # Subject-independent folds on the prepared fixture: every fold, every split pair.
    tests = []
    for fold in range(4):
        cfg = Config(dataset="ckplus", data=str(out), protocol="paper", folds=4, fold=fold, image_size=32)
        splits = build_datasets(cfg)
        subjects = [{c.subject for c in ds.clips} for ds in (splits.train, splits.val, splits.test)]
        assert all(subjects), "no split is empty"
        assert not (subjects[0] & subjects[1]) and not (subjects[0] & subjects[2]) and not (subjects[1] & subjects[2])
        tests += [c.clip_id for c in splits.test.clips]
    assert sorted(tests) == sorted(set(tests)) and len(tests) == 8 + 4, "each clip tested exactly once"


def test_ckplus_all_flag_prepares_unlabelled_sequences(capsys, ck_raw, tmp_path):
    rc, _, _ = run(capsys, "ckplus", ck_raw, tmp_path / "out", "--all")
    assert rc == 0
    index = read_index(tmp_path / "out")
    assert len(index) == 12 and (index["label"] == "").sum() == 4
    assert report(tmp_path / "out")["labelled_only"] is False
    assert report(tmp_path / "out")["conditions"] is None, "real data name no conditions"


def test_afew_layout_with_synthetic_sidecars(capsys, afew_raw, tmp_path):
    records, _, _ = afew.index(afew_raw)
    assert all(r.subject == r.video_id for r in records), "real AFEW: subject = video id"
    ids = [r.video_id for r in records]
    subjects = {vid: ("A1" if i % 2 else "A2") if vid.startswith("train_") else "B1" for i, vid in enumerate(ids)}
    with open(afew_raw / "synth_meta.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["video_id", "subject", "label", "split", "n_frames"])
        w.writerows([[r.video_id, subjects[r.video_id], r.label, r.split, 4] for r in records])
    with open(afew_raw / "synth_intensity.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["video_id", "frame", "intensity"])
        w.writerows([[vid, k, f"{k / 4:.4f}"] for vid in ids + ["train_gone"] for k in range(1, 5)])
    with open(afew_raw / "synth_conditions.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["video_id", "frame", "shot", "yaw", "pitch", "occluded", "missed"])
        w.writerows([[vid, k, 0, 10 * k, 0, int(k == 2), 0] for vid in ids + ["train_gone"] for k in range(1, 5)])
    (afew_raw / "README.txt").write_text("SYNTHETIC\nconditions: afew7-without-pose (yaw=0.0, pitch=0.0);\n")
    out = tmp_path / "out"
    rc, stdout, _ = run(capsys, "afew", afew_raw, out, "-j", "2")
    assert rc == 0 and "frames/s" in stdout
    index = read_index(out)
    assert len(index) == 8
    assert set(index["split"]) == {"train", "val"}
    assert all(v.startswith(s + "_") for v, s in zip(index["video_id"], index["split"]))
    assert dict(zip(index["video_id"], index["subject"])) == subjects
    assert set(index["label"]) == {"anger", "happy", "neutral", "surprise"}
    assert index.loc[index["video_id"] == ids[0], "source"].item() == "Train/Angry/000000.avi"
    intensity = pd.read_csv(out / "intensity.csv")
    assert len(intensity) == 32 and "train_gone" not in set(intensity["video_id"])
    assert report(out)["intensity_rows"] == 32
    conditions = pd.read_csv(out / "conditions.csv")
    assert len(conditions) == 32 and "train_gone" not in set(conditions["video_id"])
    assert conditions["occluded"].sum() == 8 and report(out)["conditions_rows"] == 32
    assert report(out)["conditions"] == "afew7-without-pose", "the set's conditions, from its README"
    assert_complete(out)

    splits = build_datasets(Config(dataset="afew", data=str(out), protocol="afew", image_size=32))
    assert {c.split for c in splits.test.clips} == {"val"} and len(splits.test) == 4
    train_subjects = {c.subject for c in splits.train.clips}
    val_subjects = {c.subject for c in splits.val.clips}
    assert train_subjects and val_subjects and not train_subjects & val_subjects
    assert train_subjects | val_subjects == {"A1", "A2"}


# -- resumable, idempotent ------------------------------------------------------------
def test_killed_run_resumes_to_the_identical_result(capsys, write_ckplus_raw, tmp_path):
    raw = write_ckplus_raw(tmp_path / "ck", subjects=4, seqs=3, frames=5)
    ref = tmp_path / "ref"
    assert run(capsys, "ckplus", raw, ref, "-j", "1")[0] == 0

    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(  # killed once 3 of the 12 videos are done
        [sys.executable, str(REPO / "tests" / "prepare_killed.py"), "3", "--dataset", "ckplus", "--raw", str(raw),
         "--out", str(out), "--size", str(SIZE), "--quiet", "-j", "2"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    proc.wait(timeout=300)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # its pool workers, as a job kill would
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "index.csv").exists() and not (out / "prep_report.json").exists()
    done = [f for f in (out / "frames").iterdir() if not f.name.startswith(".")]
    assert 3 <= len(done) < 12, "the kill landed mid-run"
    for folder in done:
        assert (folder / ".stats.json").is_file(), f"{folder} is under its final name but incomplete"

    rc, stdout, _ = run(capsys, "ckplus", raw, out, "-j", "2")
    assert rc == 0 and f"({12 - len(done)} this run)" in stdout, stdout
    assert snapshot(out) == snapshot(ref), "-j 2 after a kill == -j 1 in one go, byte for byte"
    rc, stdout, _ = run(capsys, "ckplus", raw, out)
    assert rc == 0 and "0 this run" in stdout and "0 frames in" in stdout
    assert snapshot(out) == snapshot(ref), "a rerun changes nothing"


def frame_bars(face: np.ndarray, t: int) -> np.ndarray:
    """Frame ``t`` carries its index: ``t + 1`` white bars across the cap above the eyes."""
    h, w = face.shape[:2]
    for b in range(t + 1):
        x = int(w * (0.3 + 0.07 * b))
        face[int(h * 0.22):int(h * 0.30), x:x + int(w * 0.03)] = 255
    return face


def count_bars(crop: np.ndarray) -> int:
    """White bars on the dark cap at the top of a crop: runs of columns mostly white in its top sixth."""
    top = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)[: crop.shape[0] // 6]
    bar = (top > 200).mean(axis=0) > 0.6
    return int(np.sum(bar[1:] & ~bar[:-1]) + bar[0])


def test_crop_k_shows_source_frame_k(capsys, write_ckplus_raw, tmp_path):
    frames = 6
    raw = write_ckplus_raw(tmp_path / "ck", subjects=1, seqs=1, frames=frames, marker=frame_bars)
    out = tmp_path / "out"
    rc = main(["--dataset", "ckplus", "--raw", str(raw), "--out", str(out), "--size", "96", "--quiet"])
    assert rc == 0, capsys.readouterr()
    crops = sorted((out / "frames" / "S010_001").glob("*.jpg"))
    assert [count_bars(cv2.imread(str(p))) for p in crops] == [t + 1 for t in range(frames)]


def test_partial_state_is_repaired(capsys, ck_raw, tmp_path):
    ref, out = tmp_path / "ref", tmp_path / "out"
    assert run(capsys, "ckplus", ck_raw, ref)[0] == 0
    assert run(capsys, "ckplus", ck_raw, out)[0] == 0
    frames = out / "frames"
    (frames / "S010_001" / ".stats.json").unlink()  # under its final name but incomplete
    (frames / "S011_002" / "00003.jpg").unlink()  # a frame lost
    os.rename(frames / "S012_001", frames / ".tmp-S012_001")  # killed before the rename
    (frames / ".tmp-S012_001" / "00005.jpg").unlink()
    (out / "index.csv").unlink()
    rc, stdout, _ = run(capsys, "ckplus", ck_raw, out)
    assert rc == 0 and "3 this run" in stdout
    assert snapshot(out) == snapshot(ref)


def test_other_settings_on_a_prepared_folder_are_refused(capsys, ck_raw, tmp_path):
    assert run(capsys, "ckplus", ck_raw, tmp_path / "out")[0] == 0
    rc = main(["--dataset", "ckplus", "--raw", str(ck_raw), "--out", str(tmp_path / "out"), "--size", "32", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and str(tmp_path / "out") in err and "'size': 64" in err


# -- bad input: each case builds its broken raw dataset ------------------------------------
def one_good_clip(raw: Path, photos) -> None:
    """A good clip in Train/ and an empty Val/: both splits, as prepare requires."""
    write_avi(raw / "Train" / "Happy" / "good.avi", face_clip(photos, 0, 3))
    (raw / "Val").mkdir(exist_ok=True)


def assert_failed(out: Path, video_id: str, *words: str) -> dict:
    rep = report(out)
    failed = {f["video_id"]: f for f in rep["failed"]}
    assert video_id in failed, rep["failed"]
    for w in words:
        assert w in failed[video_id]["reason"], failed[video_id]
    assert video_id not in set(read_index(out)["video_id"])
    assert not (out / "frames" / video_id).exists(), "no folder for a failed video"
    assert_complete(out)
    return rep


def test_corrupt_avi_is_reported_not_prepared(capsys, tmp_path, face_photos):
    raw = tmp_path / "raw"
    one_good_clip(raw, face_photos)
    good = (raw / "Train" / "Happy" / "good.avi").read_bytes()
    garbage = np.random.default_rng(0).integers(0, 256, len(good), dtype=np.uint8).tobytes()
    (raw / "Train" / "Happy" / "broken.avi").write_bytes(good[:300] + garbage[300:])  # header, then noise
    (raw / "Val" / "Angry").mkdir(parents=True)
    (raw / "Val" / "Angry" / "noise.avi").write_bytes(b"RIFF\0\0\0\0AVI LIST" + garbage[:2000])
    (raw / "Val" / "Angry" / "cut.avi").write_bytes(good[: len(good) // 3])  # truncated after frame 1
    rc, stdout, _ = run(capsys, "afew", raw, tmp_path / "out")
    assert rc == 0 and "failed: train_broken: Train/Happy/broken.avi: video has no decodable frames" in stdout
    assert_failed(tmp_path / "out", "train_broken", "Train/Happy/broken.avi", "no decodable frames")
    assert_failed(tmp_path / "out", "val_noise", "Val/Angry/noise.avi", "not a decodable video")
    rep = assert_failed(tmp_path / "out", "val_cut", "Val/Angry/cut.avi: truncated: declares 3 frames, 1 decode")
    assert rep["videos"]["failed"] == 3 and rep["videos"]["prepared"] == 1


def test_zero_byte_video_is_reported_not_prepared(capsys, tmp_path, face_photos):
    raw = tmp_path / "raw"
    one_good_clip(raw, face_photos)
    (raw / "Train" / "Happy" / "empty.avi").touch()
    assert run(capsys, "afew", raw, tmp_path / "out")[0] == 0
    assert_failed(tmp_path / "out", "train_empty", "Train/Happy/empty.avi", "empty file (0 bytes)")


def test_video_without_a_face_is_reported_and_its_frames_dropped(capsys, tmp_path, face_photos):
    raw = tmp_path / "raw"
    one_good_clip(raw, face_photos)
    wall = np.tile(np.linspace(40, 220, 360, dtype=np.uint8), (288, 1))
    write_avi(raw / "Train" / "Fear" / "wall.avi", [cv2.cvtColor(wall, cv2.COLOR_GRAY2RGB)] * 2)
    assert run(capsys, "afew", raw, tmp_path / "out")[0] == 0
    rep = assert_failed(tmp_path / "out", "train_wall", "Train/Fear/wall.avi", "no face found")
    assert rep["frames"]["dropped"] == 2 and rep["frames"]["total"] == 3


def test_one_frame_clip_is_prepared(capsys, tmp_path, face_photos):
    raw = tmp_path / "raw"
    one_good_clip(raw, face_photos)
    write_avi(raw / "Val" / "Sad" / "single.avi", face_clip(face_photos, 1, 1))
    assert run(capsys, "afew", raw, tmp_path / "out")[0] == 0
    index = read_index(tmp_path / "out").set_index("video_id")
    assert index.loc["val_single", "n_frames"] == "1" and index.loc["val_single", "label"] == "sadness"
    assert_complete(tmp_path / "out")


def test_grayscale_video_frames_become_rgb_crops(capsys, tmp_path, face_photos):
    raw = tmp_path / "raw"
    one_good_clip(raw, face_photos)
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in face_clip(face_photos, 2, 3)]
    path = raw / "Train" / "Neutral" / "gray.avi"
    path.parent.mkdir(parents=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (gray[0].shape[1], gray[0].shape[0]),
                             isColor=False)
    for g in gray:
        writer.write(g)
    writer.release()
    assert all(f.shape == gray[0].shape + (3,) for f in read_frames(path))
    assert run(capsys, "afew", raw, tmp_path / "out")[0] == 0
    crop = cv2.imread(str(tmp_path / "out" / "frames" / "train_gray" / "00002.jpg"))
    assert crop.shape == (SIZE, SIZE, 3)
    assert np.abs(crop.astype(int) - crop[..., :1]).max() <= 2, "gray in, gray-looking RGB out"


def test_ckplus_grayscale_pngs_and_a_corrupt_frame(capsys, write_ckplus_raw, tmp_path):
    raw = write_ckplus_raw(tmp_path / "ck", subjects=2, seqs=1, frames=3)
    png = raw / "cohn-kanade-images" / "S011" / "001" / "S011_001_00000002.png"
    assert cv2.imread(str(png), cv2.IMREAD_UNCHANGED).ndim == 2, "CK+ frames are single-channel"
    png.write_bytes(png.read_bytes()[:100])
    out = tmp_path / "out"
    assert run(capsys, "ckplus", raw, out)[0] == 0
    rep = assert_failed(out, "S011_001", "cohn-kanade-images/S011/001/S011_001_00000002.png", "not a decodable image")
    assert read_index(out)["video_id"].tolist() == ["S010_001"]
    assert rep["frames"]["dropped"] == 3 and rep["frames"]["total"] == 3, "the bad sequence's 3 frames are dropped"


def test_empty_sequence_folder_is_reported(capsys, write_ckplus_raw, tmp_path):
    raw = write_ckplus_raw(tmp_path / "ck", subjects=2, seqs=1, frames=3)
    for p in (raw / "cohn-kanade-images" / "S010" / "001").iterdir():
        p.unlink()
    assert run(capsys, "ckplus", raw, tmp_path / "out")[0] == 0
    assert_failed(tmp_path / "out", "S010_001", "frame folder holds no images")


def test_missing_emotion_folder_is_a_clear_error(capsys, write_ckplus_raw, tmp_path):
    raw = write_ckplus_raw(tmp_path / "ck", subjects=1, seqs=1, frames=2, emotion=False)
    rc, _, err = run(capsys, "ckplus", raw, tmp_path / "out")
    assert rc == 2 and f"{raw / 'Emotion'}: missing Emotion/ folder" in err
    assert not (tmp_path / "out" / "index.csv").exists()


@pytest.mark.parametrize("content, problem", [("   9.0000000e+00", "unknown CK+ emotion code"),
                                              ("   2.5", "unknown CK+ emotion code"),
                                              ("happy", "not a number"), ("", "empty CK+ label file")])
def test_a_bad_label_file_is_a_reported_skip_of_its_sequence(capsys, write_ckplus_raw, tmp_path, content, problem):
    raw = write_ckplus_raw(tmp_path / "ck", subjects=1, seqs=2, frames=2)
    label = next((raw / "Emotion" / "S010" / "002").glob("*_emotion.txt"))
    label.write_text(content)
    out = tmp_path / "out"
    assert run(capsys, "ckplus", raw, out)[0] == 0
    rep = report(out)
    skip = [s for s in rep["skipped"] if s["path"] == "cohn-kanade-images/S010/002"]
    assert len(skip) == 1 and str(label) in skip[0]["reason"] and problem in skip[0]["reason"]
    assert rep["videos"] == {"indexed": 1, "prepared": 1, "failed": 0, "skipped": 1}
    assert read_index(out)["video_id"].tolist() == ["S010_001"]


@pytest.mark.parametrize("args, message", [(["--size", "0"], "size=0: crops must be at least 8 px"),
                                           (["-j", "0"], "jobs=0: expected at least 1 process"),
                                           (["-j", "-2"], "jobs=-2"),
                                           (["--margin", "-1"], "margin=-1.0: must be a finite number >= 0"),
                                           (["--margin", "nan"], "margin=nan")])
def test_bad_arguments_are_refused_before_anything_is_written(capsys, write_ckplus_raw, tmp_path, args, message):
    raw = write_ckplus_raw(tmp_path / "ck", subjects=1, seqs=1, frames=2)
    out = tmp_path / "out"
    rc = main(["--dataset", "ckplus", "--raw", str(raw), "--out", str(out), "--quiet", *args])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith(f"python -m data_prep.prepare: error: {message}") and err.count("\n") == 1, err
    assert not out.exists(), "a refused command leaves nothing (no .settings.json to refuse the next one)"


def test_label_file_without_a_sequence_is_a_counted_skip(capsys, write_ckplus_raw, tmp_path):
    raw = write_ckplus_raw(tmp_path / "ck", subjects=1, seqs=1, frames=2)
    orphan = raw / "Emotion" / "S099" / "004"
    orphan.mkdir(parents=True)
    (orphan / "S099_004_00000010_emotion.txt").write_text("   5.0000000e+00\n")
    assert run(capsys, "ckplus", raw, tmp_path / "out")[0] == 0
    skip = {"path": "Emotion/S099/004", "reason": "label file without an image sequence"}
    assert skip in report(tmp_path / "out")["skipped"]


def test_folder_that_is_not_a_class_name(capsys, tmp_path, face_photos):
    raw = tmp_path / "raw"
    one_good_clip(raw, face_photos)
    write_avi(raw / "Train" / "Contempt" / "x.avi", face_clip(face_photos, 0, 2))
    rc, _, err = run(capsys, "afew", raw, tmp_path / "out")
    assert rc == 2 and f"{raw / 'Train' / 'Contempt'}: not an AFEW class folder" in err and "Angry" in err


def test_non_video_files_are_counted_skips_and_case_is_ignored(capsys, tmp_path, face_photos):
    raw = tmp_path / "raw"
    write_avi(raw / "Train" / "happy" / "good.avi", face_clip(face_photos, 0, 2))
    (raw / "Train" / "happy" / "notes.txt").write_text("not a clip")
    (raw / "Train" / "README").write_text("stray file")
    (raw / "Val").mkdir()
    assert run(capsys, "afew", raw, tmp_path / "out")[0] == 0
    rep = report(tmp_path / "out")
    assert {"path": "Train/happy/notes.txt", "reason": "not a video file"} in rep["skipped"]
    assert rep["videos"]["skipped"] == 2 and read_index(tmp_path / "out")["label"].tolist() == ["happy"]


@pytest.mark.parametrize("dataset", ["ckplus", "afew"])
def test_empty_dataset_root(capsys, tmp_path, dataset):
    raw = tmp_path / "raw"
    raw.mkdir()
    rc, _, err = run(capsys, dataset, raw, tmp_path / "out")
    assert rc == 2 and f"{raw}: empty dataset root" in err
    (raw / "something.txt").write_text("x")
    rc, _, err = run(capsys, dataset, raw, tmp_path / "out")
    assert rc == 2 and str(raw) in err and ("not a CK+ root" in err or "not an AFEW root" in err)
    rc, _, err = run(capsys, dataset, tmp_path / "nowhere", tmp_path / "out")
    assert rc == 2 and "root not found" in err


def test_every_video_failing_exits_non_zero(capsys, tmp_path):
    raw = tmp_path / "raw"
    (raw / "Val" / "Happy").mkdir(parents=True)
    (raw / "Val" / "Happy" / "a.avi").touch()
    (raw / "Train").mkdir()
    rc, _, err = run(capsys, "afew", raw, tmp_path / "out")
    assert rc == 1 and "no video" in err
    assert read_index(tmp_path / "out").empty and report(tmp_path / "out")["videos"]["failed"] == 1


def test_indexers_raise_data_errors_directly(tmp_path):
    (tmp_path / "Train" / "Happy").mkdir(parents=True)
    (tmp_path / "Val").mkdir()
    with pytest.raises(DataError, match="no AFEW clips"):
        afew.index(tmp_path)
    (tmp_path / "cohn-kanade-images").mkdir()
    (tmp_path / "Emotion").mkdir()
    with pytest.raises(DataError, match="no CK\\+ labelled sequences"):
        ckplus.index(tmp_path)


# -- the smoke synthetic sets --------------------------------------------------------------
@pytest.mark.parametrize("layout, minimum", [("ckplus", 0.95), ("afew", 0.80)])
def test_smoke_sets_face_found_without_interpolation(smoke_prepared, layout, minimum):
    out = smoke_prepared(layout)
    rep = report(out)
    # every prepared frame's face method, as each video's stats file lists it
    methods = [m for f in (out / "frames").iterdir() if not f.name.startswith(".")
               for m in json.loads((f / ".stats.json").read_text())["methods"]]
    found = sum(m != "interpolated" for m in methods) / len(methods)
    assert len(methods) == rep["frames"]["total"] and found >= minimum
    assert rep["found_rate"] == pytest.approx(found, abs=1e-6)
    log = (out / "prepare.log").read_text()
    assert re.search(r"with -j 2 = [\d.]+ frames/s", log)
    assert "embedded synthetic set: counts are not compared with the paper's" in log
    assert rep["counts"]["compared"] is False and rep["warnings"] == [], "the generator's sets are smaller on purpose"
    assert_complete(out)


@pytest.mark.parametrize("layout", ["ckplus", "afew"])
def test_smoke_prepared_matches_the_synthetic_metadata(smoke_raw, smoke_prepared, layout):
    raw, out = smoke_raw(layout), smoke_prepared(layout)
    meta = pd.read_csv(raw / "synth_meta.csv", dtype=str, keep_default_na=False)
    meta = meta[meta["label"] != ""].set_index("video_id")
    index = read_index(out).set_index("video_id")
    assert sorted(index.index) == sorted(meta.index)
    for col in ("subject", "label", "split", "n_frames"):
        assert (index[col] == meta.loc[index.index, col]).all(), col
    intensity = pd.read_csv(out / "intensity.csv")
    assert len(intensity) == index["n_frames"].astype(int).sum()


@pytest.mark.timeout(240)
def test_workers_detect_faces_after_this_process_ran_the_cnn_detector(smoke_raw, tmp_path):
    """A process that has run dlib's CNN detector holds a thread pool whose threads a forked child
    lacks: workers forked from it waited forever in their first CNN detection. ``-j 2`` after the
    CNN ran here completes, and every labelled video is prepared."""
    from data_prep.faces import FacePipeline, to_gray

    raw = smoke_raw("afew")
    frame = read_frames(next(raw.rglob("*.avi")))[0]
    assert FacePipeline(size=SMOKE_PREP_SIZE).detect(to_gray(frame), methods=("cnn",)) is not None
    out = tmp_path / "prepared"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["--dataset", "afew", "--raw", str(raw), "--out", str(out), "-j", "2",
                     "--size", str(SMOKE_PREP_SIZE), "--quiet"]) == 0
    assert_complete(out)
