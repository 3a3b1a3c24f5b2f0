"""Initial weights from a local file or a recorded run; nothing is downloaded.

Three formats (``Config.pretrained_format``), loaded by :func:`load_pretrained`:

``torchvision``
    ``torchvision.models.vgg16().state_dict()`` keys: ``features.<i>.weight|bias`` (the
    ``classifier.*`` keys are ignored, the FC layers being removed). A checkpoint wrapped
    as ``{"state_dict": ...}`` is unwrapped.
``vggface``
    The Oxford VGG-Face network as converted to PyTorch (e.g. ``vgg_face_dag.pth``):
    ``conv<b>_<j>.weight|bias``. Key mapping: ``conv<b>_<j>`` is the (j-th conv of block
    b) and maps to torchvision's ``features.<i>`` with i the index of that conv in the
    ``features`` Sequential — conv1_1→0, conv1_2→2, conv2_1→5, conv2_2→7, conv3_1→10,
    conv3_2→12, conv3_3→14, conv4_1→17, conv4_2→19, conv4_3→21, conv5_1→24, conv5_2→26,
    conv5_3→28. ``fc6``–``fc8`` are ignored.

``fsa``
    A checkpoint written by ``fsa pretrain`` or ``fsa train`` (:mod:`fsa.checkpoint`): its
    ``ecnn.*`` weights — the backbone, and the enhanced branch where the target model has one
    (CNN-LSTM has none) — are loaded into the target's ECNN; BatchNorm statistics come with
    them. The file's model config must agree with the target's on the fields that shape those
    weights (:attr:`fsa.config.ModelConfig.ENCODER_FIELDS`); otherwise :class:`PretrainedError`
    names the file and every mismatching field. The reference is a path, or
    ``store:<experiment>/<config_hash>``: the recorded run ``<experiment>/<config_hash>.json``
    of the results store, whose ``best.pt`` is found where the engine writes it
    (:func:`fsa.checkpoint.checkpoint_dir`). That string does not depend on the machine, so a video
    run that starts from a still-image run has the same config hash everywhere; checkpoints are
    not committed, so the run must have been trained (or copied) into the local store. The
    checkpoint's run must have used the run's input normalisation (``Config.input_norm``; a record
    without the field used ``imagenet``): a still-image model started from VGG-Face saw VGG-Face's
    input scaling, and so must the video model that starts from it. A mismatch is refused, not
    corrected, since the run's config (and hash) is already fixed.

    With ``Config.pretrained_head`` (the default), a model whose regression head reads the D-vector
    of frame features (``frame_head``: ECNN-FSA, score fusion) also takes the checkpoint's ``head.*``,
    and ECNN-FSA's FSA takes the checkpoint's ``fsa.*`` or, from a still-image run (which has no
    FSA), ``W_v`` = identity. Interpretation: the paper fine-tunes "the proposed ECNN-FSA" on
    still images of SFEW and FER2013 before the videos (AFEW section); a still image is a clip of
    one frame, where FSA's attention is 1 and its output is ``W_v x``, so ECNN-FSA on still images
    is the still-image model with the head behind ``W_v``, and at ``W_v = I`` the video model
    starts as the still-image classifier applied to the fused frame features. The head must fit
    (:attr:`fsa.config.ModelConfig.HEAD_FIELDS`, and a head of frame features in the checkpoint too), else
    :class:`PretrainedError` says so; LSTM models keep their initial head, which reads the LSTM's
    state. Measured on the embedded CK+ (``cpu``, 5 folds, seeds 0 / 1 / 2): ECNN-FSA from the
    encoder only 97.7 / 98.1 / 95.1 %, with the head and ``W_v = I`` 98.6 / 99.5 / 97.6 %; with the
    head but a random ``W_v`` 98.6 / 96.6 / 97.6 %.

For the two VGG formats only the 13 VGG conv layers are loaded (the added convs, branch, FSA
and head keep their initialisation). Any missing key or shape mismatch raises
:class:`PretrainedError` naming every offending key — a width < 1 model cannot take full-width
weights.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from .. import results as store
from ..config import PRETRAINED_FORMATS, STORE_PREFIX, Config, ConfigError, ModelConfig, parse_store_reference
from .backbone import ImprovedVGG16
from .registry import arch_class

VGG_FACE_BLOCKS = (2, 2, 3, 3, 3)  # convs per block in VGG-16


class PretrainedError(ValueError):
    pass


def vggface_key_map() -> dict[str, str]:
    """``conv<b>_<j>`` → torchvision ``features.<i>`` (see module docstring)."""
    mapping, index = {}, 0
    for b, convs in enumerate(VGG_FACE_BLOCKS, start=1):
        for j in range(1, convs + 1):
            mapping[f"conv{b}_{j}"] = f"features.{index}"
            index += 2  # conv, ReLU
        index += 1  # max-pool
    return mapping


def _read(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise PretrainedError(f"{path}: no such weights file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for a non-checkpoint file
        raise PretrainedError(f"{path}: not a PyTorch state dict ({type(e).__name__}: {e})") from e
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise PretrainedError(f"{path}: expected a dict of tensors (a state dict)")
    return obj


def convert(state: dict[str, torch.Tensor], fmt: str) -> dict[str, torch.Tensor]:
    """Keep the conv-stack tensors of ``state`` under torchvision ``features.*`` names."""
    if fmt == "torchvision":
        return {k: v for k, v in state.items() if k.startswith("features.")}
    if fmt == "vggface":
        mapping = vggface_key_map()
        out = {}
        for k, v in state.items():
            layer, _, param = k.rpartition(".")
            if layer in mapping:
                out[f"{mapping[layer]}.{param}"] = v
        return out
    raise PretrainedError(f"unknown VGG-16 weights format {fmt!r}; expected 'torchvision' or 'vggface'")


def load_vgg16(model: nn.Module, path: str | Path, fmt: str = "torchvision") -> list[str]:
    """Load VGG-16 conv weights from ``path`` into every :class:`ImprovedVGG16` of ``model``.

    Returns the loaded keys. Raises :class:`PretrainedError` on missing keys or shape mismatches.
    """
    state = convert(_read(path), fmt)
    backbones = [m for m in model.modules() if isinstance(m, ImprovedVGG16)]
    if not backbones:
        raise PretrainedError(f"{type(model).__name__} has no VGG-16 backbone to initialise")
    for backbone in backbones:
        target = {f"features.{k}": v for k, v in backbone.features.state_dict().items()}
        missing = sorted(set(target) - set(state))
        shapes = [
            f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}"
            for k, v in target.items() if k in state and state[k].shape != v.shape
        ]
        if missing or shapes:
            problems = ([f"missing keys: {', '.join(missing)}"] if missing else []) + (
                ["shape mismatches: " + "; ".join(shapes)] if shapes else []
            )
            raise PretrainedError(f"{path} ({fmt} format) does not fit the VGG-16 backbone — " + " | ".join(problems))
        backbone.features.load_state_dict({k[len("features."):]: state[k] for k in target})
    return sorted(target)


# -- fsa checkpoints ----------------------------------------------------------------------
def resolve_reference(ref: str | Path, results_root: str | Path | None = None) -> Path:
    """The checkpoint file of ``ref``: a path as given, or the ``best.pt`` of a ``store:`` reference."""
    if not str(ref).startswith(STORE_PREFIX):
        return Path(ref)
    try:
        experiment, config_hash = parse_store_reference(str(ref))
    except ConfigError as e:
        raise PretrainedError(str(e)) from None
    root = Path(results_root) if results_root is not None else store.results_root()
    record = store.find_run(experiment, config_hash, root)
    if record is None:
        raise PretrainedError(f"pretrained={ref}: no recorded run {config_hash} in experiment {experiment!r} "
                              f"of the results store {root}")
    from ..checkpoint import checkpoint_dir

    path = checkpoint_dir(Config.from_dict(record["config"]), experiment, root) / "best.pt"
    if not path.is_file():
        raise PretrainedError(f"pretrained={ref}: the run is recorded but its checkpoint {path} is not on this "
                              "machine (checkpoints are not committed); train that run here first")
    return path


def mismatches(stored: ModelConfig, target: ModelConfig, fields: Sequence[str]) -> list[str]:
    """``fields`` on which a checkpoint's model and the target model disagree, each with both values."""
    return [f"{f}: file {getattr(stored, f)!r} vs model {getattr(target, f)!r}"
            for f in fields if getattr(stored, f) != getattr(target, f)]


