"""fsa.data: index validation, protocols, subject-independent folds, n-segment sampling, ClipDataset."""
from __future__ import annotations

import csv
import math
import os
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

import fsa.data
from fsa.config import CLASSES_7, CLASSES_CK7, Config
from fsa.data import (
    ClipDataset,
    DataError,
    build_datasets,
    index_hash,
    load_index,
    make_clips,
    onset_length,
    sample_indices,
    split_clips,
)
from fsa.truth import load_intensity

#: Labelled CK+ sequences per class (Lucey et al. 2010): 327 in all.
CK_COUNTS = dict(anger=45, contempt=18, disgust=59, fear=25, happy=69, sadness=28, surprise=83)


def ckplus_like_index(seed: int = 0) -> pd.DataFrame:
    """An index.csv with CK+'s real sizes: 118 labelled subjects, 327 labelled sequences."""
    rng = np.random.default_rng(seed)
    labels = [lab for lab, k in CK_COUNTS.items() for _ in range(k)]
    rng.shuffle(labels)
    subjects = [f"S{s:03d}" for s in range(1, 119)]
    owner = subjects + list(rng.choice(subjects, len(labels) - len(subjects)))
    seq = {}
    rows = []
    for subj, lab in zip(owner, labels):
        seq[subj] = seq.get(subj, 0) + 1
        vid = f"{subj}_{seq[subj]:03d}"
        rows.append(dict(video_id=vid, subject=subj, label=lab, split="", n_frames=int(rng.integers(10, 61)),
                         source=f"cohn-kanade-images/{subj}/{seq[subj]:03d}"))
    return pd.DataFrame(rows)


def afew_like_index() -> pd.DataFrame:
    rows = []
    for split, n in (("train", 120), ("val", 60)):
        for i in range(n):
            rows.append(dict(video_id=f"{split}_{i:06d}", subject=f"{split}_{i:06d}", label=CLASSES_7[i % 7],
                             split=split, n_frames=30, source=f"{split.title()}/x/{i:06d}.avi"))
    return pd.DataFrame(rows)


# -- sampling ---------------------------------------------------------------------------
def test_eval_sampling_takes_segment_centres():
    assert sample_indices(10, 5).tolist() == [1, 3, 5, 7, 9]
    assert sample_indices(5, 5).tolist() == [0, 1, 2, 3, 4]
    assert sample_indices(1, 1).tolist() == [0]
    for length in range(5, 70):
        for n in (3, 5, 6, 9):
            if length < n:
                continue
            idx = sample_indices(length, n)
            edges = (np.arange(n + 1) * length) // n
            assert ((edges[:-1] <= idx) & (idx < edges[1:])).all(), (length, n)


def test_train_sampling_is_one_random_frame_per_segment():
    length, n = 23, 5
    edges = (np.arange(n + 1) * length) // n
    seen = set()
    for s in range(300):
        idx = sample_indices(length, n, np.random.default_rng(s))
        assert ((edges[:-1] <= idx) & (idx < edges[1:])).all()
        seen.update(idx.tolist())
    assert seen == set(range(length)), "every frame can be drawn"
    a = sample_indices(length, n, np.random.default_rng([1, 2, 3]))
    assert np.array_equal(a, sample_indices(length, n, np.random.default_rng([1, 2, 3])))


def test_short_clips_repeat_frames():
    assert sample_indices(3, 5).tolist() == [0, 0, 1, 2, 2]
    assert sample_indices(1, 5).tolist() == [0] * 5
    assert sample_indices(3, 5, np.random.default_rng(0)).tolist() == [0, 0, 1, 2, 2]
    with pytest.raises(ValueError):
        sample_indices(0, 5)


# -- protocols ----------------------------------------------------------------------------
def test_ck7_protocol_is_every_labelled_sequence():
    index = ckplus_like_index()
    clips, classes = make_clips(index, "ck+7")
    assert classes == CLASSES_CK7 and len(clips) == 327
    assert all(c.start == 0 and c.end == n for c, n in zip(clips, index.sort_values("video_id")["n_frames"]))


