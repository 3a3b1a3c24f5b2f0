"""The architectures, and every row of the paper's Tables 2, 3, 4, 6, 7 and 9 as a named model
configuration: architecture as data. :mod:`fsa.spec` turns a row, a preset and overrides into a run's
config and names a model after its knobs.

:data:`ARCH_CLASSES` is the one table of architectures (``ModelConfig.arch`` → the class that builds
it); the valid ``arch`` values are its keys.

``ecnn-fsa`` is the paper's final model (2048-d features, one FC, s = 0.1). FSA variants are
named ``ecnn-fsa-<D>-fc<k>-s<s>`` with D the frame-feature size (2048 = 1024 backbone +
1024 branch, 3072 = 2048 + 1024). Table 6 lists s = 0.01 where Table 7 and its text list
s = 0.001; both are kept.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from torch import nn

from ..config import ConfigError, ModelConfig
from .baselines import LSTMClassifier, ScoreFusion
from .ecnn_fsa import ECNNFSA

#: ``ModelConfig.arch`` → the class that builds it (the two LSTM archs differ by their config only).
ARCH_CLASSES: dict[str, type[nn.Module]] = {
    "ecnn-fsa": ECNNFSA,
    "score-fusion": ScoreFusion,
    "cnn-lstm": LSTMClassifier,
    "ecnn-lstm": LSTMClassifier,
}


def arch_class(cfg: ModelConfig) -> type[nn.Module]:
    """The class that builds ``cfg.arch``; a :class:`ConfigError` naming the value if there is none."""
    if cfg.arch not in ARCH_CLASSES:
        raise ConfigError(f"arch={cfg.arch!r}: expected one of {', '.join(ARCH_CLASSES)}")
    return ARCH_CLASSES[cfg.arch]


@dataclass(frozen=True)
class NamedModel:
    config: ModelConfig
    tables: tuple[str, ...]  # paper tables this config reproduces
    paper_label: str  # the row's label as printed in the paper


def _fsa(d: int, fc: int, s: float) -> ModelConfig:
    return ModelConfig(
        name=f"ecnn-fsa-{d}-fc{fc}-s{s:g}", arch="ecnn-fsa", backbone_dim=d - 1024, fc_layers=fc, s=s
    )


def _cnn_lstm(*widths: int) -> ModelConfig:
    name = "cnn-lstm-" + "-".join(map(str, widths))
    return ModelConfig(name=name, arch="cnn-lstm", branch=False, lstm_widths=widths)


def _ecnn_lstm(fc: int, k: int, label: str = "fc", lbp: bool = False) -> ModelConfig:
    name = f"ecnn-lstm-{label}{fc if label == 'fc' else ''}-k{k}" + ("-lbp" if lbp else "")
    return ModelConfig(
        name=name, arch="ecnn-lstm", branch_fc=fc, branch_kernel=k, lstm_widths=(2048, 2048), lbp=lbp
    )


def _fsa_label(d: int, fc: int, s: float) -> str:
    return f"ECNN-FSA ({d}, {'fc' if fc == 1 else '2×fc'}, s = {s:g})"


_T6 = [(2048, 2, 0.06), (2048, 1, 0.06), (2048, 1, 0.01), (2048, 1, 0.1), (2048, 1, 0.2),
       (2048, 1, 0.3), (3072, 1, 0.06), (3072, 2, 0.06)]
_T7 = [(3072, 1, 0.06), (3072, 2, 0.06), (2048, 2, 0.06), (2048, 1, 0.06), (2048, 1, 0.001),
       (2048, 1, 0.1), (2048, 1, 0.2), (2048, 1, 0.3)]


def _build_registry() -> dict[str, NamedModel]:
    reg: dict[str, NamedModel] = {}

    def add(cfg: ModelConfig, table: str, label: str) -> None:
        old = reg.get(cfg.name)
        tables = (old.tables if old else ()) + ((table,) if not old or table not in old.tables else ())
        reg[cfg.name] = NamedModel(cfg, tables, old.paper_label if old else label)

    final = replace(_fsa(2048, 1, 0.1), name="ecnn-fsa")
    for t in ("4", "5", "9", "10"):
        add(final, t, "Proposed ECNN-FSA")
    for d, fc, s in _T6:
        add(_fsa(d, fc, s), "6", _fsa_label(d, fc, s))
    for d, fc, s in _T7:
        add(_fsa(d, fc, s), "7", _fsa_label(d, fc, s))
    add(ModelConfig(name="score-fusion", arch="score-fusion"), "4", "Score fusion (baseline)")
    for widths, label in [((2048,), "CNN-LSTM (2048)"), ((3000,), "CNN-LSTM (3000)"),
                          ((3000, 3000), "CNN with 2 layer LSTMs (3000, 3000)"),
                          ((2048, 2048), "CNN with 2 layer LSTMs (2048, 2048)"),
                          ((2048, 1024), "CNN with 2 layer LSTMs (2048, 1024)")]:
        add(_cnn_lstm(*widths), "2", label)
    # The CNN-LSTM of Tables 4 and 9 ([30], end-to-end): the 2-layer (2048, 2048) model.
    add(replace(_cnn_lstm(2048, 2048), name="cnn-lstm"), "4", "CNN-LSTM [30]")
    add(replace(_cnn_lstm(2048, 2048), name="cnn-lstm"), "9", "CNN-LSTM [30] (end-to-end)")
    for fc in (1, 2):
        for k in (5, 7):
            add(_ecnn_lstm(fc, k), "3", f"ECNN with 2 layer LSTMs (Fc{fc}, {k}×{k})")
    add(_ecnn_lstm(1, 7, label="fc6", lbp=True), "7", "ECNN-LSTM (FC6, 7×7, LBP)")
    add(_ecnn_lstm(1, 7, label="fc6"), "7", "ECNN-LSTM (FC6, 7×7)")
    return reg


REGISTRY: dict[str, NamedModel] = _build_registry()


def list_models() -> list[str]:
    return list(REGISTRY)


def get_model_config(name: str) -> ModelConfig:
    try:
        return REGISTRY[name].config
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(REGISTRY)}") from None
