"""Per-frame LBP histograms (Table 7, "ECNN-LSTM (FC6, 7×7, LBP)"), and LBP-TOP of a clip.

Uniform LBP (P = 8, R = 1; scikit-image's ``local_binary_pattern``, 10 codes) of the
grey frame, histogrammed over a 4×4 grid of cells and L1-normalised per cell: a 160-d
hand-crafted texture descriptor concatenated to the learned ECNN features. LBP is
invariant to monotonic grey-level changes, so the normalised input is only min-max
rescaled to 8-bit grey (LBP on floats would turn rounding noise into texture). It has no
parameters and no gradient.

:func:`lbp_top` is the clip descriptor of the EmotiW challenge baseline on AFEW (the paper's
Table 9 "Baseline", LBP-TOP + a kernel SVM): LBP on the three orthogonal planes of the aligned
face sequence (Zhao & Pietikäinen, 2007).
"""
from __future__ import annotations

import numpy as np
import torch
from skimage.feature import local_binary_pattern
from torch import nn

P, R, GRID = 8, 1, 4
N_CODES = P + 2  # "uniform" LBP: P + 1 uniform patterns + one bin for the rest


def lbp_histogram(gray: np.ndarray, grid: int = GRID) -> np.ndarray:
    """LBP descriptor of one grey image ``[H, W]``: ``grid² × 10`` values (160 by default)."""
    codes = local_binary_pattern(gray, P, R, method="uniform").astype(np.int64)
    h, w = codes.shape
    feats = []
    for rows in np.array_split(np.arange(h), grid):
        for cols in np.array_split(np.arange(w), grid):
            cell = codes[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
            hist = np.bincount(cell.ravel(), minlength=N_CODES).astype(np.float32)
            feats.append(hist / max(hist.sum(), 1.0))
    return np.concatenate(feats)


#: LBP-TOP's codes: "u2" LBP (P = 8, R = 1, not rotation-invariant; scikit-image's ``nri_uniform``):
#: P(P - 1) + 2 uniform patterns and one bin for the rest, 59 for P = 8.
TOP_CODES = P * (P - 1) + 3
#: The planes of LBP-TOP, in the order of the descriptor.
TOP_PLANES = ("xy", "xt", "yt")


def lbp_top(clip: np.ndarray, grid: int = GRID) -> np.ndarray:
    """LBP-TOP descriptor of a grey clip ``[T, H, W]`` (uint8): ``grid² × 3 × 59`` values.

    The codes of every voxel on its three orthogonal planes — XY (its frame), XT (its row over
    time) and YT (its column over time) — histogrammed per plane over a ``grid × grid`` grid of
    spatial blocks that span the clip's whole time, each histogram L1-normalised; blocks in
    row-major order, the three planes of a block side by side (:data:`TOP_PLANES`). Voxels within
    R of the volume's border are left out on every plane (their neighbours fall outside it), so a
    clip needs 2R + 1 = 3 frames or more.
    """
    v = np.asarray(clip)
    if v.ndim != 3 or min(v.shape) < 2 * R + 1:
        raise ValueError(f"LBP-TOP needs a grey clip [T, H, W] of at least {2 * R + 1} in every axis, got {v.shape}")
    t, h, w = v.shape
    planes = (np.stack([local_binary_pattern(v[k], P, R, method="nri_uniform") for k in range(t)]),
              np.stack([local_binary_pattern(v[:, y], P, R, method="nri_uniform") for y in range(h)], axis=1),
              np.stack([local_binary_pattern(v[:, :, x], P, R, method="nri_uniform") for x in range(w)], axis=2))
    inner = [codes[R:t - R, R:h - R, R:w - R].astype(np.int64) for codes in planes]
    feats = []
    for rows in np.array_split(np.arange(h - 2 * R), grid):
        for cols in np.array_split(np.arange(w - 2 * R), grid):
            for codes in inner:
                block = codes[:, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
                hist = np.bincount(block.ravel(), minlength=TOP_CODES).astype(np.float32)
                feats.append(hist / max(hist.sum(), 1.0))
    return np.concatenate(feats)


class LBPHistogram(nn.Module):
    out_dim = GRID * GRID * N_CODES

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [N, 3, H, W]`` → ``[N, 160]`` on the input's device."""
        if x.is_meta:  # shape-only tracing (FLOP counting): not a torch op, nothing to count
            return x.new_empty(x.shape[0], self.out_dim)
        gray = x.detach().float().mean(dim=1)
        lo = gray.amin(dim=(1, 2), keepdim=True)
        hi = gray.amax(dim=(1, 2), keepdim=True)
        gray8 = ((gray - lo) / (hi - lo).clamp_min(1e-6) * 255).round().to(torch.uint8).cpu().numpy()
        feats = np.stack([lbp_histogram(g) for g in gray8])
        return torch.from_numpy(feats).to(device=x.device, dtype=x.dtype)
