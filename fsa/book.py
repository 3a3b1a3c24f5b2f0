"""Execute the table notebooks with papermill, in place, and report the time each one took.

``python -m fsa.book [--only table4,table5] [-p key value ...] [--plan] [--no-train] [--force]`` is
what ``make book`` runs before ``jupyter-book build``. A notebook is written to a temporary file
and renamed over the committed one only when it ran to the end, so a failed or killed run never
leaves a half-executed notebook behind; the results store keeps every finished run, so a rerun
after a kill retrains nothing that was recorded.

**A notebook runs only when its inputs changed.** Its inputs are its code cells, the parameters,
the package (``fsa/`` and ``data_prep/``) and every record of the results store it read, with the
listing of every store folder it scanned (:func:`inputs_key`): the store's readers log them while
it executes (:data:`fsa.results.READS_ENV`), and the notebook keeps them in its metadata
(``fsa.inputs``, ``fsa.reads``; ``fsa.code``, the hash of its code and parameters alone). A fresh
clone therefore executes nothing: its pages are those the committed store made, on any CPU,
whatever pixels its own embedded sets have (the identity rule, :mod:`fsa.identity`). Before
executing anything the plan is printed: per notebook, cached or to run, the records it reads and
those the store lacks, which it would train, with the time they took when they were recorded; a
notebook whose code or parameters changed since it read them may read others, which the plan says.
``--no-train`` never trains: a page that needs a missing record keeps its committed version and the
missing records are listed.

An executed notebook is stripped of the metadata that changes on every execution (see
:func:`normalise`) and replaces the committed one only when something else changed.
"""
from __future__ import annotations

import argparse
import copy
import functools
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: Notebook metadata that an execution rewrites without any result changing: papermill's start
#: and end times, durations, paths and parameters (notebook and cells), the kernel's per-cell
#: message timestamps (``execution``), and the Python patch version of the kernel that ran it.
VOLATILE_METADATA = ("papermill",)
VOLATILE_CELL_METADATA = ("papermill", "execution")
VOLATILE_LANGUAGE_INFO = ("version",)
#: Execution order: the data first (made on first use), then the tables, then what reuses their runs.
#: How many times a make book goes over the notebooks: a notebook that reads the records a later
#: one trained runs again, once.
PASSES = 2
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


#: The package folders whose files are inputs of every notebook.
PACKAGES = ("fsa", "data_prep")
#: Environment variables the notebooks read their defaults from: inputs too.
ENV_INPUTS = ("FSA_PRESET", "FSA_DATA_SIZE")
REPO = NOTEBOOKS.parent


