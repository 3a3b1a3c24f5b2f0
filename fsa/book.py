"""Execute the table notebooks with papermill, in place, and report the time each one took.

``python -m fsa.book [--only table4,table5] [-p key value ...]`` is what ``make book`` runs
before ``jupyter-book build``. A notebook is written to a temporary file and renamed over the
committed one only when it ran to the end, so a failed or killed run never leaves a
half-executed notebook behind; the results store keeps every finished run, so a rerun after
a kill retrains nothing that was recorded.

An executed notebook is stripped of the metadata that changes on every execution (see
:func:`normalise`) and replaces the committed one only when something else changed: on an
unchanged results store, ``make book`` leaves ``git status`` clean.
"""
from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path
from typing import Sequence

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: Notebook metadata that an execution rewrites without any result changing: papermill's start
#: and end times, durations, paths and parameters (notebook and cells), the kernel's per-cell
#: message timestamps (``execution``), and the Python patch version of the kernel that ran it.
VOLATILE_METADATA = ("papermill",)
VOLATILE_CELL_METADATA = ("papermill", "execution")
VOLATILE_LANGUAGE_INFO = ("version",)
#: Execution order: the data first (made on first use), then the tables, then what reuses their runs.
ORDER = ("dataset", "table1", "table2", "table3", "table4", "table5", "table6", "table7", "table8", "table9",
         "table10", "attention")


def normalise(nb: dict) -> dict:
    """A copy of notebook ``nb`` (an ``nbformat`` node or its JSON dict) without its volatile
    metadata (:data:`VOLATILE_METADATA`, :data:`VOLATILE_CELL_METADATA`, the kernel's
    ``language_info.version``); cells, outputs, tags and the kernelspec are kept."""
    out = copy.deepcopy(nb)
    meta = out.get("metadata", {})
    for key in VOLATILE_METADATA:
        meta.pop(key, None)
    for key in VOLATILE_LANGUAGE_INFO:
        meta.get("language_info", {}).pop(key, None)
    for cell in out.get("cells", []):
        for key in VOLATILE_CELL_METADATA:
            cell.get("metadata", {}).pop(key, None)
    return out


def replace_if_changed(executed: Path, target: Path) -> bool:
    """Move the executed notebook ``executed`` (beside ``target``), normalised, over ``target``
    unless the two are equal once normalised; then ``target`` keeps its bytes and ``executed``
    is removed. Returns whether ``target`` was rewritten."""
    import nbformat

    new = normalise(nbformat.read(executed, as_version=4))
    if target.is_file() and new == normalise(nbformat.read(target, as_version=4)):
        executed.unlink()
        return False
    nbformat.write(new, executed)
    os.replace(executed, target)
    return True


def execute(names: Sequence[str] = ORDER, parameters: dict | None = None, log=print) -> dict[str, float]:
    """Run each notebook in place; returns the seconds each took."""
    import papermill

    unknown = sorted(set(names) - set(ORDER))
    if unknown:
        raise SystemExit(f"unknown notebook(s): {', '.join(unknown)}; expected some of {', '.join(ORDER)}")
    times = {}
    for name in names:
        path = NOTEBOOKS / f"{name}.ipynb"
        tmp = path.with_name(f".{name}.running.ipynb")
        t0 = time.perf_counter()
        try:
            papermill.execute_notebook(str(path), str(tmp), parameters=parameters or {}, kernel_name="python3",
                                       cwd=str(NOTEBOOKS), progress_bar=False)
            changed = replace_if_changed(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        times[name] = time.perf_counter() - t0
        log(f"{name}.ipynb: {times[name]:.0f} s{'' if changed else ' (unchanged)'}")
    log(f"all notebooks: {sum(times.values()):.0f} s")
    return times


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fsa.book", description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated notebook names (default: all, in book order)")
    ap.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="papermill parameter for every notebook (e.g. -p preset cpu)")
    args = ap.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(ORDER)
    execute(names, dict(args.parameter))
    return 0


if __name__ == "__main__":
    sys.exit(main())
