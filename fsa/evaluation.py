"""Scoring a model on a split: every clip's prediction, probabilities and frame attention, the
metrics over them, and the forward time per frame; the same for a saved checkpoint on a prepared
dataset (``fsa eval``). Training (:mod:`fsa.engine`) selects and tests with :func:`evaluate`.
"""
from __future__ import annotations

import copy
import os
import sys
import time
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from .checkpoint import CheckpointError, load_model, unwrap
from .config import ConfigError
from .distributed import DistInfo, autocast, gather, resolve_device, sync
from .metrics import classification_metrics
from .models.memory_format import format_input, set_memory_format
from .still_data import build_splits


@dataclass
class EvalOutput:
    metrics: dict
    loss: float
    per_clip: list[dict]
    frames: int
    forward_s: float

    @property
    def ms_per_frame(self) -> float:
        return 1000.0 * self.forward_s / max(self.frames, 1)


def to_device(frames: torch.Tensor, device: torch.device, fmt: torch.memory_format) -> torch.Tensor:
    return format_input(frames.to(device, non_blocking=True), fmt)


def _rounded(t: torch.Tensor) -> list:
    return [_rounded(v) for v in t] if t.dim() else round(float(t), 6)


def _clip_rows(batch: dict, out, logits: torch.Tensor, classes: Sequence[str]) -> list[dict]:
    """One row per clip of a batch: label, prediction, class probabilities, the model's frame
    attention and, for models that classify each frame, the frames' class probabilities."""
    probs = torch.softmax(logits, dim=1).cpu()
    att = out.attention.float().cpu() if out.attention is not None else None
    frame_probs = out.frame_probs.float().cpu() if out.frame_probs is not None else None
    rows = []
    for j, p in enumerate(probs):
        row = {
            "index": int(batch["index"][j]),
            "video_id": batch["video_id"][j],
            "clip_id": batch.get("clip_id", batch["video_id"])[j],
            "label": classes[int(batch["label"][j])],
            "pred": classes[int(p.argmax())],
            "probs": _rounded(p),
            "attention": _rounded(att[j]) if att is not None else None,
            "frame_indices": [int(v) for v in batch["frame_indices"][j]],
        }
        if frame_probs is not None:
            row["frame_probs"] = _rounded(frame_probs[j])
        rows.append(row)
    return rows


@torch.no_grad()
def evaluate(model: nn.Module, dataset: Dataset, classes: Sequence[str], *, device: torch.device | str = "cpu",
             batch_size: int = 16, num_workers: int = 0, dist: DistInfo = DistInfo(),
             progress: bool = False, desc: str = "eval") -> EvalOutput:
    """Score ``model`` on every clip of ``dataset`` (shared over ranks under DDP).

    Per clip: video and clip id, true and predicted class, class probabilities, the model's frame
    attention (``None`` for models without one), the source frame indices it saw and, for models
    that classify each frame (score fusion), the frames' class probabilities (``frame_probs``).
    """
    device = torch.device(device)
    net = unwrap(model).eval()
    fmt = set_memory_format(net, device, train=False)
    mine = list(range(len(dataset)))[dist.rank::dist.world]
    batches = [mine[i:i + batch_size] for i in range(0, len(mine), batch_size)]
    loader = DataLoader(dataset, batch_sampler=batches, num_workers=num_workers, pin_memory=device.type == "cuda")
    rows, loss_sum, frames, forward_s = [], 0.0, 0, 0.0
    for batch in tqdm(loader, desc=desc, leave=False, disable=not progress, file=sys.stderr):
        x = to_device(batch["frames"], device, fmt)
        y = batch["label"].to(device)
        sync(device)
        t0 = time.perf_counter()
        with autocast(device):
            out = net(x)
        sync(device)
        forward_s += time.perf_counter() - t0
        logits = out.logits.float()
        loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
        frames += x.shape[0] * x.shape[1]
        rows += _clip_rows(batch, out, logits, classes)
    gathered = gather((rows, loss_sum, frames, forward_s), dist)
    rows = sorted((r for part in gathered for r in part[0]), key=lambda r: r["index"])
    loss_sum = sum(part[1] for part in gathered)
    frames = sum(part[2] for part in gathered)
    forward_s = max(part[3] for part in gathered)
    if not rows:
        from .data import DataError

        raise DataError(f"{desc}: the split has no clips to evaluate")
    index = {c: i for i, c in enumerate(classes)}
    metrics = classification_metrics([index[r["label"]] for r in rows], [index[r["pred"]] for r in rows], classes)
    return EvalOutput(metrics, loss_sum / len(rows), rows, frames, forward_s)


def evaluate_checkpoint(checkpoint: str | os.PathLike, data: str | os.PathLike | None = None, split: str = "test",
                        device: str = "auto", expect_model: str | None = None, progress: bool | None = None) -> dict:
    """Evaluate a saved model on a split of a prepared dataset (its own config's data by default).

    The protocol, fold and sampling come from the checkpoint's config, so the split is the
    one the model was selected against (``val``) or tested on (``test``). Every split, ``train``
    included, is scored with the evaluation frames and no augmentation.
    """
    if split not in ("train", "val", "test"):
        raise ConfigError(f"split={split!r}: expected train, val or test")
    dev = resolve_device(device)
    model, cfg, ckpt = load_model(checkpoint, dev, expect_model=expect_model)
    if data is not None:
        cfg = cfg.override(data=str(data))
    splits = build_splits(cfg)
    if list(splits.classes) != list(ckpt["classes"]):
        raise CheckpointError(f"{checkpoint}: trained on classes {ckpt['classes']}, the data has {list(splits.classes)}")
    dataset = getattr(splits, split)
    if getattr(dataset, "train", False):
        # Scored like the other splits: evaluation frames (segment centres), no augmentation.
        dataset = copy.copy(dataset)
        dataset.train = False
    out = evaluate(model, dataset, splits.classes, device=dev, batch_size=cfg.batch_size,
                   num_workers=cfg.num_workers, progress=sys.stderr.isatty() if progress is None else progress,
                   desc=split)
    return {
        "checkpoint": str(checkpoint),
        "model": cfg.model.name,
        "config_hash": cfg.hash(),
        "epoch": ckpt["epoch"] + 1,
        "data": cfg.data,
        "split": split,
        "loss": out.loss,
        "metrics": out.metrics,
        "ms_per_frame": out.ms_per_frame,
        "per_clip": out.per_clip,
    }
