"""Data-parallel and device helpers of the engine: the process group ``torchrun`` describes, each
rank's device, gathering and barriers across ranks, and per device the precision (bf16 autocast on
CUDA), synchronisation for timing and determinism settings.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as torch_dist

from .config import ConfigError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> tuple[DistInfo, bool]:
    """Join the process group torchrun describes in the environment (gloo on CPU, nccl on GPU).

    Returns the rank info and whether this call created the group (and must destroy it).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(), False
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if torch_dist.is_initialized():
        return info, False
    use_cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if use_cuda:
        torch.cuda.set_device(info.local_rank)
    torch_dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return info, True


def resolve_device(spec: str, dist: DistInfo = DistInfo()) -> torch.device:
    """``auto`` → ``cuda`` when available, else ``cpu``; under DDP each rank takes its local GPU."""
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device={spec!r}: CUDA is not available on this machine")
        device = torch.device("cuda", dist.local_rank) if dist.active else torch.device(spec)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device={spec!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return device
    return torch.device("cpu")


def gather(obj: Any, dist: DistInfo) -> list[Any]:
    if not dist.active:
        return [obj]
    parts: list[Any] = [None] * dist.world
    torch_dist.all_gather_object(parts, obj)
    return parts


def barrier(dist: DistInfo) -> None:
    if dist.active:
        torch_dist.barrier()


def autocast(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def set_determinism(device: torch.device) -> None:
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        torch.backends.cudnn.benchmark = True
