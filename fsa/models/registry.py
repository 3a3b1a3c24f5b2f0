"""The architectures, every row of the paper's Tables 2, 3, 4, 6, 7 and 9 as a named model
configuration, and :func:`make_config`, which turns a row, a preset and overrides into a run's config.

:data:`ARCH_CLASSES` is the one table of architectures (``ModelConfig.arch`` → the class that builds
it); the valid ``arch`` values are its keys.

``ecnn-fsa`` is the paper's final model (2048-d features, one FC, s = 0.1). FSA variants are
named ``ecnn-fsa-<D>-fc<k>-s<s>`` with D the frame-feature size (2048 = 1024 backbone +
1024 branch, 3072 = 2048 + 1024). Table 6 lists s = 0.01 where Table 7 and its text list
s = 0.001; both are kept.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from torch import nn

from ..config import PRESETS, Config, ConfigError, ModelConfig, parse_value
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


#: The model fields a name does not describe: the scale a preset sets, the regularisation and the
#: number of classes (the data's). The others — the architecture and its knobs — are what a name says.
NOT_NAMED = ("name", "width", "batch_norm", "dropout", "num_classes")


def knobs(model: ModelConfig) -> dict[str, Any]:
    """The fields a model's name stands for (all but :data:`NOT_NAMED`)."""
    return {f.name: getattr(model, f.name) for f in fields(ModelConfig) if f.name not in NOT_NAMED}


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return "-".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def model_name(model: ModelConfig, prefer: str | None = None) -> str:
    """The name of a model configuration, derived from its knobs (:func:`knobs`): ``prefer`` or
    else the first row of the registry whose knobs are these (``ecnn-fsa`` and
    ``ecnn-fsa-2048-fc1-s0.1`` are one model); else its architecture followed by the knobs that
    differ from the architecture's row (the row named like it, else its first): ``ecnn-fsa[s=0.5]``,
    ``score-fusion[branch=False]``. So a run's name can never say another architecture or other knobs than the run has."""
    mine = knobs(model)
    rows = [prefer] if prefer in REGISTRY else []
    rows += [name for name in REGISTRY if name != prefer]
    for name in rows:
        if knobs(REGISTRY[name].config) == mine:
            return name
    base = REGISTRY[model.arch].config if model.arch in REGISTRY else next(
        (row.config for row in REGISTRY.values() if row.config.arch == model.arch), None)
    if base is None:
        raise ConfigError(f"arch={model.arch!r}: expected one of {', '.join(ARCH_CLASSES)}")
    changed = [f"{k}={_shown(v)}" for k, v in mine.items() if v != getattr(base, k)]
    return f"{model.arch}[{', '.join(changed)}]"


def check_name(model: ModelConfig, where: str = "") -> ModelConfig:
    """``model`` if its name is the one its knobs give (:func:`model_name`), else a :class:`ConfigError`."""
    expected = model_name(model, prefer=model.name)
    if model.name != expected:
        raise ConfigError(f"{where}{': ' if where else ''}a model named {model.name!r} with these knobs is "
                          f"{expected!r}: a run is named after the architecture and knobs it has")
    return model


def list_models() -> list[str]:
    return list(REGISTRY)


def get_model_config(name: str) -> ModelConfig:
    try:
        return REGISTRY[name].config
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(REGISTRY)}") from None


def make_config(model: str | ModelConfig = "ecnn-fsa", preset: str = "cpu", **overrides: Any) -> Config:
    """A validated :class:`Config` for a named model, a preset and field overrides.

    String values in ``overrides`` (as given on a command line) are parsed to the field type.
    An ``arch`` other than the named model's is refused rather than renamed: the run's model
    name is what its record and checkpoint are known by (``predict --model``, the tables'
    rows), so it must name the architecture that was trained, and a name derived from a
    changed ``arch`` would match no registered row (``ecnn-fsa`` with ``arch=cnn-lstm`` keeps
    its enhanced branch: it is no ``cnn-lstm`` either). Other fields are the knobs of the named
    architecture (``s``, widths, FC layers, as a notebook's ``-p s 0.2``) and may be varied: the
    config's name is then the one its knobs give (:func:`model_name`: ``ecnn-fsa-2048-fc1-s0.1``
    with ``s=0.2`` is ``ecnn-fsa-2048-fc1-s0.2``, with ``s=0.5`` ``ecnn-fsa[s=0.5]``), and ``name``
    itself is not an override.
    """
    if preset not in PRESETS:
        raise ConfigError(f"preset={preset!r}: expected one of {', '.join(PRESETS)}")
    if "name" in overrides:
        raise ConfigError(f"name={overrides['name']!r}: a run's name is derived from its model and knobs; "
                          "choose the model by its name (--model, see `fsa models`) and vary its knobs")
    mcfg = get_model_config(model) if isinstance(model, str) else model
    cfg = Config(model=mcfg).override(**PRESETS[preset])
    current = {**cfg.to_dict()["model"], **{k: v for k, v in cfg.to_dict().items() if k != "model"}}
    parsed = {}
    for k, v in overrides.items():
        if k not in current:
            raise ConfigError(f"unknown config field: {k}")
        like = getattr(cfg.model, k) if k in current and hasattr(cfg.model, k) else getattr(cfg, k)
        try:
            parsed[k] = parse_value(v, like) if isinstance(v, str) and not isinstance(like, str) else v
        except ConfigError as e:
            raise ConfigError(f"{k}={v!r}: {e}") from None
    cfg = cfg.override(**parsed)
    arch_class(cfg.model)  # an unknown arch first: the model's other checks read it
    if cfg.model.arch != mcfg.arch:
        raise ConfigError(f"arch={cfg.model.arch!r}: model {mcfg.name!r} is an {mcfg.arch} model; choose another "
                          "architecture by its name (--model, see `fsa models`), so that the run is named after it")
    return cfg.override(name=model_name(cfg.model, prefer=mcfg.name)).validate()
