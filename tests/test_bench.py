"""``fsa bench`` at tiny size: every field present and sane (no timing asserts).

One run of ``fsa.bench.main(["--tiny", ...])`` on a small CK+ root written in the real
on-disk format (640x490 grayscale PNG sequences + Emotion labels) is shared by the tests.
Expected FLOPs are recomputed here with torch's counter on the real CPU model, plus the
LSTM's multiply-adds by hand where the fused CPU LSTM kernel is not counted.
"""
from __future__ import annotations

import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from fsa import bench
from fsa.config import make_config, scaled
from fsa.models import build_model
from fsa.models.layout import format_input, set_layout
from fsa.paper import paper_table

MODELS = ("ecnn-fsa", "cnn-lstm", "score-fusion")
N = 5
SUBJECTS, SEQS, FRAMES = 2, 2, 6


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, write_ckplus_raw):
    root = tmp_path_factory.mktemp("bench")
    raw = write_ckplus_raw(root / "raw", subjects=SUBJECTS, seqs=SEQS, frames=FRAMES)
    out = root / "bench.json"
    code = bench.main(["--tiny", "--raw", str(raw), "--out", str(out)])
    return code, json.loads(out.read_text()), out


@pytest.fixture(scope="module")
def report(tiny_run):
    return bench.format_report(tiny_run[1])


def counted_flops(name: str) -> tuple[float, float]:
    """(inference, train) FLOPs per frame of the tiny model, counted on the CPU."""
    cfg = make_config(name, "smoke", image_size=32, width=0.0625)
    torch.manual_seed(0)
    model = build_model(cfg.model)
    x = torch.randn(1, N, 3, 32, 32)
    with FlopCounterMode(display=False) as c, torch.no_grad():
        model.eval()(x)
    inference = c.get_total_flops() / N
    with FlopCounterMode(display=False) as c:
        model.train()(x).logits.sum().backward()
    train = c.get_total_flops() / N
    if cfg.model.arch.endswith("lstm"):  # the fused CPU LSTM kernel is invisible to the counter
        widths = [scaled(w, cfg.model.width) for w in cfg.model.lstm_widths]
        ins = [model.ecnn.out_dim] + widths[:-1]
        lstm = sum(2 * 4 * h * (i + h) for i, h in zip(ins, widths))
        inference += lstm
        # backward: weight and input gradients at every step, the recurrent gradient at every
        # step but the first (h_0 is a constant)
        train += 3 * lstm - sum(2 * 4 * h * h for h in widths) / N
    return inference, train


def test_run_succeeds_and_writes_json(tiny_run):
    code, result, path = tiny_run
    assert code == 0 and path.is_file()
    assert result["kind"] == "bench" and result["profile"] == "tiny" and result["schema"] == bench.SCHEMA
    env = result["environment"]
    assert env["device"] == "cpu" and env["threads"] == torch.get_num_threads() >= 1
    assert env["torch"] == torch.__version__ and env["device_name"]
    assert isinstance(env["mkldnn"], bool) and isinstance(env["bf16_native"], bool) and env["bf16_note"]
    assert result["settings"]["repeats"] == 1 and result["settings"]["warmup"] == 1
    assert 0 < result["wall_s"] < 600


def test_peak_is_measured(tiny_run):
    peak = tiny_run[1]["peak"]
    fp32 = peak["fp32"]
    assert fp32["dtype"] == "float32" and fp32["size"] == bench.PROFILES["tiny"]["peak_size"]
    assert 0 < fp32["gflops_min"] <= fp32["gflops"] <= fp32["gflops_max"]
    assert 0 <= fp32["other_load"] <= 1
    bf16 = peak["bf16"]
    assert (bf16.get("gflops", 0) > 0) if tiny_run[1]["environment"]["bf16_native"] else (
        bf16["available"] is False and bf16["reason"])