def encoder_mismatches(stored: ModelConfig, target: ModelConfig) -> list[str]:
    """The encoder fields on which a checkpoint's model and the target model disagree."""
    return mismatches(stored, target, [f for f in ModelConfig.ENCODER_FIELDS
                                       if target.branch or not f.startswith("branch")])


def _part(state: dict[str, torch.Tensor], module: str) -> dict[str, torch.Tensor]:
    """The tensors of ``state`` under ``<module>.``, keyed relative to that module."""
    prefix = module + "."
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def _load_head(model: nn.Module, ckpt: dict, stored: ModelConfig, path: str | Path) -> list[str]:
    """The checkpoint's ``head.*`` into ``model.head``, and FSA's ``W_v`` set to the identity (or
    the checkpoint's ``fsa.*`` where it has them); the loaded keys."""
    target: ModelConfig = model.cfg
    owner = arch_class(stored)
    if not getattr(owner, "frame_head", False):
        raise PretrainedError(f"{path}: the head of model {stored.name!r} reads {owner.__name__}'s state, not frame "
                              f"features, so it cannot start model {target.name!r}'s head; set pretrained_head=false")
    diffs = mismatches(stored, target, ModelConfig.HEAD_FIELDS)
    if diffs:
        raise PretrainedError(f"{path}: the head of this fsa checkpoint (model {stored.name!r}) does not fit model "
                              f"{target.name!r} ({'; '.join(diffs)}); set pretrained_head=false to load the "
                              "encoder only")
    head = _part(ckpt["model"], "head")
    model.head.load_state_dict(head, strict=True)
    loaded = [f"head.{k}" for k in head]
    fsa = getattr(model, "fsa", None)
    if fsa is not None:
        own = _part(ckpt["model"], "fsa")
        if own:
            fsa.load_state_dict(own, strict=True)
            loaded += [f"fsa.{k}" for k in own]
        else:
            with torch.no_grad():
                nn.init.eye_(fsa.w_v.weight)
    return loaded


