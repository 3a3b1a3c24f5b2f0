"""Synthetic CK+/AFEW generator: formats, labels, intensities, detectability, AU geometry, determinism."""
from __future__ import annotations

import csv
import hashlib
import re
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest
from sklearn.model_selection import StratifiedGroupKFold

from conftest import generate_smoke, read_video
from data_prep import facs, synth
from data_prep.synth.conditions import CLASSIC

SEED = 7


@pytest.fixture(scope="module")
def ck(tmp_path_factory) -> Path:
    return generate_smoke(tmp_path_factory, "ckplus", SEED)


@pytest.fixture(scope="module")
def afew(tmp_path_factory) -> Path:
    """The smoke AFEW under the ``classic`` conditions, whose knobs these tests pin down (the wild
    ``afew7``, the embedded AFEW's, is tested in ``test_synth_conditions.py``)."""
    out = tmp_path_factory.mktemp("afew") / "afew"
    synth.generate("afew", out, size="smoke", seed=SEED, workers=2, progress=False, cond=CLASSIC)
    return out


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def intensities(root: Path) -> dict[str, np.ndarray]:
    rows = defaultdict(list)
    for r in read_csv(root / "synth_intensity.csv"):
        rows[r["video_id"]].append((int(r["frame"]), float(r["intensity"])))
    return {k: np.array([t for _, t in sorted(v)]) for k, v in rows.items()}


def ck_frames(root: Path, video_id: str) -> list[Path]:
    subject, seq = video_id.split("_")
    return sorted((root / "cohn-kanade-images" / subject / seq).glob("*.png"))


def afew_path(root: Path, row: dict) -> Path:
    folder = "Train" if row["split"] == "train" else "Val"
    return root / folder / synth.AFEW_FOLDERS[row["label"]] / f"{row['video_id'].split('_', 1)[1]}.avi"


def detected(gray: np.ndarray) -> bool:
    """A face found by dlib's HOG detector at the original size or upsampled once."""
    detector = synth._dlib_models()[0]
    return bool(detector(gray, 0)) or bool(detector(gray, 1))


def face_geometry(lm: np.ndarray) -> dict[str, float]:
    """Landmark measures in IOD units of an upright frame centred between the eye corners."""
    a, b = lm[[36, 39]].mean(0), lm[[42, 45]].mean(0)
    v = b - a
    iod = np.hypot(*v)
    ex = v / iod
    ey = np.array([-ex[1], ex[0]])
    d = lm - (a + b) / 2
    n = np.c_[d @ ex, d @ ey] / iod
    return dict(corner_up=-(n[48, 1] + n[54, 1]) / 2, mouth_width=n[54, 0] - n[48, 0],
                brow_up=-n[17:27, 1].mean(), inner_brow_up=-(n[21, 1] + n[22, 1]) / 2,
                inner_brow_gap=n[22, 0] - n[21, 0], mouth_open=n[66, 1] - n[62, 1], chin_down=n[8, 1],
                right_corner_up=-n[48, 1], left_corner_up=-n[54, 1])


def geometry_change(first: np.ndarray, last: np.ndarray) -> dict[str, float]:
    g0, g1 = (face_geometry(synth.detect_landmarks(g, 0)) for g in (first, last))
    return {k: g1[k] - g0[k] for k in g0}


# --------------------------------------------------------------------------- the AU table
def test_facs_table_is_complete_and_symmetric():
    assert set(facs.EXPRESSIONS) == set(synth.CK_CODES)
    for label, aus in facs.EXPRESSIONS.items():
        for code in aus:
            assert code.lstrip("RL") in facs.ACTION_UNITS, (label, code)
    for au in facs.ACTION_UNITS.values():
        assert au.name and au.muscles and au.meaning
        d = facs.au_displacement(au.code)
        # Bilateral AUs are mirror-symmetric: the partner point moves with opposite x.
        np.testing.assert_allclose(d[facs.MIRROR] * [-1, 1], d, atol=1e-12)
    assert not facs.class_displacement("neutral").any()


