"""Streaming video: ``fsa predict`` and ``prepare`` read frames as they go, so their memory stays
flat in the video's length; frames are counted by decoding, not from the container's header.

The memory tests run each command in a fresh process on a generated video of two lengths (160x120
frames of a real face photograph, MJPG) and compare the peak resident set sizes of the commands
themselves: the peak is reset after the imports (Linux ``/proc/self/clear_refs``), whose own peak
would otherwise hide what the command holds.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from conftest import REPO, face_clip, read_video, write_avi
from data_prep.faces import FacePipeline
from data_prep.video import VideoReadError, frame_count, iter_frames
from fsa.checkpoint import save_checkpoint
from fsa.config import CLASSES_7
from fsa.models import build_model
from fsa.predict import predict_video, sampled_frames
from fsa.spec import make_config

SIZE = (160, 120)  # frame width x height
#: Allowed growth of the peak RSS between the short and the long video. Holding the long video's
#: extra frames would cost at least 5x this (checked in each test).
GROWTH_LIMIT_MB = 10

PEAK_RSS = """
import re, sys
from pathlib import Path
{imports}
Path("/proc/self/clear_refs").write_text("5")  # the peak RSS restarts from the current RSS
{call}
print(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
"""


def write_long_video(path: Path, photos: dict, frames: int, fps: float = 25.0) -> Path:
    """A ``frames``-long MJPG AVI of a face drifting back and forth, written one frame at a time.

    The face stays well inside the frame, where dlib's HOG finds it: a frame that needs the CNN
    detector would load that detector's buffers, the same whatever the video's length.
    """
    cycle = face_clip(photos, 0, 8, size=SIZE)
    cycle += cycle[::-1]
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, SIZE)
    for t in range(frames):
        writer.write(cv2.cvtColor(cycle[t % len(cycle)], cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def peak_rss_mb(imports: str, call: str, *args: str) -> float:
    """Peak resident set size (MB) of ``call`` (with ``sys.argv[1:]`` = ``args``) in a fresh Python
    process, counted from after ``imports``."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", PEAK_RSS.format(imports=imports, call=call), *args], cwd=REPO,
                          env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[-1]) / 1024  # Linux reports kB


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    cfg = make_config("ecnn-fsa", "smoke", width=0.0625)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("stream-ckpt") / "best.pt"
    save_checkpoint(path, model=build_model(cfg.model), cfg=cfg, classes=list(CLASSES_7), epoch=0)
    return path


def test_frames_are_counted_by_decoding_not_from_the_header(tmp_path, face_photos):
    path = write_avi(tmp_path / "clip.avi", face_clip(face_photos, 0, 40, size=SIZE))
    cut = tmp_path / "cut.avi"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # the header still says 40 frames
    cap = cv2.VideoCapture(str(cut))
    header = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    reference = read_video(cut, rgb=True)
    assert header == 40 and 0 < len(reference) < 40
    assert frame_count(path) == 40 and frame_count(cut) == len(reference)


def test_iter_frames_yields_the_requested_frames_only(tmp_path, face_photos, write_ckplus_raw):
    path = write_avi(tmp_path / "clip.avi", face_clip(face_photos, 1, 30, size=SIZE))
    reference = read_video(path, rgb=True)
    wanted = [0, 3, 4, 17, 29]
    got = list(iter_frames(path, wanted))
    assert len(got) == len(wanted)
    for k, frame in zip(wanted, got):
        np.testing.assert_array_equal(frame, reference[k])
    assert len(list(iter_frames(path))) == 30
    with pytest.raises(VideoReadError, match="clip.avi: .*frame 30"):
        list(iter_frames(path, [2, 30]))
    with pytest.raises(ValueError, match="increasing"):
        list(iter_frames(path, [4, 3]))
    folder = write_ckplus_raw(tmp_path / "ck", subjects=1, seqs=1, frames=6) / "cohn-kanade-images/S010/001"
    pngs = sorted(folder.glob("*.png"))
    assert frame_count(folder) == 6
    for k, frame in zip([1, 5], iter_frames(folder, [1, 5])):
        gray = cv2.imread(str(pngs[k]), cv2.IMREAD_GRAYSCALE)
        np.testing.assert_array_equal(frame, np.stack([gray] * 3, axis=-1))


