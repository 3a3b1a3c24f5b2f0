"""Synthetic FER2013 / SFEW still images: formats, crops, apexes, splits, subjects, determinism."""
from __future__ import annotations

import csv
import hashlib
import math
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import generate_smoke
from data_prep import synth
from data_prep.faces import FacePipeline
from data_prep.synth import stills
from data_prep.synth.conditions import AFEW7, CLASSIC

SEED = 7
#: FER2013's emotion codes as its README gives them, against the canonical class names.
FER_CODE = {"anger": 0, "disgust": 1, "fear": 2, "happy": 3, "sadness": 4, "surprise": 5, "neutral": 6}
#: AFEW's / SFEW's class folders.
SFEW_FOLDER = {"anger": "Angry", "disgust": "Disgust", "fear": "Fear", "happy": "Happy", "neutral": "Neutral",
               "sadness": "Sad", "surprise": "Surprise"}
USAGES = ["Training", "PublicTest", "PrivateTest"]


@pytest.fixture(scope="module")
def fer(tmp_path_factory) -> Path:
    return generate_smoke(tmp_path_factory, "fer2013", SEED)


@pytest.fixture(scope="module")
def sfew(tmp_path_factory) -> Path:
    return generate_smoke(tmp_path_factory, "sfew", SEED)


@pytest.fixture(scope="module")
def pipeline() -> FacePipeline:
    return FacePipeline(use_cnn=False)


def read_meta(root: Path) -> list[dict]:
    with open(root / "synth_meta.csv", newline="") as f:
        return list(csv.DictReader(f))


def hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def dlib_landmarks(pipeline: FacePipeline, gray: np.ndarray) -> np.ndarray | None:
    det = pipeline.detect(gray)
    return None if det is None else pipeline.landmarks(gray, det[0])


# --------------------------------------------------------------------------- FER2013
def test_fer2013_csv_is_the_distributed_format(fer):
    assert sorted(p.name for p in fer.iterdir()) == ["README.txt", "fer2013.csv", "synth_meta.csv"]
    with open(fer / "fer2013.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["emotion", "pixels", "Usage"]
    meta = read_meta(fer)
    assert len(rows) - 1 == len(meta) == 7 * 6
    for k, (row, m) in enumerate(zip(rows[1:], meta), 1):
        assert len(row) == 3 and int(m["row"]) == k
        emotion, pixels, usage = row
        values = pixels.split(" ")
        assert len(values) == 48 * 48 and all(v.isdigit() and 0 <= int(v) <= 255 for v in values)
        assert emotion == str(FER_CODE[m["label"]]) and usage == m["split"]
    usages = [r[2] for r in rows[1:]]
    assert set(usages) == set(USAGES)
    assert usages == sorted(usages, key=USAGES.index)  # Training rows first, as in the real file
    for usage in USAGES:
        assert {r[0] for r in rows[1:] if r[2] == usage} == {str(c) for c in range(7)}
    subjects = {u: {m["subject"] for m in meta if m["split"] == u} for u in USAGES}
    assert all(subjects.values()) and not any(subjects[a] & subjects[b] for a in USAGES for b in USAGES if a < b)


def test_fer2013_crops_frame_the_face_like_the_face_pipeline(fer, pipeline):
    """dlib finds the face in the crops, centred, eyes level, its box 1 / 1.25 of the crop (25 % margin)."""
    with open(fer / "fer2013.csv", newline="") as f:
        crops = [np.array(r["pixels"].split(), np.uint8).reshape(48, 48) for r in csv.DictReader(f)]
    found = []
    for crop in crops:
        lm = dlib_landmarks(pipeline, cv2.resize(crop, (192, 192), interpolation=cv2.INTER_CUBIC))
        if lm is None:
            continue
        centre = lm.mean(0)
        side = 2.75 * math.sqrt(((lm - centre) ** 2).sum(1).mean())
        eyes = lm[42:48].mean(0) - lm[36:42].mean(0)
        found.append((*(centre / 192 - 0.5), side / 192, math.degrees(math.atan2(eyes[1], eyes[0]))))
    assert len(found) >= 0.8 * len(crops), f"dlib found {len(found)} of {len(crops)} faces"
    dx, dy, side, angle = np.array(found).T
    # Per image (90 % of them), so that a crop that misses the head-pose jitter is caught.
    assert np.percentile(np.abs(dx), 90) < 0.03 and np.percentile(np.abs(dy), 90) < 0.03
    assert np.percentile(np.abs(angle), 90) < 2
    assert abs(np.median(side) - 1 / 1.25) < 0.03


def test_stills_are_at_their_apex(fer, sfew):
    for root in (fer, sfew):
        for m in read_meta(root):
            t = float(m["intensity"])
            assert t == 0.0 if m["label"] == "neutral" else 0.7 <= t <= 1.0, m


# --------------------------------------------------------------------------- SFEW
def test_sfew_layout_images_and_alignment(sfew, pipeline):
    assert sorted(p.name for p in sfew.iterdir()) == ["README.txt", "Train", "Val", "synth_meta.csv"]
    for split in ("Train", "Val"):
        assert sorted(p.name for p in (sfew / split).iterdir()) == sorted(SFEW_FOLDER.values())
    meta = read_meta(sfew)
    files = sorted(str(p.relative_to(sfew)) for p in sfew.glob("*/*/*"))
    assert files == sorted(m["path"] for m in meta) and len(files) == 7 * 4
    detected = 0
    for m in meta:
        split, folder, name = m["path"].split("/")
        assert split == m["split"] and folder == SFEW_FOLDER[m["label"]] and name.endswith(".png")
        img = cv2.imread(str(sfew / m["path"]), cv2.IMREAD_UNCHANGED)
        assert img is not None and img.dtype == np.uint8 and img.shape == (288, 360, 3)
        assert np.abs(img[..., 0].astype(int) - img[..., 2]).mean() > 2  # colour, not grey
        detected += pipeline.detect(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)) is not None
    assert detected >= 0.8 * len(meta)
    counts = Counter((m["split"], m["label"]) for m in meta)
    assert all(counts[("Train", c)] == 3 and counts[("Val", c)] == 1 for c in SFEW_FOLDER)
    subjects = {s: {m["subject"] for m in meta if m["split"] == s} for s in ("Train", "Val")}
    assert subjects["Train"] and subjects["Val"] and not subjects["Train"] & subjects["Val"]