@pytest.mark.parametrize("name", MODELS)
def test_model_rows_complete_and_consistent(tiny_run, name):
    result = tiny_run[1]
    rows = [r for r in result["models"] if r["model"] == name]
    assert len(rows) == 1
    row = rows[0]
    cfg = make_config(name, "smoke", image_size=32, width=0.0625)
    assert (row["size"], row["image_size"], row["width"], row["n"]) == ("tiny", 32, 0.0625, N)
    assert row["params"] == sum(p.numel() for p in build_model(cfg.model).parameters())
    expected = dict(zip(("inference", "train"), counted_flops(name)))
    roof = result["peak"]["fp32"]["gflops_max"]
    for mode in ("inference", "train"):
        e = row[mode]
        assert e["flops_per_frame"] == pytest.approx(expected[mode], rel=1e-9)
        assert e["batch_clips"] == 2 and e["frames_per_step"] == 2 * N
        assert len(e["times_s"]) == 1 and len(e["warmup_s"]) == 1
        assert 0 < e["ms_per_frame_min"] <= e["ms_per_frame"] <= e["ms_per_frame_max"]
        median_s = e["ms_per_frame"] * e["frames_per_step"] / 1e3
        assert e["gflops_per_s"] == pytest.approx(e["flops_per_frame"] * e["frames_per_step"] / median_s / 1e9,
                                                  rel=1e-2, abs=0.01)
        assert e["clips_per_s"] == pytest.approx(e["batch_clips"] / median_s, rel=1e-2)
        assert 0 < e["fraction_of_peak"] < 2
        assert e["fraction_of_peak"] == pytest.approx(e["gflops_per_s"] / roof, rel=1e-2, abs=1e-4)
        assert e["peak_memory_mib"] >= e["memory_baseline_mib"] > 0
        assert e["layout"] == ("nchw" if mode == "train" else "channels_last+nchw-branch")
        assert 0 <= e["other_load"] <= 1 and e["cpu_busy"] > 0
    assert row["train"]["flops_per_frame"] > 2 * row["inference"]["flops_per_frame"]


def test_table8_ratios(tiny_run):
    result = tiny_run[1]
    ratios = result["ratios"]
    ms = {(r["model"], m): r[m]["ms_per_frame"] for r in result["models"] for m in ("train", "inference")}
    best = {(r["model"], m): r[m]["ms_per_frame_min"] for r in result["models"] for m in ("train", "inference")}
    for mode in ("train", "inference"):
        assert ratios["tiny"][mode] == pytest.approx(ms["ecnn-fsa", mode] / ms["cnn-lstm", mode], rel=1e-3)
        assert ratios["tiny"][f"{mode}_min"] == pytest.approx(best["ecnn-fsa", mode] / best["cnn-lstm", mode],
                                                             rel=1e-3)
    paper = {r["model"]: r for r in paper_table(8)["rows"]}
    assert ratios["published"]["train"] == pytest.approx(21.25 / 40.34, rel=1e-3)
    assert ratios["published"]["inference"] == pytest.approx(
        paper["ecnn-fsa"]["test_ms_per_frame"] / paper["cnn-lstm"]["test_ms_per_frame"], rel=1e-3)


def test_face_prep_section(tiny_run):
    prep = tiny_run[1]["data"]["face_prep"]
    assert prep["available"] is True and prep["frame_size"] == [640, 490]
    videos = min(bench.PROFILES["tiny"]["prep_videos"], SUBJECTS * SEQS)
    assert prep["videos"] == videos and prep["frames"] == videos * FRAMES
    for j in ("j1", "j2"):
        run = prep[j]
        assert run["frames"] == prep["frames"] and run["seconds"] > 0
        assert run["frames_per_s"] == pytest.approx(run["frames"] / run["seconds"], rel=0.05)
        assert sum(run["methods"].values()) - run["methods"]["dropped"] == prep["frames"]
        assert run["methods"]["hog"] + run["methods"]["track"] >= 1


def test_loader_section(tiny_run):
    result = tiny_run[1]
    loader = result["data"]["loader"]["tiny"]
    assert loader["available"] is True and loader["image_size"] == 32 and loader["batch_clips"] == 2
    videos = min(bench.PROFILES["tiny"]["prep_videos"], SUBJECTS * SEQS)
    assert loader["clips"] == videos
    per = [v for k, v in loader.items() if k.startswith("workers")]
    assert per and all(p["clips_per_s"] > 0 and p["clips"] >= bench.PROFILES["tiny"]["loader_clips"]
                       and p["first_batch_s"] > 0 for p in per)
    assert loader["clips_per_s"] == max(p["clips_per_s"] for p in per)
    fsa_train = next(r for r in result["models"] if r["model"] == "ecnn-fsa")["train"]["clips_per_s"]
    assert loader["over_model_train"] == pytest.approx(loader["clips_per_s"] / fsa_train, rel=1e-2)


def test_targets_that_apply(tiny_run):
    targets = {t["name"]: t for t in tiny_run[1]["targets"]}
    # tiny size: the 224 px targets do not apply; the data ones do
    assert not any("224 px" in n for n in targets)
    prep = targets["face preparation -j 2, frames/s"]
    assert prep["met"] == (prep["value"] >= bench.TARGETS["prep_fps_j2"])
    loader = targets["DataLoader / ECNN-FSA training clips/s (tiny)"]
    assert loader["met"] == (loader["value"] >= bench.TARGETS["loader_over_model"])


