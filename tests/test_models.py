"""The model family against the paper's shapes (Table 1, §1.2-1.3) and FSA's algebra.

Expected sizes are computed here from the paper's numbers, not read from the code.
"""
import re
from dataclasses import replace

import numpy as np
import pytest
import torch
import torchvision

from fsa.config import ConfigError, ModelConfig
from fsa.models import REGISTRY, build_model
from fsa.models.fsa import FrameSelfAttention
from fsa.models.pretrained import PretrainedError, load_vgg16, vggface_key_map
from fsa.spec import make_config

TINY = dict(width=0.0625)


def tiny(name="ecnn-fsa", **kw):
    return build_model(replace(REGISTRY[name].config, **{**TINY, **kw}))


@pytest.fixture(scope="module")
def paper_model():
    torch.manual_seed(0)
    return build_model("ecnn-fsa")


def test_paper_shapes(paper_model):
    m = paper_model
    # FSA: Q, K, V are 2048 x 2048 (Table 1, §1.3)
    for w in (m.fsa.w_q, m.fsa.w_k, m.fsa.w_v):
        assert tuple(w.weight.shape) == (2048, 2048) and w.bias is None
    assert m.fsa.s == 0.1
    # enhanced branch kernel 7x7x256x1024 (§1.2)
    assert tuple(m.ecnn.branch.conv.weight.shape) == (1024, 256, 7, 7)
    # three added 3x3 convs to 1024 channels: 512->1024, 1024->1024, 1024->1024
    added = [c for c in m.ecnn.backbone.added if isinstance(c, torch.nn.Conv2d)]
    assert [tuple(c.weight.shape) for c in added] == [(1024, 512, 3, 3), (1024, 1024, 3, 3), (1024, 1024, 3, 3)]
    # head: LayerNorm(2048) -> ReLU -> Dropout(0.5) -> FC(2048 -> 7)  (Table 1)
    layers = list(m.head.layers)
    assert [type(x) for x in layers] == [torch.nn.LayerNorm, torch.nn.ReLU, torch.nn.Dropout, torch.nn.Linear]
    assert layers[0].normalized_shape == (2048,) and layers[2].p == 0.5
    assert (layers[3].in_features, layers[3].out_features) == (2048, 7)


def test_paper_parameter_count(paper_model):
    vgg_convs = sum(p.numel() for p in torchvision.models.vgg16().features.parameters())
    added = (3 * 3 * 512 * 1024 + 1024) + 2 * (3 * 3 * 1024 * 1024 + 1024)
    branch = 7 * 7 * 256 * 1024 + 1024
    attention = 3 * 2048 * 2048
    head = 2 * 2048 + (2048 * 7 + 7)
    assert sum(p.numel() for p in paper_model.parameters()) == vgg_convs + added + branch + attention + head


def test_backbone_2048_variant_uses_1x1_conv():
    m = build_model("ecnn-fsa-3072-fc1-s0.06")
    convs = [c for c in m.ecnn.backbone.added if isinstance(c, torch.nn.Conv2d)]
    assert tuple(convs[-1].weight.shape) == (2048, 1024, 1, 1)
    assert m.fsa.w_q.weight.shape == (3072, 3072)


def test_branch_resolution_and_flops():
    """Stride 4 from conv3_3 puts the branch on conv5's 14x14 grid at 224 px."""
    m = tiny()
    x = torch.zeros(1, 3, 224, 224)
    _, tap = m.ecnn.backbone(x)
    assert tap.shape[-2:] == (56, 56)
    assert m.ecnn.branch.conv(tap).shape[-2:] == (14, 14)