def test_sfew_surprise_opens_the_mouth(sfew, pipeline):
    """The expression is shown: dlib's inner-lip gap (IOD units) is wider on surprise than on neutral."""
    gaps = {"surprise": [], "neutral": []}
    for m in read_meta(sfew):
        if m["label"] in gaps:
            lm = dlib_landmarks(pipeline, cv2.imread(str(sfew / m["path"]), cv2.IMREAD_GRAYSCALE))
            if lm is not None:
                iod = np.hypot(*(lm[42:48].mean(0) - lm[36:42].mean(0)))
                gaps[m["label"]].append(np.mean(np.hypot(*(lm[[65, 66, 67]] - lm[[63, 62, 61]]).T)) / iod)
    assert len(gaps["surprise"]) >= 3 and len(gaps["neutral"]) >= 3
    assert np.mean(gaps["surprise"]) > np.mean(gaps["neutral"]) + 0.05


# --------------------------------------------------------------------------- determinism, CLI
@pytest.mark.parametrize("layout", ["fer2013", "sfew"])
def test_regenerated_identically_with_one_worker(layout, fer, sfew, tmp_path, capsys):
    out = tmp_path / layout
    assert synth.main(["--layout", layout, "--size", "smoke", "--seed", str(SEED), "--out", str(out), "-j", "1"]) == 0
    assert "images" in capsys.readouterr().out
    assert hashes(out) == hashes(fer if layout == "fer2013" else sfew)


def test_readme_says_synthetic(fer, sfew):
    for root, layout in ((fer, "fer2013"), (sfew, "sfew")):
        text = (root / "README.txt").read_text()
        assert text.startswith("SYNTHETIC DATA") and f"--layout {layout} --size smoke --seed {SEED}" in text
        assert f"\ngenerator: {synth.generator_fingerprint()}\n" in text


