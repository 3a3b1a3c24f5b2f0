"""``fsa bench`` at tiny size: every field present and sane (no timing asserts).

One run of ``fsa.bench.main(["--tiny", "--device", "cpu", ...])`` on a small CK+ root written
in the real on-disk format (640x490 grayscale PNG sequences + Emotion labels) is shared by the
tests. A second run (no data section) simulates the other kind of CPU — no native bf16 where
this one has it, native bf16 where it has not — so that both paths (fp32 rows alone; fp32 and
bf16 rows side by side, each against its own precision's peak) are checked on any machine.
Expected FLOPs are counted here by hand from the architecture (every conv, linear map and
product of the tiny models), not with the counter the code uses.
"""
from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from fsa import bench
from fsa.bench import measure
from fsa.models import build_model
from fsa.models.memory_format import format_input, set_memory_format
from fsa.paper import paper_table
from fsa.spec import make_config

MODELS = ("ecnn-fsa", "cnn-lstm", "score-fusion")
N = 5
SUBJECTS, SEQS, FRAMES = 2, 2, 6


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, write_ckplus_raw):
    root = tmp_path_factory.mktemp("bench")
    raw = write_ckplus_raw(root / "raw", subjects=SUBJECTS, seqs=SEQS, frames=FRAMES)
    out = root / "bench.json"
    t0 = time.perf_counter()
    code = bench.main(["--tiny", "--device", "cpu", "--raw", str(raw), "--out", str(out)])
    return code, json.loads(out.read_text()), out, time.perf_counter() - t0


@pytest.fixture(scope="module")
def other_cpu_run(tmp_path_factory):
    """The tiny run as on the other kind of CPU: ``native_bf16`` answers the opposite of this one's."""
    native, _ = bench.native_bf16(torch.device("cpu"))
    out = tmp_path_factory.mktemp("bench-other") / "bench.json"
    simulated = (not native, "simulated: oneDNN bf16" if not native else "simulated: CPU without native bf16")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bench, "native_bf16", lambda device: simulated)
        code = bench.main(["--tiny", "--device", "cpu", "--no-data", "--out", str(out)])
    assert code == 0
    return json.loads(out.read_text())


@pytest.fixture(scope="module", params=["this-cpu", "other-cpu"])
def any_run(request):
    """The run on this CPU, then the run simulating the other kind (with or without native bf16)."""
    return request.getfixturevalue("tiny_run")[1] if request.param == "this-cpu" else request.getfixturevalue(
        "other_cpu_run")


def expected_precisions(result):
    return ["fp32", "bf16"] if result["environment"]["bf16_native"] else ["fp32"]


@pytest.fixture(scope="module")
def report(tiny_run):
    return bench.format_report(tiny_run[1])


#: VGG-16's conv layers at width 1/16 (64 -> 4 channels ... 512 -> 32) on a 32 px frame, counted by hand:
#: (input channels, output channels, kernel, output side). Pooling halves the side after each block.
TINY_VGG = [(3, 4, 3, 32), (4, 4, 3, 32), (4, 8, 3, 16), (8, 8, 3, 16), (8, 16, 3, 8), (16, 16, 3, 8),
            (16, 16, 3, 8), (16, 32, 3, 4), (32, 32, 3, 4), (32, 32, 3, 4), (32, 32, 3, 2), (32, 32, 3, 2),
            (32, 32, 3, 2)]
#: The three added 3x3 convs (512 -> 1024 -> 1024 -> 1024, at width 1/16) on pool5's 1x1 map.
TINY_ADDED = [(32, 64, 3, 1), (64, 64, 3, 1), (64, 64, 3, 1)]
#: The enhanced branch: 7x7, stride 4, padding 3 from conv3_3's 8x8 map -> 2x2, 256 -> 1024 at width 1/16.
TINY_BRANCH = [(16, 64, 7, 2)]


def conv_flops(layers) -> int:
    """2 FLOPs per multiply-add: 2 * C_out * side^2 * C_in * k^2 per conv (bias adds not counted)."""
    return sum(2 * c_out * side * side * c_in * k * k for c_in, c_out, k, side in layers)


