"""fsa.floors: hand-checked descriptors, the frames a floor describes, the deep models' folds, records."""
import json
import math

import cv2
import numpy as np
import pandas as pd
import pytest
from skimage.feature import hog, local_binary_pattern

from conftest import head_commit
from fsa import floors, report
from fsa.cli import main
from fsa.config import ConfigError
from fsa.data import build_datasets, dataset_clips, onset_length
from fsa.floors import FloorConfig, frame_features
from fsa.runs.floors import obtain_floor
from fsa.spec import make_config


# -- descriptors on tiny images, against hand computations ------------------------------------
def test_hog_of_a_vertical_edge_is_one_orientation_in_every_cell():
    # 16x16, dark left half, bright right half: one 2x2-cell block of 8x8-pixel cells. The
    # central differences are 255 in columns 7 and 8 (one per cell column), 0 elsewhere, all at
    # orientation 0 -> every cell's histogram is (m, 0, ..., 0) with the same m; L2 normalising
    # four equal values gives 0.5 each, L2-Hys clips them to 0.2 and renormalises back to 0.5.
    img = np.zeros((16, 16), np.uint8)
    img[:, 8:] = 255
    f = frame_features(img, "hog")
    expected = np.zeros(4 * 9)
    expected[[0, 9, 18, 27]] = 0.5
    np.testing.assert_allclose(f, expected, atol=1e-6)


def test_lbp_histograms_of_a_bright_dot():
    # 8x8 black image, one white pixel at (1, 1), 2x2 grid of 4x4 cells. Every neighbour sample
    # of a black pixel is >= it (outside the image counts as 0): all 8 bits set, uniform code 8.
    # The white pixel's neighbours are all darker (its diagonals interpolate to ~22): code 0.
    img = np.zeros((8, 8), np.uint8)
    img[1, 1] = 255
    f = frame_features(img, "lbp", lbp_grid=2).reshape(4, 10)
    expected = np.zeros((4, 10))
    expected[:, 8] = 1.0
    expected[0, [0, 8]] = [1 / 16, 15 / 16]  # the top-left cell holds the dot
    np.testing.assert_allclose(f, expected)


# -- the frames a floor describes ----------------------------------------------------------------
def write_prepared(root, videos):
    """A prepared root of ``{video_id: (subject, label, split, n_frames)}`` with 32x32 JPEG frames."""
    rng = np.random.default_rng(0)
    rows = []
    for vid, (subject, label, split, m) in videos.items():
        folder = root / "frames" / vid
        folder.mkdir(parents=True)
        for k in range(m):
            img = cv2.GaussianBlur(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), (5, 5), 0)
            cv2.imwrite(str(folder / f"{k + 1:05d}.jpg"), img)
        rows.append(dict(video_id=vid, subject=subject, label=label, split=split, n_frames=m, source="x"))
    pd.DataFrame(rows).to_csv(root / "index.csv", index=False)
    return root


def grey(root, vid, k):
    return cv2.cvtColor(cv2.imread(str(root / "frames" / vid / f"{k + 1:05d}.jpg")), cv2.COLOR_BGR2GRAY)


def test_ckplus_floor_describes_the_apex_frame_and_the_last_onset_frame(tmp_path):
    root = write_prepared(tmp_path, {"S010_001": ("S010", "happy", "", 10), "S011_001": ("S011", "anger", "", 7)})
    fcfg = FloorConfig(features="hog", feature_size=32, data=str(root))
    clips, classes = dataset_clips(fcfg)
    X, frames = floors.clip_features(fcfg, clips, classes)
    expect = {"S010_001": 9, "S011_001": 6,  # apex: the last frame
              "S010_001#neutral": onset_length(10) - 1, "S011_001#neutral": onset_length(7) - 1}
    assert expect["S010_001#neutral"] == 3 and expect["S011_001#neutral"] == 2  # max(3, ceil(m / 3)) frames
    for clip, x, used in zip(clips, X, frames):
        k = expect[clip.clip_id]
        assert used == [k]
        np.testing.assert_allclose(x, hog(grey(root, clip.video_id, k), orientations=9, pixels_per_cell=(8, 8),
                                          cells_per_block=(2, 2), block_norm="L2-Hys"))


