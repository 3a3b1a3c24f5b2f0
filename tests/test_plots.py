"""fsa.plots: the results pages' figures, drawn from constructed records (no training)."""
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgb
from matplotlib.container import ErrorbarContainer
from test_report import fake_floor, fake_run, fake_seeds

from conftest import read_video
from fsa import bench, plots
from fsa.paper import paper_table


def seeds(model: str, accuracies: list[float], tag: str, **over) -> dict:
    """A seeds summary with its own hash (the figures find a row's record by it)."""
    run = {**fake_run(model, "cpu", **over), "experiment": "afew-0123456789ab"}
    return {**fake_seeds(run, accuracies), "seeds_hash": tag}


def errorbars(ax) -> list[ErrorbarContainer]:
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer) and len(c.lines[0].get_xdata())]


def test_table_figure_rows_whiskers_points_and_floor():
    lstm = seeds("cnn-lstm", [0.40, 0.50, 0.60], "aaaaaaaaaaaa")  # three seeds: a 95 % interval
    fsa = seeds("ecnn-fsa", [0.70, 0.80], "bbbbbbbbbbbb")  # two seeds: drawn as its two points
    floor = fake_floor([True] * 10 + [False] * 30)  # 25 %
    ax = plots.table_figure(9, [lstm, fsa, floor]).axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()][::-1]  # top to bottom
    assert labels == [r["label"] for r in paper_table(9)["rows"]]
    y = {label: len(labels) - 1 - i for i, label in enumerate(labels)}
    (bar,) = errorbars(ax)
    line = bar.lines[0]
    assert line.get_xdata()[0] == pytest.approx(50.0)
    assert line.get_ydata()[0] == pytest.approx(y["CNN-LSTM [30] (end-to-end)"] - 0.15)
    half = 4.302653 * 10 / np.sqrt(3)  # t(0.975, 2) x sample std 10 pp / sqrt(3)
    assert np.ptp(bar.lines[2][0].get_segments()[0][:, 0]) == pytest.approx(2 * half, rel=1e-4)
    hollow = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets()) == 2]
    (points,) = hollow
    assert sorted(points.get_offsets()[:, 0]) == pytest.approx([70.0, 80.0])
    assert set(points.get_offsets()[:, 1]) == {y["Proposed ECNN-FSA (end-to-end)"] - 0.15}
    vertical = [ln for ln in ax.lines if len(set(ln.get_xdata())) == 1 and len(ln.get_xdata()) == 2]
    assert [ln.get_xdata()[0] for ln in vertical] == [25.0]


def test_s_figure_has_one_point_per_recorded_s_and_the_papers():
    recorded = [seeds("ecnn-fsa", [0.4, 0.5, 0.6], f"{k:012d}", s=s) for k, s in enumerate((0.37, 0.1, 0.2))]
    ax = plots.s_figure(recorded).axes[0]
    assert sorted(c.lines[0].get_xdata()[0] for c in errorbars(ax)) == [0.1, 0.2, 0.37]
    paper_s = sorted(float(r["model"].rsplit("-s", 1)[1]) for r in paper_table(6)["rows"])  # ...-fc1-s0.06
    drawn = sorted(x for c in ax.collections if isinstance(c, PathCollection) for x in c.get_offsets()[:, 0])
    assert drawn == pytest.approx(paper_s)


def test_training_curves_one_line_per_run_and_the_selected_epoch():
    runs = []
    for seed, best in ((0, 2), (1, 3), (2, 4)):
        history = [{"epoch": e, "train_loss": 2.0 / e + seed, "val_accuracy": 0.1 * e + 0.01 * seed} for e in (1, 2, 3, 4)]
        runs.append({"seed": seed, "fold": None, "history": history, "selected_epoch": best})
    loss_ax, acc_ax = plots.training_curves(runs, "ecnn-fsa").axes
    for ax, value in ((loss_ax, lambda s, e: 2.0 / e + s), (acc_ax, lambda s, e: 0.1 * e + 0.01 * s)):
        assert len(ax.lines) == 3
        marks = [c.get_offsets()[0] for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets())]
        expected = [(e, value(s, e)) for s, e in ((0, 2), (1, 3), (2, 4))]
        assert np.allclose(marks, expected)


