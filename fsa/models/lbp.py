"""Per-frame LBP histograms (Table 7, "ECNN-LSTM (FC6, 7×7, LBP)").

Uniform LBP (P = 8, R = 1; scikit-image's ``local_binary_pattern``, 10 codes) of the
grey frame, histogrammed over a 4×4 grid of cells and L1-normalised per cell: a 160-d
hand-crafted texture descriptor concatenated to the learned ECNN features. LBP is
invariant to monotonic grey-level changes, so the normalised input is only min-max
rescaled to 8-bit grey (LBP on floats would turn rounding noise into texture). It has no
parameters and no gradient.
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