def test_facs_directions_in_face_frame():
    up = lambda d, i: -d[i, 1]  # noqa: E731  (y points down)
    happy, surprise = facs.class_displacement("happy"), facs.class_displacement("surprise")
    assert up(happy, 48) > 0.05 and up(happy, 54) > 0.05
    assert happy[54, 0] - happy[48, 0] > 0.1  # corners pulled outwards
    assert min(up(surprise, i) for i in range(17, 27)) > 0.0
    assert surprise[66, 1] - surprise[62, 1] > 0.15 and surprise[8, 1] > 0.15
    anger = facs.class_displacement("anger")
    assert anger[21, 1] > 0.05 and anger[22, 1] > 0.05 and anger[22, 0] - anger[21, 0] < -0.1
    sad = facs.class_displacement("sadness")
    assert up(sad, 48) < -0.05 and up(sad, 54) < -0.05
    # Contempt is unilateral: only the subject's right lip corner (image left) moves.
    contempt = facs.class_displacement("contempt")
    assert up(contempt, 48) > 0.05 and not contempt[[54, 53, 55, 64, 65]].any()


def test_piecewise_affine_map_carries_points():
    rng = np.random.default_rng(0)
    h, w = 120, 160
    src = np.vstack([rng.uniform([20, 20], [140, 100], (12, 2)), synth._border_points(h, w)])
    dst = src + np.r_[rng.normal(0, 3, (12, 2)), np.zeros((len(src) - 12, 2))]
    mx, my = synth.piecewise_affine_map(dst, src, (h, w))
    ij = np.round(dst[:12]).astype(int)
    np.testing.assert_allclose(mx[ij[:, 1], ij[:, 0]], src[:12, 0], atol=1.5)
    np.testing.assert_allclose(my[ij[:, 1], ij[:, 0]], src[:12, 1], atol=1.5)
    ix, iy = synth.piecewise_affine_map(src, src, (h, w))
    gy, gx = np.mgrid[0:h, 0:w]
    np.testing.assert_allclose(ix, gx, atol=1e-3)
    np.testing.assert_allclose(iy, gy, atol=1e-3)


# --------------------------------------------------------------------------- CK+ layout
def test_ckplus_layout_and_labels(ck):
    meta = read_csv(ck / "synth_meta.csv")
    assert [r["video_id"] for r in meta] == sorted(r["video_id"] for r in meta)
    assert len(meta) == 8 * 7 + 4
    unlabelled = 0
    for r in meta:
        assert re.fullmatch(r"S\d{3}_\d{3}", r["video_id"]) and r["video_id"].startswith(r["subject"] + "_")
        assert r["split"] == ""
        frames = ck_frames(ck, r["video_id"])
        n = int(r["n_frames"])
        assert 10 <= n <= 14 and len(frames) == n
        assert [f.name for f in frames] == [f"{r['video_id']}_{k:08d}.png" for k in range(1, n + 1)]
        emotion = sorted((ck / "Emotion" / r["subject"] / r["video_id"][-3:]).glob("*_emotion.txt"))
        if not r["label"]:
            unlabelled += 1
            assert emotion == []
            continue
        assert [e.name for e in emotion] == [f"{r['video_id']}_{n:08d}_emotion.txt"]
        text = emotion[0].read_text()
        assert re.fullmatch(r"   \d\.0000000e\+00\n", text)
        assert int(float(text)) == synth.CK_CODES[r["label"]]
    assert unlabelled == 4
    img = cv2.imread(str(ck_frames(ck, meta[0]["video_id"])[0]), cv2.IMREAD_UNCHANGED)
    assert img.dtype == np.uint8 and img.shape == (490, 640)  # grayscale, CK+ size


def test_ckplus_folds_have_every_class(ck):
    labelled = [r for r in read_csv(ck / "synth_meta.csv") if r["label"]]
    labels = np.array([r["label"] for r in labelled])
    groups = [r["subject"] for r in labelled]
    assert len(set(groups)) >= 5 and set(labels) == set(synth.CK_CLASSES)
    for train, test in StratifiedGroupKFold(5, shuffle=True, random_state=0).split(labels, labels, groups):
        assert set(labels[train]) == set(labels[test]) == set(synth.CK_CLASSES)


def test_ckplus_intensity_ramps_to_apex(ck):
    meta = {r["video_id"]: r for r in read_csv(ck / "synth_meta.csv")}
    ints = intensities(ck)
    assert set(ints) == set(meta)
    for vid, t in ints.items():
        assert len(t) == int(meta[vid]["n_frames"])
        assert t[0] == 0.0 and 0.7 <= t[-1] <= 1.0 and t[-1] == t.max()
        assert np.all(np.diff(t) >= 0)


def test_ckplus_faces_detected(ck):
    files = sorted((ck / "cohn-kanade-images").glob("*/*/*.png"))
    sample = np.random.default_rng(0).choice(len(files), 60, replace=False)
    rate = np.mean([detected(cv2.imread(str(files[i]), cv2.IMREAD_GRAYSCALE)) for i in sample])
    assert rate >= 0.95, f"dlib found a face in {rate:.0%} of sampled CK+ frames"