def hand_flops(name: str) -> tuple[float, float]:
    """(inference, train) FLOPs per frame of the tiny model, counted by hand from the architecture.

    Training is the forward pass plus, for every conv and matmul, the gradient of its weights and of its
    input (each as many FLOPs as the forward product), except the first conv's input gradient (the
    frames need none); an LSTM's recurrent gradient is not needed at the first step (h_0 is a constant).
    """
    first = conv_flops(TINY_VGG[:1])
    if name == "cnn-lstm":  # CNN (no branch): D = 64; LSTM widths (2048, 2048) -> (128, 128)
        d, widths = 64, (128, 128)
        convs = conv_flops(TINY_VGG + TINY_ADDED)
        ins = (d,) + widths[:-1]
        lstm = sum(2 * 4 * h * (i + h) for i, h in zip(ins, widths))  # per step: 4 gates, input and recurrent
        head = 2 * widths[-1] * 7 / N  # one FC on the last step, shared by the clip's frames
        inference = convs + lstm + head
        train = 3 * inference - first - sum(2 * 4 * h * h for h in widths) / N
        return inference, train
    d = 64 + 64  # backbone 1024 + branch 1024 at width 1/16
    convs = conv_flops(TINY_VGG + TINY_ADDED + TINY_BRANCH)
    if name == "score-fusion":
        top = 2 * d * 7  # the head on every frame
    else:  # ecnn-fsa: Q, K, V (n x D x D each), QK^T and AV (n x n x D each), the head once per clip
        top = (3 * 2 * N * d * d + 2 * 2 * N * N * d + 2 * d * 7) / N
    inference = convs + top
    return inference, 3 * inference - first


def test_run_succeeds_and_writes_json(tiny_run):
    code, result, path, elapsed = tiny_run
    assert code == 0 and path.is_file()
    assert result["kind"] == "bench" and result["profile"] == "tiny" and result["schema"] == bench.SCHEMA
    env = result["environment"]
    assert env["device"] == "cpu" and env["threads"] == torch.get_num_threads() >= 1
    assert env["torch"] == torch.__version__ and env["device_name"]
    assert isinstance(env["mkldnn"], bool) and isinstance(env["bf16_native"], bool) and env["bf16_note"]
    assert result["settings"]["repeats"] == 1 and result["settings"]["warmup"] == 1
    # the run's wall time holds every timed repetition and warm-up, and no more than the call took
    timed = sum(sum(e["times_s"]) + sum(e["warmup_s"]) for r in result["models"] for e in (r["train"], r["inference"]))
    assert timed - 0.05 <= result["wall_s"] <= elapsed + 0.05


def test_peak_is_measured(any_run):
    peak = any_run["peak"]
    fp32 = peak["fp32"]
    assert fp32["dtype"] == "float32" and fp32["size"] == bench.PROFILES["tiny"]["peak_size"]
    assert 0 < fp32["gflops_min"] <= fp32["gflops"] <= fp32["gflops_max"]
    bf16 = peak["bf16"]
    if any_run["environment"]["bf16_native"]:
        assert bf16["dtype"] == "bfloat16" and 0 < bf16["gflops_min"] <= bf16["gflops"] <= bf16["gflops_max"]
    else:
        assert bf16["available"] is False and bf16["reason"]


@pytest.mark.skipif(not Path("/proc/cpuinfo").is_file(), reason="no /proc/cpuinfo to read the CPU flags from")
def test_native_bf16_follows_the_cpu_flags(tiny_run):
    flags = set(re.search(r"^flags\s*:(.*)$", Path("/proc/cpuinfo").read_text(), re.M).group(1).split())
    assert tiny_run[1]["environment"]["bf16_native"] == bool(flags & {"avx512_bf16", "amx_bf16"})


def test_load_is_the_other_processes_share_of_the_machine(monkeypatch):
    """Two snapshots 2 s apart on 2 CPUs: the machine was busy 3 CPU-seconds (guest time is inside
    user time, so not added again), 1 of them this process's: others used (3 - 1) / (2 x 2) = 0.5."""
    clock = iter([(10.0, 5.0), (12.0, 6.0)])  # (wall, this process's CPU seconds) at enter and exit
    busy = iter([dict(user=100.0, system=20.0, guest=7.0), dict(user=102.5, system=20.5, guest=9.0)])
    now = {}

    def cpu_times():
        now["wall"], now["own"] = next(clock)
        return SimpleNamespace(nice=0.0, irq=0.0, softirq=0.0, steal=0.0, **next(busy))

    monkeypatch.setattr(measure, "psutil", SimpleNamespace(cpu_times=cpu_times, cpu_count=lambda: 2))
    monkeypatch.setattr(measure, "time", SimpleNamespace(perf_counter=lambda: now["wall"],
                                                         process_time=lambda: now["own"]))
    with bench.Load() as load:
        pass
    assert (load.own, load.other) == (1.0, 0.5)


