"""ECNN: the feature-extraction module of Fig. 1 — improved VGG-16 + enhanced branch.

Each frame is embedded independently; the frame feature is the concatenation
[backbone (1024 | 2048), branch (1024)] → D = 2048 (default) or 3072. Without the
branch (``branch=False``) it is the plain "CNN" of Table 2. With ``lbp=True`` the frame's
LBP histogram is appended (Table 7, "LBP").
"""
from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from .backbone import ImprovedVGG16
from .branch import EnhancedBranch
from .lbp import LBPHistogram


class ECNN(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.backbone = ImprovedVGG16(cfg)
        self.branch = EnhancedBranch(cfg, self.backbone.tap_channels) if cfg.branch else None
        self.lbp = LBPHistogram() if cfg.lbp else None
        self.out_dim = (
            self.backbone.out_dim
            + (self.branch.out_dim if self.branch is not None else 0)
            + (self.lbp.out_dim if self.lbp is not None else 0)
        )

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """``frames [B, n, 3, H, W]`` → per-frame features ``[B, n, D]``."""
        b, n = frames.shape[:2]
        x = frames.flatten(0, 1)
        y, tap = self.backbone(x)
        parts = [y]
        if self.branch is not None:
            parts.append(self.branch(tap))
        if self.lbp is not None:
            parts.append(self.lbp(x))
        return torch.cat(parts, dim=1).unflatten(0, (b, n))
