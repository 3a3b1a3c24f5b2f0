"""Settings for the whole test session, notebooks included.

nbval re-executes ``notebooks/*.ipynb`` in kernels that inherit this process's environment:
the ``smoke`` preset on the ``smoke`` embedded dataset, generated into and recorded in a
temporary folder, so the tests retrain every run and never touch the committed ``results/``.
"""
import os
import shutil
import tempfile

_TMP = None


def pytest_configure(config):
    global _TMP
    _TMP = tempfile.mkdtemp(prefix="fsa-tests-")
    os.environ.setdefault("FSA_PRESET", "smoke")
    os.environ.setdefault("FSA_DATA_SIZE", "smoke")
    os.environ["FSA_RESULTS"] = os.path.join(_TMP, "results")
    os.environ["FSA_DATA"] = os.path.join(_TMP, "data")
    os.environ.setdefault("MPLBACKEND", "agg")


def pytest_unconfigure(config):
    if _TMP:
        shutil.rmtree(_TMP, ignore_errors=True)
