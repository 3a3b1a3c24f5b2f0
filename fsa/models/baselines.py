"""The baselines the paper compares against, on the same ECNN/CNN frame features.

* **Score fusion** (Table 4 "baseline"): the improved VGG-16 (with its branch) classifies
  every frame with the regression head; the clip's probability is the mean of the
  per-frame softmax. The model returns ``log(mean softmax)`` as logits, so the
  cross-entropy loss is the negative log-likelihood of the fused probability and
  ``softmax(logits)`` gives the fused probabilities back. The per-frame probabilities are
  returned too (``frame_probs``) and recorded with each test clip, so the book can show what
  the frame classifier alone does on one frame of the clip.
* **CNN-LSTM / ECNN-LSTM** (Tables 2, 3, 7, 9): frame features through a stack of LSTM
  layers whose widths are the parenthesised numbers of Table 2 (e.g. (2048, 1024)); the
  last time step's hidden state goes to the regression head. "CNN" is the improved VGG-16
  alone (no enhanced branch); "ECNN" adds the branch; Table 3 names the branch's FC
  layers (Fc1/Fc2) and kernel (5×5/7×7). Table 3 does not give the LSTM widths of "ECNN
  with 2 layer LSTMs"; we use (2048, 2048), the best 2-layer CNN-LSTM of Table 2 by F1.
  Table 7's "ECNN-LSTM (FC6, 7×7)" scores 41.25 %, exactly Table 3's "(Fc1, 7×7)" row, so
  we read FC6 as the branch's single FC layer and build the same model; the "LBP"
  variant appends per-frame LBP histograms (:mod:`fsa.models.lbp`) to the features.
"""
from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig, scaled
from .ecnn import ECNN
from .head import RegressionHead
from .output import ClipOutput


class ScoreFusion(nn.Module):
    frame_head = True  # the head classifies each frame's D-vector (see fsa.models.pretrained)

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.ecnn = ECNN(cfg)
        self.head = RegressionHead(self.ecnn.out_dim, cfg.num_classes, cfg.fc_layers, cfg.dropout)

    def forward(self, x: torch.Tensor) -> ClipOutput:
        frame_probs = torch.softmax(self.head(self.ecnn(x)), dim=-1)  # [B, n, C]
        return ClipOutput(frame_probs.mean(dim=1).clamp_min(1e-12).log(), None, frame_probs)


class LSTMClassifier(nn.Module):
    """CNN-LSTM (``branch=False``) and ECNN-LSTM (``branch=True``)."""

    frame_head = False  # the head reads the LSTM's state, not frame features

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.ecnn = ECNN(cfg)
        widths = [scaled(w, cfg.width) for w in cfg.lstm_widths]
        ins = [self.ecnn.out_dim] + widths[:-1]
        # One single-layer LSTM per level: nn.LSTM cannot stack layers of different widths.
        self.lstms = nn.ModuleList(nn.LSTM(i, o, batch_first=True) for i, o in zip(ins, widths))
        self.head = RegressionHead(widths[-1], cfg.num_classes, cfg.fc_layers, cfg.dropout)

    def forward(self, x: torch.Tensor) -> ClipOutput:
        h = self.ecnn(x)
        for lstm in self.lstms:
            h, _ = lstm(h)
        return ClipOutput(self.head(h[:, -1]), None)
