"""Frame-level self-attention (FSA, paper §1.3, Eq. 1–2, Fig. 3, Table 1).

For the n frame features of a clip, X ∈ ℝ^{n×D}:

    Q = X W_q,  K = X W_k,  V = X W_v          (W_* ∈ ℝ^{D×D}; 2048×2048 in Table 1)
    A = softmax_row(s · Q Kᵀ)                   (s: the "super parameter", 0.1)
    X* = A V                                    (the "differentiated saliency matrix")
    z = mean_i X*_i                             (fusion into one D-vector)

How s enters: the paper replaces Eq. 1's 1/√d_k by a manually set s that "suppresses the
attention weight value", i.e. it *multiplies* the logits QKᵀ. s → 0 makes every row of
A uniform, so z → mean(X) W_v (plain average pooling); larger s sharpens A.

Frame fusion: the paper says the FSA outputs [x*_0 … x*_n] "that are fused into the
regression module" and that the regression module takes a D-vector (Table 1: Layer-norm
2048). We fuse by the mean over frames — the only parameter-free fusion that keeps the
model independent of n (3, 5, 6, 9 in the paper) and of frame order.

Frame importance (for plots and the attention notebook) is the attention each frame
*receives*: the mean over rows of A, a length-n vector that sums to 1. Since
z = mean_i Σ_j A_ij v_j = Σ_j (mean_i A_ij) v_j, it is exactly the weight of frame j's
value vector in the fused representation.

W_q, W_k, W_v are bias-free linear maps, as in Eq. 2.
"""
from __future__ import annotations

import torch
from torch import nn


class FrameSelfAttention(nn.Module):
    def __init__(self, dim: int, s: float):
        super().__init__()
        self.s = s
        self.w_q = nn.Linear(dim, dim, bias=False)
        self.w_k = nn.Linear(dim, dim, bias=False)
        self.w_v = nn.Linear(dim, dim, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x [B, n, D]`` → (fused ``[B, D]``, frame importance ``[B, n]``, A ``[B, n, n]``)."""
        q, k, v = self.w_q(x), self.w_k(x), self.w_v(x)
        a = torch.softmax(self.s * (q @ k.transpose(1, 2)), dim=-1)
        x_star = a @ v
        return x_star.mean(dim=1), a.mean(dim=1), a