def load_fsa_checkpoint(model: nn.Module, path: str | Path, head: bool = True, input_norm: str = "imagenet"
                        ) -> list[str]:
    """Load the fsa checkpoint ``path`` into ``model``: the ``ecnn.*`` weights into its ECNN and,
    with ``head`` where the model's head reads frame features, the head (see the module docstring).
    ``input_norm`` is the run's, which must be the checkpoint's.

    Returns the loaded keys (``ecnn.backbone.*``, ``ecnn.branch.*`` when ``model`` has a
    branch, ``head.*``). Raises :class:`PretrainedError` naming the file and the problem.
    """
    from ..checkpoint import CheckpointError, checkpoint_config, load_checkpoint, unwrap

    model = unwrap(model)
    target: ModelConfig = model.cfg
    try:
        ckpt = load_checkpoint(path)
        stored_cfg = checkpoint_config(ckpt)
    except CheckpointError as e:
        raise PretrainedError(f"{e} (pretrained_format=fsa expects a checkpoint written by fsa pretrain or "
                              "fsa train)") from None
    except (TypeError, KeyError) as e:
        raise PretrainedError(f"{path}: the checkpoint's config is not valid for this version of fsa ({e})") from None
    if stored_cfg.input_norm != input_norm:
        raise PretrainedError(f"{path}: this fsa checkpoint was trained with input_norm={stored_cfg.input_norm!r}, "
                              f"the run has input_norm={input_norm!r}; set input_norm={stored_cfg.input_norm}")
    stored = stored_cfg.model
    diffs = encoder_mismatches(stored, target)
    if diffs:
        raise PretrainedError(f"{path}: the encoder of this fsa checkpoint (model {stored.name!r}) does not fit "
                              f"model {target.name!r} ({'; '.join(diffs)})")
    state = _part(ckpt["model"], "ecnn")
    if model.ecnn.branch is None:
        state = {k: v for k, v in state.items() if not k.startswith("branch.")}
    try:
        model.ecnn.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = " ".join(str(e).strip().splitlines()[:3])
        raise PretrainedError(f"{path}: the ecnn weights do not fit model {target.name!r} ({first})") from None
    loaded = [f"ecnn.{k}" for k in state]
    if head and getattr(model, "frame_head", False):
        loaded += _load_head(model, ckpt, stored, path)
    return sorted(loaded)


def load_pretrained(model: nn.Module, ref: str | Path, fmt: str = "torchvision",
                    results_root: str | Path | None = None, head: bool = True, input_norm: str = "imagenet"
                    ) -> list[str]:
    """Initialise ``model`` from ``ref`` in format ``fmt`` (see the module docstring); the loaded keys.
    ``head``: the ``fsa`` format's ``pretrained_head``; ``input_norm``: the run's, which an ``fsa``
    checkpoint must share (the VGG formats' norm is checked by ``Config.validate``)."""
    if fmt == "fsa":
        return load_fsa_checkpoint(model, resolve_reference(ref, results_root), head, input_norm)
    if fmt not in PRETRAINED_FORMATS:
        raise PretrainedError(f"unknown pretrained format {fmt!r}; expected one of {', '.join(PRETRAINED_FORMATS)}")
    if str(ref).startswith(STORE_PREFIX):
        raise PretrainedError(f"pretrained={ref}: a results-store reference is an fsa checkpoint; "
                              "set pretrained_format=fsa")
    return load_vgg16(model, ref, fmt)
