"""Regression module (paper §1.1, Table 1): LayerNorm → ReLU → Dropout(0.5) → FC → 7.

The model returns logits; the Softmax row of Table 1 is applied by the loss
(cross-entropy) and when probabilities are reported. The "2 × fc" variants of Tables
6–7 insert FC(D→D) → ReLU → Dropout before the last FC.
"""
from __future__ import annotations

import torch
from torch import nn


class RegressionHead(nn.Module):
    def __init__(self, dim: int, num_classes: int = 7, fc_layers: int = 1, dropout: float = 0.5):
        super().__init__()
        layers: list[nn.Module] = [nn.LayerNorm(dim), nn.ReLU(), nn.Dropout(dropout)]
        for _ in range(fc_layers - 1):
            layers += [nn.Linear(dim, dim), nn.ReLU(), nn.Dropout(dropout)]
        layers.append(nn.Linear(dim, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z)