def test_afew_floor_averages_the_n_segment_centres(tmp_path):
    root = write_prepared(tmp_path, {"000001": ("000001", "happy", "train", 10),
                                     "000002": ("000002", "anger", "val", 3)})
    fcfg = FloorConfig(features="lbp", feature_size=32, dataset="afew", protocol="afew", n=5, data=str(root))
    clips, classes = dataset_clips(fcfg)
    X, frames = floors.clip_features(fcfg, clips, classes)
    # L = 10, n = 5: segments [0,2) [2,4) ... -> centres 1 3 5 7 9; L = 3 < n: floor((k + .5) * 3 / 5)
    centres = {"000001": [1, 3, 5, 7, 9], "000002": [math.floor((k + 0.5) * 3 / 5) for k in range(5)]}
    assert centres["000002"] == [0, 0, 1, 2, 2]
    for clip, x, used in zip(clips, X, frames):
        assert used == centres[clip.video_id]
        per_frame = []
        for k in used:
            codes = local_binary_pattern(grey(root, clip.video_id, k), 8, 1, method="uniform").astype(int)
            cells = [codes[r:r + 4, c:c + 4] for r in range(0, 32, 4) for c in range(0, 32, 4)]
            per_frame.append(np.concatenate([np.bincount(c.ravel(), minlength=10) / 16 for c in cells]))
        np.testing.assert_allclose(x, np.mean(per_frame, axis=0), atol=1e-6)


def test_the_lbp_top_floor_describes_every_frame_of_the_clip(tmp_path):
    """The EmotiW baseline's descriptor: LBP-TOP of the whole sequence, a 2-frame clip repeated to 3."""
    from fsa.models.lbp import lbp_top

    root = write_prepared(tmp_path, {"000001": ("000001", "happy", "train", 6),
                                     "000002": ("000002", "anger", "val", 2)})
    fcfg = FloorConfig(features="lbp-top", feature_size=32, dataset="afew", protocol="afew", lbp_grid=4,
                       data=str(root))
    clips, classes = dataset_clips(fcfg)
    X, frames = floors.clip_features(fcfg, clips, classes)
    volumes = {"000001": [0, 1, 2, 3, 4, 5], "000002": [0, 1, 0]}
    for clip, x, used in zip(clips, X, frames):
        assert used == list(range(clip.length))
        volume = np.stack([grey(root, clip.video_id, k) for k in volumes[clip.video_id]])
        np.testing.assert_allclose(x, lbp_top(volume, 4))


def test_the_chi2_svm_scales_its_kernel_by_the_training_distances_and_ranks_the_classes():
    rng = np.random.default_rng(0)
    centres = rng.dirichlet(np.ones(6), size=3)
    X = np.concatenate([rng.dirichlet(200 * c, size=8) for c in centres])
    y = np.repeat([0, 1, 2], 8)
    model = floors.Chi2SVM(C=10.0).fit(X, y)
    chi2 = [((a - b) ** 2 / (a + b)).sum() for i, a in enumerate(X) for b in X[i + 1:]]
    assert model.gamma == pytest.approx(1 / np.mean(chi2))
    probs = model.predict_proba(X)
    np.testing.assert_allclose(probs.sum(1), 1.0)
    assert (probs.argmax(1) == y).mean() == 1.0  # three well-separated histogram clusters
    fcfg = FloorConfig.from_config(make_config("ecnn-fsa", "smoke", dataset="afew", protocol="afew", data="x"),
                                   "lbp-top")
    assert (fcfg.lbp_grid, fcfg.c_grid, fcfg.n, fcfg.name) == (floors.TOP_GRID, floors.SVM_C_GRID, 1, "lbp-top-svm")


# -- the deep models' folds; complete, stored, deterministic records -----------------------------
@pytest.fixture(scope="module")
def ck_floor(ck, tmp_path_factory):
    store = tmp_path_factory.mktemp("floor-store")
    cfg = make_config("ecnn-fsa", "smoke", data=str(ck))
    fcfg = FloorConfig.from_config(cfg, "hog", feature_size=32)
    return cfg, fcfg, store, obtain_floor(fcfg, "ckplus-test", results_root=store)


def test_floor_tests_each_fold_on_the_deep_models_test_clips(ck_floor, monkeypatch):
    cfg, fcfg, store, summary = ck_floor
    monkeypatch.setenv("FSA_RESULTS", str(store))
    runs = report.fold_runs(summary)
    assert [r["fold"] for r in runs] == list(range(cfg.folds))
    for k, run in enumerate(runs):
        deep = build_datasets(cfg.override(fold=k))
        assert sorted(c["clip_id"] for c in run["per_clip"]) == sorted(c.clip_id for c in deep.test.clips)
        assert run["n_clips"] == {"train": len(deep.train), "val": len(deep.val), "test": len(deep.test)}
        test_subjects = {c.subject for c in deep.test.clips}
        assert not test_subjects & {c.subject for c in deep.train.clips + deep.val.clips}


