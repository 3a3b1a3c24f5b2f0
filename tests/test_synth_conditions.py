"""The embedded AFEW's wild conditions: each knob, switching it off, the clips it makes."""
from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import fields, replace

import numpy as np
import pytest

from data_prep import synth
from data_prep.synth.conditions import AFEW7, CLASSIC, KNOBS, Conditions, conditions
from data_prep.synth.geometry import face_axes, turn_offsets
from data_prep.synth.subjects import Subject
from data_prep.synth.wild import WildScene


@pytest.fixture(scope="module")
def wild(tmp_path_factory):
    out = tmp_path_factory.mktemp("afew7") / "afew"
    synth.generate("afew", out, size="smoke", seed=3, workers=2, progress=False)
    return out


@pytest.fixture(scope="module")
def classic(tmp_path_factory):
    out = tmp_path_factory.mktemp("classic") / "afew"
    synth.generate("afew", out, size="smoke", seed=3, workers=2, progress=False, cond=CLASSIC)
    return out


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("knob", list(KNOBS))
def test_a_knob_switched_off_changes_its_own_fields_only(knob):
    off = AFEW7.without(knob)
    changed = {f.name for f in fields(Conditions) if getattr(off, f.name) != getattr(AFEW7, f.name)}
    assert changed - {"name"} <= set(KNOBS[knob]) and off.name == f"afew7-without-{knob}"
    assert {k: getattr(off, k) for k in KNOBS[knob]} == KNOBS[knob]


def test_every_knob_off_leaves_a_clip_without_difficulty():
    calm = AFEW7.without(*KNOBS)
    assert (calm.talking, calm.yaw, calm.occlusion, calm.missed, calm.cuts, calm.identity, calm.blends) == (0,) * 7
    assert calm.exposure == (1.0, 1.0) and calm.apex == CLASSIC.apex and calm.low_res == (1.0, 1.0)


def test_bad_conditions_are_refused():
    with pytest.raises(ValueError, match="knob 'glare'"):
        conditions("afew7", ("glare",))
    with pytest.raises(ValueError, match="conditions='lab'"):
        conditions("lab")
    with pytest.raises(ValueError, match="talking=1.5"):
        Conditions("x", talking=1.5)
    with pytest.raises(ValueError, match="occluder 'scarf'"):
        Conditions("x", occluders=("scarf",))
    with pytest.raises(ValueError, match=r"ckplus layout \(lab sequences\) takes only classic"):
        synth.generate("ckplus", "/nonexistent", size="smoke", cond=AFEW7)


def test_turning_the_head_foreshortens_the_face_and_moves_the_nose_ahead():
    subject = Subject.draw(np.random.default_rng(0), 0)
    _, lm = subject.render((288, 360), iod=60.0, centre=(180, 150), roll_deg=0.0)
    assert np.abs(turn_offsets(lm, 0.0, 0.0)).max() < 1e-9
    turned = lm + turn_offsets(lm, 35.0, 0.0)
    width = lambda p: np.hypot(*(p[16] - p[0]))  # noqa: E731
    assert width(turned) < 0.92 * width(lm)
    ex, _, _ = face_axes(lm)
    nose = (turned[30] - lm[30]) @ ex
    cheeks = (turned[[2, 14]] - lm[[2, 14]]).mean(0) @ ex
    assert nose > cheeks + 3, "the nose tip, nearer the camera, moves further the way the head turns"
    down = lm + turn_offsets(lm, 0.0, 20.0)
    assert (down[30] - lm[30])[1] > (down[8] - lm[8])[1], "pitched down, the nose drops past the chin"


