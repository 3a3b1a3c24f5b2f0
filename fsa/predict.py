"""``fsa predict``: a raw video → faces → n frames → expression probabilities and attention.

Steps: OpenCV counts the video's frames (:func:`data_prep.video.frame_count`, a decoding pass that
keeps none); the video is cut into windows; in each window n frames are picked with the evaluation rule of the datasets
(:func:`fsa.data.sample_indices`: the centres of n equal segments); the face pipeline
(:class:`data_prep.faces.FacePipeline`, dlib, 25 % margin, 224 px — the ``data_prep`` defaults)
aligns and crops those n frames; the crops are resized to the checkpoint's input size and
normalised by its config's ``input_norm``, through the function :class:`fsa.data.ClipDataset` uses in
evaluation (:func:`fsa.data.frames_tensor`); the model rebuilt from the checkpoint's own config gives
class probabilities and the frame attention.

Windows: a clip of the length the models are trained on (AFEW clips last 1–5 s, CK+
sequences 10–60 frames) is one window, predicted exactly as in evaluation. A longer video is
cut into ``round(duration / window_s)`` equal consecutive windows (``window_s`` = 3 s by
default), one prediction each, and the video's probabilities are the mean over windows. A
window in which no face is found is reported and skipped; a video without any face is an error.

Only the sampled frames go through the face pipeline, so the cost grows with the number of
windows, not with the video's length in frames.
"""
from __future__ import annotations

import math
import os
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from data_prep.faces import FacePipeline, NoFaceError
from data_prep.video import frame_count, iter_frames, video_fps

from .checkpoint import load_model
from .config import Config, ConfigError
from .data import frames_tensor, sample_indices
from .distributed import resolve_device
from .models.memory_format import format_input, set_memory_format
from .plots import prediction_figure, save_figure, windows_to_draw

#: Crop side and margin of the face pipeline (``data_prep.prepare`` defaults).
CROP_SIZE, MARGIN = 224, 0.25
DEFAULT_WINDOW_S = 3.0


def window_bounds(n_frames: int, fps: float, window_s: float) -> list[tuple[int, int]]:
    """``[start, end)`` frame ranges of ``round(duration / window_s)`` (≥ 1) equal windows."""
    count = max(1, int(round(n_frames / fps / window_s)))
    count = min(count, n_frames)
    edges = (np.arange(count + 1) * n_frames) // count
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def sampled_frames(video: str | os.PathLike, plan: Sequence[np.ndarray]) -> Iterator[list[np.ndarray]]:
    """Per window of ``plan`` (its sampled frame indices; windows consecutive and increasing),
    the frames at those indices, read in one pass that holds only the current window's frames."""
    wanted = sorted({int(k) for idx in plan for k in idx})
    stream = zip(wanted, iter_frames(video, wanted))
    for idx in plan:
        frames = dict(islice(stream, len(set(idx.tolist()))))
        yield [frames[int(k)] for k in idx]


def to_input(crops: list[np.ndarray], cfg: Config) -> torch.Tensor:
    """RGB uint8 crops → ``[1, n, 3, S, S]`` float, as the evaluation datasets of ``cfg`` (the
    checkpoint's config: its ``image_size`` and ``input_norm``) build it."""
    return frames_tensor(crops, cfg.image_size, cfg.input_norm)[None]


def window_scores(model: torch.nn.Module, cfg: Config, device: torch.device, fmt: torch.memory_format,
                  crops: list[np.ndarray]) -> tuple[np.ndarray, list[float] | None]:
    """One window's class probabilities (float64, summing to 1) and frame attention (``None`` for
    a model without one), from its aligned crops."""
    with torch.no_grad():
        out = model(format_input(to_input(crops, cfg).to(device), fmt))
    probs = torch.softmax(out.logits.float(), dim=1)[0].cpu().numpy().astype(np.float64)
    probs /= probs.sum()
    att = out.attention[0].float().cpu().numpy().tolist() if out.attention is not None else None
    return probs, att