# --------------------------------------------------------------------------- wild conditions
@pytest.fixture(scope="module")
def wild_stills(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wild-stills")
    for layout in synth.STILL_LAYOUTS:
        assert synth.main(["--layout", layout, "--size", "smoke", "--seed", str(SEED), "--out", str(out / layout),
                           "-j", "1", "--conditions", "afew7"]) == 0
    return out


def test_stills_made_under_wild_conditions_are_other_images_of_the_same_plan(fer, sfew, wild_stills):
    from data_prep.sidecars import generator_conditions

    for layout, classic in (("fer2013", fer), ("sfew", sfew)):
        wild = wild_stills / layout
        plan = [[(r.get("row") or r["path"], r["subject"], r["label"], r["split"]) for r in read_meta(root)]
                for root in (classic, wild)]
        assert plan[0] == plan[1]
        readme = (wild / "README.txt").read_text()
        assert "--conditions afew7\n" in readme and "missed=0.0, cuts=0.0" in readme, "a still takes no time knob"
        assert generator_conditions(wild) == "afew7" and generator_conditions(classic) is None
        changed = {k for k, v in hashes(wild).items() if hashes(classic).get(k) != v}
        assert changed >= ({"fer2013.csv"} if layout == "fer2013" else {r["path"] for r in read_meta(wild)})
    intensity = [float(r["intensity"]) for r in read_meta(wild_stills / "fer2013") if r["label"] != "neutral"]
    assert min(intensity) < synth.APEX[0] and all(0.6 <= x <= 1.0 for x in intensity), "the subtle knob's apexes"
    plan = stills.PLANNERS["sfew"]("smoke", SEED)[0]
    yaw = {c.name: [abs(scene.yaw) for _, scene in stills._scenes("sfew", SEED, plan, c)] for c in (CLASSIC, AFEW7)}
    assert max(yaw["classic"]) == 0 and max(yaw["afew7"]) > 5, "the wild stream's knobs (pose) reach the stills"


def test_wild_stills_are_other_data_to_the_identity_rule(fer, sfew, wild_stills, tmp_path):
    from data_prep.stills import align_stills, read_stills

    classic, wild = read_stills("fer2013", fer), read_stills("fer2013", wild_stills / "fer2013")
    assert [s.still_id for s in classic.items] == [s.still_id for s in wild.items], "FER2013's rows have no ids"
    assert (classic.conditions, wild.conditions) == (None, "afew7")
    assert wild.data_hash() != classic.data_hash()
    aligned = align_stills(read_stills("sfew", wild_stills / "sfew"), tmp_path / "aligned")
    assert read_stills("sfew", tmp_path / "aligned").conditions == aligned.conditions == "afew7"
    assert read_stills("sfew", sfew).conditions is None


# --------------------------------------------------------------------------- plans and subjects
def subject_vector(s: synth.Subject) -> np.ndarray:
    return np.r_[float(s.flip), s.shape_k, s.aspect, s.gamma, s.contrast, s.tint, s.light]


def test_still_subjects_are_not_ckplus_or_afew_subjects():
    """Same seed, every size: no still subject has the name or the drawn shape/tone of a subject of
    another layout (CK+, AFEW, or the other still layout)."""
    subjects = {}
    for size in synth.SIZE_NAMES:
        for layout in synth.VIDEO_LAYOUTS:
            for p in synth.PLANNERS[layout](size, SEED):
                # As the CK+ / AFEW renderers draw their subjects.
                rng = synth.random_stream(SEED, layout, synth.SUBJECT_STREAM, p.index)
                subjects[(layout, p.name)] = synth.Subject.draw(rng, p.index)
        for layout in synth.STILL_LAYOUTS:
            for p in stills.PLANNERS[layout](size, SEED):
                subjects[(layout, p.name)] = stills.draw_subject(layout, SEED, p.index)
    names = {layout: {n for (lay, n) in subjects if lay == layout} for layout in synth.LAYOUTS}
    assert all(names.values()) and sum(map(len, names.values())) == len({n for _, n in subjects})
    videos = [s.source.name for (lay, _), s in subjects.items() if lay in synth.VIDEO_LAYOUTS]
    assert {s.source.name for s in subjects.values()} == set(videos)  # same two people
    keys = list(subjects)
    vectors = np.array([subject_vector(subjects[k])[1:] for k in keys])  # shape and tone draws
    layouts = np.array([lay for lay, _ in keys])
    for i, (layout, name) in enumerate(keys):
        if layout in synth.STILL_LAYOUTS:
            other = layouts != layout
            # The smallest difference to any subject of another layout.
            assert np.abs(vectors[other] - vectors[i]).max(1).min() > 1e-6, (layout, name)


@pytest.mark.parametrize("layout, splits, per_class, shares", [
    ("fer2013", USAGES, (300, 400), (0.8, 0.1, 0.1)),
    ("sfew", ["Train", "Val"], (100, 150), (2 / 3, 1 / 3)),
])
def test_default_plan_has_every_class_in_every_split(layout, splits, per_class, shares):
    plans = stills.PLANNERS[layout]("default", SEED)
    images = [v for p in plans for v in p.videos]
    assert len({v.video_id for v in images}) == len(images)
    assert layout == "fer2013" or len({v.path for v in images}) == len(images)
    assert sorted(v.index for v in images) == list(range(len(images)))
    counts = Counter((v.split, v.label) for v in images)
    classes = set(SFEW_FOLDER)
    assert {v.label for v in images} == classes and {v.split for v in images} == set(splits)
    for c in classes:
        total = sum(counts[(s, c)] for s in splits)
        assert per_class[0] <= total <= per_class[1], (c, total)
        for s, share in zip(splits, shares):
            assert abs(counts[(s, c)] / total - share) < 0.02, (s, c)
    for p in plans:
        assert len({v.split for v in p.videos}) == 1 and all(v.subject == p.name for v in p.videos)
    if layout == "fer2013":  # row order: by Usage, classes mixed within a Usage
        order = [v.split for v in sorted(images, key=lambda v: v.video_id)]
        assert order == sorted(order, key=USAGES.index)
        assert len(set(v.label for v in sorted(images, key=lambda v: v.video_id)[:20])) > 3