def test_wild_clips_record_their_conditions_per_frame(wild, classic):
    meta = {r["video_id"]: r for r in rows(wild / "synth_meta.csv")}
    frames = defaultdict(list)
    for r in rows(wild / "synth_conditions.csv"):
        frames[r["video_id"]].append(r)
    assert {v: len(f) for v, f in frames.items()} == {v: int(m["n_frames"]) for v, m in meta.items()}
    every = [r for f in frames.values() for r in f]
    assert all(abs(float(r["yaw"])) <= AFEW7.yaw and abs(float(r["pitch"])) <= AFEW7.pitch for r in every)
    assert {"0", "1"} <= {r["occluded"] for r in every} and "1" in {r["shot"] for r in every}
    for f in frames.values():  # a cut is final: the clip stays in the second shot
        shots = [int(r["shot"]) for r in f]
        assert shots == sorted(shots)
    assert "conditions: afew7" in (wild / "README.txt").read_text()
    assert not (classic / "synth_conditions.csv").exists()
    # Two sets of one plan under other conditions are two datasets to the identity rule.
    classic_meta = rows(classic / "synth_meta.csv")
    assert [r["label"] for r in classic_meta] != [] and not {r["video_id"] for r in classic_meta} & set(meta)
    assert sorted((r["subject"], r["label"], r["n_frames"]) for r in classic_meta) == \
        sorted((m["subject"], m["label"], m["n_frames"]) for m in meta.values())


@pytest.mark.parametrize("knob", ["pose", "occlusion", "illumination", "degradation", "identity", "talking",
                                  "hard light", "low resolution"])
def test_each_knob_changes_the_pixels_it_names(knob):
    subject_rng = lambda: np.random.default_rng(11)  # noqa: E731
    wild_rng = lambda: np.random.default_rng(12)  # noqa: E731
    on = replace(AFEW7, name="on", cuts=0.0, missed=0.0, occlusion=1.0, talking=1.0, identity=1.0, hard_light=1.0)
    parts = {"hard light": dict(hard_light=0.0),
             "low resolution": dict(low_res=(1.0, 1.0))}
    off = replace(on, **parts[knob]) if knob in parts else on.without(knob)

    def clip(cond):
        subject = Subject.draw(subject_rng(), 0, wild_rng(), cond.identity)
        scene = WildScene(np.random.default_rng(5), subject, 6, {"12": 1.0}, lambda r, n: np.full(n, 0.5),
                          cond, np.random.default_rng(6))
        return np.stack([scene.frame(k) for k in range(6)]).astype(float)

    assert np.abs(clip(on) - clip(off)).mean() > 1.0


def test_a_turned_head_is_the_face_the_clip_animates():
    subject = Subject.draw(np.random.default_rng(11), 0)
    scene = WildScene(np.random.default_rng(5), subject, 3, {"12": 1.0}, lambda r, n: np.zeros(n), AFEW7,
                      np.random.default_rng(6))
    vr = np.random.default_rng(5)  # the same first draws: the face's size, place and roll
    h, w = (288, 360)
    _, lm = subject.render((h, w), iod=float(vr.uniform(50, 64)),
                           centre=(w / 2 + vr.uniform(-0.12, 0.12) * w, h / 2 + vr.uniform(-0.05, 0.08) * h),
                           roll_deg=float(vr.uniform(-6, 6)))
    assert 0 < abs(scene.yaw) <= AFEW7.yaw and abs(scene.pitch) <= AFEW7.pitch
    np.testing.assert_allclose(scene.anim.lm, lm + turn_offsets(lm, scene.yaw, scene.pitch))


def test_the_default_afew_is_wild_at_afew_7_0s_size():
    """The embedded AFEW: AFEW 7.0's 773 Train / 383 Val clips, subjects apart, under ``afew7``."""
    videos = [v for s in synth.plan_afew("default", 0) for v in s.videos]
    by_split = {split: [v for v in videos if v.split == split] for split in ("train", "val")}
    assert {split: len(vs) for split, vs in by_split.items()} == {"train": 773, "val": 383}
    assert not {v.subject for v in by_split["train"]} & {v.subject for v in by_split["val"]}
    assert sum(v.label == "happy" for v in by_split["val"]) == 63
    assert synth.default_conditions("afew") == AFEW7 and synth.default_conditions("ckplus") == CLASSIC