def test_precisions_per_amp_mode(monkeypatch):
    cpu = torch.device("cpu")
    for native, auto in ((True, ("fp32", "bf16")), (False, ("fp32",))):
        monkeypatch.setattr(bench, "native_bf16", lambda device, native=native: (native, "simulated"))
        assert bench.precisions(cpu, "auto") == auto
        assert bench.precisions(cpu, "off") == ("fp32",) and bench.precisions(cpu, "bf16") == ("bf16",)
    with pytest.raises(ValueError, match="amp='fp16'"):
        bench.precisions(cpu, "fp16")


def test_the_two_runs_cover_both_kinds_of_cpu(tiny_run, other_cpu_run):
    kinds = {tiny_run[1]["environment"]["bf16_native"], other_cpu_run["environment"]["bf16_native"]}
    assert kinds == {True, False}
    for result in (tiny_run[1], other_cpu_run):
        assert result["settings"]["precisions"] == expected_precisions(result)
        assert result["settings"]["amp"] == "auto"


@pytest.mark.parametrize("name", MODELS)
def test_model_rows_complete_and_consistent(any_run, name):
    """One row per precision; each fraction is of the matmul peak of its own row's precision."""
    result = any_run
    rows = [r for r in result["models"] if r["model"] == name]
    assert [r["precision"] for r in rows] == expected_precisions(result)
    cfg = make_config(name, "smoke", image_size=32, width=0.0625)
    expected = dict(zip(("inference", "train"), hand_flops(name)))
    for row in rows:
        assert (row["size"], row["image_size"], row["width"], row["n"]) == ("tiny", 32, 0.0625, N)
        assert row["params"] == sum(p.numel() for p in build_model(cfg.model).parameters())
        check_entries(row, expected, result["peak"][row["precision"]]["gflops_max"])


def check_entries(row, expected, roof):
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
        assert e["roof"] == f"{row['precision']} matmul peak" and e["roof_gflops"] == roof
        assert e["fraction_of_peak"] > 0  # above 1 on a busy machine: the report says so (no timing asserts)
        assert e["fraction_of_peak"] == pytest.approx(e["gflops_per_s"] / roof, rel=1e-2, abs=1e-4)
        assert e["peak_memory_mib"] >= e["memory_baseline_mib"] > 0
        assert e["layout"] == ("nchw" if mode == "train" else "channels_last+nchw-branch")
        assert e["cpu_busy"] > 0
    assert row["train"]["flops_per_frame"] > 2 * row["inference"]["flops_per_frame"]


def test_table8_ratios(any_run):
    result = any_run
    ratios = result["ratios"]
    precs = expected_precisions(result)
    assert list(ratios) == [f"tiny {p}" for p in precs] + ["published"]
    ms = {(r["model"], r["precision"], m): r[m]["ms_per_frame"] for r in result["models"]
          for m in ("train", "inference")}
    best = {(r["model"], r["precision"], m): r[m]["ms_per_frame_min"] for r in result["models"]
            for m in ("train", "inference")}
    for p in precs:
        for mode in ("train", "inference"):
            assert ratios[f"tiny {p}"][mode] == pytest.approx(ms["ecnn-fsa", p, mode] / ms["cnn-lstm", p, mode],
                                                             rel=1e-3)
            assert ratios[f"tiny {p}"][f"{mode}_min"] == pytest.approx(
                best["ecnn-fsa", p, mode] / best["cnn-lstm", p, mode], rel=1e-3)
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
    # against the precision that trains fastest
    fsa_train = max(r["train"]["clips_per_s"] for r in result["models"] if r["model"] == "ecnn-fsa")
    assert loader["over_model_train"] == pytest.approx(loader["clips_per_s"] / fsa_train, rel=1e-2)


def test_targets_that_apply(tiny_run):
    targets = {t["name"]: t for t in tiny_run[1]["targets"]}
    # tiny size: the 224 px targets do not apply; the data ones do
    assert not any("224 px" in n for n in targets)
    prep = targets["face preparation -j 2, frames/s"]
    assert prep["met"] == (prep["value"] >= bench.TARGETS["prep_fps_j2"])
    loader = targets["DataLoader / ECNN-FSA training clips/s (tiny)"]
    assert loader["met"] == (loader["value"] >= bench.TARGETS["loader_over_model"])


