"""Settings for the whole test session, notebooks included.

nbval re-executes ``notebooks/*.ipynb`` in kernels that inherit this process's environment,
set here before each notebook's kernel starts: the ``smoke`` preset on the ``smoke`` embedded
dataset, except Table 4, which trains ECNN-FSA under the ``cpu`` preset on the default embedded
CK+ set, so that its checks catch accuracy regressions: every fold above its majority class, the
model at or above its bar from the recorded runs (``fsa/bars.json``) unless it reproduces that run
exactly, not below LBP and within 5 points of HOG, which reaches the ceiling on that data. It is the
suite's longest item (5 folds from the still-image run the transfer test of ``tests/test_pretrain.py``
trained before it: about 6 minutes on a 2-core CPU without AVX-512, where a run is 3 times slower
than with it), so the tests give it the parameters
``rows="base"`` (ECNN-FSA alone: the page's other rows share its engine, and their own code is
tested at the ``smoke`` scale) and ``spread_seeds=()`` (seed 0 alone), as papermill's ``-p`` would.
Everything is generated into and recorded in a temporary folder: the tests retrain every run and
never touch ``results/``.
Every notebook item is marked ``slow``: ``make test-fast`` (``pytest -m "not slow"``) leaves
them out.
"""
import os
import shutil
import tempfile

import pytest

SMOKE = {"FSA_PRESET": "smoke", "FSA_DATA_SIZE": "smoke"}
#: Notebooks the tests run under another profile than ``SMOKE``.
NOTEBOOK_PROFILES = {"table4.ipynb": {"FSA_PRESET": "cpu", "FSA_DATA_SIZE": "default"}}
#: Parameters the tests give a notebook, as papermill's ``-p`` would (:func:`with_parameters`).
NOTEBOOK_PARAMETERS = {"table4.ipynb": {"rows": "base", "spread_seeds": ()}}


def with_parameters(source: str, parameters: dict) -> str:
    """A parameters cell's source followed by assignments of ``parameters``: papermill's injected cell."""
    return source + "".join(f"\n{name} = {value!r}" for name, value in parameters.items())


_TMP = None


def pytest_configure(config):
    global _TMP
    _TMP = tempfile.mkdtemp(prefix="fsa-tests-")
    os.environ.update(SMOKE)
    os.environ["FSA_RESULTS"] = os.path.join(_TMP, "results")
    os.environ["FSA_DATA"] = os.path.join(_TMP, "data")
    os.environ.setdefault("MPLBACKEND", "agg")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # Before pytest's own -m selection, which runs in the same hook.
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
            given = NOTEBOOK_PARAMETERS.get(item.path.name)
            if given and "parameters" in item.cell.metadata.get("tags", []):
                item.cell.source = with_parameters(item.cell.source, given)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # Runs before a notebook's kernel starts (nbval starts it while setting up the first cell),
    # and resets the profile for whatever runs after Table 4.
    os.environ.update(NOTEBOOK_PROFILES.get(item.path.name, SMOKE))


def pytest_unconfigure(config):
    if _TMP:
        shutil.rmtree(_TMP, ignore_errors=True)