@functools.lru_cache(maxsize=4)
def package_digest(repo: Path = REPO) -> str:
    """sha256 of the package's files (their paths and bytes): in a checkout, those ``git ls-files``
    lists, tracked or not yet added (not ignored), so a module about to be committed counts."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", *PACKAGES],
                                cwd=repo, capture_output=True, check=True, text=True).stdout.split("\0")
        files = sorted(repo / f for f in listed if f and (repo / f).is_file())
    except (OSError, subprocess.CalledProcessError):
        files = sorted(f for pkg in PACKAGES for f in (repo / pkg).rglob("*")
                       if f.is_file() and "__pycache__" not in f.parts)
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{f.relative_to(repo).as_posix()}\0".encode())
        digest.update(hashlib.sha256(f.read_bytes()).digest())
    return digest.hexdigest()


def _store_path(rel: str) -> Path:
    from .results import results_root

    return results_root() / rel


def read_state(entry: dict) -> str | list | None:
    """What a read entry finds in the store now: a file's sha256 (``None`` if absent), a folder's
    sorted ``*.json`` names."""
    path = _store_path(entry["path"])
    if entry["what"] == "dir":
        return sorted(p.name for p in path.glob("*.json")) if path.is_dir() else []
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _asked(nb: dict, parameters: dict) -> dict:
    """What a notebook itself asks for: its code cells and the parameters it is given."""
    cells = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
             for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    return {"cells": cells, "parameters": {k: str(v) for k, v in sorted(parameters.items())}}


def _digest(inputs: dict) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def inputs_key(nb: dict, parameters: dict, reads: Sequence[dict]) -> str:
    """The hash of everything a notebook's outputs are made from (see the module's docstring)."""
    return _digest({**_asked(nb, parameters), "env": {k: os.environ.get(k) for k in ENV_INPUTS},
                    "package": package_digest(), "reads": [[r["what"], r["path"], read_state(r)] for r in reads]})


def code_key(nb: dict, parameters: dict) -> str:
    """The hash of what a notebook asks for (:func:`_asked`): while it is the one kept with the
    reads of the last execution, those reads are what the notebook will read again."""
    return _digest(_asked(nb, parameters))


def parse_reads(log: Path) -> list[dict]:
    """The entries of a reads log (:data:`fsa.results.READS_ENV`), in the store's relative paths,
    each once; a record's entry carries the runs that made it with the seconds each took
    (:func:`made_by`)."""
    from .results import results_root

    root = results_root().resolve()
    seen: dict[tuple[str, str], dict] = {}
    lines = log.read_text(encoding="utf-8").splitlines() if log.is_file() else []
    for what, path in (line.split("\t", 1) for line in lines if "\t" in line):
        p = Path(path)
        rel = p.relative_to(root).as_posix() if p.is_relative_to(root) else path
        if (what, rel) in seen:
            continue
        entry = {"what": what, "path": rel}
        if what == "file":  # once per record: a page reads some records many times
            entry["runs"] = made_by(p, root)
        seen[what, rel] = entry
    return sorted(seen.values(), key=lambda r: (r["what"], r["path"]))


def made_by(path: Path, root: Path) -> dict[str, float]:
    """The runs a stored record stands for, by path in the store, with the seconds each took: a run
    itself, a group (folds, seeds) its runs. A group and its runs are trained once, so the time
    to make several records is that of the runs they stand for together (:func:`training_s`)."""
    from .results import inspect_record

    rec, _ = inspect_record(path) if path.is_file() else (None, None)
    if rec is None:
        return {}
    hashes = rec.get("fold_config_hashes") or rec.get("seed_config_hashes") or []
    if hashes:
        return {k: v for h in hashes for k, v in made_by(path.parent / f"{h}.json", root).items()}
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    return {rel: float((rec.get("timings") or {}).get("wall_s", 0.0))}


def training_s(records: Iterable[dict]) -> float:
    """The seconds the runs behind ``records`` (entries of :func:`parse_reads`) took, each run once."""
    runs: dict[str, float] = {}
    for r in records:
        runs.update(r.get("runs", {}))
    return sum(runs.values())


def stamp(nb: dict, parameters: dict, reads: list[dict]) -> None:
    nb.setdefault("metadata", {})["fsa"] = {"inputs": inputs_key(nb, parameters, reads), "reads": reads,
                                            "code": code_key(nb, parameters)}


@dataclass
class Step:
    """What ``make book`` does with one notebook: ``cached`` (its inputs are those it was made from)
    or ``run``; the records it read last time, and those the store no longer holds.
    ``code_changed``: its code or parameters are not those that read them, so what it reads and
    trains now is known only when it runs."""
    name: str
    cached: bool
    reads: list[dict]
    missing: list[dict]
    code_changed: bool = False

    def line(self) -> str:
        records = [r for r in self.reads if r["what"] == "file"]
        if self.cached:
            return f"{self.name}: cached (inputs unchanged; {len(records)} records read when it was made)"
        if not self.reads:
            return f"{self.name}: run (what it reads is known after its first execution with this version)"
        if self.code_changed:
            return (f"{self.name}: run (its code or parameters changed since it read {len(records)} records: "
                    "what it reads and trains is known when it runs)")
        if not self.missing:
            return f"{self.name}: run (reads {len(records)} records, all in the store: trains nothing)"
        trained, apart = split_missing(self.missing)
        told = f"{len(self.missing)} not in the store"
        if trained:
            told += f", trained first: about {training_s(trained) / 60:.0f} min when they were recorded"
        return f"{self.name}: run (reads {len(records)} records; {told}{_apart(apart)})"


def plan_total(steps: Sequence[Step]) -> str:
    """The plan's last line: the records the pages to run need and the store lacks, each once, and
    the time their runs took when they were recorded (on the machines named in them)."""
    missing = {r["path"]: r for s in steps if not s.cached for r in s.missing}
    trained, apart = split_missing(missing.values())
    changed = [s.name for s in steps if not s.cached and s.code_changed and s.reads]
    return (f"in all: {len(trained)} records not in the store, trained first: about "
            f"{training_s(trained) / 60:.0f} min when they were recorded{_apart(apart)}"
            + (f"; and what {', '.join(changed)} train, known when they run (their code changed)" if changed else ""))


def split_missing(missing: Iterable[dict]) -> tuple[list[dict], list[dict]]:
    """Missing records (entries of :func:`parse_reads`) as ``(trained, apart)``: those a page trains
    when it runs, and those it shows without training them, the difficulty sets' floors
    (:mod:`fsa.runs.difficulty`: a set is generated and prepared anew, which ``fsa difficulty``
    does; the dataset page names the command)."""
    from .runs.difficulty import PREFIX

    trained, apart = [], []
    for r in missing:
        (apart if r["path"].startswith(PREFIX) else trained).append(r)
    return trained, apart


def _apart(apart: list[dict]) -> str:
    return f"; {len(apart)} recorded apart by fsa difficulty, not trained by the book" if apart else ""


def plan(names: Sequence[str], parameters: dict, force: bool = False, folder: Path | None = None) -> list[Step]:
    """What ``make book`` will do with each notebook, from the inputs kept in its metadata."""
    import nbformat

    folder = folder or NOTEBOOKS
    steps = []
    for name in names:
        nb = nbformat.read(folder / f"{name}.ipynb", as_version=4)
        kept = nb.get("metadata", {}).get("fsa", {})
        reads = list(kept.get("reads", []))
        cached = not force and bool(kept) and kept.get("inputs") == inputs_key(nb, parameters, reads)
        missing = [r for r in reads if r["what"] == "file" and read_state(r) is None]
        steps.append(Step(name, cached, reads, missing, bool(kept) and kept.get("code") != code_key(nb, parameters)))
    return steps


def run_notebook(name: str, parameters: dict, train: bool = True, folder: Path | None = None) -> bool:
    """Execute one notebook in place with papermill, its reads logged and kept in its metadata;
    returns whether its committed file changed. A failed run leaves the committed file as it was."""
    import nbformat
    import papermill

    from .results import READS_ENV, TRAIN_ENV

    folder = folder or NOTEBOOKS
    path = folder / f"{name}.ipynb"
    tmp, reads_log = path.with_name(f".{name}.running.ipynb"), path.with_name(f".{name}.reads")
    reads_log.unlink(missing_ok=True)
    saved = {k: os.environ.get(k) for k in (READS_ENV, TRAIN_ENV)}
    os.environ[READS_ENV] = str(reads_log)
    if not train:
        os.environ[TRAIN_ENV] = "never"
    try:
        papermill.execute_notebook(str(path), str(tmp), parameters=parameters, kernel_name="python3",
                                   cwd=str(folder), progress_bar=False)
        nb = nbformat.read(tmp, as_version=4)
        stamp(nb, parameters, parse_reads(reads_log))
        nbformat.write(nb, tmp)
        return replace_if_changed(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        reads_log.unlink(missing_ok=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def execute(names: Sequence[str] = ORDER, parameters: dict | None = None, log=print, force: bool = False,
            train: bool = True, folder: Path | None = None) -> dict[str, float]:
    """Run each notebook whose inputs changed, in place (all of them with ``force``); returns the
    seconds each took. A notebook whose records another one changed runs again (at most
    :data:`PASSES` passes). Without ``train``, a notebook that needs a record the store lacks keeps
    its committed version; :class:`SystemExit` lists those at the end. ``folder`` holds the
    notebooks (default :data:`NOTEBOOKS`; ``fsa paper`` executes a copy)."""
    from papermill.exceptions import PapermillExecutionError

    unknown = sorted(set(names) - set(ORDER))
    if unknown:
        raise SystemExit(f"unknown notebook(s): {', '.join(unknown)}; expected some of {', '.join(ORDER)}")
    parameters = parameters or {}
    times: dict[str, float] = {}
    kept: dict[str, str] = {}
    for p in range(PASSES):
        every = plan(names, parameters, force and p == 0, folder)
        if p == 0:
            for s in every:
                log(s.line())
            log(plan_total(every))
        for step in [s for s in every if not s.cached and s.name not in kept]:
            t0 = time.perf_counter()
            try:
                changed = run_notebook(step.name, parameters, train, folder)
            except PapermillExecutionError as e:
                if train or e.ename != "NotStored":
                    raise
                kept[step.name] = e.evalue
                log(f"{step.name}.ipynb: kept as committed: {e.evalue}")
                continue
            times[step.name] = times.get(step.name, 0.0) + time.perf_counter() - t0
            log(f"{step.name}.ipynb: {time.perf_counter() - t0:.0f} s{'' if changed else ' (unchanged)'}")
    log(f"all notebooks: {sum(times.values()):.0f} s, {len(names) - len(times) - len(kept)} cached")
    if kept:
        raise SystemExit(f"{len(kept)} page(s) need records the store does not hold and were kept as committed "
                         f"(--no-train): {', '.join(kept)}")
    return times


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fsa.book", description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated notebook names (default: all, in book order)")
    ap.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="papermill parameter for every notebook (e.g. -p preset cpu)")
    ap.add_argument("--plan", action="store_true", help="print what would be executed and trained, and stop")
    ap.add_argument("--no-train", action="store_true",
                    help="never train: a page that needs a record the store lacks keeps its committed version")
    ap.add_argument("--force", action="store_true", help="execute every notebook, even those whose inputs are unchanged")
    args = ap.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(ORDER)
    parameters = dict(args.parameter)
    if args.plan:
        steps = plan(names, parameters, args.force)
        for step in steps:
            print(step.line())
        print(plan_total(steps))
        return 0
    execute(names, parameters, force=args.force, train=not args.no_train)
    return 0


if __name__ == "__main__":
    sys.exit(main())
