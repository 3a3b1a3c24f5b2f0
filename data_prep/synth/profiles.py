"""Intensity profiles: the fraction of the expression's full displacement in each frame of a video."""
from __future__ import annotations

import numpy as np

from .layouts import APEX


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def ck_profile(rng: np.random.Generator, n: int) -> np.ndarray:
    """Neutral hold of 0-2 frames, then a smooth onset to the apex (in :data:`APEX`) on the last frame."""
    hold = int(rng.integers(0, 3))
    apex = float(rng.uniform(*APEX))
    k = np.arange(n, dtype=np.float64)
    return apex * _smoothstep((k - hold) / (n - 1 - hold))


def afew_profile(rng: np.random.Generator, n: int, label: str, apex: tuple[float, float] = APEX,
                 ramp: tuple[float, float] = (0.08, 0.18), plateau: tuple[float, float] = (0.1, 0.25)) -> np.ndarray:
    """Neutral, onset ramp, an apex plateau at a random place, offset ramp, neutral: the ramps and
    the plateau drawn as fractions of the clip in ``ramp`` and ``plateau``, the apex in ``apex``
    (:class:`~data_prep.synth.conditions.Conditions`: ``brief``, ``subtle``)."""
    if label == "neutral":
        return np.zeros(n)
    up, down = (max(2, int(round(n * rng.uniform(*ramp)))) for _ in range(2))
    length = max(2, int(round(n * rng.uniform(*plateau))))
    start = int(rng.integers(1, max(2, n - up - length - down // 2)))
    k = np.arange(n, dtype=np.float64)
    rise = _smoothstep((k - start + 1) / up)
    fall = 1 - _smoothstep((k - (start + up + length) + 1) / down)
    return float(rng.uniform(*apex)) * np.minimum(rise, fall)
