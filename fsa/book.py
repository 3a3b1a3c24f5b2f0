"""Execute the table notebooks with papermill, in place, and report the time each one took.

``python -m fsa.book [--only table4,table5] [-p key value ...]`` is what ``make book`` runs
before ``jupyter-book build``. A notebook is written to a temporary file and renamed over the
committed one only when it ran to the end, so a failed or killed run never leaves a
half-executed notebook behind; the results store keeps every finished run, so a rerun after
a kill retrains nothing that was recorded.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Sequence

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: Execution order: the data first (made on first use), then the tables, then what reuses their runs.
ORDER = ("dataset", "table1", "table2", "table3", "table4", "table5", "table6", "table7", "table8", "table9",
         "table10", "attention")


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
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, path)
        times[name] = time.perf_counter() - t0
        log(f"{name}.ipynb: {times[name]:.0f} s")
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
