"""The ECNN-FSA model family, one module per box of the paper's Fig. 1.

=======================  =====================================================
``backbone.py``          improved VGG-16 (conv stack, 3 added convs, GAP)
``branch.py``            enhanced branch (k×k conv from conv3_3, GAP, Fc1/Fc2)
``ecnn.py``              ECNN = backbone ⊕ branch (⊕ LBP) per frame
``fsa.py``               frame-level self-attention and fusion
``head.py``              regression module (LayerNorm → ReLU → Dropout → FC)
``ecnn_fsa.py``          the assembled ECNN-FSA
``baselines.py``         score fusion, CNN-LSTM, ECNN-LSTM
``registry.py``          the architectures and every row of Tables 2–9 as a named config (data)
``pretrained.py``        VGG-16 / VGG-Face weights, or an fsa checkpoint's ECNN (a file or a recorded run)
=======================  =====================================================
"""
from __future__ import annotations

from torch import nn

from ..config import ModelConfig
from .output import ClipOutput
from .registry import REGISTRY, arch_class, get_model_config, list_models


def build_model(name_or_config: str | ModelConfig) -> nn.Module:
    """Build a model from a registry name (``"ecnn-fsa"``) or a :class:`ModelConfig`.

    ``forward(x)`` takes ``x [B, n, 3, H, W]`` (any n ≥ 1, any H, W ≥ 32) and returns a
    :class:`ClipOutput` with ``logits [B, 7]`` and ``attention [B, n]`` (or None).
    """
    cfg = get_model_config(name_or_config) if isinstance(name_or_config, str) else name_or_config
    model_class = arch_class(cfg)
    return model_class(cfg.validate())


__all__ = ["ClipOutput", "ModelConfig", "REGISTRY", "build_model", "get_model_config", "list_models"]
