"""The paper's Table 1 beside the traced ECNN-FSA, and the parameters and FLOPs of every model."""
from __future__ import annotations

import pandas as pd

from ..config import ConfigError
from ..models.registry import REGISTRY
from ..paper import paper_table

#: Table 1's modules and the module of ``fsa.models`` that implements each one.
TABLE1_MODULES = {"Self-attention": "fsa", "Layer-norm": "head.layers.0", "ReLU": "head.layers.1",
                  "Dropout": "head.layers.2", "FC": "head.layers.3", "Softmax": None}


def table1(size: int = 224, n: int = 5) -> pd.DataFrame:
    """The paper's Table 1 beside the traced ECNN-FSA (output without the batch dimension)."""
    from ..models.describe import module_outputs

    if not (isinstance(size, int) and size >= 32):  # the VGG-16's five poolings need 32 px
        raise ConfigError(f"size={size!r}: expected an integer input side >= 32 px")
    if not (isinstance(n, int) and n >= 1):
        raise ConfigError(f"n={n!r}: expected an integer number of frames >= 1")
    traced = {r["module"]: r for r in module_outputs("ecnn-fsa", size, n)}
    cfg = REGISTRY["ecnn-fsa"].config
    rows = []
    for prow in paper_table(1)["rows"]:
        path = TABLE1_MODULES[prow["module"]]
        if path == "fsa":
            ours, params = traced["fsa.w_v"]["output"][1:], traced["fsa"]["params"]
            setting = f"W_q, W_k, W_v {cfg.feature_dim}×{cfg.feature_dim} (no bias), s = {cfg.s:g}"
        elif path is None:
            ours, params, setting = traced["head.layers.3"]["output"][1:], 0, "in the loss / at prediction"
        else:
            ours, params = traced[path]["output"][1:], traced[path]["params"]
            setting = f"p = {cfg.dropout:g}" if prow["module"] == "Dropout" else "-"
        rows.append({"module": prow["module"], "paper output": prow["output"], "paper parameter": prow["parameter"],
                     "fsa module": path or "—", "our output": " × ".join(map(str, ours)),
                     "our parameters": params, "our setting": setting})
    return pd.DataFrame(rows)


def model_summary(size: int = 224) -> pd.DataFrame:
    """Parameters and GFLOPs per frame of every named configuration, with the tables it appears in."""
    from ..models.describe import describe_models

    df = pd.DataFrame(describe_models(size))
    df["tables"] = df["tables"].map(", ".join)
    df["params (M)"] = (df.pop("params") / 1e6).round(2)
    return df[["name", "paper_label", "tables", "arch", "feature_dim", "params (M)", "gflops_per_frame"]]
