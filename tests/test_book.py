"""fsa.book: an executed notebook loses its volatile metadata and replaces the committed one
only when something else changed, so ``make book`` on an unchanged store leaves git clean."""
from __future__ import annotations

import copy
import json

import pytest

from fsa import book


def notebook(output: str = "0.5", executed_at: str = "2026-11-28T04:49:12Z", python: str = "3.11.7") -> dict:
    """A two-cell notebook as papermill leaves it: run times and paths in the metadata."""
    papermill_cell = {"duration": 0.01, "start_time": executed_at, "end_time": executed_at, "exception": False,
                      "status": "completed"}
    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "pygments_lexer": "ipython3", "version": python},
            "papermill": {"duration": 70.2, "start_time": executed_at, "end_time": executed_at, "parameters": {},
                          "input_path": "/repo/notebooks/t.ipynb", "output_path": "/repo/notebooks/.t.running.ipynb"},
        },
        "cells": [
            {"cell_type": "markdown", "id": "m1", "source": "# T", "metadata": {"papermill": papermill_cell,
                                                                                "tags": []}},
            {"cell_type": "code", "id": "c1", "source": "print(0.5)", "execution_count": 1,
             "metadata": {"tags": ["parameters"], "papermill": papermill_cell,
                          "execution": {"iopub.execute_input": executed_at, "shell.execute_reply": executed_at}},
             "outputs": [{"output_type": "stream", "name": "stdout", "text": output + "\n"}]},
        ],
    }


def test_normalise_drops_volatile_metadata_and_keeps_the_rest():
    nb = notebook()
    before = copy.deepcopy(nb)
    out = book.normalise(nb)
    assert nb == before  # the argument is left as it was
    assert out["metadata"] == {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "pygments_lexer": "ipython3"},
    }
    assert [c["metadata"] for c in out["cells"]] == [{"tags": []}, {"tags": ["parameters"]}]
    assert [c["source"] for c in out["cells"]] == ["# T", "print(0.5)"]
    assert out["cells"][1]["outputs"] == before["cells"][1]["outputs"] and out["cells"][1]["execution_count"] == 1
    # two executions that differ only in when and where they ran normalise to the same notebook
    assert book.normalise(notebook(executed_at="2027-01-01T00:00:00Z", python="3.11.9")) == out
    assert book.normalise(notebook(output="0.6")) != out


def test_unchanged_outputs_leave_the_committed_notebook_untouched(tmp_path):
    target = tmp_path / "t.ipynb"
    target.write_text(json.dumps(notebook(), indent=1))
    committed = target.read_bytes()
    executed = tmp_path / ".t.running.ipynb"
    executed.write_text(json.dumps(notebook(executed_at="2027-01-01T00:00:00Z")))
    assert book.replace_if_changed(executed, target) is False
    assert target.read_bytes() == committed and not executed.exists()