def test_caption_names_data_profile_and_runs():
    text = plots.figure_caption([seeds("ecnn-fsa", [0.5, 0.6, 0.7], "cccccccccccc")])
    assert "afew-0123456789ab" in text and "cpu" in text and "cccccccccccc" in text


def test_n_figure_draws_every_recorded_n_and_the_papers_rows_at_five():
    recorded = [seeds("ecnn-fsa", [0.4, 0.5, 0.6], "000000000001"),
                seeds("ecnn-fsa", [0.6, 0.7, 0.8], "000000000002", n=9),
                seeds("cnn-lstm", [0.2, 0.3, 0.4], "000000000003", n=3),
                fake_floor([True] * 10 + [False] * 30)]  # no architecture: not a point
    ax = plots.n_figure(recorded, 9).axes[0]
    drawn = sorted((c.lines[0].get_xdata()[0], c.lines[0].get_ydata()[0]) for c in errorbars(ax))
    np.testing.assert_allclose(drawn, [(3, 30.0), (5, 50.0), (9, 70.0)])
    paper = {r["label"]: r["accuracy"] for r in paper_table(9)["rows"]}
    diamonds = sorted(tuple(p) for c in ax.collections if isinstance(c, PathCollection) for p in c.get_offsets())
    np.testing.assert_allclose(diamonds, [(5, paper["CNN-LSTM [30] (end-to-end)"]),
                                          (5, paper["Proposed ECNN-FSA (end-to-end)"])])
    # a series keeps its colour: the paper's ECNN-FSA diamond and both ECNN-FSA runs
    fsa_colour = next(c.get_edgecolor()[0] for c in ax.collections if isinstance(c, PathCollection)
                      and len(c.get_offsets()) and c.get_offsets()[0][1] == paper["Proposed ECNN-FSA (end-to-end)"])
    runs = {c.lines[0].get_xdata()[0]: c.lines[0].get_color() for c in errorbars(ax)}
    assert np.allclose(to_rgb(runs[5]), fsa_colour[:3]) and np.allclose(to_rgb(runs[9]), fsa_colour[:3])
    assert not np.allclose(to_rgb(runs[3]), fsa_colour[:3])


def test_n_figure_draws_only_the_paper_rows_that_were_run():
    ax = plots.n_figure([seeds("ecnn-fsa", [0.4, 0.5, 0.6], "000000000001")], 9).axes[0]
    diamonds = [tuple(p) for c in ax.collections if isinstance(c, PathCollection) for p in c.get_offsets()]
    np.testing.assert_allclose(diamonds, [(5, 49.78)])
    with pytest.raises(ValueError, match="field='lr'"):
        plots.sweep_figure([], "lr", 9)


def bench_record() -> dict:
    """A bench record with an fp32 and a bf16 row per model (the fields the figures read)."""
    def entry(ms, flops, gflops, frames=5):
        return {"ms_per_frame": ms, "flops_per_frame": flops, "frames_per_step": frames, "gflops_per_s": gflops}

    models = []
    for model, params, scale in (("ecnn-fsa", 1_000_000, 1.0), ("cnn-lstm", 2_000_000, 2.0)):
        for precision, speed in (("fp32", 1.0), ("bf16", 4.0)):
            models.append({"model": model, "size": "paper", "image_size": 224, "params": params,
                           "precision": precision,
                           "inference": entry(10 * scale / speed, 4e9, 40.0 * speed / scale),
                           "train": entry(30 * scale / speed, 12e9, 30.0 * speed / scale)})
    return {"kind": "bench", "profile": "default", "started_at": "2026-01-02T03:04:05+0000",
            "environment": {"device": "cpu", "device_name": "Test CPU", "threads": 2,
                            "git": {"commit": "0123456789abcdef", "dirty": False}},
            "peak": {"fp32": {"gflops": 90.0, "gflops_max": 100.0}, "bf16": {"gflops": 350.0, "gflops_max": 400.0}},
            "models": models,
            "ratios": {"paper fp32": {"train": 0.5, "inference": 0.5}, "paper bf16": {"train": 0.5, "inference": 0.5},
                       "published": {"train": 0.5268, "inference": 0.6743}}}


