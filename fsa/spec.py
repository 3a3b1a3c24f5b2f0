"""A run's configuration, assembled once: a named row of the paper's tables
(:data:`fsa.models.registry.REGISTRY`), a preset (:data:`fsa.config.PRESETS`) and overrides become
one validated :class:`~fsa.config.Config` (:func:`make_config`), named after its architecture and
knobs (:func:`model_name`), so that a record's name can never say another model than it ran.

It sits above the models (it reads their table of rows and architectures) and below everything that
runs or shows a run: the CLI, the notebooks' pages, the still-image stage and ``fsa paper`` all ask
it for a config, and :func:`fsa.engine.train` checks the name of a config that came from a file
(:func:`check_name`).
"""
from __future__ import annotations

from dataclasses import fields
from typing import Any

from .config import PRESETS, Config, ConfigError, ModelConfig, parse_value
from .models.registry import ARCH_CLASSES, REGISTRY, arch_class, get_model_config

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