def test_paper_protocol_drops_contempt_and_adds_one_onset_neutral_clip_per_subject():
    index = ckplus_like_index()
    clips, classes = make_clips(index, "paper")
    assert classes == CLASSES_7
    neutral = [c for c in clips if c.label == "neutral"]
    assert len(clips) == 327 - 18 + 118 and len(neutral) == 118
    assert "contempt" not in {c.label for c in clips}
    by_id = index.set_index("video_id")
    for c in neutral:
        first = index[index["subject"] == c.subject].sort_values("video_id").iloc[0]
        assert c.video_id == first["video_id"] and c.clip_id == c.video_id + "#neutral"
        m = int(by_id.loc[c.video_id, "n_frames"])
        assert (c.start, c.end) == (0, max(3, math.ceil(m / 3)))
    assert len({c.clip_id for c in clips}) == len(clips), "clip ids are unique"
    assert onset_length(2) == 2 and onset_length(7) == 3 and onset_length(30) == 10


def test_a_subject_whose_first_sequence_is_too_short_gets_no_neutral_clip():
    """A first sequence of <= 3 frames would be its own onset: the neutral clip would be the very
    frames of the expressive clip. The subject keeps its expressive clips, the skip is counted."""
    index = pd.DataFrame([
        dict(video_id="S001_001", subject="S001", label="happy", split="", n_frames=3, source="a"),
        dict(video_id="S001_002", subject="S001", label="anger", split="", n_frames=12, source="b"),
        dict(video_id="S002_001", subject="S002", label="contempt", split="", n_frames=2, source="c"),
        dict(video_id="S003_001", subject="S003", label="fear", split="", n_frames=4, source="d"),
    ])
    with pytest.warns(UserWarning, match=r"2 subject\(s\) without a neutral clip.*S001_001, S002_001"):
        clips, _ = make_clips(index, "paper")
    assert [(c.clip_id, c.label, c.start, c.end) for c in clips] == [
        ("S001_001", "happy", 0, 3), ("S001_002", "anger", 0, 12), ("S003_001", "fear", 0, 4),
        ("S003_001#neutral", "neutral", 0, 3)]


def test_unlabelled_rows_are_ignored_by_the_protocols():
    index = ckplus_like_index()
    extra = index.iloc[:5].assign(video_id=lambda d: d["video_id"] + "x", label="")
    clips, _ = make_clips(pd.concat([index, extra]), "ck+7")
    assert len(clips) == 327


# -- folds ---------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", ["paper", "ck+7"])
@pytest.mark.parametrize("k", [5, 10])
def test_ckplus_folds_are_subject_disjoint(protocol, k):
    clips, classes = make_clips(ckplus_like_index(), protocol)
    tested = []
    for fold in range(k):
        train, val, test = split_clips(clips, protocol, folds=k, fold=fold, val_fraction=0.15, seed=0)
        subj = [{clips[i].subject for i in part} for part in (train, val, test)]
        assert not subj[0] & subj[1] and not subj[0] & subj[2] and not subj[1] & subj[2]
        assert len(train) + len(val) + len(test) == len(clips)
        assert 0.08 < len(val) / (len(train) + len(val)) < 0.25
        assert {clips[i].label for i in test} == set(classes), "stratified: every class in every test fold"
        tested += test.tolist()
    assert sorted(tested) == list(range(len(clips))), "every clip is tested exactly once"


def test_folds_depend_on_the_seed_only():
    clips, _ = make_clips(ckplus_like_index(), "paper")
    a = split_clips(clips, "paper", 5, 2, 0.15, seed=0)
    b = split_clips(clips, "paper", 5, 2, 0.15, seed=0)
    c = split_clips(clips, "paper", 5, 2, 0.15, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[2], c[2])


def test_afew_test_is_val_and_validation_is_carved_from_train():
    clips, classes = make_clips(afew_like_index(), "afew")
    train, val, test = split_clips(clips, "afew", val_fraction=0.15, seed=0)
    assert {clips[i].split for i in test} == {"val"} and len(test) == 60
    assert {clips[i].split for i in np.concatenate([train, val])} == {"train"}
    assert not {clips[i].subject for i in train} & {clips[i].subject for i in val}
    assert 12 <= len(val) <= 24


