"""Enhanced branch (paper §1.2): one k×k conv from the 7th conv layer, ReLU, GAP.

The paper gives the kernel (7×7×256×1024; 5×5 in Table 3) but no stride. The tap is the
ReLU output of conv3_3, the 7th conv layer (256 channels, 56×56 at 224 px input). A
stride-1 7×7 conv there would cost 56²·7²·256·1024 ≈ 40.3 GMAC per frame — 2.6× all of
VGG-16's 15.5 GMAC — for a feature that GAP then averages away. We use **stride 4** with
padding k//2: the output is the 14×14 grid of conv5 (the spacing of the deepest VGG
block), the kernel (7 or 5) is larger than the stride so every input position still
contributes, and the cost drops 16× to 2.5 GMAC (5.0 GFLOP) per frame, about a sixth of
VGG-16. ``ModelConfig.branch_stride`` keeps the choice explicit; ``python -m fsa models`` reports every model's FLOPs.

The conv reads its input in the memory format of its weight (see :mod:`fsa.models.memory_format`).

"Fc1"/"Fc2" (Table 3; "FC6" in Table 7) are one or two FC layers (1024→1024 + ReLU)
applied to the branch vector after GAP.
"""
from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig, scaled
from .backbone import conv_block, init_conv


class EnhancedBranch(nn.Module):
    def __init__(self, cfg: ModelConfig, in_channels: int):
        super().__init__()
        dim = scaled(cfg.branch_dim, cfg.width)
        k = cfg.branch_kernel
        self.conv, *rest = conv_block(in_channels, dim, k, cfg.batch_norm, stride=cfg.branch_stride)
        self.post = nn.Sequential(*rest)
        self.gap = nn.AdaptiveAvgPool2d(1)
        fcs: list[nn.Module] = []
        for _ in range(cfg.branch_fc):
            fcs += [nn.Linear(dim, dim), nn.ReLU(inplace=True)]
        self.fc = nn.Sequential(*fcs)
        self.out_dim = dim
        init_conv(self)

    def forward(self, tap: torch.Tensor) -> torch.Tensor:
        # The conv runs in its weight's memory format: fsa.models.memory_format keeps it NCHW in an otherwise
        # channels_last CPU model, because oneDNN's NHWC kernel for this strided conv is slow.
        if self.conv.weight.is_contiguous() and not tap.is_contiguous():
            tap = tap.contiguous()
        return self.fc(self.gap(self.post(self.conv(tap))).flatten(1))
