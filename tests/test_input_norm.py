"""The input normalisation follows the weights (``Config.input_norm``, :data:`fsa.config.INPUT_NORMS`).

VGG-Face was trained on 0-255 RGB minus its channel means, torchvision's VGG-16 on 0-1 RGB
standardised with ImageNet's statistics; the first conv layer of a model started from either must
see its inputs on that scale, through the datasets and ``fsa predict`` alike.
"""
from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torchvision

from data_prep.stills import read_stills
from fsa.checkpoint import save_checkpoint
from fsa.cli import EXIT_USAGE, main
from fsa.config import Config, ConfigError
from fsa.models import build_model
from fsa.models.pretrained import PretrainedError, load_pretrained, vggface_key_map
from fsa.predict import to_input
from fsa.report.bars import profile_hash
from fsa.runs import group_hash
from fsa.spec import make_config
from fsa.still_data import still_splits
from fsa.stills import pretrain_config

#: The channel statistics each set of weights was trained with, written out independently of fsa.
VGGFACE_MEAN = np.array([129.186, 104.762, 93.594])
IMAGENET_MEAN, IMAGENET_STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
EXPECTED_INPUT = {
    "vggface": lambda rgb: rgb - VGGFACE_MEAN,  # 0-255 units, no division
    "torchvision": lambda rgb: (rgb / 255.0 - IMAGENET_MEAN) / IMAGENET_STD,
}


# -- the run's identity ---------------------------------------------------------------
def test_the_default_norm_leaves_every_recorded_hash_as_it_was():
    """Pinned before ``input_norm`` and ``frozen_convs`` existed: they are hashed only when not at their default."""
    cpu = make_config("ecnn-fsa", "cpu", dataset="ckplus", data="x", frozen_convs=0)  # the cpu preset before it
    assert cpu.input_norm == "imagenet" and cpu.hash() == "be7108ba8948"
    assert make_config("ecnn-fsa", "smoke", dataset="ckplus", data="x").hash() == "28340df7ae31"
    assert cpu.override(input_norm="vggface").hash() != cpu.hash() != cpu.override(frozen_convs=7).hash()
    old = cpu.to_dict()
    del old["input_norm"], old["frozen_convs"]  # a record written before the fields
    assert Config.from_dict(old) == cpu and Config.from_dict(old).hash() == cpu.hash()
    # the groups and profiles the store and the bars are keyed by (pinned too), from a new or an old record
    assert group_hash(cpu, "fold", [0, 1]) == "9e2795cf6893"
    assert group_hash(cpu.override(input_norm="vggface"), "fold", [0, 1]) != "9e2795cf6893"
    assert profile_hash(cpu.to_dict()) == profile_hash(old) == "05f38e0d250d"
    assert profile_hash(cpu.override(input_norm="vggface").to_dict()) != profile_hash(old)


def test_the_weights_format_decides_the_norm(tmp_path):
    vgg = dict(dataset="ckplus", data="x", pretrained="vgg_face_dag.pth")
    assert make_config("ecnn-fsa", "paper", **vgg, pretrained_format="vggface").input_norm == "vggface"
    assert make_config("ecnn-fsa", "paper", **vgg, pretrained_format="vggface",
                       input_norm="vggface").input_norm == "vggface"
    assert make_config("ecnn-fsa", "paper", **vgg, pretrained_format="torchvision").input_norm == "imagenet"
    both = re.compile(r"input_norm='imagenet'.*pretrained_format='vggface'")
    with pytest.raises(ConfigError, match=both):
        make_config("ecnn-fsa", "paper", **vgg, pretrained_format="vggface", input_norm="imagenet")
    with pytest.raises(ConfigError, match=both):
        Config(pretrained_format="vggface").validate()
    with pytest.raises(ConfigError, match=r"input_norm='vggface'.*pretrained_format='torchvision'"):
        make_config("ecnn-fsa", "paper", **vgg, pretrained_format="torchvision", input_norm="vggface")
    with pytest.raises(ConfigError, match=r"input_norm='bgr': expected one of imagenet, vggface"):
        make_config("ecnn-fsa", "cpu", input_norm="bgr")
    # the still-image stage takes the same rule through its overrides
    still = pretrain_config("ecnn-fsa", "paper", "folder", tmp_path, pretrained="w.pth", pretrained_format="vggface")
    assert still.input_norm == "vggface"


def test_cli_refuses_vggface_weights_with_the_imagenet_norm(tmp_path, capsys):
    rc = main(["train", "--model", "ecnn-fsa", "--dataset", "ckplus", "--data", str(tmp_path), "--preset", "paper",
               "--set", "pretrained_format=vggface", "--set", "input_norm=imagenet"])
    err = capsys.readouterr().err.strip()
    assert rc == EXIT_USAGE and len(err.splitlines()) == 1
    assert "input_norm='imagenet'" in err and "pretrained_format='vggface'" in err


