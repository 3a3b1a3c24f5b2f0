"""ECNN-FSA (paper Fig. 1): ECNN per frame → FSA over the n frames → regression head."""
from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from .ecnn import ECNN
from .fsa import FrameSelfAttention
from .head import RegressionHead
from .output import ClipOutput


class ECNNFSA(nn.Module):
    #: The head reads a D-vector of frame features, as the still-image model's does (see
    #: fsa.models.pretrained): FSA of one frame is W_v, the identity where the head is carried over.
    frame_head = True

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.ecnn = ECNN(cfg)
        self.fsa = FrameSelfAttention(self.ecnn.out_dim, cfg.s)
        self.head = RegressionHead(self.ecnn.out_dim, cfg.num_classes, cfg.fc_layers, cfg.dropout)

    def forward(self, x: torch.Tensor) -> ClipOutput:
        fused, importance, _ = self.fsa(self.ecnn(x))
        return ClipOutput(self.head(fused), importance)