def test_floor_record_is_complete_and_read_back(ck_floor, monkeypatch):
    cfg, fcfg, store, summary = ck_floor
    monkeypatch.setenv("FSA_RESULTS", str(store))
    assert summary["kind"] == "floor-folds" and summary["label"] == "HOG + logistic regression (floor)"
    runs = report.fold_runs(summary)
    engine_fields = {"index", "video_id", "clip_id", "label", "pred", "probs", "attention", "frame_indices"}
    for r in runs:
        assert r["kind"] == "floor" and r["git"]["commit"] == head_commit() and r["versions"]["sklearn"]
        assert r["config_hash"] == FloorConfig.from_dict(r["config"]).hash()
        assert r["data_index_hash"] == summary["data_index_hash"] and r["selected_C"] in fcfg.c_grid
        assert len(r["per_clip"]) == r["n_clips"]["test"] == r["metrics"]["n_clips"]
        assert all(set(c) == engine_fields and abs(sum(c["probs"]) - 1) < 1e-4 for c in r["per_clip"])
        chosen = next(s for s in r["c_scores"] if s["C"] == r["selected_C"])  # selected on validation
        assert chosen["val_accuracy"] == max(s["val_accuracy"] for s in r["c_scores"]) == r["val_metrics"]["accuracy"]
        correct = sum(c["pred"] == c["label"] for c in r["per_clip"])
        assert r["metrics"]["accuracy"] == pytest.approx(correct / len(r["per_clip"]))
    pooled = np.sum([r["metrics"]["confusion"] for r in runs], axis=0)
    assert summary["metrics"]["pooled"]["confusion"] == pooled.tolist()
    assert summary["metrics"]["accuracy"]["per_fold"] == [r["metrics"]["accuracy"] for r in runs]
    path = store / "ckplus-test" / f"folds-{summary['folds_hash']}.json"
    path.write_text(json.dumps({**summary, "marker": 1}))
    assert obtain_floor(fcfg, "ckplus-test", results_root=store)["marker"] == 1  # stored: read, not computed
    recomputed = obtain_floor(fcfg, "ckplus-test", retrain=True, results_root=store)
    assert "marker" not in recomputed and "marker" not in json.loads(path.read_text())
    assert json.dumps(recomputed["metrics"]) == json.dumps(summary["metrics"])  # deterministic
    df = report.comparison(4, [summary])
    row = df[df["status"] == "floor"]
    assert row["row"].tolist() == ["HOG + logistic regression (floor)"]
    assert row["CI over"].item() == f"t over {cfg.folds} folds"


def test_probabilities_cover_classes_absent_from_training():
    X = np.array([[0.0], [0.1], [1.0], [1.1]])
    model = floors._fit(X, np.array([0, 0, 2, 2]), 1.0)
    probs = floors.class_probs(model, X, 3)
    assert probs.shape == (4, 3) and (probs[:, 1] == 0).all()
    np.testing.assert_allclose(probs[:, [0, 2]], model.predict_proba(X))
    assert probs.argmax(1).tolist() == [0, 0, 2, 2]


def test_floor_settings_are_checked():
    for bad, match in [(dict(features="sift"), "features='sift'"), (dict(feature_size=8), "feature_size=8"),
                       (dict(c_grid=(0.0,)), "c_grid"), (dict(n=5), "apex")]:
        with pytest.raises(ConfigError, match=match):
            FloorConfig(**bad).validate()


def test_floors_command_fits_once_then_reads_the_store(ck, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FSA_RESULTS", str(tmp_path))
    args = ["floors", "--dataset", "ckplus", "--data", str(ck), "--features", "hog", "--feature-size", "32"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    (path,) = tmp_path.glob(f"ckplus-*/folds-{first['record']}.json")
    summary = json.loads(path.read_text())
    assert summary["kind"] == "floor-folds" and summary["metrics"]["accuracy"] == first["accuracy"]
    summary["metrics"]["accuracy"]["mean"] = 0.5
    path.write_text(json.dumps(summary))
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"]["mean"] == 0.5  # read, not fitted again
    assert main([*args[:-4], "--features", "sift"]) == 1
    assert "features='sift'" in capsys.readouterr().err
