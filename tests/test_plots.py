"""fsa.plots: the results pages' figures, drawn from constructed records (no training)."""
import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.container import ErrorbarContainer
from test_report import fake_floor, fake_run, fake_seeds

from fsa import plots
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
