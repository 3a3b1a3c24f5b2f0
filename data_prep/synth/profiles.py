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


def afew_profile(rng: np.random.Generator, n: int, label: str) -> np.ndarray:
    """Neutral, onset ramp, a short apex plateau at a random place, offset ramp, neutral."""
    if label == "neutral":
        return np.zeros(n)
    up, down = (max(2, int(round(n * rng.uniform(0.08, 0.18)))) for _ in range(2))
    plateau = max(2, int(round(n * rng.uniform(0.1, 0.25))))
    start = int(rng.integers(1, max(2, n - up - plateau - down // 2)))
    k = np.arange(n, dtype=np.float64)
    rise = _smoothstep((k - start + 1) / up)
    fall = 1 - _smoothstep((k - (start + up + plateau) + 1) / down)
    return float(rng.uniform(*APEX)) * np.minimum(rise, fall)
