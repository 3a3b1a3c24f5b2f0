"""Parameters and FLOPs of every named model (``python -m fsa models``).

FLOPs come from torch's own counter (``torch.utils.flop_counter.FlopCounterMode``: 2 FLOPs
per multiply-add) on a forward pass at 224 px, width 1, n = 5, divided by n. The pass runs
on the ``meta`` device, so no memory is allocated and no arithmetic is done.
"""
from __future__ import annotations

from dataclasses import replace

import torch
from torch.utils.flop_counter import FlopCounterMode

from . import build_model
from .registry import REGISTRY

N_FRAMES, SIZE = 5, 224


def count_flops_per_frame(model: torch.nn.Module, size: int = SIZE, n: int = N_FRAMES, device: str = "meta") -> float:
    x = torch.empty(1, n, 3, size, size, device=device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return counter.get_total_flops() / n


def describe_models(size: int = SIZE) -> list[dict]:
    """Parameters and FLOPs per frame (at ``size`` px) of every named configuration, full width."""
    rows = []
    for name, entry in REGISTRY.items():
        with torch.device("meta"):
            model = build_model(replace(entry.config, width=1.0)).eval()
        rows.append({
            "name": name,
            "arch": entry.config.arch,
            "feature_dim": entry.config.feature_dim,
            "params": sum(p.numel() for p in model.parameters()),
            "gflops_per_frame": round(count_flops_per_frame(model, size) / 1e9, 3),
            "tables": list(entry.tables),
            "paper_label": entry.paper_label,
        })
    return rows


def format_table(rows: list[dict]) -> str:
    head = f"{'name':<26} {'D':>5} {'params (M)':>10} {'GFLOPs/frame':>12}  {'tables':<10} paper row"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['name']:<26} {r['feature_dim']:>5} {r['params'] / 1e6:>10.2f} {r['gflops_per_frame']:>12.2f}"
            f"  {','.join(r['tables']):<10} {r['paper_label']}"
        )
    return "\n".join(lines)


def module_outputs(name: str = "ecnn-fsa", size: int = SIZE, n: int = N_FRAMES) -> list[dict]:
    """Output shape and parameter count of every top-level block of a model, in forward order.

    Shapes are traced on the ``meta`` device for one clip of ``n`` frames (frames are
    batched as ``n`` images inside the ECNN, so ECNN shapes start with ``n``).
    """
    with torch.device("meta"):
        model = build_model(REGISTRY[name].config if name in REGISTRY else name).eval()
    tap = model.ecnn.backbone.tap_index
    pool5 = len(model.ecnn.backbone.features) - 1
    blocks = [f"ecnn.backbone.features.{tap - 1}", f"ecnn.backbone.features.{pool5}", "ecnn.backbone.added",
              "ecnn.backbone.gap", "ecnn.branch.conv", "ecnn.branch.gap", "ecnn"]
    if model.cfg.arch == "ecnn-fsa":
        blocks += ["fsa.w_v", "fsa"]
    blocks += [f"head.layers.{i}" for i in range(len(model.head.layers))]
    modules = dict(model.named_modules())
    rows, hooks = {}, []
    for path in blocks:
        if path not in modules:
            continue

        def hook(_m, _inp, out, path=path):
            t = out[0] if isinstance(out, tuple) else out
            rows[path] = tuple(t.shape)

        hooks.append(modules[path].register_forward_hook(hook))
    with torch.no_grad():
        model(torch.empty(1, n, 3, size, size, device="meta"))
    for h in hooks:
        h.remove()
    return [
        {"module": path, "type": type(modules[path]).__name__, "output": rows[path],
         "params": sum(p.numel() for p in modules[path].parameters())}
        for path in blocks if path in rows
    ]