def test_ckplus_expressions_move_landmarks(ck):
    """dlib's landmarks on the neutral and apex frames move the way the AUs say."""
    changes = defaultdict(list)
    for r in read_csv(ck / "synth_meta.csv"):
        if r["label"] in ("happy", "surprise", "anger", "sadness", "contempt"):
            frames = ck_frames(ck, r["video_id"])
            first, last = (cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in (frames[0], frames[-1]))
            changes[r["label"]].append(geometry_change(first, last))

    def mean(label, key):
        return float(np.mean([c[key] for c in changes[label]]))

    def share(label, key, sign):
        return float(np.mean([sign * c[key] > 0 for c in changes[label]]))

    assert mean("happy", "corner_up") > 0.025 and share("happy", "corner_up", +1) >= 0.75
    assert mean("happy", "mouth_width") > 0.03 and share("happy", "mouth_width", +1) >= 0.75
    assert mean("surprise", "brow_up") > 0.04 and share("surprise", "brow_up", +1) >= 0.75
    assert mean("surprise", "mouth_open") > 0.06 and share("surprise", "mouth_open", +1) >= 0.75
    assert mean("surprise", "chin_down") > 0.1 and share("surprise", "chin_down", +1) >= 0.75
    assert mean("anger", "inner_brow_up") < -0.03 and share("anger", "inner_brow_up", -1) >= 0.75
    assert mean("anger", "inner_brow_gap") < -0.02  # dlib's brows are coarse: the mean only
    assert mean("sadness", "corner_up") < -0.015 and share("sadness", "corner_up", -1) >= 0.75
    asym = [c["right_corner_up"] - c["left_corner_up"] for c in changes["contempt"]]
    assert np.mean(asym) > 0.015 and np.mean(np.array(asym) > 0) >= 0.75


# --------------------------------------------------------------------------- AFEW layout
def test_afew_layout_splits_and_videos(afew):
    meta = read_csv(afew / "synth_meta.csv")
    assert len(meta) == 28
    assert sorted(p.name for p in afew.iterdir()) == ["README.txt", "Train", "Val", "synth_intensity.csv",
                                                      "synth_meta.csv"]
    for split in ("Train", "Val"):
        assert sorted(p.name for p in (afew / split).iterdir()) == sorted(synth.AFEW_FOLDERS.values())
    counts = Counter((r["split"], r["label"]) for r in meta)
    assert all(counts[("train", c)] == 3 and counts[("val", c)] == 1 for c in synth.AFEW_CLASSES)
    subjects = {s: {r["subject"] for r in meta if r["split"] == s} for s in ("train", "val")}
    assert subjects["train"] and subjects["val"] and not subjects["train"] & subjects["val"]
    for r in meta:
        assert re.fullmatch(r"(train|val)_\d{9}", r["video_id"]) and r["video_id"].startswith(r["split"] + "_")
        frames = read_video(afew_path(afew, r))
        assert len(frames) == int(r["n_frames"]) and 12 <= len(frames) <= 16
        assert frames[0].shape == (288, 360, 3)
        assert np.abs(frames[0][..., 0].astype(int) - frames[0][..., 2]).mean() > 2  # colour, not gray


def test_afew_apex_is_a_short_stretch_at_a_random_place(afew):
    meta = {r["video_id"]: r for r in read_csv(afew / "synth_meta.csv")}
    ints = intensities(afew)
    peaks = []
    for vid, t in ints.items():
        assert len(t) == int(meta[vid]["n_frames"]) and t.min() >= 0 and t.max() <= 1
        if meta[vid]["label"] == "neutral":
            assert not t.any()
            continue
        assert 0.7 <= t.max() <= 1.0 and t[0] == 0.0
        assert np.mean(t < 0.1) >= 0.25  # many frames carry (almost) no expression
        assert np.mean(t >= 0.9 * t.max()) <= 0.5
        peaks.append(np.argmax(t) / len(t))
    assert np.std(peaks) > 0.1


def test_afew_faces_detected(afew):
    grays = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for p in sorted(afew.glob("*/*/*.avi")) for f in read_video(p)]
    sample = np.random.default_rng(0).choice(len(grays), 150, replace=False)
    rate = np.mean([detected(grays[i]) for i in sample])
    assert rate >= 0.80, f"dlib found a face in {rate:.0%} of sampled AFEW frames"


