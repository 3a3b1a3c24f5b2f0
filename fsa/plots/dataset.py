"""The dataset page's figures: sample frames, the expressions of the embedded data, their strips
over a clip, and the wild conditions of the embedded AFEW.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .core import NotebookFigure, frame_grid


def sample_figure(root: str | os.PathLike, per_class: int = 1, frames: int = 5):
    """One clip per class of a prepared dataset: ``frames`` evenly spaced aligned face crops."""
    import cv2

    from ..data import frame_path, load_index

    root = Path(root)
    rows = []
    for label, g in load_index(root).groupby("label"):
        for _, v in g.head(per_class).iterrows():
            picks = np.linspace(0, v["n_frames"] - 1, frames).round().astype(int)
            crops = [cv2.cvtColor(cv2.imread(str(frame_path(root, v["video_id"], int(k)))), cv2.COLOR_BGR2RGB)
                     for k in picks]
            rows.append((f"{label}\n{v['video_id']}", crops))
    return frame_grid(rows, title=f"{root.parent.name}: aligned faces, first to last frame")


#: Side (inches) of an apex frame on the dataset page and of a frame of its neutral -> apex strips:
#: at the notebooks' 100 dpi, at least 160 and 120 px once titles and captions are laid out.
APEX_PANEL, STRIP_PANEL = 2.3, 1.55


def action_units(label: str) -> str:
    """A class's action units in FACS notation (``AU 6+12+25``; ``R`` marks a unilateral one)."""
    from data_prep.facs import EXPRESSIONS

    codes = list(EXPRESSIONS[label])
    return "AU " + "+".join(codes) if codes else "no action unit"


def _who(clip) -> str:
    return clip.person or f"subject {clip.subject}"


def expression_figure(root: str | os.PathLike, raw: str | os.PathLike | None = None, cols: int = 4) -> Figure:
    """The apex frame of one video per class of a prepared dataset (:func:`fsa.report.expression_clips`:
    the people of the source photos in turn), titled with its class and action units and captioned
    with the person, the video and the frame."""
    from data_prep.video import read_image

    from ..data import frame_path
    from ..report import expression_clips

    root = Path(root)
    clips = expression_clips(root, raw)
    rows = -(-len(clips) // cols)
    fig = NotebookFigure(figsize=(APEX_PANEL * cols, (APEX_PANEL + 0.6) * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, c in zip(axes, clips.itertuples()):
        ax.imshow(read_image(frame_path(root, c.video_id, c.apex)))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{c.label} — {action_units(c.label)}", fontsize=9)
        ax.set_xlabel(f"{_who(c)} · {c.video_id}, frame {c.apex + 1}", fontsize=7)
    for ax in axes[len(clips):]:
        ax.set_axis_off()
    fig.suptitle(f"{root.parent.name}: the apex of each class (aligned face crops)", fontsize=10)
    return fig


def expression_strip_figure(root: str | os.PathLike, raw: str | os.PathLike | None = None,
                            frames: int = 6) -> Figure:
    """Per class, ``frames`` evenly spaced aligned crops of one video from its last neutral frame
    to its apex (the videos of :func:`expression_figure`), each captioned with its frame and, for
    synthetic data, the intensity shown (the fraction of the full AU displacement)."""
    from data_prep.video import read_image

    from ..data import frame_path
    from ..report import expression_clips
    from ..truth import load_intensity

    root = Path(root)
    intensity = load_intensity(root) or {}
    rows, captions = [], []
    for c in expression_clips(root, raw).itertuples():
        picks = np.unique(np.linspace(c.onset, c.apex, frames).round().astype(int))
        curve = intensity.get(c.video_id)
        rows.append((f"{c.label}\n{action_units(c.label)}\n{_who(c)}",
                     [read_image(frame_path(root, c.video_id, int(k))) for k in picks]))
        captions.append([f"frame {k + 1}" + (f" · I={curve[k]:.2f}" if curve is not None else "") for k in picks])
    return frame_grid(rows, title=f"{root.parent.name}: neutral → apex", panel=STRIP_PANEL, captions=captions)


def wild_conditions_figure(root: str | os.PathLike, raw: str | os.PathLike | None = None) -> Figure:
    """The apex of one clip per class of a prepared AFEW-like set, as recorded (the raw frame:
    pose, light, blur, occluders, compression, background) above its aligned face crop; without
    the raw set, the crops alone."""
    from data_prep.video import iter_frames, read_image

    from ..data import frame_path
    from ..report import expression_clips, raw_of

    root = Path(root)
    raw = Path(raw) if raw is not None else raw_of(root)
    clips = list(expression_clips(root, raw).itertuples())
    rows = []
    if raw is not None:
        rows.append(("as recorded", [next(iter_frames(raw / c.source, [c.apex])) for c in clips]))
    rows.append(("aligned crop", [read_image(frame_path(root, c.video_id, c.apex)) for c in clips]))
    captions = [[f"{c.label} · {_who(c)}" for c in clips]] * len(rows)
    return frame_grid(rows, title=f"{root.parent.name}: the apex frames in their wild conditions",
                      panel=APEX_PANEL, captions=captions)