def test_changed_outputs_replace_the_notebook_normalised(tmp_path):
    target = tmp_path / "t.ipynb"
    target.write_text(json.dumps(notebook()))
    executed = tmp_path / ".t.running.ipynb"
    executed.write_text(json.dumps(notebook(output="0.6", executed_at="2027-01-01T00:00:00Z")))
    assert book.replace_if_changed(executed, target) is True
    written = json.loads(target.read_text())
    assert "".join(written["cells"][1]["outputs"][0]["text"]) == "0.6\n" and not executed.exists()
    assert "papermill" not in written["metadata"] and "version" not in written["metadata"]["language_info"]
    assert all(set(c["metadata"]) == {"tags"} for c in written["cells"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.ipynb"]


# ------------------------------------------------------------------ inputs, plan and --no-train
def store_record(root, experiment: str, name: str, wall_s: float = 0.0, **extra) -> dict:
    rec = {"kind": "run", "experiment": experiment, "config": {"model": {}}, "config_hash": name,
           "metrics": {"accuracy": 0.5, "uar": 0.5, "macro_f1": 0.5, "classes": ["a"], "confusion": [[1]]},
           "per_clip": [], "timings": {"wall_s": wall_s}, **extra}
    (root / experiment).mkdir(parents=True, exist_ok=True)
    (root / experiment / f"{name}.json").write_text(json.dumps(rec))
    return rec


READER = """from fsa import results
rec = results.find_run("exp", "r1")
if rec is None:
    results.check_may_train("run r1", "exp/r1.json")
print(len(results.load_runs("exp")))
"""


@pytest.fixture
def book_dir(tmp_path, monkeypatch):
    """A notebooks folder with one notebook that reads run r1 of a results store, and that store."""
    import nbformat

    folder, store = tmp_path / "notebooks", tmp_path / "results"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(READER)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "t.ipynb")
    store_record(store, "exp", "r1", wall_s=60.0)
    monkeypatch.setattr(book, "NOTEBOOKS", folder)
    monkeypatch.setattr(book, "ORDER", ("t",))
    monkeypatch.setenv("FSA_RESULTS", str(store))
    monkeypatch.setenv("PYTHONPATH", str(book.REPO))
    return folder, store


def test_a_notebook_runs_once_then_only_when_a_record_it_read_changes(book_dir):
    folder, store = book_dir
    lines: list[str] = []
    assert set(book.execute(["t"], log=lines.append)) == {"t"}
    kept = json.loads((folder / "t.ipynb").read_text())["metadata"]["fsa"]
    assert {(r["what"], r["path"]) for r in kept["reads"]} == {("file", "exp/r1.json"), ("dir", "exp")}
    assert book.execute(["t"], log=lines.append) == {}  # cached: nothing executed
    assert book.plan(["t"], {})[0].cached
    store_record(store, "exp", "r2")  # a new record in a folder the notebook scanned
    assert not book.plan(["t"], {})[0].cached
    assert set(book.execute(["t"], log=lines.append)) == {"t"}
    store_record(store, "exp", "r1", wall_s=61.0)  # a record it read, changed
    assert not book.plan(["t"], {})[0].cached
    book.execute(["t"], log=lines.append)
    assert not book.plan(["t"], {"x": "1"})[0].cached  # other parameters
    assert not book.plan(["t"], {}, force=True)[0].cached


def test_the_plan_names_the_missing_records_and_no_train_keeps_the_page(book_dir):
    folder, store = book_dir
    book.execute(["t"], log=lambda _: None)
    committed = (folder / "t.ipynb").read_bytes()
    (store / "exp" / "r1.json").unlink()
    step = book.plan(["t"], {})[0]
    assert not step.cached and [r["path"] for r in step.missing] == ["exp/r1.json"]
    assert "1 not in the store, trained first: about 1 min" in step.line()
    lines: list[str] = []
    with pytest.raises(SystemExit, match="kept as committed"):
        book.execute(["t"], log=lines.append, train=False)
    assert (folder / "t.ipynb").read_bytes() == committed
    assert any("r1 is not in the results store" in line for line in lines)


def test_the_plan_says_when_a_page_whose_code_changed_may_read_and_train_more(book_dir):
    import nbformat

    folder, store = book_dir
    book.execute(["t"], log=lambda _: None)
    (step,) = book.plan(["t"], {"x": "1"})
    assert step.code_changed and "its code or parameters changed since it read 1 records" in step.line()
    nb = nbformat.read(folder / "t.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell('results.find_run("exp", "r2")'))  # a page that reads more
    nbformat.write(nb, folder / "t.ipynb")
    (step,) = book.plan(["t"], {})
    assert step.code_changed and not step.cached
    assert book.plan_total([step]).endswith("; and what t train, known when they run (their code changed)")
    store_record(store, "exp", "r2")  # only the store changed: the reads kept are those it will read
    book.execute(["t"], log=lambda _: None)
    (store / "exp" / "r1.json").unlink()
    (step,) = book.plan(["t"], {})
    assert not step.code_changed and "trained first" in step.line()
    assert "their code changed" not in book.plan_total([step])


def test_the_plan_counts_each_run_once_across_its_group_and_the_pages(tmp_path, monkeypatch):
    store = tmp_path / "results"
    monkeypatch.setenv("FSA_RESULTS", str(store))
    store_record(store, "exp", "r1", wall_s=60.0)
    store_record(store, "exp", "r2", wall_s=120.0)
    spread = {"mean": 0.5, "std": 0.0, "per_fold": [0.5, 0.5]}
    store_record(store, "exp", "g", kind="seeds", seeds_hash="g", seed_config_hashes=["r1", "r2"], seeds_run=[0, 1],
                 metrics={"accuracy": spread, "uar": spread, "macro_f1": spread,
                          "pooled": {"classes": ["a"], "confusion": [[2]]}})
    log = tmp_path / "reads"
    log.write_text("".join(f"file\t{store / 'exp' / n}.json\n" for n in ("g", "r1", "r2")) + f"dir\t{store / 'exp'}\n")
    reads = book.parse_reads(log)
    group = next(r for r in reads if r["path"] == "exp/g.json")
    assert group["runs"] == {"exp/r1.json": 60.0, "exp/r2.json": 120.0}
    assert book.training_s(reads) == 180.0, "a group and its runs are trained once"
    missing = [r for r in reads if r["what"] == "file"]
    steps = [book.Step(name, False, reads, missing) for name in ("a", "b")] + [book.Step("c", True, reads, missing)]
    assert "3 not in the store, trained first: about 3 min" in steps[0].line()
    assert book.plan_total(steps) == "in all: 3 records not in the store, trained first: about 3 min when they were recorded"


def test_the_package_digest_counts_files_not_yet_committed_and_skips_ignored_ones(tmp_path):
    import subprocess

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "fsa").mkdir()
    (tmp_path / "data_prep").mkdir()
    (tmp_path / "fsa" / "model.py").write_text("x = 1\n")
    (tmp_path / ".gitignore").write_text("*.pyc\n")
    git("add", ".")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "one")
    committed = book.package_digest(tmp_path)
    (tmp_path / "fsa" / "cached.pyc").write_bytes(b"\0")
    book.package_digest.cache_clear()
    assert book.package_digest(tmp_path) == committed  # ignored
    (tmp_path / "data_prep" / "knobs.py").write_text("y = 2\n")
    book.package_digest.cache_clear()
    untracked = book.package_digest(tmp_path)
    assert untracked != committed  # a new module counts before it is added
    git("add", ".")
    book.package_digest.cache_clear()
    assert book.package_digest(tmp_path) == untracked  # and the same once added
    book.package_digest.cache_clear()