def test_targets_name_their_precision_and_roof():
    def entry(fraction):
        return {"fraction_of_peak": fraction, "ms_per_frame": 1.0}

    rows = [{"model": "ecnn-fsa", "size": "paper", "precision": p, "inference": entry(i), "train": entry(t)}
            for p, i, t in (("fp32", 0.7, 0.3), ("bf16", 0.5, 0.45))]
    rows.append({"model": "cnn-lstm", "size": "paper", "precision": "fp32", "inference": entry(0.1),
                 "train": entry(0.1)})
    result = {"environment": {"device": "cpu"}, "models": rows,
              "data": {"face_prep": {"available": False, "reason": "-"}, "loader": {}}}
    targets = {t["name"]: (t["value"], t["met"]) for t in bench.check_targets(result)}
    assert targets == {
        "ECNN-FSA 224 px inference (fp32), fraction of fp32 matmul peak": (0.7, True),
        "ECNN-FSA 224 px train (fp32), fraction of fp32 matmul peak": (0.3, False),
        "ECNN-FSA 224 px inference (bf16), fraction of bf16 matmul peak": (0.5, False),
        "ECNN-FSA 224 px train (bf16), fraction of bf16 matmul peak": (0.45, True),
    }


def test_report_table(report, tiny_run):
    text = report
    precs = expected_precisions(tiny_run[1])
    for name in MODELS:
        lines = [line.split() for line in text.splitlines() if line.startswith(name)]
        assert sorted((w[2], w[3]) for w in lines) == sorted((p, m) for p in precs for m in ("train", "inference"))
    assert "peak (matmul" in text and "of its own precision" in text and "published (1080Ti)" in text
    assert all(f"measured, tiny {p}" in text for p in precs)
    assert "-j 2:" in text and "DataLoader at 32 px" in text and "targets:" in text


def test_report_says_when_a_row_ran_above_its_peak(tiny_run):
    """A row above its matmul peak (a peak measured low on a busy machine) is named by the report's timing
    line instead of failing a test: the run's structure is checked here, its timing read by the report."""
    result = copy.deepcopy(tiny_run[1])
    for r in result["models"]:
        for mode in ("train", "inference"):
            r[mode]["fraction_of_peak"] = 0.5
    assert bench.above_roof(result) == []
    assert "timing: every row below its matmul peak" in bench.format_report(result)
    row = result["models"][-1]
    row["inference"]["fraction_of_peak"] = 2.4
    name = f"{row['model']} tiny {row['precision']} inference"
    assert bench.above_roof(result) == [name]
    line = next(x for x in bench.format_report(result).splitlines() if x.startswith("timing:"))
    assert f"1 row(s) above their matmul peak ({name})" in line and "rerun on an idle machine" in line


def test_report_reads_a_schema_1_record(tiny_run):
    """The records of schema 1 (one precision, ratios keyed by size) still print and tabulate."""
    old = json.loads(json.dumps(tiny_run[1]))
    old["schema"] = 1
    old["models"] = [r for r in old["models"] if r["precision"] == "fp32"]
    for r in old["models"]:
        for mode in ("train", "inference"):
            del r[mode]["roof"], r[mode]["roof_gflops"]
    del old["settings"]["precisions"]
    old["settings"]["amp"] = "off"
    old["ratios"] = {"tiny": old["ratios"]["tiny fp32"], "published": old["ratios"]["published"]}
    text = bench.format_report(old)
    assert "precisions fp32 (amp=off)" in text and "measured, tiny " in text
    assert sum(line.startswith("ecnn-fsa") for line in text.splitlines()) == 2
    assert [(r["model"], r["precision"]) for r in bench.table8_rows(old)] == [("ecnn-fsa", "fp32"),
                                                                               ("cnn-lstm", "fp32")]


def test_report_says_what_is_not_available(tiny_run):
    result = json.loads(json.dumps(tiny_run[1]))
    result["data"] = {"face_prep": {"available": False, "reason": "no dlib"},
                      "loader": {"tiny": {"available": False, "reason": "no prepared dataset"}}}
    text = bench.format_report(result)
    assert "face preparation: not available: no dlib" in text
    assert "DataLoader (tiny): not available: no prepared dataset" in text