def test_roofline_points_intensity_roof_and_fraction():
    points = {(p["model"], p["mode"], p["precision"]): p for p in bench.roofline_points(bench_record())}
    assert len(points) == 8
    p = points["cnn-lstm", "train", "bf16"]
    assert p["flop_per_weight_byte"] == pytest.approx(12e9 * 5 / (2_000_000 * 2))  # FLOPs of a step / bf16 weights
    assert p["roof_gflops"] == 400.0 and p["fraction_of_peak"] == pytest.approx(30.0 * 4 / 2 / 400.0)
    p = points["ecnn-fsa", "inference", "fp32"]
    assert p["flop_per_weight_byte"] == pytest.approx(4e9 * 5 / (1_000_000 * 4))
    assert p["roof_gflops"] == 100.0 and p["fraction_of_peak"] == pytest.approx(0.4)
    assert bench.roofs(bench_record()) == {"fp32": 100.0, "bf16": 400.0}
    no_bf16 = bench_record()
    no_bf16["peak"]["bf16"] = {"available": False, "reason": "no native bf16"}
    assert bench.roofs(no_bf16) == {"fp32": 100.0}


def test_roofline_figure_points_and_roofs():
    record = bench_record()
    ax = plots.roofline_figure(record).axes[0]
    drawn = sorted(tuple(c.get_offsets()[0]) for c in ax.collections if isinstance(c, PathCollection)
                   and len(c.get_offsets()))
    expected = sorted((r[mode]["flops_per_frame"] * 5 / (r["params"] * {"fp32": 4, "bf16": 2}[r["precision"]]),
                       r[mode]["gflops_per_s"]) for r in record["models"] for mode in ("inference", "train"))
    np.testing.assert_allclose(drawn, expected)
    roofs = sorted(ln.get_ydata()[0] for ln in ax.lines if len(set(ln.get_ydata())) == 1 and len(ln.get_ydata()) == 2)
    assert roofs == [100.0, 400.0]
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels == sorted(["40%", "30%", "40%", "30%", "20%", "15%", "20%", "15%"])  # GFLOP/s over the roof


def test_bench_time_figure_measured_paper_and_ratios():
    record = bench_record()
    train_ax, test_ax, ratio_ax = plots.bench_time_figure(record).axes
    paper = {r["model"]: r for r in paper_table(8)["rows"]}
    for ax, mode, key in ((train_ax, "train", "train_ms_per_frame"), (test_ax, "inference", "test_ms_per_frame")):
        xs = sorted(x for c in ax.collections if isinstance(c, PathCollection) for x in c.get_offsets()[:, 0])
        expected = [r[mode]["ms_per_frame"] for r in record["models"]] + [p[key] for p in paper.values()]
        assert xs == pytest.approx(sorted(expected))
    widths = [b.get_width() for b in ratio_ax.patches]
    assert widths == pytest.approx([0.5, 0.5, 0.5268, 0.5, 0.5, 0.6743])  # train bars, then inference bars


def test_caption_names_the_bench_record():
    record = {**bench_record(), "result_path": "/somewhere/results/bench/cpu-test-cpu-default.json"}
    text = plots.figure_caption([record])
    assert "cpu-test-cpu-default.json" in text and "Test CPU" in text and "default" in text
    assert "0123456789ab" in text and "2026-01-02" in text


def test_spearman_figure_one_row_per_class_with_every_clip():
    clips = pd.DataFrame({"label": ["surprise", "anger", "anger", "happy", "surprise", "surprise"],
                          "spearman": [0.9, -0.2, 0.4, 1.0, 0.6, 0.7]})
    ax = plots.spearman_figure(clips).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["anger (2)", "happy (1)", "surprise (3)"]
    points = [c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)]
    by_row = {round(float(np.mean(p[:, 1]))): sorted(p[:, 0]) for p in points}  # jitter stays within ±0.18
    assert by_row == {0: pytest.approx([-0.2, 0.4]), 1: pytest.approx([1.0]), 2: pytest.approx([0.6, 0.7, 0.9])}
    assert [ln.get_xdata()[0] for ln in ax.lines if list(ln.get_xdata()) == [0, 0]] == [0]  # the ρ = 0 line