def test_too_few_subjects_for_k_folds():
    index = ckplus_like_index()
    index = index[index["subject"].isin(["S001", "S002", "S003"])]
    clips, _ = make_clips(index, "ck+7")
    with pytest.raises(DataError, match="10-fold cross-validation needs at least 10 subjects; the data have 3"):
        split_clips(clips, "ck+7", folds=10)


def test_afew_protocol_on_a_ckplus_index():
    with pytest.raises(DataError, match="split train/val"):
        make_clips(ckplus_like_index(), "afew")


# -- the prepared root and ClipDataset ---------------------------------------------------------
def write_prepared(root, videos: dict[str, int], size: int = 40, labels=None):
    """A minimal prepared root: frames whose pixels encode (video, frame) and an index.csv."""
    rows = []
    for v, (vid, n) in enumerate(videos.items()):
        folder = root / "frames" / vid
        folder.mkdir(parents=True)
        for k in range(n):
            rgb = np.zeros((size, size, 3), np.uint8)
            rgb[:, :, 0] = 10 * k  # red encodes the source frame
            rgb[:, :, 1] = 40 * v
            rgb[:, : size // 2, 2] = 200  # left half blue, to see flips
            cv2.imwrite(str(folder / f"{k + 1:05d}.jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        label = (labels or {}).get(vid, CLASSES_CK7[v % 7])
        rows.append(dict(video_id=vid, subject=f"S{v:03d}", label=label, split="", n_frames=n, source=vid))
    pd.DataFrame(rows).to_csv(root / "index.csv", index=False)
    return root


def dataset(root, train=False, n=5, size=40, seed=0):
    clips, classes = make_clips(load_index(root), "ck+7")
    return ClipDataset(root, clips, classes, n=n, image_size=size, train=train, seed=seed)


IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # torchvision's


def denorm(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x * std + mean) * 255


def test_eval_items_follow_the_contract_and_map_to_source_frames(tmp_path):
    root = write_prepared(tmp_path, {"S000_001": 12, "S001_001": 3})
    ds = dataset(root)
    item = ds[0]
    assert set(item) >= {"frames", "label", "video_id", "frame_indices", "index"}
    x = item["frames"]
    assert x.shape == (5, 3, 40, 40) and x.dtype == torch.float32
    assert item["frame_indices"].dtype == torch.long and item["frame_indices"].tolist() == [1, 3, 5, 8, 10]
    assert item["video_id"] == "S000_001" and item["index"] == 0 and item["label"] == 0
    red = denorm(x)[:, 0].mean(dim=(1, 2))
    np.testing.assert_allclose(red.numpy(), 10 * item["frame_indices"].numpy(), atol=3)
    short = ds[1]
    assert short["frame_indices"].tolist() == [0, 0, 1, 2, 2] and short["label"] == 1
    assert torch.equal(ds[0]["frames"], x), "evaluation is deterministic"
    assert ds.labels == [0, 1]


def test_training_randomness_depends_on_seed_epoch_and_index_only(tmp_path):
    root = write_prepared(tmp_path, {f"S{v:03d}_001": 20 for v in range(4)})
    ds = dataset(root, train=True, size=32)
    first = [ds[i] for i in range(4)]
    again = [ds[i] for i in reversed(range(4))][::-1]
    for a, b in zip(first, again):
        assert torch.equal(a["frames"], b["frames"]) and torch.equal(a["frame_indices"], b["frame_indices"])
    loader = DataLoader(ds, batch_size=2, num_workers=2, shuffle=False)
    batched = torch.cat([b["frames"] for b in loader])
    assert torch.equal(batched, torch.stack([f["frames"] for f in first])), "worker count changes nothing"
    ds.set_epoch(1)
    moved = [ds[i] for i in range(4)]
    assert any(not torch.equal(a["frame_indices"], b["frame_indices"]) for a, b in zip(first, moved))
    other_seed = dataset(root, train=True, size=32, seed=7)
    assert any(not torch.equal(a["frames"], other_seed[i]["frames"]) for i, a in enumerate(first))


def test_training_augmentation_is_one_crop_and_flip_per_clip(tmp_path):
    root = write_prepared(tmp_path, {"S000_001": 20})
    ds = dataset(root, train=True, size=40)
    flips = set()
    for epoch in range(12):
        ds.set_epoch(epoch)
        x = denorm(ds[0]["frames"])
        blue_left = x[:, 2, :, :10].mean(dim=(1, 2))
        blue_right = x[:, 2, :, -10:].mean(dim=(1, 2))
        left_marked = blue_left > blue_right
        assert left_marked.all() or (~left_marked).all(), "all frames of a clip flip together"
        flips.add(bool(left_marked[0]))
        assert x.shape == (5, 3, 40, 40)
    assert flips == {True, False}


def test_unknown_label_in_index_names_the_row(tmp_path):
    write_prepared(tmp_path, {"S000_001": 3, "S001_001": 3}, labels={"S001_001": "bored"})
    with pytest.raises(DataError, match=r"index.csv: row 3 \(S001_001\): unknown label 'bored'"):
        load_index(tmp_path)


def write_latin1_index(root):
    """A prepared root whose index.csv was saved again in Latin-1 (a subject named José); returns the
    offset of the first byte that is not UTF-8, the ``é``."""
    write_prepared(root, {"S000_001": 3, "S001_001": 3})
    text = (root / "index.csv").read_text(encoding="utf-8").replace("S001,", "José,", 1)
    (root / "index.csv").write_bytes(text.encode("latin-1"))
    return text.encode("latin-1").index(b"\xe9")


def test_an_index_that_is_not_utf8_is_one_line_naming_the_file(tmp_path):
    offset = write_latin1_index(tmp_path)
    with pytest.raises(DataError) as caught:
        load_index(tmp_path)
    assert str(caught.value) == (f"{tmp_path / 'index.csv'}: not UTF-8 text (byte 0xe9 at offset {offset}); "
                                 "write it again with fsa prep")


@pytest.mark.parametrize("video_id", ["../../x/frames/S000_001", "/etc", "S000/001", "..", ".", "a\\b"])
def test_a_video_id_that_leaves_the_frames_folder_is_refused(tmp_path, video_id):
    write_prepared(tmp_path, {"S000_001": 3, "S001_001": 3})
    df = pd.read_csv(tmp_path / "index.csv", dtype=str, keep_default_na=False)
    df.loc[1, "video_id"] = video_id
    df.to_csv(tmp_path / "index.csv", index=False)
    where = rf"index.csv: row 3 \({re.escape(video_id)}\)"
    with pytest.raises(DataError, match=rf"{where}: video_id .* is not a folder name"):
        load_index(tmp_path)


def test_not_a_prepared_root(tmp_path):
    with pytest.raises(DataError, match="not a prepared dataset \\(no index.csv"):
        load_index(tmp_path)
    write_prepared(tmp_path, {"S000_001": 3})
    (tmp_path / "frames" / "S000_001" / "00002.jpg").unlink()
    with pytest.raises(DataError, match="00002.jpg: prepared frame missing"):
        dataset(tmp_path, n=3)[0]
    for p in (tmp_path / "frames" / "S000_001").iterdir():
        p.unlink()
    (tmp_path / "frames" / "S000_001").rmdir()
    with pytest.raises(DataError, match="frames/S000_001: frame folder of S000_001 missing"):
        dataset(tmp_path)
    (tmp_path / "frames").rmdir()
    with pytest.raises(DataError, match="missing frames folder"):
        load_index(tmp_path)
    with pytest.raises(DataError, match="not found"):
        load_index(tmp_path / "nowhere")
    with pytest.raises(DataError, match="'data' is empty"):
        build_datasets(Config(data=""))


def test_bad_n_frames_and_missing_columns(tmp_path):
    write_prepared(tmp_path, {"S000_001": 3})
    df = pd.read_csv(tmp_path / "index.csv")
    df.assign(n_frames="many").to_csv(tmp_path / "index.csv", index=False)
    with pytest.raises(DataError, match="row 2 \\(S000_001\\): n_frames 'many'"):
        load_index(tmp_path)
    df.drop(columns=["subject"]).to_csv(tmp_path / "index.csv", index=False)
    with pytest.raises(DataError, match="missing column\\(s\\) subject"):
        load_index(tmp_path)


def test_index_hash_identifies_the_index(tmp_path):
    write_prepared(tmp_path, {"S000_001": 3})
    h = index_hash(tmp_path)
    assert len(h) == 12 and int(h, 16) >= 0 and index_hash(tmp_path) == h
    (tmp_path / "index.csv").write_text((tmp_path / "index.csv").read_text().replace(",3,", ",2,"))
    assert index_hash(tmp_path) != h
    assert load_intensity(tmp_path) is None


# -- on the prepared smoke sets -----------------------------------------------------------------
@pytest.mark.parametrize("layout, protocol", [("ckplus", "paper"), ("ckplus", "ck+7"), ("afew", "afew")])
def test_build_datasets_on_smoke_sets(smoke_prepared, layout, protocol):
    root = smoke_prepared(layout)
    cfg = Config(dataset=layout, data=str(root), protocol=protocol, n=5, image_size=48, fold=1)
    splits = build_datasets(cfg)
    assert splits.classes == (CLASSES_CK7 if protocol == "ck+7" else CLASSES_7)
    parts = (splits.train, splits.val, splits.test)
    subjects = [{c.subject for c in ds.clips} for ds in parts]
    assert all(len(ds) for ds in parts)
    assert not subjects[0] & subjects[1] and not subjects[0] & subjects[2] and not subjects[1] & subjects[2]
    assert splits.train.train and not splits.val.train and not splits.test.train
    item = splits.train[0]
    assert item["frames"].shape == (5, 3, 48, 48) and 0 <= item["label"] < 7
    batch = next(iter(DataLoader(splits.test, batch_size=4)))
    assert batch["frames"].shape == (4, 5, 3, 48, 48) and batch["frame_indices"].shape == (4, 5)


def expected_clips(root, protocol: str) -> dict[str, tuple[str, str, int]]:
    """``{clip_id: (label, video_id, frames)}`` of a protocol, read from ``index.csv`` with the csv
    module and the rules of the paper (§2.1, Table 5) as the fsa.data docstring states them."""
    with open(root / "index.csv", newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: r["video_id"])
    classes = CLASSES_CK7 if protocol == "ck+7" else CLASSES_7
    out, first = {}, {}
    for r in rows:
        if not r["label"] or (protocol == "afew" and r["split"] not in ("train", "val")):
            continue
        first.setdefault(r["subject"], r)
        if r["label"] in classes and not (protocol == "paper" and r["label"] == "neutral"):
            out[r["video_id"]] = (r["label"], r["video_id"], int(r["n_frames"]))
    if protocol == "paper":  # one neutral clip per subject: the onset of its first labelled sequence
        for r in first.values():
            m = int(r["n_frames"])
            out[r["video_id"] + "#neutral"] = ("neutral", r["video_id"], min(m, max(3, math.ceil(m / 3))))
    return out


@pytest.mark.parametrize("layout, protocol", [("ckplus", "paper"), ("ckplus", "ck+7"), ("afew", "afew")])
def test_every_item_of_every_split_carries_its_index_label(smoke_prepared, layout, protocol):
    """Label integrity: the label an item gives the loss is its clip's label in ``index.csv``,
    its frames come from its own video in their order, and the splits hold each clip once."""
    root = smoke_prepared(layout)
    expected = expected_clips(root, protocol)
    splits = build_datasets(Config(dataset=layout, data=str(root), protocol=protocol, n=5, image_size=32))
    seen = []
    for part in (splits.train, splits.val, splits.test):
        for i in range(len(part)):
            item = part[i]
            label, video_id, frames = expected[item["clip_id"]]
            assert splits.classes[item["label"]] == label, (item["clip_id"], splits.classes[item["label"]], label)
            assert part.labels[i] == item["label"]
            indices = item["frame_indices"].tolist()
            assert item["video_id"] == video_id and 0 <= indices[0] and indices[-1] < frames
            assert indices == sorted(indices), f"{item['clip_id']}: frames out of order {indices}"
            seen.append(item["clip_id"])
    assert sorted(seen) == sorted(expected)
    if protocol == "paper":
        assert sum(c.endswith("#neutral") for c in seen) == len({c.split("_")[0] for c in seen})


def test_uncached_frames_give_identical_tensors(smoke_prepared, monkeypatch):
    """Frames read from disk for every item (``CACHE_BYTES`` = 0) and frames kept in memory give the
    same tensors, in evaluation and with the training augmentation. At 24 px the 64 px crops are
    reduced when read (to 2 x 24), which both paths must do alike."""
    root = smoke_prepared("ckplus")
    clips, classes = make_clips(load_index(root), "paper")
    clips = clips[:6]
    for train in (False, True):
        monkeypatch.setattr(fsa.data, "FRAMES", fsa.data.FrameCache())
        cached = ClipDataset(root, clips, classes, n=5, image_size=24, train=train, seed=3)
        uncached = ClipDataset(root, clips, classes, n=5, image_size=24, train=train, seed=3)
        for epoch in (0, 1):
            cached.set_epoch(epoch)
            uncached.set_epoch(epoch)
            for i in range(len(clips)):
                a = cached[i]
                with monkeypatch.context() as m:
                    m.setattr(fsa.data, "FRAMES", fsa.data.FrameCache())
                    m.setattr(fsa.data, "CACHE_BYTES", 0)
                    b = uncached[i]
                    assert not fsa.data.FRAMES.frames, "the uncached path kept a frame"
                assert torch.equal(a["frames"], b["frames"]) and torch.equal(a["frame_indices"], b["frame_indices"])
        assert fsa.data.FRAMES.frames, "the cached path kept the frames it read"


def test_frames_are_decoded_once_per_process_and_again_when_their_file_changes(smoke_prepared, monkeypatch,
                                                                                 tmp_path):
    """A second dataset on the same prepared root (another split, the next run) reads no frame file
    again; a frame file rewritten since it was read is read again, not served stale."""

    root = Path(shutil.copytree(smoke_prepared("ckplus"), tmp_path / "prepared"))  # a frame is rewritten
    clips, classes = make_clips(load_index(root), "paper")
    monkeypatch.setattr(fsa.data, "FRAMES", fsa.data.FrameCache())
    reads = []
    imread = cv2.imread
    monkeypatch.setattr(fsa.data.cv2, "imread", lambda path, *a: reads.append(path) or imread(path, *a))
    first = ClipDataset(root, clips[:3], classes, n=5, image_size=24)
    item = first[0]
    assert reads and len(reads) == len(set(reads))
    reads.clear()
    again = ClipDataset(root, clips[:3], classes, n=5, image_size=24)[0]
    assert reads == [] and torch.equal(again["frames"], item["frames"])
    path = fsa.data.frame_path(root, clips[0].video_id, int(item["frame_indices"][0]))
    img = imread(str(path), cv2.IMREAD_COLOR)
    cv2.imwrite(str(path), 255 - img)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    changed = ClipDataset(root, clips[:3], classes, n=5, image_size=24)[0]
    assert reads == [str(path)] and not torch.equal(changed["frames"], item["frames"])


def test_wrong_dataset_for_a_prepared_root(smoke_prepared):
    with pytest.raises(DataError, match="prepared from 'ckplus' data, but the config says dataset='afew'"):
        build_datasets(Config(dataset="afew", protocol="afew", data=str(smoke_prepared("ckplus"))))


def test_frame_indices_map_attention_to_the_true_intensity(smoke_prepared):
    root = smoke_prepared("ckplus")
    intensity = load_intensity(root)
    index = load_index(root)
    assert set(intensity) == set(index["video_id"])
    for row in index.itertuples():
        arr = intensity[row.video_id]
        assert len(arr) == row.n_frames and not np.isnan(arr).any() and ((0 <= arr) & (arr <= 1)).all()
    splits = build_datasets(Config(dataset="ckplus", data=str(root), protocol="ck+7", n=5, image_size=32))
    for i in range(len(splits.test)):
        item = splits.test[i]
        values = intensity[item["video_id"]][item["frame_indices"].numpy()]
        assert np.all(np.diff(values) >= 0), "CK+ sequences go from neutral to apex"
        assert values[-1] > values[0]
