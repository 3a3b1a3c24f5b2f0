"""Checkpoints: everything a run needs to continue, or a model needs to be rebuilt.

A checkpoint is a ``torch.save`` dict loadable with ``weights_only=True`` (tensors and
plain Python values only): the run's full :class:`~fsa.config.Config` (so ``fsa eval`` and
``fsa predict`` rebuild the same model and input size from the file alone), the index hash
of the data it was trained on (``data_index_hash``, checked on resume), the class names,
the model weights and — in ``last.pt`` — the optimizer and scheduler states, the last
completed epoch, the per-epoch history and the model-selection bookkeeping.

No random-number state is stored: the engine reseeds every epoch from (seed, epoch, rank)
and the datasets draw from (seed, epoch, index), so a resumed run replays exactly the
random numbers of an uninterrupted one.

Writes go to a temporary file renamed over the target, so a run killed while saving (or a
full disk, :class:`~data_prep.atomic.DiskFullError`) keeps the previous checkpoint intact.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import results as store
from .config import Config, ModelConfig
from .results import atomic_write

FORMAT = "fsa-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and the problem."""


def unwrap(model: nn.Module) -> nn.Module:
    """The plain model under DistributedDataParallel and/or ``torch.compile`` wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model.module, nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def save_checkpoint(path: str | os.PathLike, *, model: nn.Module, cfg: Config, classes: list[str],
                    epoch: int, **state: Any) -> Path:
    """Write a checkpoint atomically. ``state`` adds optimizer/scheduler/history/... entries."""
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": cfg.to_dict(),
        "config_hash": cfg.hash(),
        "classes": list(classes),
        "epoch": int(epoch),
        "model": unwrap(model).state_dict(),
        **state,
    }
    return atomic_write(path, lambda f: torch.save(payload, f), mode="wb", what="the checkpoint")


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`, or raise :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises several types for a file that is not a checkpoint
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an fsa checkpoint (no fsa config inside; was it saved by another program?)")
    if ckpt.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {ckpt.get('version')!r}, expected {VERSION}")
    return ckpt


def checkpoint_config(ckpt: dict) -> Config:
    return Config.from_dict(ckpt["config"])


def check_model_config(ckpt: dict, expected: ModelConfig, path: str | os.PathLike) -> None:
    """Raise :class:`CheckpointError` naming every architecture field that differs."""
    stored = checkpoint_config(ckpt).model
    if stored == expected:
        return
    diffs = [
        f"{k}: checkpoint {getattr(stored, k)!r} vs expected {getattr(expected, k)!r}"
        for k in stored.__dataclass_fields__
        if getattr(stored, k) != getattr(expected, k)
    ]
    raise CheckpointError(
        f"{path}: checkpoint of model {stored.name!r} does not match model {expected.name!r} ({'; '.join(diffs)})"
    )


def load_weights(model: nn.Module, ckpt: dict, path: str | os.PathLike) -> None:
    """Load the checkpoint's weights into ``model``; mismatched tensors raise :class:`CheckpointError`."""
    try:
        unwrap(model).load_state_dict(ckpt["model"], strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        raise CheckpointError(f"{path}: weights do not fit the model ({' '.join(first[:3])})") from None


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu", expect_model: str | None = None
               ) -> tuple[nn.Module, Config, dict]:
    """Rebuild the model a checkpoint was trained as, with its weights, in eval mode.

    ``expect_model`` (a registry name) guards against using a checkpoint of another model: its
    name and its architecture (``arch``) must be the registered model's, since an older run could
    record a name that its ``arch`` contradicts. Returns ``(model, config, checkpoint)``.
    """
    from .models import build_model
    from .models.registry import get_model_config

    ckpt = load_checkpoint(path)
    try:
        cfg = checkpoint_config(ckpt)
    except (TypeError, KeyError) as e:
        raise CheckpointError(f"{path}: stored config is not valid for this version of fsa ({e})") from None
    if expect_model is not None and cfg.model.name != expect_model:
        raise CheckpointError(f"{path}: checkpoint of model {cfg.model.name!r}, not {expect_model!r}")
    if expect_model is not None and cfg.model.arch != get_model_config(expect_model).arch:
        raise CheckpointError(f"{path}: checkpoint named {expect_model!r} holds the architecture {cfg.model.arch!r}, "
                              f"not {get_model_config(expect_model).arch!r}")
    model = build_model(cfg.model)
    load_weights(model, ckpt, path)
    return model.to(device).eval(), cfg, ckpt


def checkpoint_dir(cfg: Config, experiment: str, root: str | os.PathLike | None = None) -> Path:
    """``<root>/<experiment>/checkpoints/<config_hash>[-fold<k>]``."""
    suffix = f"-fold{cfg.fold}" if cfg.dataset == "ckplus" else ""
    return store.experiment_dir(experiment, root) / "checkpoints" / f"{cfg.hash()}{suffix}"
