"""``fsa prep`` checks the copy it prepares: counts beside the published ones, a missing AFEW split,
truncated video files, the layout variants of the distributions, and a console summary that says why."""
from __future__ import annotations

import json
import re
import shutil
import struct
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from conftest import face_clip, read_video, write_avi
from data_prep import afew, ckplus
from data_prep.labels import CK_CODES, CLASSES_CK7
from data_prep.prepare import count_warnings
from data_prep.video import DataError
from fsa.cli import main as fsa_main

SIZE = 64
WARNING = "fsa prep: warning: "


def prep(capsys, dataset: str, raw: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    """``fsa prep`` as a user runs it: exit status, stdout, stderr."""
    rc = fsa_main(["prep", "--dataset", dataset, "--raw", str(raw), "--out", str(out), "--size", str(SIZE),
                   "--quiet", *extra])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def report(out: Path) -> dict:
    return json.loads((out / "prep_report.json").read_text())


def index_ids(out: Path) -> list[str]:
    return pd.read_csv(out / "index.csv", dtype=str)["video_id"].tolist()


def warnings(err: str) -> list[str]:
    """The warning lines of stderr without their prefix; every stderr line must be one."""
    lines = err.splitlines()
    assert all(line.startswith(WARNING) for line in lines), err
    return [line[len(WARNING):] for line in lines]


# -- counts beside the published ones --------------------------------------------------------
def test_published_tables_are_the_papers():
    assert {k: ckplus.PUBLISHED[k] for k in ("sequences", "labelled sequences", "subjects",
                                             "subjects with a labelled sequence")} == {
        "sequences": 593, "labelled sequences": 327, "subjects": 123, "subjects with a labelled sequence": 118}
    per_class = {f"{c} sequences": ckplus.PUBLISHED[f"{c} sequences"] for c in CLASSES_CK7}
    assert per_class == {"anger sequences": 45, "contempt sequences": 18, "disgust sequences": 59,
                         "fear sequences": 25, "happy sequences": 69, "sadness sequences": 28,
                         "surprise sequences": 83}
    assert sum(per_class.values()) == ckplus.PUBLISHED["labelled sequences"]
    assert afew.PUBLISHED == {"Train clips": 773, "Val clips": 383}


def published_ckplus_tree(root: Path) -> Path:
    """A CK+ tree with the published counts (sequence folders without frames: the indexer does not
    read them): 123 subjects, 593 sequences, 327 labelled ones of 118 subjects, the published classes."""
    labels = iter([c for c in CLASSES_CK7 for _ in range(ckplus.PUBLISHED[f"{c} sequences"])])
    for s in range(123):
        labelled = 3 if s < 91 else 2 if s < 118 else 0  # 91 * 3 + 27 * 2 = 327
        unlabelled = 2 + (s < 20)  # 123 * 2 + 20 = 266 = 593 - 327
        subject = f"S{s + 1:03d}"
        for q in range(labelled + unlabelled):
            seq = f"{q + 1:03d}"
            (root / "cohn-kanade-images" / subject / seq).mkdir(parents=True)
            if q < labelled:
                lab = root / "Emotion" / subject / seq
                lab.mkdir(parents=True)
                (lab / f"{subject}_{seq}_00000010_emotion.txt").write_text(f"   {CK_CODES[next(labels)]:.7e}\n")
    assert next(labels, None) is None
    return root


def test_a_copy_with_the_published_counts_passes_and_each_difference_is_one_warning(tmp_path):
    root = published_ckplus_tree(tmp_path / "ck")
    records, _, found = ckplus.index(root)
    assert len(records) == 327
    assert {k: found[k] for k in ckplus.PUBLISHED} == ckplus.PUBLISHED
    assert count_warnings(found, ckplus.PUBLISHED, ckplus.PUBLISHED_SOURCE) == []

    fear = next(p for p in (root / "Emotion").rglob("*_emotion.txt") if p.read_text().strip() == "4.0000000e+00")
    shutil.rmtree(root / "cohn-kanade-images" / fear.parent.parent.name / fear.parent.name)  # a lost fear sequence
    shutil.rmtree(root / "cohn-kanade-images" / "S123")  # a subject without labels, lost
    _, _, found = ckplus.index(root)
    assert count_warnings(found, ckplus.PUBLISHED, ckplus.PUBLISHED_SOURCE) == [
        "sequences: 590 found, 593 published (Lucey et al. 2010)",
        "labelled sequences: 326 found, 327 published (Lucey et al. 2010)",
        "subjects: 122 found, 123 published (Lucey et al. 2010)",
        "fear sequences: 24 found, 25 published (Lucey et al. 2010)",
    ]


def test_ckplus_counts_are_printed_saved_and_warned(capsys, write_ckplus_raw, tmp_path):
    raw = write_ckplus_raw(tmp_path / "ck", subjects=3, seqs=2, frames=3, unlabelled=1)
    shutil.rmtree(raw / "cohn-kanade-images" / "S012")  # one subject's images missing, its labels left
    out = tmp_path / "out"
    rc, stdout, err = prep(capsys, "ckplus", raw, out)
    assert rc == 0
    found = {"sequences": 6, "labelled sequences": 4, "subjects": 2, "subjects with a labelled sequence": 2,
             "anger sequences": 1, "contempt sequences": 0, "disgust sequences": 0, "fear sequences": 0,
             "happy sequences": 1, "sadness sequences": 0, "surprise sequences": 2}
    counts = report(out)["counts"]
    assert counts == {"found": found, "published": ckplus.PUBLISHED, "source": "Lucey et al. 2010", "compared": True}
    assert warnings(err) == [f"{k}: {found[k]} found, {n} published (Lucey et al. 2010)"
                             for k, n in ckplus.PUBLISHED.items()]
    assert report(out)["warnings"] == warnings(err)
    assert "counts found / published (Lucey et al. 2010):" in stdout
    assert re.search(r"^  subjects +2 / 123$", stdout, re.M) and re.search(r"^  happy sequences +1 / 69$", stdout, re.M)
    assert ("skipped 4 before preparing: label file without an image sequence 2, "
            "unlabelled sequence (prepare with --all to include) 2") in stdout


def test_embedded_synthetic_set_is_shown_not_compared(capsys, write_ckplus_raw, tmp_path):
    raw = write_ckplus_raw(tmp_path / "ck", subjects=1, seqs=1, frames=2)
    (raw / "synth_meta.csv").write_text("video_id,subject,label,split,n_frames,photo\n")
    (raw / "README.txt").write_text("SYNTHETIC DATA - not CK+ or AFEW. Generated by data_prep.synth\n")
    rc, _, err = prep(capsys, "ckplus", raw, tmp_path / "no-generator-line")
    assert rc == 0 and len(warnings(err)) == len(ckplus.PUBLISHED), "a README without the generator line: compared"

    (raw / "README.txt").write_text("SYNTHETIC DATA - not CK+ or AFEW. Generated by data_prep.synth\n"
                                    "generator: 0123456789ab\n")
    out = tmp_path / "out"
    rc, stdout, err = prep(capsys, "ckplus", raw, out)
    assert rc == 0 and err == ""
    assert "counts found (embedded synthetic set: counts are not compared with the paper's):" in stdout
    assert re.search(r"^  sequences +1$", stdout, re.M)
    rep = report(out)
    assert rep["counts"]["compared"] is False and rep["counts"]["found"]["sequences"] == 1 and rep["warnings"] == []


def test_emotiw_folder_names_and_afew_counts(capsys, write_afew_raw, tmp_path, face_photos):
    raw = write_afew_raw(tmp_path / "afew", per_class=1, frames=3, classes=("anger", "happy", "surprise"))
    (raw / "Train").rename(raw / "Train_AFEW")
    (raw / "Val").rename(raw / "Val_AFEW")
    write_avi(raw / "Val_AFEW" / "Happy" / "second.avi", face_clip(face_photos, 6, 3))
    out = tmp_path / "out"
    rc, stdout, err = prep(capsys, "afew", raw, out)
    assert rc == 0
    index = pd.read_csv(out / "index.csv", dtype=str)
    assert sorted(index["split"].unique()) == ["train", "val"] and len(index) == 7
    assert index.loc[index["video_id"] == "train_000000", "source"].item() == "Train_AFEW/Angry/000000.avi"
    found = report(out)["counts"]["found"]
    assert (found["Train clips"], found["Val clips"]) == (3, 4)
    assert (found["Val happy clips"], found["Val anger clips"], found["Val fear clips"]) == (2, 1, 0)
    assert warnings(err) == ["Train clips: 3 found, 773 published (AFEW 7.0, EmotiW 2017)",
                             "Val clips: 4 found, 383 published (AFEW 7.0, EmotiW 2017)"]
    assert re.search(r"^  Train clips +3 / 773$", stdout, re.M)
    assert re.search(r"^  Val happy clips +2$", stdout, re.M), "per class: counted, nothing to compare with"


def test_both_spellings_of_a_split_is_an_error(capsys, write_afew_raw, tmp_path):
    raw = write_afew_raw(tmp_path / "afew", per_class=1, frames=2, classes=("happy",))
    shutil.copytree(raw / "Train", raw / "Train_AFEW")
    rc, _, err = prep(capsys, "afew", raw, tmp_path / "out")
    assert rc == 2 and err == f"fsa prep: error: {raw}: holds both Train/ and Train_AFEW/, two spellings of one " \
                              "folder of the layout; keep one\n"


def test_nested_ckplus_labels_are_read(write_ckplus_raw, tmp_path):
    raw = write_ckplus_raw(tmp_path / "ck", subjects=2, seqs=2, frames=1, unlabelled=1)
    expected = ckplus.index(raw, labelled_only=False)
    (raw / "Emotion_labels").mkdir()
    (raw / "Emotion").rename(raw / "Emotion_labels" / "Emotion")
    assert ckplus.index(raw, labelled_only=False) == expected
    (raw / "Emotion_labels" / "Emotion").rename(raw / "Emotion_labels" / "labels")
    with pytest.raises(DataError, match=r"Emotion: missing Emotion/ folder; .*or Emotion_labels/Emotion/S005"):
        ckplus.index(raw)


# -- a missing split -----------------------------------------------------------------------------
@pytest.mark.parametrize("missing, kept", [("Val", "train_000000"), ("Train", "val_000001")])
def test_missing_afew_split_is_an_error_unless_allowed(capsys, write_afew_raw, tmp_path, missing, kept):
    raw = write_afew_raw(tmp_path / "afew", per_class=1, frames=2, classes=("happy",))
    shutil.rmtree(raw / missing)
    out = tmp_path / "out"
    rc, stdout, err = prep(capsys, "afew", raw, out)
    other = "Train" if missing == "Val" else "Val"
    assert rc == 2 and stdout == ""
    assert err == (f"fsa prep: error: {raw / missing}: missing; an AFEW root holds Train/ and Val/ "
                   f"(with --allow-missing-split, {other}/ is prepared alone)\n")
    assert not out.exists(), "refused before anything is written"

    rc, _, err = prep(capsys, "afew", raw, out, "--allow-missing-split")
    assert rc == 0 and index_ids(out) == [kept]
    assert warnings(err)[0] == f"{raw / missing}: missing, so AFEW's {missing} clips are not prepared " \
                               "(--allow-missing-split)"


# -- truncated video files -----------------------------------------------------------------------
def frames_declared(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    return n


def truncated_avi(path: Path, photos, fourcc: str, frames: int = 31, keep: float = 0.4) -> int:
    """A real truncated AVI: ``frames`` frames written, the first ``keep`` of its bytes kept (the
    header with its frame count and some frames, no index); returns how many frames still decode."""
    write_avi(path, face_clip(photos, 2, frames), fourcc=fourcc)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    decoded = len(read_video(path))
    assert frames_declared(path) == frames and 0 < decoded < frames, "OpenCV declares more than it decodes"
    return decoded


def afew_with(raw: Path, photos) -> Path:
    """An AFEW root with one good clip in each split."""
    write_avi(raw / "Train" / "Happy" / "good.avi", face_clip(photos, 0, 3))
    write_avi(raw / "Val" / "Happy" / "good.avi", face_clip(photos, 1, 3))
    return raw


@pytest.mark.parametrize("fourcc", ["MJPG", "XVID"])
def test_truncated_video_fails_unless_kept(capsys, tmp_path, face_photos, fourcc):
    raw = afew_with(tmp_path / "afew", face_photos)
    decoded = truncated_avi(raw / "Val" / "Sad" / "cut.avi", face_photos, fourcc)
    out = tmp_path / "out"
    rc, stdout, _ = prep(capsys, "afew", raw, out)
    assert rc == 0
    reason = f"Val/Sad/cut.avi: truncated: declares 31 frames, {decoded} decode"
    rep = report(out)
    assert rep["failed"] == [{"video_id": "val_cut", "source": "Val/Sad/cut.avi", "problem": "truncated",
                              "reason": reason}]
    assert f"failed: val_cut: {reason}" in stdout
    assert "val_cut" not in index_ids(out) and not (out / "frames" / "val_cut").exists()
    assert not list((out / "frames").glob(".tmp-*")) and rep["truncated"] == []

    rc, _, err = prep(capsys, "afew", raw, out, "--keep-truncated")
    assert rc == 0
    rep = report(out)
    assert rep["failed"] == [] and "val_cut" in index_ids(out)
    assert len(list((out / "frames" / "val_cut").glob("*.jpg"))) == decoded
    assert rep["truncated"] == [{"video_id": "val_cut", "source": "Val/Sad/cut.avi", "declared": 31,
                                 "decoded": decoded}]
    assert f"val_cut: {reason}; prepared from those (--keep-truncated)" in warnings(err)

    rc, _, _ = prep(capsys, "afew", raw, out)  # the same folder without the option: failed again
    assert rc == 0 and [f["video_id"] for f in report(out)["failed"]] == ["val_cut"]
    assert "val_cut" not in index_ids(out) and not (out / "frames" / "val_cut").exists()


def test_a_container_without_a_frame_count_is_not_judged(capsys, tmp_path, face_photos):
    raw = afew_with(tmp_path / "afew", face_photos)
    path = raw / "Val" / "Sad" / "cut.avi"
    decoded = truncated_avi(path, face_photos, "MJPG")
    data = bytearray(path.read_bytes())
    for chunk, offset in ((b"avih", 16), (b"strh", 32)):  # dwTotalFrames, dwLength: the AVI's frame counts
        struct.pack_into("<I", data, data.index(chunk) + 8 + offset, 0)
    path.write_bytes(bytes(data))
    assert frames_declared(path) == 0 and len(read_video(path)) == decoded
    out = tmp_path / "out"
    rc, _, err = prep(capsys, "afew", raw, out)
    assert rc == 0 and report(out)["failed"] == [] and report(out)["truncated"] == []
    n = pd.read_csv(out / "index.csv", dtype=str).set_index("video_id").loc["val_cut", "n_frames"]
    assert int(n) == decoded and not any("truncated" in w for w in warnings(err))


# -- the console summary -------------------------------------------------------------------------
def test_summary_counts_the_failures_per_reason(capsys, tmp_path, face_photos):
    raw = afew_with(tmp_path / "afew", face_photos)
    wall = cv2.cvtColor(np.tile(np.linspace(40, 220, 360, dtype=np.uint8), (288, 1)), cv2.COLOR_GRAY2RGB)
    write_avi(raw / "Train" / "Fear" / "wall1.avi", [wall] * 2)
    write_avi(raw / "Train" / "Fear" / "wall2.avi", [wall] * 2)
    truncated_avi(raw / "Val" / "Sad" / "cut.avi", face_photos, "MJPG", frames=12)
    (raw / "Val" / "Sad" / "notes.txt").write_text("not a clip")
    rc, stdout, _ = prep(capsys, "afew", raw, tmp_path / "out")
    assert rc == 0
    assert stdout.splitlines()[:2] == [
        "videos: 2 prepared into index.csv (2 this run); 3 more failed and were left out: "
        "no face found in any frame 2, truncated 1",
        "skipped 1 before preparing: not a video file 1",
    ]


def test_fsa_prep_help_is_fsa_preps(capsys):
    with pytest.raises(SystemExit) as e:
        fsa_main(["prep", "--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and out.startswith("usage: fsa prep ")
    assert "--allow-missing-split" in out and "--keep-truncated" in out