def test_fsa_matches_independent_computation():
    torch.manual_seed(1)
    d, n, s = 16, 5, 0.3
    att = FrameSelfAttention(d, s)
    x = torch.randn(2, n, d)
    fused, importance, a = att(x)
    q, k, v = x @ att.w_q.weight.T, x @ att.w_k.weight.T, x @ att.w_v.weight.T
    expected_a = torch.exp(s * q @ k.transpose(1, 2))
    expected_a = expected_a / expected_a.sum(-1, keepdim=True)
    torch.testing.assert_close(a, expected_a)
    torch.testing.assert_close(fused, (expected_a @ v).mean(1))
    torch.testing.assert_close(a.sum(-1), torch.ones(2, n))
    torch.testing.assert_close(importance.sum(-1), torch.ones(2))
    torch.testing.assert_close(importance, expected_a.mean(1))


def test_fsa_permutation_equivariance():
    torch.manual_seed(2)
    att = FrameSelfAttention(12, 0.1)
    x = torch.randn(3, 6, 12)
    perm = torch.randperm(6)
    fused, importance, a = att(x)
    fused_p, importance_p, a_p = att(x[:, perm])
    x_star = a @ att.w_v(x)
    x_star_p = a_p @ att.w_v(x[:, perm])
    torch.testing.assert_close(x_star_p, x_star[:, perm])
    torch.testing.assert_close(fused_p, fused)
    torch.testing.assert_close(importance_p, importance[:, perm])


def test_fsa_small_s_is_the_mean():
    torch.manual_seed(3)
    att = FrameSelfAttention(8, 1e-9)
    x = torch.randn(2, 4, 8)
    fused, importance, _ = att(x)
    torch.testing.assert_close(importance, torch.full((2, 4), 0.25))
    torch.testing.assert_close(fused, att.w_v(x.mean(1)))