def test_sampled_frames_gives_each_window_its_frames(tmp_path, face_photos):
    """Windows read in one pass, a window shorter than n repeating frames as sample_indices does."""
    path = write_avi(tmp_path / "clip.avi", face_clip(face_photos, 1, 30, size=SIZE))
    reference = read_video(path, rgb=True)
    plan = [np.array([0, 0, 1, 2, 2]), np.array([10, 12, 14]), np.array([29])]
    windows = list(sampled_frames(path, plan))
    assert [len(w) for w in windows] == [5, 3, 1]
    for idx, frames in zip(plan, windows):
        for k, frame in zip(idx, frames):
            np.testing.assert_array_equal(frame, reference[k])


def test_streamed_alignments_give_the_crops_of_the_whole_clip(face_photos):
    frames = face_clip(face_photos, 2, 8, size=SIZE)
    frames[3] = np.full_like(frames[3], 90)  # a frame without a face: interpolated
    pipeline = FacePipeline(size=64)
    track = pipeline.process(frames)
    methods, aligns = pipeline.alignments(iter(frames))
    assert methods == track.methods and methods[3] == "interpolated"
    for frame, al, crop in zip(frames, aligns, track.crops):
        np.testing.assert_array_equal(pipeline.crop(frame, al), crop)


def test_predict_on_a_truncated_video_uses_the_frames_that_decode(tmp_path, face_photos, checkpoint):
    path = write_avi(tmp_path / "clip.avi", face_clip(face_photos, 0, 200, size=SIZE))
    cut = tmp_path / "cut.avi"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size * 3 // 4])
    n = len(read_video(cut, rgb=True))
    res = predict_video(cut, checkpoint, device="cpu")
    assert res["n_frames"] == n < 200
    assert res["windows"][-1]["end_frame"] == n - 1


@pytest.mark.slow
def test_predict_memory_does_not_grow_with_the_video_length(tmp_path, face_photos, checkpoint):
    short, long = 500, 2500  # 20 s and 100 s at 25 fps: 7 and 33 windows of 3 s
    peaks = [peak_rss_mb("from fsa.predict import predict_video",
                         "predict_video(sys.argv[1], sys.argv[2], device='cpu')",
                         str(write_long_video(tmp_path / f"{n}.avi", face_photos, n)), str(checkpoint))
             for n in (short, long)]
    extra_mb = (long - short) * SIZE[0] * SIZE[1] * 3 / 2**20
    assert extra_mb > 5 * GROWTH_LIMIT_MB
    assert peaks[1] - peaks[0] < GROWTH_LIMIT_MB, f"peak RSS {peaks[0]:.0f} MB -> {peaks[1]:.0f} MB"


@pytest.mark.slow
def test_prepare_memory_does_not_grow_with_the_video_length(tmp_path, face_photos):
    short, long = 250, 1500
    peaks = []
    for n in (short, long):
        raw = tmp_path / f"raw{n}"
        write_long_video(raw / "Train" / "Happy" / "000001.avi", face_photos, n)
        peaks.append(peak_rss_mb("from data_prep.prepare import prepare",
                                 "r = prepare('afew', sys.argv[1], sys.argv[2], size=64, progress=False, "
                                 "allow_missing_split=True); "
                                 "assert r['frames']['total'] == int(sys.argv[3]), r",
                                 str(raw), str(tmp_path / f"out{n}"), str(n)))
    extra_mb = (long - short) * SIZE[0] * SIZE[1] * 3 / 2**20
    assert extra_mb > 5 * GROWTH_LIMIT_MB
    assert peaks[1] - peaks[0] < GROWTH_LIMIT_MB, f"peak RSS {peaks[0]:.0f} MB -> {peaks[1]:.0f} MB"
