"""Improved VGG-16 (paper §1.2, Fig. 2): the backbone of the feature-extraction module.

* The conv stack is torchvision's ``vgg16`` ``features`` built by torchvision's own
  ``make_layers`` from configuration "D", so parameter names (``features.0.weight`` …)
  match torchvision state dicts and ImageNet / VGG-Face weights load unchanged
  (:mod:`fsa.models.pretrained`).
* The FC layers are removed; a global average pooling (GAP) gives the frame vector.
* "Three convolutional layers 3×3×512×1024" are added after the conv stack (after pool5).
  Read literally, a chain of three layers cannot all map 512→1024, so we read it as
  512→1024, 1024→1024, 1024→1024 (3×3, padding 1, ReLU): the first one has exactly the
  printed kernel and the other two keep the 1024 width the paper's feature sizes need.
* The "2048 backbone" variants of Tables 6–7 raise the output to 2048 channels with one
  1×1 convolution (+ReLU) before GAP (Table 7 text: "the model increases the channel
  number by 1×1 convolution layer").

The channel-width multiplier ``width`` scales every layer (1.0 = the paper's network); it
exists only to make CPU runs affordable and changes no code path.

**Frozen layers** (``Config.frozen_convs``, :func:`freeze_convs`): a video run may keep the first
k conv layers (k ≤ 7, up to conv3_3, the enhanced branch's tap) at the weights it starts from. The
paper fine-tunes every layer (``paper`` preset: k = 0); the ``cpu`` preset keeps conv1_1–conv3_3 at
the still-image stage's weights (see :data:`fsa.config.PRESETS`). Those layers then run without
autograd and in channels-last memory (on a CPU, a third of the time of their contiguous form, and
they need no backward), and hand the rest of the network its usual format. Their BatchNorm
layers keep their scale and shift but, in training mode, still normalise with the batch's
statistics and update their running ones, so the kept filters see the video frames' contrast.
"""
from __future__ import annotations

import torch
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from ..config import BRANCH_TAP_CONV, ModelConfig, scaled


def vgg16_cfg(width: float) -> list:
    """torchvision's VGG-16 layer list ("D") with every channel count scaled by ``width``."""
    return [v if v == "M" else scaled(v, width) for v in cfgs["D"]]


def conv_block(c_in: int, c_out: int, k: int, batch_norm: bool, stride: int = 1) -> list[nn.Module]:
    """Conv (+BatchNorm) + ReLU, the unit torchvision's ``make_layers`` repeats."""
    conv = nn.Conv2d(c_in, c_out, kernel_size=k, stride=stride, padding=k // 2)
    norm = [nn.BatchNorm2d(c_out)] if batch_norm else []
    return [conv, *norm, nn.ReLU(inplace=True)]


def init_conv(module: nn.Module) -> None:
    """torchvision's VGG initialisation (Kaiming-normal fan-out convs, zero bias)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class ImprovedVGG16(nn.Module):
    """VGG-16 conv stack + three added 3×3 convs (+ optional 1×1 to 2048) + GAP.

    ``forward`` returns the backbone vector ``[N, out_dim]`` and the conv3_3 activation
    ``[N, 256·width, H/4, W/4]`` that the enhanced branch consumes.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        layers = vgg16_cfg(cfg.width)
        self.features = make_layers(layers, batch_norm=cfg.batch_norm)
        convs = [i for i, m in enumerate(self.features) if isinstance(m, nn.Conv2d)]
        # The branch reads the ReLU output that follows the 7th conv layer (after its BN, if any).
        self.tap_index = convs[BRANCH_TAP_CONV] + (3 if cfg.batch_norm else 2)
        self.tap_channels = self.features[convs[BRANCH_TAP_CONV]].out_channels

        c5, c_add = scaled(512, cfg.width), scaled(1024, cfg.width)
        added: list[nn.Module] = []
        for c_in in (c5, c_add, c_add):
            added += conv_block(c_in, c_add, 3, cfg.batch_norm)
        if cfg.backbone_dim == 2048:
            added += conv_block(c_add, scaled(2048, cfg.width), 1, cfg.batch_norm)
        self.added = nn.Sequential(*added)
        self.out_dim = scaled(cfg.backbone_dim, cfg.width)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.frozen_index = 0  # features[:frozen_index] are frozen (see freeze)
        init_conv(self)

    def freeze(self, convs: int) -> None:
        """Keep the first ``convs`` conv layers (with their BatchNorm and ReLU) at their current weights."""
        if not 0 <= convs <= BRANCH_TAP_CONV + 1:
            raise ValueError(f"convs={convs!r}: at most the {BRANCH_TAP_CONV + 1} conv layers below the branch's tap")
        ends = [i + 1 for i, m in enumerate(self.features) if isinstance(m, nn.ReLU)]
        self.frozen_index = ends[convs - 1] if convs else 0
        for p in self.features[: self.frozen_index].parameters():
            p.requires_grad_(False)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """The conv stack up to the branch's tap; its frozen layers without autograd, channels-last."""
        if not self.frozen_index:
            return self.features[: self.tap_index](x)
        fmt = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
        with torch.no_grad():
            y = self.features[: self.frozen_index](x.contiguous(memory_format=torch.channels_last))
        return self.features[self.frozen_index : self.tap_index](y.contiguous(memory_format=fmt))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        tap = self.stem(x)
        y = self.features[self.tap_index :](tap)
        y = self.gap(self.added(y)).flatten(1)
        return y, tap


def freeze_convs(model: nn.Module, convs: int) -> None:
    """Freeze the first ``convs`` conv layers of every improved VGG-16 in ``model`` (``Config.frozen_convs``)."""
    backbones = [m for m in model.modules() if isinstance(m, ImprovedVGG16)]
    if convs and not backbones:
        raise ValueError(f"frozen_convs={convs}: {type(model).__name__} has no VGG-16 conv stack to freeze")
    for backbone in backbones:
        backbone.freeze(convs)
