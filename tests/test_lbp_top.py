"""LBP-TOP (:func:`fsa.models.lbp.lbp_top`), the clip descriptor of the paper's Table 9 Baseline.

The reference below walks the volume voxel by voxel with loops: for each voxel away from the
border, its codes on its own frame, its own row over time and its own column over time (each plane
coded once by scikit-image's ``local_binary_pattern``, the same LBP the descriptor names), counted
into the block its (y, x) falls in — none of the descriptor's slicing, stacking or bin counting.
"""
from __future__ import annotations

import numpy as np
import pytest
from skimage.feature import local_binary_pattern

from fsa.models.lbp import TOP_CODES, lbp_top

BINS = 59  # u2 patterns of 8 neighbours: 8 x 7 + 2, plus one for the rest


def reference(clip: np.ndarray, grid: int) -> np.ndarray:
    t, h, w = clip.shape
    frame = [local_binary_pattern(clip[k], 8, 1, method="nri_uniform") for k in range(t)]
    row = [local_binary_pattern(clip[:, y, :], 8, 1, method="nri_uniform") for y in range(h)]  # [t, x]
    col = [local_binary_pattern(clip[:, :, x], 8, 1, method="nri_uniform") for x in range(w)]  # [t, y]
    edges_y = [0, *np.cumsum([len(a) for a in np.array_split(range(h - 2), grid)])]
    edges_x = [0, *np.cumsum([len(a) for a in np.array_split(range(w - 2), grid)])]
    hist = np.zeros((grid, grid, 3, BINS))
    for k in range(1, t - 1):
        for y in range(1, h - 1):
            for x in range(1, w - 1):
                by = max(i for i in range(grid) if edges_y[i] <= y - 1)
                bx = max(i for i in range(grid) if edges_x[i] <= x - 1)
                for plane, code in enumerate((frame[k][y, x], row[y][k, x], col[x][k, y])):
                    hist[by, bx, plane, int(code)] += 1
    hist /= hist.sum(axis=-1, keepdims=True)
    return hist.ravel()


def test_lbp_top_counts_every_inner_voxel_on_its_three_planes():
    clip = (np.random.default_rng(0).random((6, 11, 13)) * 255).astype(np.uint8)
    got = lbp_top(clip, grid=2)
    assert TOP_CODES == BINS and got.shape == (2 * 2 * 3 * BINS,)
    np.testing.assert_allclose(got, reference(clip, 2), atol=1e-6)


def test_time_order_shows_on_the_time_planes_only():
    """A bright bar moving right, played backwards: the same frames (XY unchanged), the motion the
    other way (XT changed)."""
    clip = np.full((9, 16, 16), 40, np.uint8)
    for k in range(9):
        clip[k, :, 3 + k:6 + k] = 220
    forward, backward = (lbp_top(c, grid=1).reshape(3, BINS) for c in (clip, clip[::-1]))
    np.testing.assert_array_equal(forward[0], backward[0])
    assert not np.allclose(forward[1], backward[1])
    np.testing.assert_allclose(forward.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("shape", [(2, 16, 16), (16, 16), (5, 2, 16)])
def test_a_clip_too_short_or_flat_is_refused(shape):
    with pytest.raises(ValueError, match="at least 3"):
        lbp_top(np.zeros(shape, np.uint8))
