"""Memory formats that make the model fast on each device (measured by ``fsa bench``).

Memory formats change strides only, never values (up to the kernels' float rounding):

``auto`` — the measured best, per device and mode:

* CUDA, training and inference: channels_last everywhere (NHWC is what cuDNN's tensor-core
  convolutions read).
* CPU (oneDNN), inference: channels_last, except the enhanced branch's strided k×k conv,
  which keeps NCHW weights (and so gets an NCHW input, see
  :class:`~fsa.models.branch.EnhancedBranch`): oneDNN's NHWC kernel for that 7×7 / stride-4
  conv runs at about a third of the speed of its blocked-NCHW one on AVX2 CPUs, and this one
  conv is an eighth of the model's FLOPs.
* CPU, training: NCHW. oneDNN's NHWC weight-gradient kernels on AVX2 are 2–4× slower than its
  blocked ones on the large early feature maps (224² × 64 … 56² × 256), which outweighs the
  faster NHWC forward and data-gradient passes.

``channels_last`` and ``nchw`` force one memory format everywhere (to measure the choice).
"""
from __future__ import annotations

import torch
from torch import nn

from .branch import EnhancedBranch

MEMORY_FORMATS = ("auto", "channels_last", "nchw")


def choose(device: torch.device | str, train: bool, memory_format: str = "auto") -> str:
    """The memory format ``auto`` resolves to: ``channels_last``, ``nchw`` or ``channels_last+nchw-branch``."""
    if memory_format not in MEMORY_FORMATS:
        raise ValueError(f"memory_format={memory_format!r}: expected one of {', '.join(MEMORY_FORMATS)}")
    if memory_format != "auto":
        return memory_format
    if torch.device(device).type == "cuda":
        return "channels_last"
    return "nchw" if train else "channels_last+nchw-branch"


def set_memory_format(model: nn.Module, device: torch.device | str, train: bool,
                      memory_format: str = "auto") -> torch.memory_format:
    """Put ``model``'s conv weights in the chosen memory format; returns the one inputs should have.

    Call it again when switching between training and inference on a CPU; the input format
    returned applies to the per-frame 4-d view of a clip batch (see :func:`format_input`).
    """
    chosen = choose(device, train, memory_format)
    fmt = torch.contiguous_format if chosen == "nchw" else torch.channels_last
    model.to(memory_format=fmt)
    if chosen == "channels_last+nchw-branch":
        for m in model.modules():
            if isinstance(m, EnhancedBranch):
                m.conv.weight.data = m.conv.weight.data.contiguous()
    return fmt


def format_input(x: torch.Tensor, memory_format: torch.memory_format) -> torch.Tensor:
    """A clip batch ``[B, n, 3, H, W]`` with per-frame strides in ``memory_format``.

    The model's ``flatten(0, 1)`` keeps these strides, so its first conv reads them as they are.
    """
    b, n = x.shape[:2]
    return x.flatten(0, 1).contiguous(memory_format=memory_format).unflatten(0, (b, n))