# -- the assembled ECNN-FSA against the paper's equations, computed by hand ------------------
def by_hand(model, x: torch.Tensor, s: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and frame importance of an ECNN-FSA in eval mode, from its ECNN features and weight
    matrices with plain tensor algebra (Eq. 1-2 and Table 1; no module of the FSA or head is called):
    importance_j = mean_i softmax_j(s q_i . k_j), z = sum_j importance_j W_v x_j, then
    LayerNorm -> ReLU -> (Dropout: identity in eval) -> FC."""
    f = model.ecnn(x)  # [B, n, D]
    q, k, v = f @ model.fsa.w_q.weight.T, f @ model.fsa.w_k.weight.T, f @ model.fsa.w_v.weight.T
    e = torch.exp(s * torch.einsum("bid,bjd->bij", q, k))
    a = e / e.sum(dim=2, keepdim=True)  # each row i: a distribution over the frames j it attends to
    importance = a.mean(dim=1)
    z = torch.einsum("bj,bjd->bd", importance, v)
    norm, fc = model.head.layers[0], model.head.layers[-1]
    mu, var = z.mean(-1, keepdim=True), z.var(-1, unbiased=False, keepdim=True)
    h = torch.clamp((z - mu) / torch.sqrt(var + norm.eps) * norm.weight + norm.bias, min=0)
    return h @ fc.weight.T + fc.bias, importance


def test_ecnn_fsa_logits_are_the_head_of_the_importance_weighted_values():
    torch.manual_seed(11)
    m = tiny().eval()
    with torch.no_grad():
        m.fsa.w_q.weight.mul_(300)  # sharp attention, so that any other fusion gives other logits
        x = torch.randn(2, 5, 3, 32, 32)
        out = m(x)
        logits, importance = by_hand(m, x, REGISTRY["ecnn-fsa"].config.s)
    assert (importance.max(1).values - importance.min(1).values).min() > 0.1, "the check needs peaked attention"
    torch.testing.assert_close(out.attention, importance)
    torch.testing.assert_close(out.logits, logits)


def test_query_and_key_weights_receive_gradients():
    torch.manual_seed(12)
    m = tiny().train()
    x = torch.randn(2, 5, 3, 32, 32)
    torch.nn.functional.cross_entropy(m(x).logits, torch.tensor([1, 4])).backward()
    for name in ("w_q", "w_k", "w_v"):
        g = getattr(m.fsa, name).weight.grad
        assert g is not None and g.abs().sum() > 0, f"{name} gets no gradient: attention does not reach the loss"


def test_importance_leaves_uniform_after_a_few_steps_on_a_clip_whose_frames_differ():
    """At initialisation A is almost uniform (logits s.QK^T near 0); ten SGD steps (the paper's
    optimiser) on one clip whose middle frame is brighter make the frames' weights differ."""
    torch.manual_seed(0)
    m = tiny()
    x = torch.randn(1, 5, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    x[0, 2] += 2.0
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    for _ in range(10):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(m.train()(x).logits, torch.tensor([3])).backward()
        opt.step()
    with torch.no_grad():
        importance = m.eval()(x).attention[0]
    torch.testing.assert_close(importance.sum(), torch.tensor(1.0))
    assert importance.max() - importance.min() > 0.01, f"frame importance stays uniform: {importance.tolist()}"


def test_s_to_zero_gives_the_mean_pooled_model():
    """s -> 0 makes every row of A uniform: the model is the head applied to W_v (mean_j x_j)."""
    torch.manual_seed(13)
    m = tiny(s=1e-12).eval()
    x = torch.randn(2, 5, 3, 32, 32)
    with torch.no_grad():
        out = m(x)
        f = m.ecnn(x)
        mean_pooled = m.fsa.w_v(f.mean(dim=1))
        norm, fc = m.head.layers[0], m.head.layers[-1]
        h = torch.relu(torch.nn.functional.layer_norm(mean_pooled, norm.normalized_shape, norm.weight, norm.bias,
                                                      norm.eps))
        twin = by_hand(m, x, 0.0)[0]
    torch.testing.assert_close(out.attention, torch.full((2, 5), 0.2))
    torch.testing.assert_close(out.logits, h @ fc.weight.T + fc.bias)
    torch.testing.assert_close(out.logits, twin)


@pytest.mark.parametrize("n", [1, 3, 5, 6, 9])
def test_any_n_and_batch_one(n):
    m = tiny().eval()
    out = m(torch.randn(1, n, 3, 40, 40))
    assert out.logits.shape == (1, 7) and out.attention.shape == (1, n)
    torch.testing.assert_close(out.attention.sum(1), torch.ones(1))


def test_eval_is_deterministic_and_gradients_reach_first_conv():
    torch.manual_seed(4)
    m = tiny()
    x = torch.randn(2, 5, 3, 48, 48)
    m.eval()
    with torch.no_grad():
        assert torch.equal(m(x).logits, m(x).logits)
    m.train()
    m(x).logits.sum().backward()
    g = m.ecnn.backbone.features[0].weight.grad
    assert g is not None and g.abs().sum() > 0


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_named_config_runs(name):
    torch.manual_seed(0)
    m = tiny(name).eval()
    out = m(torch.randn(2, 3, 3, 32, 32))
    assert out.logits.shape == (2, 7) and torch.isfinite(out.logits).all()
    has_attention = REGISTRY[name].config.arch == "ecnn-fsa"
    assert (out.attention is not None) == has_attention


def test_score_fusion_is_mean_of_frame_softmax():
    torch.manual_seed(5)
    m = tiny("score-fusion").eval()
    x = torch.randn(2, 4, 3, 32, 32)
    with torch.no_grad():
        frame_probs = torch.softmax(m.head(m.ecnn(x)), -1)
        out = m(x)
        torch.testing.assert_close(torch.softmax(out.logits, -1), frame_probs.mean(1))
        torch.testing.assert_close(out.frame_probs, frame_probs)


def test_lstm_widths_follow_table2():
    m = build_model(replace(REGISTRY["cnn-lstm-2048-1024"].config))
    assert [lstm.hidden_size for lstm in m.lstms] == [2048, 1024]
    assert m.ecnn.branch is None and m.ecnn.out_dim == 1024
    lbp = tiny("ecnn-lstm-fc6-k7-lbp")
    assert lbp.ecnn.out_dim == 2 * 64 + 160  # tiny ECNN (2 x 1024/16) + 160-d LBP


def test_tables_are_covered():
    rows = {t: [n for n, e in REGISTRY.items() if t in e.tables] for t in ("2", "3", "6", "7", "9")}
    assert len(rows["2"]) == 5 and len(rows["3"]) == 4 and len(rows["6"]) == 8
    assert len(rows["7"]) == 10 and set(rows["9"]) == {"ecnn-fsa", "cnn-lstm"}
    assert REGISTRY["ecnn-fsa"].config == replace(REGISTRY["ecnn-fsa-2048-fc1-s0.1"].config, name="ecnn-fsa")


def test_invalid_configs_are_rejected():
    with pytest.raises(ConfigError, match="s=0"):
        build_model(ModelConfig(s=0))
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        build_model("nope")
    with pytest.raises(ConfigError, match="fc_layers=3"):
        build_model(ModelConfig(fc_layers=3))
    # The paper's four architectures, in the order of its Tables 4 and 2 (the proposed model first).
    unknown_arch = "arch='transformer': expected one of ecnn-fsa, score-fusion, cnn-lstm, ecnn-lstm"
    with pytest.raises(ConfigError, match=re.escape(unknown_arch)):
        build_model(ModelConfig(arch="transformer"))
    with pytest.raises(ConfigError, match=re.escape(unknown_arch)):
        make_config("ecnn-fsa", "smoke", arch="transformer", s="0")  # the arch is reported first


# -- pretrained weights --------------------------------------------------------------


@pytest.fixture(scope="module")
def vgg16_file(tmp_path_factory):
    torch.manual_seed(6)
    vgg = torchvision.models.vgg16()
    state = {k: v for k, v in vgg.state_dict().items() if k.startswith("features.")}
    state["classifier.6.bias"] = vgg.classifier[6].bias.detach().clone()
    path = tmp_path_factory.mktemp("weights") / "vgg16.pth"
    torch.save(state, path)
    return vgg.features.eval(), state, path


def test_torchvision_state_dict_reproduces_conv_outputs(vgg16_file, paper_model):
    features, _, path = vgg16_file
    loaded = load_vgg16(paper_model, path)
    assert len(loaded) == 26  # 13 convs x (weight, bias)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(paper_model.ecnn.backbone.features.eval()(x), features(x))


def test_vggface_key_mapping(vgg16_file, tmp_path):
    features, state, _ = vgg16_file
    inverse = {v: k for k, v in vggface_key_map().items()}
    assert inverse["features.14"] == "conv3_3" and inverse["features.28"] == "conv5_3"
    renamed = {f"{inverse[k.rsplit('.', 1)[0]]}.{k.rsplit('.', 1)[1]}": v for k, v in state.items()
               if k.startswith("features.")}
    path = tmp_path / "vgg_face.pth"
    torch.save(renamed, path)
    m = tiny(width=1.0)
    load_vgg16(m, path, fmt="vggface")
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(m.ecnn.backbone.features(x), features(x))


def test_wrong_weight_files_are_named(vgg16_file, tmp_path):
    _, state, _ = vgg16_file
    junk = tmp_path / "junk.pth"
    junk.write_text("not weights")
    with pytest.raises(PretrainedError, match="junk.pth: not a PyTorch state dict"):
        load_vgg16(tiny(), junk)
    with pytest.raises(PretrainedError, match=r"shape mismatches: features\.0\.weight"):
        load_vgg16(tiny(), vgg16_file[2])  # width 1/16 model, full-width file
    partial = tmp_path / "partial.pth"
    torch.save({k: v for k, v in state.items() if k != "features.28.weight"}, partial)
    with pytest.raises(PretrainedError, match=r"missing keys: features\.28\.weight"):
        load_vgg16(tiny(width=1.0), partial)
    with pytest.raises(PretrainedError, match="no such weights file"):
        load_vgg16(tiny(), tmp_path / "absent.pth")


# -- BatchNorm form (the from-scratch CPU presets) --------------------------------------------


def test_batch_norm_form_normalises_every_conv_and_taps_the_relu():
    m = tiny(batch_norm=True, backbone_dim=2048)
    bns = [x for x in m.modules() if isinstance(x, torch.nn.BatchNorm2d)]
    assert len(bns) == 13 + 3 + 1 + 1  # VGG-16 convs, added convs, 1x1 to 2048, branch conv
    backbone = m.ecnn.backbone
    assert isinstance(backbone.features[backbone.tap_index - 1], torch.nn.ReLU)
    assert isinstance(backbone.features[backbone.tap_index - 2], torch.nn.BatchNorm2d)
    assert not any(isinstance(x, torch.nn.BatchNorm2d) for x in tiny().modules())
    _, tap = backbone(torch.randn(2, 3, 32, 32))
    assert tap.shape[1] == backbone.tap_channels and tap.min() >= 0


def test_frozen_convs_compute_the_same_function_and_get_no_gradient():
    """``freeze_convs``: the frozen prefix runs without autograd in channels-last memory, yet computes what
    the unfrozen stack computes; the first k convs get no gradient, the next conv and the branch do, and
    the frozen BatchNorm layers keep following the batch's statistics in training."""
    import copy

    from fsa.models.backbone import freeze_convs

    torch.manual_seed(5)
    start = tiny(batch_norm=True).eval()
    x = torch.randn(2, 3, 3, 48, 48)
    with torch.no_grad():
        before = start(x).logits
    for k in (2, 7):
        m = copy.deepcopy(start)
        convs = [c for c in m.ecnn.backbone.features if isinstance(c, torch.nn.Conv2d)]
        freeze_convs(m, k)
        m.eval()
        with torch.no_grad():
            torch.testing.assert_close(m(x).logits, before, rtol=1e-4, atol=1e-5)
        m.train()
        first_bn = m.ecnn.backbone.features[1]
        mean = first_bn.running_mean.clone()
        m(x).logits.sum().backward()
        assert all(c.weight.grad is None for c in convs[:k]) and convs[k].weight.grad.abs().sum() > 0, k
        assert m.ecnn.branch.conv.weight.grad.abs().sum() > 0
        assert not torch.equal(first_bn.running_mean, mean)
    with pytest.raises(ValueError, match="convs=8"):
        freeze_convs(m, 8)


def test_batch_norm_form_loads_torchvision_vgg16_bn_but_not_plain_vgg16(vgg16_file, tmp_path):
    bn = torchvision.models.vgg16_bn()
    path = tmp_path / "vgg16_bn.pth"
    torch.save(bn.state_dict(), path)
    m = build_model(replace(REGISTRY["ecnn-fsa"].config, batch_norm=True))
    assert len(load_vgg16(m, path)) == 13 * 7  # conv weight, bias + BN weight, bias, running mean, var, count
    assert torch.equal(m.ecnn.backbone.features[1].running_var, bn.features[1].running_var)
    with pytest.raises(PretrainedError, match="does not fit"):
        load_vgg16(m, vgg16_file[2])


@pytest.mark.parametrize("name", ["score-fusion", "ecnn-fsa"])
def test_evaluate_records_each_frames_probabilities_of_a_frame_classifier(name):
    """Score fusion's test rows carry every frame's class probabilities, whose mean is the clip's;
    a model that does not classify frames records none."""
    from fsa.evaluation import evaluate

    torch.manual_seed(3)
    classes = [f"c{k}" for k in range(7)]
    clips = [{"frames": torch.randn(4, 3, 32, 32), "label": k % 7, "index": k, "video_id": f"v{k}",
              "frame_indices": torch.arange(4)} for k in range(3)]
    rows = evaluate(tiny(name).eval(), clips, classes, batch_size=2).per_clip
    if name == "ecnn-fsa":
        assert all("frame_probs" not in r for r in rows)
        return
    for r in rows:
        frames = np.asarray(r["frame_probs"])
        assert frames.shape == (4, 7)
        np.testing.assert_allclose(frames.mean(0), r["probs"], atol=1e-5)
