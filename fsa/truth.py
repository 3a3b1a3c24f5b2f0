"""The synthetic sets' ground truth, which real data lack: per frame, the true expression
intensity (``intensity.csv``) and, for the wild AFEW clips, whether the face is in view
(``conditions.csv``); per set, the wild conditions it was made under (``prep_report.json``).
:mod:`data_prep.prepare` carries them over from the generator.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from data_prep.video import DataError

from .data import load_index


def set_conditions_name(root: str | os.PathLike) -> str | None:
    """The name of the wild conditions a prepared set was made under (``afew7``,
    ``afew7-without-pose``), as its ``prep_report.json`` records them; ``None`` for real data, for
    sets made under ``classic`` and for sets prepared before reports named them."""
    report = Path(root) / "prep_report.json"
    return json.loads(report.read_text()).get("conditions") if report.is_file() else None


def load_intensity(root: str | os.PathLike) -> dict[str, np.ndarray] | None:
    """``{video_id: per-frame expression intensity}`` from ``intensity.csv``, ``None`` if absent.

    Only synthetic data have it. Arrays are indexed by 0-based frame; frames missing from the
    sidecar are NaN.
    """
    return _per_frame(root, "intensity.csv", ["intensity"], lambda g: g["intensity"].to_numpy(float))


#: Yaw (degrees) beyond which :func:`load_visibility` counts a head as turned away: the far eye sits
#: about 30° round the head from its midline, so at 30° of yaw it faces 60° away from the camera and
#: shows under half its frontal width (cos 60° = 0.5), as does the far half of the mouth.
TURNED_AWAY = 30.0


def load_visibility(root: str | os.PathLike, turned: float = TURNED_AWAY) -> dict[str, np.ndarray] | None:
    """``{video_id: per-frame visibility}`` from the wild synthetic clips' ``conditions.csv``
    (1 where the face is in view, 0 where it is hidden: missed, that is off camera or in the dark;
    occluded; or turned further than ``turned`` degrees of yaw), ``None`` if absent. Frames
    missing from the sidecar are NaN."""
    return _per_frame(root, "conditions.csv", ["missed", "occluded", "yaw"],
                      lambda g: (~hidden_face(g, turned)).astype(float))


def hidden_face(conditions: pd.DataFrame, turned: float = TURNED_AWAY) -> np.ndarray:
    """Per row of a ``conditions.csv`` table: whether the face is hidden in that frame (missed,
    occluded, or turned further than ``turned`` degrees of yaw)."""
    return ((conditions["missed"].to_numpy(int) > 0) | (conditions["occluded"].to_numpy(int) > 0)
            | (np.abs(conditions["yaw"].to_numpy(float)) > turned))


def _per_frame(root: str | os.PathLike, name: str, columns: list[str], values) -> dict[str, np.ndarray] | None:
    """``{video_id: values(rows) at their 0-based frames}`` from the synthetic sidecar ``name``
    (columns ``video_id``, ``frame`` (1-based) and ``columns``), ``None`` if absent; an array is
    as long as the video in ``index.csv``, NaN where the sidecar has no row."""
    root = Path(root)
    path = root / name
    if not path.is_file():
        return None
    df = pd.read_csv(path, dtype={"video_id": str})
    if not {"video_id", "frame", *columns} <= set(df.columns):
        raise DataError(f"{path}: expected columns {', '.join(['video_id', 'frame', *columns])}")
    lengths = {}
    if (root / "index.csv").is_file():
        index = load_index(root)
        lengths = dict(zip(index["video_id"], index["n_frames"]))
    out = {}
    for vid, g in df.groupby("video_id", sort=True):
        frames = g["frame"].to_numpy(int) - 1
        arr = np.full(max(int(lengths.get(vid, 0)), int(frames.max()) + 1), np.nan)
        arr[frames] = values(g)
        out[vid] = arr
    return out