def test_an_fsa_checkpoint_keeps_the_norm_it_was_trained_with(tmp_path):
    """A still-image model that started from VGG-Face saw VGG-Face's scaling; a model started from it
    must too, and a mismatch is refused with both values named (the run's config is already hashed)."""
    still = pretrain_config("ecnn-fsa", "smoke", "folder", tmp_path, pretrained="w.pth", pretrained_format="vggface")
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "best.pt", model=build_model(still.model), cfg=still,
                           classes=[str(i) for i in range(7)], epoch=0)
    video = make_config("ecnn-fsa", "smoke", pretrained=str(path), pretrained_format="fsa")
    assert video.input_norm == "imagenet"  # the fsa format brings no norm of its own
    with pytest.raises(PretrainedError, match=r"input_norm='vggface'.*input_norm='imagenet'"):
        load_pretrained(build_model(video.model), path, "fsa", input_norm=video.input_norm)
    assert load_pretrained(build_model(video.model), path, "fsa", input_norm="vggface")
    # a checkpoint recorded before the field was trained with ImageNet's norm
    ckpt = torch.load(path, weights_only=True)
    del ckpt["config"]["input_norm"]
    ckpt["config"].update(pretrained="", pretrained_format="torchvision")
    torch.save(ckpt, tmp_path / "old.pt")
    assert load_pretrained(build_model(video.model), tmp_path / "old.pt", "fsa", input_norm="imagenet")
    with pytest.raises(PretrainedError, match=r"input_norm='imagenet'.*input_norm='vggface'"):
        load_pretrained(build_model(video.model), tmp_path / "old.pt", "fsa", input_norm="vggface")


# -- what the first layer sees ---------------------------------------------------------
def weights_file(path: Path, fmt: str) -> tuple[Path, torch.nn.Conv2d]:
    """A full-width VGG-16 conv stack of known random weights in ``fmt``'s key format, and its first conv."""
    torch.manual_seed(11)
    features = torchvision.models.vgg16().features
    state = {f"features.{k}": v for k, v in features.state_dict().items()}
    if fmt == "vggface":  # vgg_face_dag's names: conv1_1.weight ...
        inverse = {v: k for k, v in vggface_key_map().items()}
        state = {f"{inverse[k.rsplit('.', 1)[0]]}.{k.rsplit('.', 1)[1]}": v for k, v in state.items()}
    torch.save(state, path)
    return path, features[0]


def first_conv_numpy(x: np.ndarray, conv: torch.nn.Conv2d) -> np.ndarray:
    """A 3x3, stride-1, zero-padded conv of ``x`` [H, W, 3] in float64: [C_out, H, W]."""
    w, b = conv.weight.detach().double().numpy(), conv.bias.detach().double().numpy()
    h, wd = x.shape[:2]
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    out = np.zeros((w.shape[0], h, wd)) + b[:, None, None]
    for i in range(3):
        for j in range(3):
            out += np.einsum("oc,hwc->ohw", w[:, :, i, j], padded[i:i + h, j:j + wd])
    return out


@pytest.mark.parametrize("fmt", ["vggface", "torchvision"])
def test_the_first_layer_sees_the_scale_its_weights_were_trained_on(fmt, tmp_path):
    """A known image through the still-image dataset and ``fsa predict``'s input, into the plain
    VGG-16 (``paper`` form) loaded from a ``fmt`` file: its first conv's output is the conv of the
    image as the weights expect it, computed with numpy (VGG-Face: 0-255 minus its mean)."""
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
    root = tmp_path / "stills"
    for split, name, img in (("train", "happy", rng.integers(0, 256, (32, 32, 3))), ("val", "sad", image)):
        (root / split / name).mkdir(parents=True)
        assert cv2.imwrite(str(root / split / name / "a.png"), cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_RGB2BGR))
    path, conv = weights_file(tmp_path / f"{fmt}.pth", fmt)
    cfg = pretrain_config("ecnn-fsa", "paper", "folder", root, image_size=32, pretrained=str(path),
                          pretrained_format=fmt)
    assert not cfg.model.batch_norm
    model = build_model(cfg.model).eval()
    assert len(load_pretrained(model, cfg.pretrained, cfg.pretrained_format, input_norm=cfg.input_norm)) == 26
    first = model.ecnn.backbone.features[0]
    expected = first_conv_numpy(EXPECTED_INPUT[fmt](image.astype(np.float64)), conv)
    through_data = still_splits(read_stills("folder", root), cfg).val[0]["frames"]
    through_predict = to_input([image], cfg)[0]
    assert torch.equal(through_data, through_predict)
    assert np.allclose(through_data[0].numpy(), EXPECTED_INPUT[fmt](image.astype(np.float64)).transpose(2, 0, 1),
                       rtol=1e-6, atol=1e-5)
    with torch.no_grad():
        got = first(through_data).double().numpy()[0]
    assert np.allclose(got, expected, rtol=1e-4, atol=1e-3 * np.abs(expected).max())
