from __future__ import annotations

from typing import NamedTuple

import torch


class ClipOutput(NamedTuple):
    """What every model returns (a NamedTuple, so DDP and ``torch.compile`` see its tensors)."""

    logits: torch.Tensor  # [B, num_classes]
    attention: torch.Tensor | None  # [B, n] frame importance, sums to 1; None without attention
    #: [B, n, num_classes] class probabilities of each frame, for models that classify every frame
    #: (score fusion); None for the others.
    frame_probs: torch.Tensor | None = None