def _predict_windows(video: Path, n_frames: int, fps: float, n: int, window_s: float,
                     pipeline: FacePipeline, score: Callable, classes: list[str]
                     ) -> tuple[list[dict], list[dict], list[dict]]:
    """Every window's entry in the result, the windows skipped for want of a face, and the
    panels of the figure (:func:`fsa.plots.windows_to_draw`'s windows, a skipped one handing its
    place to the next with a face). ``score`` maps a window's crops to :func:`window_scores`.
    The video is read once, one window's sampled frames at a time."""
    bounds = window_bounds(n_frames, fps, window_s)
    plan = [start + sample_indices(end - start, n) for start, end in bounds]
    to_draw = set(windows_to_draw(len(plan)))
    windows, skipped, drawn = [], [], []
    draw_next = False
    for i, ((start, end), idx, frames) in enumerate(zip(bounds, plan, sampled_frames(video, plan))):
        draw_next = draw_next or i in to_draw
        try:
            track = pipeline.process(frames, source=f"{video} frames {start}-{end - 1}")
        except NoFaceError:
            skipped.append({"start_frame": start, "end_frame": end - 1, "reason": "no face found"})
            continue
        probs, att = score(track.crops)
        times = [float(k) / fps for k in idx]
        top = int(probs.argmax())
        windows.append({
            "start_frame": start, "end_frame": end - 1,
            "start_s": round(start / fps, 3), "end_s": round((end - 1) / fps, 3),
            "probabilities": {c: float(p) for c, p in zip(classes, probs)},
            "top_class": classes[top],
            "top_probability": float(probs[top]),
            "frames": [
                {"frame_index": int(k), "time_s": round(t, 3),
                 "attention": float(att[j]) if att is not None else None, "face": track.methods[j]}
                for j, (k, t) in enumerate(zip(idx, times))
            ],
        })
        if draw_next:
            drawn.append({"crops": track.crops, "attention": att, "frame_indices": [int(k) for k in idx],
                          "times": times, "probs": probs, "label": f"{start / fps:.1f}-{end / fps:.1f} s"})
            draw_next = False
    return windows, skipped, drawn


def predict_video(video: str | os.PathLike, checkpoint: str | os.PathLike, n: int | None = None,
                  out_dir: str | os.PathLike | None = None, window_s: float = DEFAULT_WINDOW_S,
                  device: str = "auto", expect_model: str | None = None,
                  pipeline: FacePipeline | None = None) -> dict:
    """Predict the expression of a raw video; returns the JSON-ready dict (see the CLI help).

    ``n`` defaults to the checkpoint's n. With ``out_dir`` the figure is written to
    ``<out_dir>/<video stem>.predict.png`` and its path is in the result.
    """
    if n is not None and n < 1:
        raise ConfigError(f"n={n!r}: a clip needs at least one frame")
    if not 0 < window_s < math.inf:
        raise ConfigError(f"window={window_s!r}: the window length must be a finite number of seconds > 0")
    dev = resolve_device(device)
    model, cfg, ckpt = load_model(checkpoint, dev, expect_model=expect_model)
    score = partial(window_scores, model, cfg, dev, set_memory_format(model, dev, train=False))
    classes = list(ckpt["classes"])
    n = n or cfg.n
    video = Path(video)
    n_frames = frame_count(video)
    fps = video_fps(video)
    pipeline = pipeline or FacePipeline(size=CROP_SIZE, margin=MARGIN)
    windows, skipped, drawn = _predict_windows(video, n_frames, fps, n, window_s, pipeline, score, classes)
    if not windows:
        raise NoFaceError(f"{video}: no face found in any sampled frame ({len(skipped)} window(s) tried)")

    mean = np.mean([list(w["probabilities"].values()) for w in windows], axis=0)
    mean /= mean.sum()
    top = int(mean.argmax())
    result = {
        "video": str(video),
        "checkpoint": str(checkpoint),
        "model": cfg.model.name,
        "classes": classes,
        "n": n,
        "fps": fps,
        "n_frames": n_frames,
        "duration_s": round(n_frames / fps, 3),
        "window_s": window_s,
        "probabilities": {c: float(p) for c, p in zip(classes, mean)},
        "top_class": classes[top],
        "top_probability": float(mean[top]),
        "windows": windows,
        "skipped_windows": skipped,
        "png": None,
    }
    if out_dir is not None:
        title = f"{video.name}: {classes[top]} ({mean[top]:.2f}) — {cfg.model.name}"
        fig = prediction_figure(drawn, classes, title=title)
        result["png"] = str(save_figure(fig, Path(out_dir) / f"{video.stem}.predict.png"))
    return result