def test_attention_profile_figure_draws_the_summary_per_class():
    summary = pd.DataFrame({
        "class": ["anger"] * 3 + ["happy"] * 3, "position": [1, 2, 3] * 2, "clips": [4] * 3 + [2] * 3,
        "attention": [0.1, 0.2, 0.7, 0.3, 0.3, 0.4], "low": [0.05, 0.1, 0.6, 0.2, 0.2, 0.3],
        "high": [0.15, 0.3, 0.8, 0.4, 0.4, 0.5], "uniform": [1 / 3] * 6, "intensity": [0.0, 0.5, 1.0] + [np.nan] * 3})
    fig = plots.attention_profile_figure(summary)
    anger, happy = fig.axes[0], fig.axes[1]
    assert anger.get_title() == "anger (4 clips)" and happy.get_title() == "happy (2 clips)"
    for ax, values, low, high in ((anger, [0.1, 0.2, 0.7], [0.05, 0.1, 0.6], [0.15, 0.3, 0.8]),
                                  (happy, [0.3, 0.3, 0.4], [0.2, 0.2, 0.3], [0.4, 0.4, 0.5])):
        profile, uniform = ax.lines[0], ax.lines[1]
        assert list(profile.get_xdata()) == [1, 2, 3] and list(profile.get_ydata()) == pytest.approx(values)
        assert list(uniform.get_ydata()) == pytest.approx([1 / 3, 1 / 3])
        band = ax.collections[0].get_paths()[0].vertices[:, 1]
        assert min(band) == pytest.approx(min(low)) and max(band) == pytest.approx(max(high))
    twins = [ax for ax in fig.axes if ax not in (anger, happy) and ax.lines]
    assert len(twins) == 1 and list(twins[0].lines[0].get_ydata()) == pytest.approx([0.0, 0.5, 1.0])  # anger only


# -- the dataset page: the expressions (drawn from the smoke sets) ------------------------------
def embedded_layout(tmp_path, smoke_raw, smoke_prepared, layout: str):
    """The smoke set laid out as report.embedded_dataset does: raw/ beside prepared/ (links)."""
    (tmp_path / "raw").symlink_to(smoke_raw(layout), target_is_directory=True)
    (tmp_path / "prepared").symlink_to(smoke_prepared(layout), target_is_directory=True)
    return tmp_path / "prepared"


def sidecar(raw, name: str) -> pd.DataFrame:
    return pd.read_csv(raw / name, dtype={"video_id": str}, keep_default_na=False)


def test_face_credits_list_every_source_photo():
    from data_prep.synth import SOURCES
    from fsa import report

    credits = report.face_credits()
    assert list(credits.columns) == ["person", "package", "file", "licence"]
    assert list(credits["person"]) == [s.person for s in SOURCES.values()]
    assert credits["licence"].str.len().min() > 0


@pytest.mark.parametrize("layout", ["ckplus", "afew"])
def test_expression_clips_apex_onset_and_every_person(layout, tmp_path, smoke_raw, smoke_prepared):
    from data_prep.synth import SOURCES
    from fsa import report

    root = embedded_layout(tmp_path, smoke_raw, smoke_prepared, layout)
    raw = root.parent / "raw"
    clips = report.expression_clips(root)
    meta = sidecar(raw, "synth_meta.csv").set_index("video_id")
    assert list(clips["label"]) == sorted(set(meta["label"]) - {""})
    person = {k: s.person for k, s in SOURCES.items()}
    assert list(clips["person"]) == [person[meta.loc[v, "photo"]] for v in clips["video_id"]]
    assert set(clips["person"]) == set(person.values())
    intensity = sidecar(raw, "synth_intensity.csv")
    for c in clips.itertuples():
        curve = intensity[intensity["video_id"] == c.video_id].sort_values("frame")["intensity"].to_numpy(float)
        assert curve[c.apex] == curve.max() and (curve[:c.apex] < curve.max()).all()  # the first peak frame
        assert curve[c.onset] == curve[:c.apex + 1].min() and (curve[c.onset + 1:c.apex + 1] > curve[c.onset]).all()
        if layout == "ckplus":
            assert c.apex == c.n_frames - 1