def test_results_store_name_and_save(tiny_run, tmp_path, monkeypatch):
    """A default run is recorded in the store; quick and tiny runs go to its ignored scratch folder."""
    result = tiny_run[1]
    monkeypatch.setenv("FSA_RESULTS", str(tmp_path))
    name = bench.store_name(result)
    assert name.startswith("cpu-") and name.endswith("-tiny") and "/" not in name and " " not in name
    path = bench.save(result)
    assert path == tmp_path / "scratch" / "bench" / f"{name}.json"
    assert json.loads(path.read_text())["models"] == result["models"]
    assert bench.latest() is None and not (tmp_path / "bench").exists()
    older = {**result, "profile": "default", "started_at": "2026-01-01T00:00:00+0000"}
    newer = {**result, "profile": "default", "environment": {**result["environment"], "device_name": "other"}}
    for run in (newer, older):
        assert bench.save(run) == tmp_path / "bench" / f"{bench.store_name(run)}.json"
    assert len(list((tmp_path / "bench").glob("*.json"))) == 2
    assert bench.latest()["result_path"] == str(tmp_path / "bench" / f"{bench.store_name(newer)}.json")


def test_bad_arguments_are_rejected(capsys):
    assert bench.main(["--tiny", "--no-data", "--models", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="size='huge'"):
        bench.run_bench("tiny", sizes=["huge"], data=False)
    with pytest.raises(ValueError, match="profile='fast'"):
        bench.run_bench("fast")


# -- memory formats (fsa.models.memory_format) ---------------------------------------


def _conv_weights_cl(model):
    return {name: m.weight.is_contiguous(memory_format=torch.channels_last) and not m.weight.is_contiguous()
            for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1)}


def test_memory_formats_per_device_and_mode():
    cfg = make_config("ecnn-fsa", "smoke", image_size=32, width=0.0625)
    model = build_model(cfg.model)
    assert set_memory_format(model, "cpu", train=True) == torch.contiguous_format
    assert not any(_conv_weights_cl(model).values())
    assert set_memory_format(model, "cpu", train=False) == torch.channels_last
    cl = _conv_weights_cl(model)
    assert cl.pop("ecnn.branch.conv") is False and all(cl.values())
    assert set_memory_format(model, "cuda", train=True) == torch.channels_last and all(_conv_weights_cl(model).values())
    assert set_memory_format(model, "cpu", train=False, memory_format="nchw") == torch.contiguous_format
    with pytest.raises(ValueError, match="memory_format='nhwc'"):
        set_memory_format(model, "cpu", train=False, memory_format="nhwc")


def test_memory_format_changes_no_values_and_branch_reads_its_weights_format():
    torch.manual_seed(7)
    model = build_model(make_config("ecnn-fsa", "smoke", image_size=32, width=0.0625).model).eval()
    x = torch.randn(2, N, 3, 32, 32)
    with torch.no_grad():
        ref = model(x)
        seen = []
        model.ecnn.branch.conv.register_forward_pre_hook(lambda m, args: seen.append(args[0].is_contiguous()))
        fmt = set_memory_format(model, "cpu", train=False)
        xf = format_input(x, fmt)
        assert xf.flatten(0, 1).is_contiguous(memory_format=torch.channels_last) and torch.equal(xf, x)
        out = model(xf)
    assert seen == [True]  # channels_last tap converted for the NCHW branch conv
    torch.testing.assert_close(out.logits, ref.logits, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out.attention, ref.attention, rtol=1e-4, atol=1e-5)


def test_table8_rows_pair_measured_and_published(any_run):
    rows = bench.table8_rows(any_run)
    precs = expected_precisions(any_run)
    assert [(r["size"], r["precision"], r["model"]) for r in rows] == [
        ("tiny", p, m) for m in ("ecnn-fsa", "cnn-lstm") for p in precs]
    measured = {(r["model"], r["precision"]): r for r in any_run["models"]}
    for row in rows:
        m = measured[row["model"], row["precision"]]
        assert (row["train_ms_per_frame"], row["test_ms_per_frame"]) == (m["train"]["ms_per_frame"],
                                                                          m["inference"]["ms_per_frame"])
        paper = {"ecnn-fsa": (21.25, 5.57), "cnn-lstm": (40.34, 8.26)}[row["model"]]
        assert (row["paper_train_ms_per_frame"], row["paper_test_ms_per_frame"]) == paper


def test_default_models_per_size_and_device():
    assert bench.default_models("paper", torch.device("cpu")) == ("ecnn-fsa", "cnn-lstm")
    assert bench.default_models("cpu", torch.device("cpu")) == MODELS
    assert bench.default_models("paper", torch.device("cuda")) == MODELS
