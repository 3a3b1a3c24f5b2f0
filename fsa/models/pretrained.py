"""Initialise the VGG-16 conv stack from a local state dict; nothing is downloaded.

Two formats (``Config.pretrained_format``):

``torchvision``
    ``torchvision.models.vgg16().state_dict()`` keys: ``features.<i>.weight|bias`` (the
    ``classifier.*`` keys are ignored, the FC layers being removed). A checkpoint wrapped
    as ``{"state_dict": ...}`` is unwrapped.
``vggface``
    The Oxford VGG-Face network as converted to PyTorch (e.g. ``vgg_face_dag.pth``):
    ``conv<b>_<j>.weight|bias``. Key mapping: ``conv<b>_<j>`` is the (j-th conv of block
    b) and maps to torchvision's ``features.<i>`` with i the index of that conv in the
    ``features`` Sequential — conv1_1→0, conv1_2→2, conv2_1→5, conv2_2→7, conv3_1→10,
    conv3_2→12, conv3_3→14, conv4_1→17, conv4_2→19, conv4_3→21, conv5_1→24, conv5_2→26,
    conv5_3→28. ``fc6``–``fc8`` are ignored.

Only the 13 VGG conv layers are loaded (the added convs, branch, FSA and head keep their
initialisation). Any missing key or shape mismatch raises :class:`PretrainedError` naming
every offending key — a width < 1 model cannot take full-width weights.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .backbone import ImprovedVGG16

VGG_FACE_BLOCKS = (2, 2, 3, 3, 3)  # convs per block in VGG-16


class PretrainedError(ValueError):
    pass


def vggface_key_map() -> dict[str, str]:
    """``conv<b>_<j>`` → torchvision ``features.<i>`` (see module docstring)."""
    mapping, index = {}, 0
    for b, convs in enumerate(VGG_FACE_BLOCKS, start=1):
        for j in range(1, convs + 1):
            mapping[f"conv{b}_{j}"] = f"features.{index}"
            index += 2  # conv, ReLU
        index += 1  # max-pool
    return mapping


def _read(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise PretrainedError(f"{path}: no such weights file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for a non-checkpoint file
        raise PretrainedError(f"{path}: not a PyTorch state dict ({type(e).__name__}: {e})") from e
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise PretrainedError(f"{path}: expected a dict of tensors (a state dict)")
    return obj


def convert(state: dict[str, torch.Tensor], fmt: str) -> dict[str, torch.Tensor]:
    """Keep the conv-stack tensors of ``state`` under torchvision ``features.*`` names."""
    if fmt == "torchvision":
        return {k: v for k, v in state.items() if k.startswith("features.")}
    if fmt == "vggface":
        mapping = vggface_key_map()
        out = {}
        for k, v in state.items():
            layer, _, param = k.rpartition(".")
            if layer in mapping:
                out[f"{mapping[layer]}.{param}"] = v
        return out
    raise PretrainedError(f"unknown pretrained format {fmt!r}; expected 'torchvision' or 'vggface'")


def load_vgg16(model: nn.Module, path: str | Path, fmt: str = "torchvision") -> list[str]:
    """Load VGG-16 conv weights from ``path`` into every :class:`ImprovedVGG16` of ``model``.

    Returns the loaded keys. Raises :class:`PretrainedError` on missing keys or shape mismatches.
    """
    state = convert(_read(path), fmt)
    backbones = [m for m in model.modules() if isinstance(m, ImprovedVGG16)]
    if not backbones:
        raise PretrainedError(f"{type(model).__name__} has no VGG-16 backbone to initialise")
    for backbone in backbones:
        target = {f"features.{k}": v for k, v in backbone.features.state_dict().items()}
        missing = sorted(set(target) - set(state))
        shapes = [
            f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}"
            for k, v in target.items() if k in state and state[k].shape != v.shape
        ]
        if missing or shapes:
            problems = ([f"missing keys: {', '.join(missing)}"] if missing else []) + (
                ["shape mismatches: " + "; ".join(shapes)] if shapes else []
            )
            raise PretrainedError(f"{path} ({fmt} format) does not fit the VGG-16 backbone — " + " | ".join(problems))
        backbone.features.load_state_dict({k[len("features."):]: state[k] for k in target})
    return sorted(target)