def test_expression_clips_without_raw_or_intensity(tmp_path, smoke_prepared):
    """A preparation of real CK+ has neither: the apex is the last frame, nobody is named."""
    import shutil

    from fsa import report

    root = tmp_path / "prepared"
    shutil.copytree(smoke_prepared("ckplus"), root)
    (root / "intensity.csv").unlink()
    clips = report.expression_clips(root)
    assert (clips["apex"] == clips["n_frames"] - 1).all() and (clips["onset"] == 0).all()
    assert (clips["person"] == "").all()


def drawn(ax) -> np.ndarray:
    return np.asarray(ax.images[0].get_array())


def crop(root, video_id: str, k: int) -> np.ndarray:
    """Frame k (0-based) of a prepared video, read here with OpenCV."""
    import cv2

    return cv2.cvtColor(cv2.imread(str(root / "frames" / video_id / f"{k + 1:05d}.jpg")), cv2.COLOR_BGR2RGB)


def pixels(fig, ax) -> float:
    """The smaller side of an axes in pixels, laid out at the notebooks' 100 dpi."""
    fig.set_dpi(100)
    fig.draw_without_rendering()  # runs the constrained layout
    box = ax.get_window_extent()
    return min(box.width, box.height)


def test_expression_figure_apex_per_class_titled_with_its_action_units(tmp_path, smoke_raw, smoke_prepared):
    from data_prep.facs import EXPRESSIONS
    from fsa import report

    root = embedded_layout(tmp_path, smoke_raw, smoke_prepared, "ckplus")
    clips = report.expression_clips(root)
    fig = plots.expression_figure(root)
    axes = [ax for ax in fig.axes if ax.images]
    assert len(axes) == len(clips)
    for ax, c in zip(axes, clips.itertuples()):
        assert ax.get_title() == f"{c.label} — AU {'+'.join(EXPRESSIONS[c.label])}"
        assert c.person in ax.get_xlabel()
        assert np.array_equal(drawn(ax), crop(root, c.video_id, c.n_frames - 1))
        assert pixels(fig, ax) >= 160


def test_expression_strip_runs_from_neutral_to_apex(tmp_path, smoke_raw, smoke_prepared):
    from fsa import report

    root = embedded_layout(tmp_path, smoke_raw, smoke_prepared, "afew")
    clips = report.expression_clips(root)
    fig = plots.expression_strip_figure(root, frames=4)
    rows = np.array([ax for ax in fig.axes]).reshape(len(clips), -1)
    for row, c in zip(rows, clips.itertuples()):
        shown = [ax for ax in row if ax.images]
        assert np.array_equal(drawn(shown[0]), crop(root, c.video_id, c.onset))
        assert np.array_equal(drawn(shown[-1]), crop(root, c.video_id, c.apex))
        assert c.label in row[0].get_ylabel() and pixels(fig, shown[0]) >= 120


def test_wild_conditions_show_the_recorded_apex_frame(tmp_path, smoke_raw, smoke_prepared):

    from fsa import report

    root = embedded_layout(tmp_path, smoke_raw, smoke_prepared, "afew")
    clips = report.expression_clips(root)
    fig = plots.wild_conditions_figure(root)
    scenes, crops = np.array(fig.axes).reshape(2, len(clips))
    for scene, face, c in zip(scenes, crops, clips.itertuples()):
        assert np.array_equal(drawn(scene), read_video(root.parent / "raw" / c.source, rgb=True)[c.apex])
        assert np.array_equal(drawn(face), crop(root, c.video_id, c.apex))


def test_dataset_figures_are_byte_deterministic(tmp_path, smoke_raw, smoke_prepared):
    root = embedded_layout(tmp_path, smoke_raw, smoke_prepared, "ckplus")
    first = plots.save_figure(plots.expression_figure(root), tmp_path / "a.png").read_bytes()
    assert plots.save_figure(plots.expression_figure(root), tmp_path / "b.png").read_bytes() == first
