"""fsa.book: an executed notebook loses its volatile metadata and replaces the committed one
only when something else changed, so ``make book`` on an unchanged store leaves git clean."""
from __future__ import annotations

import copy
import json

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
