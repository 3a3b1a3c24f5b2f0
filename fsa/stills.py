"""The still-image stage: the ECNN frame encoder trained on labelled face images (``fsa pretrain``).

The paper's chain of initialisations (§2.1 "Implementation details", AFEW section) is VGG-Face
weights → fine-tuned on still images of FER2013 and SFEW (frame level, 7 classes) → trained on
the video clips. This module is the middle stage:

* **Model**: the still-image model of a video model is its ECNN — the backbone and, where the
  model has one, the enhanced branch (the fields :attr:`fsa.config.ModelConfig.ENCODER_FIELDS`)
  — under the video model's regression head (its FC layers) applied to each frame: the
  ``score-fusion`` architecture on clips of n = 1 frame, whose clip probability is then exactly the
  frame's softmax (:func:`encoder_config`). Models whose encoder and head fields agree share one
  pretraining run (ECNN-FSA, score fusion and the s rows of Tables 6-7 under one preset, say);
  CNN-LSTM's encoder has no branch, and the ECNN-LSTM rows of Table 3 have FC layers in theirs.
* **Data**: the formats of :mod:`data_prep.stills` (FER2013 CSV, SFEW 2.0, class folders),
  which also says which split is the test split when a format has no labelled one. Every image
  is a clip of one frame (:class:`fsa.still_data.StillDataset`: the items and the training augmentation of
  :class:`fsa.data.ClipDataset`, through :func:`fsa.data.frames_tensor`), so the engine trains
  on them unchanged, with model selection on the validation split only.
* **Record**: the run goes into the results store like every run (``fsa.engine.train``), with
  ``dataset="stills"``, ``protocol`` = the format, ``data_index_hash`` =
  :meth:`data_prep.stills.StillSet.data_hash`, the validation / test split names and the skipped
  inputs. The default experiment is ``stills-<format>-<data hash>``, so runs on different data
  never share a folder.
* **Use**: a video run starts from the encoder with ``pretrained=store:<experiment>/<config_hash>``
  (the same string on every machine, resolved in the results store) or ``pretrained=<best.pt>``,
  and ``pretrained_format=fsa`` (:mod:`fsa.models.pretrained`), and with the still-image run's
  ``input_norm`` (checked when the checkpoint is loaded). The stage itself starts from VGG-16 /
  VGG-Face weights the same way (``pretrained_format=vggface``, which brings ``input_norm=vggface``:
  0-255 pixels minus VGG-Face's channel means, :data:`fsa.config.INPUT_NORMS`).
"""
from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from data_prep.stills import FORMATS, align_stills, read_stills

from .config import STILL_PRESETS, STORE_PREFIX, Config, ConfigError, ModelConfig
from .spec import make_config, model_name
from .still_data import build_still_splits

log = logging.getLogger("fsa.stills")


def encoder_config(model: ModelConfig) -> ModelConfig:
    """The still-image model of ``model``: its ECNN under score fusion's per-frame head.

    It takes the fields that shape the encoder and the head (:attr:`~fsa.config.ModelConfig.HEAD_FIELDS`,
    which the video models with a head of frame features start from, :mod:`fsa.models.pretrained`).
    The others (``s``, ``lstm_widths``, ``dropout``, and ``lbp``: a fixed, weight-free feature
    appended after the encoder) keep their defaults, so the ECNN-FSA rows that differ in ``s`` only,
    and the ECNN-LSTM rows with and without LBP, share one pretraining run (one configuration hash).
    """
    keep = (*ModelConfig.ENCODER_FIELDS, *ModelConfig.HEAD_FIELDS)
    encoder = ModelConfig(name="score-fusion", arch="score-fusion", **{f: getattr(model, f) for f in keep})
    return replace(encoder, name=model_name(encoder, prefer="score-fusion"))


