"""ECNN-FSA: video expression recognition with frame-level self-attention (Chen et al.).

Top-level API::

    import fsa
    model = fsa.build_model("ecnn-fsa")          # the paper's final model
    out = model(x)                                 # x: [B, n, 3, H, W]
    out.logits, out.attention                      # [B, 7], [B, n] (None without attention)
"""
from .config import CLASSES_7, CLASSES_CK7, Config, ConfigError, ModelConfig, PRESETS, make_config
from .models import ClipOutput, build_model, list_models

__all__ = [
    "CLASSES_7", "CLASSES_CK7", "Config", "ConfigError", "ModelConfig", "PRESETS",
    "make_config", "ClipOutput", "build_model", "list_models",
]
__version__ = "0.1.0"
