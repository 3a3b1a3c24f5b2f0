"""ECNN-FSA: video expression recognition with frame-level self-attention (Chen et al.).

Top-level API::

    import fsa
    model = fsa.build_model("ecnn-fsa")          # the paper's final model
    out = model(x)                                 # x: [B, n, 3, H, W]
    out.logits, out.attention                      # [B, 7], [B, n] (None without attention)

Layering: ``fsa`` (configurations, models, training, evaluation, the results store, the book)
builds on :mod:`data_prep` (dataset layouts, class tables, the face pipeline, video and image
reading, atomic writes), never the other way round; ``tests/test_architecture.py`` checks that
and that no modules import each other in a cycle. The model names are imported on first use, so
``import fsa`` itself does not load torch.
"""
from importlib import import_module

_EXPORTS = {
    "CLASSES_7": "config", "CLASSES_CK7": "config", "Config": "config", "ConfigError": "config",
    "ModelConfig": "config", "PRESETS": "config", "make_config": "spec",
    "ClipOutput": "models", "build_model": "models", "list_models": "models",
}

__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'fsa' has no attribute {name!r}")