def test_report_table(report):
    text = report
    for name in MODELS:
        assert sum(line.startswith(name) for line in text.splitlines()) == 2  # train + inference
    assert "peak (matmul" in text and "fp32" in text and "published (1080Ti)" in text and "measured, tiny" in text
    assert "-j 2:" in text and "DataLoader at 32 px" in text and "targets:" in text


def test_report_says_what_is_not_available(tiny_run):
    result = json.loads(json.dumps(tiny_run[1]))
    result["data"] = {"face_prep": {"available": False, "reason": "no dlib"},
                      "loader": {"tiny": {"available": False, "reason": "no prepared dataset"}}}
    text = bench.format_report(result)
    assert "face preparation: not available: no dlib" in text
    assert "DataLoader (tiny): not available: no prepared dataset" in text


def test_results_store_name_and_save(tiny_run, tmp_path, monkeypatch):
    result = tiny_run[1]
    monkeypatch.setenv("FSA_RESULTS", str(tmp_path))
    name = bench.store_name(result)
    assert name.startswith("cpu-") and name.endswith("-tiny") and "/" not in name and " " not in name
    path = bench.save(result)
    assert path == tmp_path / "bench" / f"{name}.json"
    assert json.loads(path.read_text())["models"] == result["models"]


def test_bad_arguments_are_rejected(capsys):
    assert bench.main(["--tiny", "--no-data", "--models", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="size='huge'"):
        bench.run_bench("tiny", sizes=["huge"], data=False)
    with pytest.raises(ValueError, match="profile='fast'"):
        bench.run_bench("fast")


# -- memory layouts (fsa.models.layout) ----------------------------------------------


def _conv_weights_cl(model):
    return {name: m.weight.is_contiguous(memory_format=torch.channels_last) and not m.weight.is_contiguous()
            for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1)}


def test_layouts_per_device_and_mode():
    cfg = make_config("ecnn-fsa", "smoke", image_size=32, width=0.0625)
    model = build_model(cfg.model)
    assert set_layout(model, "cpu", train=True) == torch.contiguous_format
    assert not any(_conv_weights_cl(model).values())
    assert set_layout(model, "cpu", train=False) == torch.channels_last
    cl = _conv_weights_cl(model)
    assert cl.pop("ecnn.branch.conv") is False and all(cl.values())
    assert set_layout(model, "cuda", train=True) == torch.channels_last and all(_conv_weights_cl(model).values())
    assert set_layout(model, "cpu", train=False, layout="nchw") == torch.contiguous_format
    with pytest.raises(ValueError, match="layout='nhwc'"):
        set_layout(model, "cpu", train=False, layout="nhwc")


def test_layout_changes_no_values_and_branch_reads_its_weights_layout():
    torch.manual_seed(7)
    model = build_model(make_config("ecnn-fsa", "smoke", image_size=32, width=0.0625).model).eval()
    x = torch.randn(2, N, 3, 32, 32)
    with torch.no_grad():
        ref = model(x)
        seen = []
        model.ecnn.branch.conv.register_forward_pre_hook(lambda m, args: seen.append(args[0].is_contiguous()))
        fmt = set_layout(model, "cpu", train=False)
        xf = format_input(x, fmt)
        assert xf.flatten(0, 1).is_contiguous(memory_format=torch.channels_last) and torch.equal(xf, x)
        out = model(xf)
    assert seen == [True]  # channels_last tap converted for the NCHW branch conv
    torch.testing.assert_close(out.logits, ref.logits, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out.attention, ref.attention, rtol=1e-4, atol=1e-5)


def test_table8_rows_pair_measured_and_published(tiny_run):
    rows = bench.table8_rows(tiny_run[1])
    assert [(r["size"], r["model"]) for r in rows] == [("tiny", "ecnn-fsa"), ("tiny", "cnn-lstm")]
    fsa_row = next(r for r in tiny_run[1]["models"] if r["model"] == "ecnn-fsa")
    assert rows[0]["train_ms_per_frame"] == fsa_row["train"]["ms_per_frame"]
    assert rows[0]["test_ms_per_frame"] == fsa_row["inference"]["ms_per_frame"]
    assert (rows[0]["paper_train_ms_per_frame"], rows[0]["paper_test_ms_per_frame"]) == (21.25, 5.57)
    assert (rows[1]["paper_train_ms_per_frame"], rows[1]["paper_test_ms_per_frame"]) == (40.34, 8.26)


def test_default_models_per_size_and_device():
    assert bench.default_models("paper", torch.device("cpu")) == ("ecnn-fsa", "cnn-lstm")
    assert bench.default_models("cpu", torch.device("cpu")) == MODELS
    assert bench.default_models("paper", torch.device("cuda")) == MODELS