def pretrain_config(model: str | ModelConfig = "ecnn-fsa", preset: str = "cpu", fmt: str = "fer2013",
                    data: str | os.PathLike = "", **overrides: Any) -> Config:
    """The validated still-image config for the encoder of ``model`` under ``preset`` and ``overrides``.

    The preset's numbers apply, with the still-image stage's own where
    :data:`fsa.config.STILL_PRESETS` has them.

    Overrides are those of :func:`fsa.spec.make_config` (strings are parsed); the format
    and the data are given here, not as ``dataset`` / ``protocol`` overrides.
    """
    for key in ("dataset", "protocol"):
        if key in overrides:
            raise ConfigError(f"{key}={overrides[key]!r}: the still-image stage sets it from the format "
                              f"({', '.join(FORMATS)})")
    numbers = {**STILL_PRESETS.get(preset, {}), **overrides}
    target = make_config(model, preset, **numbers)
    still_model = encoder_config(target.model)
    if "dropout" in numbers:
        still_model = replace(still_model, dropout=target.model.dropout)
    fields: dict[str, Any] = dict(model=still_model, dataset="stills", protocol=fmt, data=str(data))
    if "n" not in overrides:
        fields["n"] = 1
    return target.override(**fields).validate()


def default_align_out(data: str | os.PathLike, size: int) -> Path:
    """Where ``--align`` writes the crops by default: ``<data>-aligned<size>`` beside the source set."""
    data = Path(data).resolve()
    return data.with_name(f"{data.name}-aligned{size}")


@dataclass
class PretrainResult:
    """A recorded still-image run: the engine's result and its portable ``store:`` reference."""

    run: Any  # fsa.engine.RunResult
    reference: str

    def summary(self) -> dict:
        """What ``fsa pretrain`` prints: where the run and its checkpoint are, and its scores."""
        rec = self.run.record
        return {
            "experiment": self.run.experiment,
            "config_hash": self.run.config_hash,
            "pretrained": self.reference,
            "checkpoint": str(self.run.checkpoint),
            "result": str(self.run.result_path),
            "selected_epoch": self.run.selected_epoch,
            "val_accuracy": self.run.val_metrics["accuracy"],
            "test_accuracy": self.run.metrics["accuracy"],
            "val_split": rec["val_split"],
            "test_split": rec["test_split"],
            "images": rec["stills"]["images"],
            "skipped": rec["skipped"]["counts"],
            "data_index_hash": rec["data_index_hash"],
        }


def pretrain(cfg: Config, experiment: str | None = None, results_root: str | os.PathLike | None = None,
             resume: bool = False, align: bool = False, align_out: str | os.PathLike | None = None,
             align_size: int = 224, progress: bool | None = None) -> PretrainResult:
    """Train the still-image model of ``cfg`` (see :func:`pretrain_config`) and record the run.

    ``align`` first crops the faces of whole frames (SFEW, folders) into ``align_out`` (default
    :func:`default_align_out`) with the dlib pipeline at ``align_size`` px, and trains on the
    crops. ``experiment`` defaults to ``stills-<format>-<data hash>``.
    """
    from .engine import train

    cfg = cfg.validate()
    if cfg.dataset != "stills":
        raise ConfigError(f"dataset={cfg.dataset!r}: the still-image stage needs a stills config (pretrain_config)")
    show = sys.stderr.isatty() if progress is None else progress
    if align:
        out = Path(align_out) if align_out is not None else default_align_out(cfg.data, align_size)
        aligned = align_stills(read_stills(cfg.protocol, cfg.data, show), out, align_size, progress=show)
        log.info("aligned %d images into %s", len(aligned.items), out)
        cfg = cfg.override(data=str(out))
    splits = build_still_splits(cfg)
    experiment = experiment or f"stills-{cfg.protocol}-{splits.record['data_index_hash']}"
    run = train(cfg, experiment, results_root, resume, splits=splits, progress=progress)
    return PretrainResult(run, f"{STORE_PREFIX}{experiment}/{run.config_hash}")