def test_afew_expressions_move_landmarks(afew):
    """On the wild clips too: surprise opens the mouth and raises the brows at the apex frame."""
    ints = intensities(afew)
    changes = []
    for r in read_csv(afew / "synth_meta.csv"):
        if r["label"] == "surprise":
            frames = read_video(afew_path(afew, r))
            t = ints[r["video_id"]]
            first, apex = (cv2.cvtColor(frames[k], cv2.COLOR_BGR2GRAY) for k in (0, int(np.argmax(t))))
            changes.append(geometry_change(first, apex))
    assert np.mean([c["mouth_open"] for c in changes]) > 0.06
    assert np.mean([c["brow_up"] for c in changes]) > 0.03


# --------------------------------------------------------------------------- CLI, determinism
def hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_afew_regenerated_identically_with_force(afew, tmp_path):
    out = tmp_path / "again"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    assert synth.main(["--layout", "afew", "--size", "smoke", "--seed", str(SEED), "--out", str(out),
                       "--workers", "1", "--force", "--conditions", "classic"]) == 0
    assert hashes(out) == hashes(afew)  # same seed, other worker count: same bytes
    assert not list(tmp_path.glob("*.tmp-*"))


def test_ckplus_subject_rerendered_identically(ck, tmp_path):
    plan = synth.plan_ckplus("smoke", SEED)[2]
    synth.render_subject("ckplus", tmp_path, SEED, plan)
    again = hashes(tmp_path)
    original = hashes(ck)
    assert again and all(original[k] == v for k, v in again.items())
    assert [s.name for s in synth.plan_ckplus("smoke", SEED + 1)] != [s.name for s in synth.plan_ckplus("smoke", SEED)]


def test_readme_says_synthetic(ck, afew):
    for root, layout in ((ck, "ckplus"), (afew, "afew")):
        text = (root / "README.txt").read_text()
        assert text.startswith("SYNTHETIC DATA") and f"--layout {layout} --size smoke --seed {SEED}" in text


def test_readme_names_the_generator(ck, afew):
    for root in (ck, afew):
        lines = [line for line in (root / "README.txt").read_text().splitlines() if line.startswith("generator:")]
        assert lines == [f"generator: {synth.generator_fingerprint()}"]
        assert re.fullmatch(r"[0-9a-f]{12}", synth.readme_fingerprint(root))


def test_fingerprint_reads_every_generator_module_and_photo():
    package = Path(synth.__file__).parents[1]
    inputs = dict(synth.generator_inputs())
    code = {f"synth/{p.name}" for p in (package / "synth").glob("*.py")} | {"facs.py"}
    assert set(inputs) == code | {f"photo/{key}" for key in synth.SOURCES}
    assert list(inputs)[:len(code)] == sorted(code)
    assert all(inputs[name] == package / name for name in code)
    assert all(inputs[f"photo/{key}"] == s.path() for key, s in synth.SOURCES.items())


