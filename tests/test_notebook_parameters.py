"""Notebook parameters: every bad value fails before any data work, in one line.

Each notebook's code cells are run here in order, in this process, as papermill would run them
after injecting one bad parameter; generating, preparing or training anything, or timing a
benchmark, raises instead, so a value that is checked only after the data are made fails the test.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from fsa.config import ConfigError

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

#: Bad values of every notebook parameter: unparsable, out of range or not one of the choices.
BAD_PARAMETERS = {
    "preset": ["nonsense"], "data": ["/nonexistent"], "afew_data": ["/nonexistent"], "device": ["gpu"], "seed": [-1, "abc"],
    "pretrained": ["/nonexistent/vgg16.pth"], "pretrained_format": ["onnx"], "epochs": [0], "n": [0, "abc"],
    "rows": ["some"], "retrain": ["yes"], "wild_stills": ["yes"], "spread_seeds": ["abc", (0,), (1, 1)],
    "stills": ["fer2013", "nonsense=/tmp", "sfew=/nonexistent"],
    "s": ["abc", -1], "fc_layers": [3], "backbone_dim": [512],
    "lstm_widths": ["abc", "0"], "branch_kernel": [4], "branch_fc": [3], "size": ["abc"], "profile": ["nonsense"],
}


class DataWork(AssertionError):
    """Raised by anything that makes data, trains or times: a bad parameter got past validation."""


def parameters(nb) -> list[str]:
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    return [line.split("=")[0].strip() for line in cell.source.splitlines() if "=" in line]


def cases() -> list:
    out = []
    for path in NOTEBOOKS:
        for name in parameters(nbformat.read(path, as_version=4)):
            out += [pytest.param(path, name, value, id=f"{path.stem}-{name}={value}") for value in BAD_PARAMETERS[name]]
    return out


@pytest.fixture
def no_data_work(tmp_path, monkeypatch):
    import data_prep.prepare
    import data_prep.synth
    from fsa import bench, engine
    from fsa.runs import floors

    def refuse(*args, **kwargs):
        raise DataWork("data work before the parameters were validated")

    for module, name in ((data_prep.synth, "generate"), (data_prep.prepare, "prepare"), (engine, "train"),
                         (floors, "obtain_floor"), (bench, "_run")):
        monkeypatch.setattr(module, name, refuse)
    monkeypatch.setenv("FSA_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("FSA_RESULTS", str(tmp_path / "results"))


def test_every_notebook_parameter_has_bad_values():
    names = {n for path in NOTEBOOKS for n in parameters(nbformat.read(path, as_version=4))}
    assert names == set(BAD_PARAMETERS)


def test_the_tests_give_table4_its_own_parameters(no_data_work, monkeypatch):
    """The parameters ``conftest.NOTEBOOK_PARAMETERS`` injects reach the page as papermill's would:
    Table 4's test trains ECNN-FSA alone, with seed 0 alone."""
    from fsa.report import table_models

    spec = importlib.util.spec_from_file_location("root_conftest", REPO / "conftest.py")
    root_conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(root_conftest)
    NOTEBOOK_PARAMETERS, with_parameters = root_conftest.NOTEBOOK_PARAMETERS, root_conftest.with_parameters

    path = REPO / "notebooks" / "table4.ipynb"
    monkeypatch.chdir(path.parent)
    given = NOTEBOOK_PARAMETERS[path.name]
    nb = nbformat.read(path, as_version=4)
    assert set(given) <= set(parameters(nb))
    namespace: dict = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and "page" not in namespace:
            tagged = "parameters" in cell.metadata.get("tags", [])
            source = with_parameters(cell.source, given) if tagged else cell.source
            try:
                exec(compile(source, path.name, "exec"), namespace)
            except DataWork:  # the page's banner reads the data, after the page is made
                assert "page" in namespace
    page = namespace["page"]
    assert (page.rows, page.spread_seeds) == ("base", ())
    assert table_models(page.table, page.rows) == ["ecnn-fsa"]


@pytest.mark.parametrize("path,name,value", cases())
def test_a_bad_parameter_fails_before_any_data_work(path, name, value, no_data_work, monkeypatch):
    monkeypatch.chdir(path.parent)
    nb = nbformat.read(path, as_version=4)
    namespace: dict = {}
    with pytest.raises(ConfigError, match=rf"\b{name}="):
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            exec(compile(cell.source, f"{path.name}", "exec"), namespace)
            if "parameters" in cell.metadata.get("tags", []):
                namespace[name] = value  # what papermill's injected cell does


def test_notebooks_show_expected_errors_in_one_line(capsys):
    """The notebooks' hidden first cell: a ConfigError (or bad data ...) is one line in the kernel's
    output; any other exception keeps its traceback."""
    from IPython.core.interactiveshell import InteractiveShell

    for path in NOTEBOOKS:
        first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        assert "one_line_errors()" in first.source and "remove-cell" in first.metadata.get("tags", []), path
    shell = InteractiveShell.instance(colors="nocolor")
    try:
        shell.run_cell("from fsa.report import one_line_errors\none_line_errors()")
        capsys.readouterr()
        for error in ("fsa.config.ConfigError('s=abc: expected a float')",
                      "fsa.data.DataError('/x/index.csv: row 2: unknown label')"):
            result = shell.run_cell(f"import fsa.config, fsa.data\nraise {error}")
            out = capsys.readouterr().out
            assert not result.success
            lines = [line for line in out.splitlines() if line.strip()]
            assert lines[-1].endswith(error.split("(")[1].strip("')")) and len(lines) <= 2 and "Traceback" not in out
        assert not shell.run_cell("def f():\n    return 1 / 0\nf()").success
        assert "----> 3 f()" in capsys.readouterr().out  # the traceback of an unexpected error
    finally:
        InteractiveShell.clear_instance()


@pytest.mark.slow
def test_papermills_report_of_a_bad_parameter_is_short(tmp_path):
    """``papermill notebooks/table6.ipynb out.ipynb -p s abc``: the kernel's part of the report is
    the one line naming the parameter, and no data are made (the Page refuses it first)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "FSA_DATA": str(tmp_path / "data"),
           "FSA_RESULTS": str(tmp_path / "results")}
    proc = subprocess.run([sys.executable, "-m", "papermill", str(REPO / "notebooks" / "table6.ipynb"),
                           str(tmp_path / "out.ipynb"), "-p", "s", "abc", "--cwd", str(REPO / "notebooks")],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 1
    report = proc.stderr.split("PapermillExecutionError:")[1]
    assert "s='abc': 'abc' is not a valid float" in report and "Traceback" not in report
    assert len(report.strip().splitlines()) <= 6, report
    assert not (tmp_path / "data").exists()