def test_the_plan_does_not_count_the_difficulty_sets_as_trained_by_the_book():
    """The dataset page reads the difficulty floors and names the command that records them; the
    book never makes those sets, so the plan sets them apart from the records it trains."""
    missing = [{"what": "file", "path": "difficulty-afew7x0.333333-abc/r.json", "runs": {}},
               {"what": "file", "path": "exp/r1.json", "runs": {"exp/r1.json": 120.0}}]
    step = book.Step("dataset", False, missing, missing)
    assert step.line() == ("dataset: run (reads 2 records; 2 not in the store, trained first: about 2 min when they "
                           "were recorded; 1 recorded apart by fsa difficulty, not trained by the book)")
    assert book.plan_total([step]).startswith("in all: 1 records not in the store, trained first: about 2 min")
    only = book.Step("dataset", False, missing[:1], missing[:1])
    assert "trained first" not in only.line() and "1 recorded apart by fsa difficulty" in only.line()


def test_a_record_read_many_times_is_looked_up_once(tmp_path, monkeypatch):
    """A page reads some records many times; the reads log names each every time, and the plan
    opens each record once."""
    store = tmp_path / "results"
    monkeypatch.setenv("FSA_RESULTS", str(store))
    store_record(store, "exp", "r1", wall_s=60.0)
    log = tmp_path / "reads"
    log.write_text(f"file\t{store / 'exp' / 'r1.json'}\n" * 5 + f"dir\t{store / 'exp'}\n" * 2)
    opened = []
    made_by = book.made_by
    monkeypatch.setattr(book, "made_by", lambda p, root: opened.append(p) or made_by(p, root))
    reads = book.parse_reads(log)
    assert [r["path"] for r in reads] == ["exp", "exp/r1.json"] and len(opened) == 1
    assert reads[1]["runs"] == {"exp/r1.json": 60.0}