@pytest.mark.parametrize("edited", ["synth/appearance.py", "facs.py", "photo/astronaut"])
def test_fingerprint_changes_with_the_bytes_of_an_input(edited, tmp_path, monkeypatch):
    from data_prep.synth import fingerprint

    copies = []
    for name, path in synth.generator_inputs():
        copy = tmp_path / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
        copies.append((name, copy))
    assert fingerprint.fingerprint(copies) == synth.generator_fingerprint()  # same names and bytes elsewhere
    data = bytearray((tmp_path / edited).read_bytes())
    data[len(data) // 2] ^= 1  # one bit, the length kept
    (tmp_path / edited).write_bytes(bytes(data))
    monkeypatch.setattr(fingerprint, "generator_inputs", lambda: copies)
    fingerprint.generator_fingerprint.cache_clear()
    changed = synth.generator_fingerprint()
    monkeypatch.undo()
    fingerprint.generator_fingerprint.cache_clear()
    assert re.fullmatch(r"[0-9a-f]{12}", changed) and changed != synth.generator_fingerprint()


@pytest.mark.parametrize("argv", [
    ["--layout", "celeba", "--out", "x"],
    ["--layout", "afew", "--size", "huge", "--out", "x"],
    ["--layout", "afew"],
    ["--layout", "afew", "--out", "x", "--workers", "0"],
])
def test_cli_rejects_bad_parameters(argv, capsys):
    with pytest.raises(SystemExit) as e:
        synth.main(argv)
    assert e.value.code == 2
    assert "error" in capsys.readouterr().err


def test_cli_refuses_non_empty_out(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit) as e:
        synth.main(["--layout", "ckplus", "--size", "smoke", "--out", str(tmp_path)])
    assert e.value.code == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


# --------------------------------------------------------------------------- source photos
def faces_in_margin(gray: np.ndarray, margin: int, inner: tuple[int, int]) -> int:
    """HOG detections whose centre lies outside the ``inner`` (h, w) area that starts at ``margin``."""
    centres = [((r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2) for r in synth._dlib_models()[0](gray, 0)]
    return sum(not (margin <= x < margin + inner[1] and margin <= y < margin + inner[0]) for x, y in centres)


def test_every_source_photo_is_found_credited_and_read_by_dlib():
    photos = {p.name: p for p in synth.load_sources()}
    assert list(photos) == list(synth.SOURCES) and len({s.person for s in synth.SOURCES.values()}) >= 3
    readme = "\n".join(synth.readme_faces())
    for name, source in synth.SOURCES.items():
        path = source.path()
        assert path.is_file() and path.as_posix().endswith(source.file)
        assert source.person in readme and source.licence in readme and source.file in readme
        photo = photos[name]
        raw = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        lm = synth.detect_landmarks(cv2.cvtColor(raw, cv2.COLOR_RGB2GRAY))
        # The landmarks moved with the margin (those of a smile with teeth also to its neutral face,
        # which leaves the nose bridge where it was and moves the eye corners by under half a pixel).
        kept = [27, 28, 29, 30, 36, 39, 42, 45] if source.teeth else slice(None)
        m = round(float(photo.landmarks[27, 0] - lm[27, 0]))
        assert np.allclose(photo.landmarks[kept] - lm[kept], m, rtol=0, atol=0.5 if source.teeth else 1e-9)
        if not source.teeth:  # the photo sits unchanged inside its margin
            assert np.array_equal(photo.image[m:m + raw.shape[0], m:m + raw.shape[1]], raw)
        assert faces_in_margin(cv2.cvtColor(photo.image, cv2.COLOR_RGB2GRAY), m, raw.shape[:2]) == 0


def test_a_missing_source_photo_names_the_package_or_the_file():
    with pytest.raises(FileNotFoundError, match="no_such_package_zz.*not installed"):
        synth.Source("X", "no-such-package", "no_such_package_zz/x.jpg", "MIT", {}, False).load()
    missing = synth.Source("X", "mahotas", "mahotas/demos/data/nobody.jpg", "MIT", {}, False)
    with pytest.raises(FileNotFoundError, match=r"demos/data/nobody\.jpg.*missing or unreadable"):
        missing.load()


def test_the_photo_margin_hides_the_mirrored_face():
    """A plain mirror of luispedro.jpg around it repeats his face; the blurred margin does not."""
    gray = cv2.cvtColor(synth.SOURCES["luispedro"].load(), cv2.COLOR_RGB2GRAY)
    m = gray.shape[1]
    assert faces_in_margin(cv2.copyMakeBorder(gray, m, m, m, m, cv2.BORDER_REFLECT_101), m, gray.shape) >= 1
    photo = next(p for p in synth.load_sources() if p.name == "luispedro")
    pad = round(float(photo.landmarks[0, 0] - synth.detect_landmarks(gray)[0, 0]))
    assert faces_in_margin(cv2.cvtColor(photo.image, cv2.COLOR_RGB2GRAY), pad, gray.shape) == 0


def test_subjects_take_every_photo_in_turn_on_both_sides_of_the_split(ck, afew):
    for root in (ck, afew):
        meta = read_csv(root / "synth_meta.csv")
        photo_of = defaultdict(set)
        for r in meta:
            photo_of[r["subject"]].add(r["photo"])
        assert all(len(p) == 1 for p in photo_of.values())  # a subject is one person
        splits = {r["split"] for r in meta}
        for split in splits:
            subjects = {r["subject"] for r in meta if r["split"] == split}
            assert {next(iter(photo_of[s])) for s in subjects} == set(synth.SOURCES)
    ck_subjects = sorted({r["subject"] for r in read_csv(ck / "synth_meta.csv")})
    photos = [next(iter({r["photo"] for r in read_csv(ck / "synth_meta.csv") if r["subject"] == s}))
              for s in ck_subjects]
    assert photos == [list(synth.SOURCES)[i % len(synth.SOURCES)] for i in range(len(ck_subjects))]
