"""The ``fsa`` command (also ``python -m fsa``): train, pretrain, eval, predict, models, results, prep, bench, bars.

Every value is checked before any work starts: an unknown model, dataset, preset or
config field, an out-of-range number (``s <= 0``, ``n < 1`` …) or a ``--data`` folder that
is not a prepared dataset exits with status 2 and a message naming the value. Expected
failures later on (unreadable video, no face, a checkpoint of another model, a diverged
run) print one ``fsa: error: …`` line and exit with status 1, without a traceback.
Machine-readable results go to stdout as JSON; logs and progress go to stderr.
"""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import math
import os
import sys
from pathlib import Path
from typing import Sequence

from .config import PRESETS, Config, ConfigError, check_pretrained_file
from .errors import expected_errors

EXIT_USAGE, EXIT_FAILURE = 2, 1
log = logging.getLogger("fsa.cli")


class UsageError(ValueError):
    """A command-line value that is rejected before any work starts (exit status 2)."""


# -------------------------------------------------------------------------------- train
def add_train_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``fsa train`` (shared with ``python -m fsa.train`` under torchrun)."""
    p.add_argument("--model", help="model name (see `fsa models`), e.g. ecnn-fsa (required without --config)")
    p.add_argument("--dataset", help="ckplus or afew (required without --config)")
    p.add_argument("--data", help="prepared dataset root, the output of `fsa prep` (required without --config)")
    p.add_argument("--config", help="a JSON file of a whole run configuration (a record's `config`), trained as it "
                                    "is: how the run layer hands a run to torchrun (FSA_NPROC)")
    p.add_argument("--protocol", help="ckplus: paper (default) or ck+7; afew: afew (default)")
    folds = p.add_mutually_exclusive_group()
    folds.add_argument("--fold", help="CK+ fold K to hold out as test (default 0)")
    folds.add_argument("--folds", help="CK+ k-fold run: 'all' or a comma list of folds, one model each")
    p.add_argument("--preset", default="cpu", help=f"numbers profile: {', '.join(PRESETS)} (default cpu)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config field, e.g. --set s=0.2 --set epochs=3 (repeatable)")
    p.add_argument("--experiment", help="results-store experiment name (default <dataset>-<index hash of --data>, "
                                        "the book's)")
    p.add_argument("--results", help="results store root (default $FSA_RESULTS or <repo>/results)")
    p.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint")
    p.add_argument("--chain", action="store_true",
                   help="start from the still-image stage on the embedded FER2013 set, as the book's runs do (that "
                        "run is read from the store, or trained first); without it and without pretrained=, the "
                        "run starts from random weights")
    p.add_argument("--force", action="store_true",
                   help="replace the experiment's record of this configuration made on other data (kept otherwise)")
    p.add_argument("--keep-last", action="store_true",
                   help="keep last.pt (the last epoch's weights, optimizer and schedule) once the run is recorded; "
                        "by default a finished run keeps its selected weights (best.pt) only")
    p.add_argument("--track-test", action="store_true",
                   help="also score the test split every epoch (diagnostic only; never used for selection)")
    p.add_argument("--device", help="auto (default), cpu or cuda[:k]")
    p.add_argument("--workers", help="DataLoader worker processes (default 0)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch log lines")
    return p


def parse_sets(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set {item!r}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def check_prepared(data: str) -> None:
    """Reject a ``--data`` folder that is not a prepared dataset (no work done)."""
    from .data import DataError, load_index

    try:
        load_index(data)
    except DataError as e:
        raise UsageError(f"--data {data}: {e}") from None


def parse_folds(text: str, cfg: Config) -> list[int]:
    if text == "all":
        return list(range(cfg.folds))
    try:
        folds = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise UsageError(f"--folds {text!r}: expected 'all' or a comma list of integers") from None
    bad = [k for k in folds if not 0 <= k < cfg.folds]
    if not folds or bad:
        raise UsageError(f"--folds {text!r}: folds must be in 0..{cfg.folds - 1}")
    return folds


def config_from_args(args: argparse.Namespace) -> tuple[Config, list[int] | None]:
    """The validated config (and the folds of a k-fold run) of ``fsa train`` arguments."""
    from .spec import check_name, make_config  # loads torch: not at start-up, so --help stays quick

    if args.config:
        try:
            cfg = Config.from_dict(json.loads(Path(args.config).read_text())).validate()
        except (OSError, ValueError, TypeError) as e:
            raise UsageError(f"--config {args.config}: not a run configuration ({e})") from None
        check_name(cfg.model, f"--config {args.config}")
        check_prepared(cfg.data)
        return cfg, None
    missing = [f"--{k}" for k in ("model", "dataset", "data") if getattr(args, k) is None]
    if missing:
        raise UsageError(f"the following arguments are required: {', '.join(missing)} (or --config)")

    sets = parse_sets(args.sets)
    fields: dict[str, str] = {"dataset": args.dataset, "data": args.data}
    if args.protocol is not None:
        fields["protocol"] = args.protocol
    elif "protocol" not in sets:
        fields["protocol"] = {"afew": "afew"}.get(args.dataset, "paper")
    for opt, key in (("fold", "fold"), ("device", "device"), ("workers", "num_workers")):
        if getattr(args, opt) is not None:
            fields[key] = getattr(args, opt)
    if args.compile:
        fields["compile"] = "true"
    cfg = make_config(args.model, args.preset, **{**sets, **fields})
    if args.folds is not None and cfg.dataset != "ckplus":
        raise UsageError(f"--folds {args.folds}: k-fold runs are for ckplus; "
                         f"dataset={cfg.dataset!r} has a fixed test split")
    folds = parse_folds(args.folds, cfg) if args.folds is not None else None
    check_pretrained_file(cfg.pretrained)
    check_prepared(cfg.data)
    return cfg, folds


def _setup_logging(quiet: bool) -> None:
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")


def check_experiment_option(experiment: str | None) -> None:
    """Reject an ``--experiment`` that is not a plain name of one store folder (no work done)."""
    from .results import check_experiment

    if experiment is not None:
        check_experiment(experiment)


def chained(cfg: Config, args: argparse.Namespace) -> Config:
    """``cfg`` started as ``--chain`` asks (its still-image run obtained first), or as it is, with a
    line saying that it starts from random weights where the book's runs would not."""
    from .runs.chain import obtain_still, start_from_stills

    if args.chain:
        if cfg.pretrained:
            raise UsageError(f"--chain and pretrained={cfg.pretrained}: choose one starting point")
        cfg, still = start_from_stills(cfg, args.preset)
        obtain_still(still, args.results)
        log.info("%s: starts from the still-image run %s", cfg.model.name, cfg.pretrained)
    elif not cfg.pretrained:
        log.warning("%s: starts from random weights; the book's runs start from the still-image stage "
                    "(--chain, or pretrained=<weights>)", cfg.model.name)
    return cfg


def run_train(args: argparse.Namespace) -> int:
    from .engine import train
    from .report import experiment_name
    from .runs import run_folds

    check_experiment_option(args.experiment)
    cfg, folds = config_from_args(args)
    _setup_logging(args.quiet)
    cfg = chained(cfg, args)
    experiment = args.experiment or experiment_name(cfg)
    progress = None if not args.quiet else False
    main_rank = os.environ.get("RANK", "0") == "0"
    if folds is not None:
        res = run_folds(cfg, experiment, folds, args.results, args.resume, args.track_test, progress=progress,
                        force=args.force, keep_last=args.keep_last)
        summary = {"experiment": experiment, "folds_hash": res.summary["folds_hash"],
                   "result": str(res.summary_path), "folds": folds,
                   "runs": [str(r.result_path) for r in res.runs],
                   **{k: res.summary["metrics"][k] for k in ("accuracy", "uar", "macro_f1")}}
    else:
        run = train(cfg, experiment, args.results, args.resume, args.track_test, progress=progress, force=args.force,
                    keep_last=args.keep_last)
        summary = {"experiment": experiment, "config_hash": run.config_hash, "result": str(run.result_path),
                   "checkpoint": str(run.checkpoint), "selected_epoch": run.selected_epoch,
                   **{k: run.metrics[k] for k in ("accuracy", "uar", "macro_f1")}}
    if main_rank:
        print(json.dumps(summary, indent=1))
    return 0


# -------------------------------------------------------------------------------- pretrain
def add_pretrain_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``fsa pretrain`` (the still-image stage, :mod:`fsa.stills`)."""
    from data_prep.stills import FORMATS

    p.add_argument("--format", required=True, help=f"still-image set format: {', '.join(FORMATS)}")
    p.add_argument("--data", required=True, help="fer2013.csv (or its folder), an SFEW root (Train/, Val/) or a "
                                                 "<class>/*.png folder (optionally under train/ val/ test/)")
    p.add_argument("--align", action="store_true",
                   help="crop the faces of whole frames first (dlib: detect, align, box +25 %%, resize); "
                        "sfew and folder only")
    p.add_argument("--align-out", help="folder of the aligned crops (default <data>-aligned<size> beside --data)")
    p.add_argument("--align-size", default="224", help="side of the aligned crops in px (default 224)")
    p.add_argument("--model", default="ecnn-fsa",
                   help="the video model whose encoder is trained (default ecnn-fsa; see `fsa models`)")
    p.add_argument("--preset", default="cpu", help=f"numbers profile: {', '.join(PRESETS)} (default cpu)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config field, e.g. --set epochs=3 --set pretrained=vgg_face.pth "
                        "--set pretrained_format=vggface (repeatable)")
    p.add_argument("--experiment", help="results-store experiment name (default stills-<format>-<data hash>)")
    p.add_argument("--results", help="results store root (default $FSA_RESULTS or <repo>/results)")
    p.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint")
    p.add_argument("--device", help="auto (default), cpu or cuda[:k]")
    p.add_argument("--workers", help="DataLoader worker processes (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch log lines")
    return p


def run_pretrain(args: argparse.Namespace) -> int:
    from data_prep.stills import FORMATS, check_layout

    from .data import DataError
    from .stills import pretrain, pretrain_config

    if args.format not in FORMATS:
        raise UsageError(f"--format {args.format!r}: expected one of {', '.join(FORMATS)}")
    check_experiment_option(args.experiment)
    fields = {k: v for k, v in (("device", args.device), ("num_workers", args.workers)) if v is not None}
    cfg = pretrain_config(args.model, args.preset, args.format, args.data, **{**parse_sets(args.sets), **fields})
    check_pretrained_file(cfg.pretrained)
    try:
        align_size = int(args.align_size)
    except ValueError:
        raise UsageError(f"--align-size {args.align_size!r}: expected an integer number of pixels") from None
    if args.align and args.format == "fer2013":
        raise UsageError("--align: FER2013 images are already 48x48 face crops; --align is for sfew and folder")
    if args.align and align_size < 32:
        raise UsageError(f"--align-size {align_size}: expected >= 32")
    try:
        check_layout(args.format, args.data)
    except DataError as e:
        raise UsageError(f"--data {args.data}: {e}") from None
    _setup_logging(args.quiet)
    res = pretrain(cfg, args.experiment, args.results, args.resume, args.align, args.align_out, align_size,
                   progress=None if not args.quiet else False)
    summary = res.summary()
    skipped = summary["skipped"]
    if skipped:
        print(f"skipped {sum(skipped.values())} input(s): " + ", ".join(f"{k} {v}" for k, v in skipped.items())
              + f" (listed in {summary['result']})", file=sys.stderr)
    print(json.dumps(summary, indent=1))
    return 0


# -------------------------------------------------------------------------------- eval
def run_eval(args: argparse.Namespace) -> int:
    from .evaluation import evaluate_checkpoint
    from .results import write_json

    if args.data is not None:
        check_prepared(args.data)
    if args.device is not None:
        Config(device=args.device).validate()
    _setup_logging(True)
    out = evaluate_checkpoint(args.checkpoint, args.data, args.split, args.device or "auto", args.model)
    if args.out:
        write_json(args.out, out)
    print(json.dumps({k: v for k, v in out.items() if k != "per_clip"}, indent=1))
    return 0


# -------------------------------------------------------------------------------- predict
def run_predict(args: argparse.Namespace) -> int:
    from .predict import predict_video

    if args.n is not None and args.n < 1:
        raise ConfigError(f"n={args.n}: a clip needs at least one frame")
    if not 0 < args.window < math.inf:
        raise ConfigError(f"window={args.window}: expected a finite number of seconds > 0")
    if args.device is not None:
        Config(device=args.device).validate()
    if not Path(args.video).exists():
        raise UsageError(f"{args.video}: video file not found")
    if not Path(args.checkpoint).is_file():
        raise UsageError(f"{args.checkpoint}: checkpoint not found")
    result = predict_video(args.video, args.checkpoint, n=args.n, out_dir=args.out, window_s=args.window,
                           device=args.device or "auto", expect_model=args.model)
    print(json.dumps(result, indent=1))
    return 0


# -------------------------------------------------------------------------------- results
def name_problem(record: dict) -> str | None:
    """Where a record's model name is not the one its architecture and knobs give, the problem."""
    from .config import Config
    from .spec import check_name

    model = (record.get("config") or {}).get("model")
    if not isinstance(model, dict) or "arch" not in model:
        return None
    try:
        cfg = Config.from_dict({**record["config"], "fold": record["config"].get("fold") or 0,
                                "seed": record["config"].get("seed") or 0})
        check_name(cfg.model)
    except (ConfigError, TypeError) as e:
        return f"config.model: {e}"
    if record.get("model") not in (None, cfg.model.name):
        return f"model: {record['model']!r} is not its config's model {cfg.model.name!r}"
    return None


def run_results_check(args: argparse.Namespace) -> int:
    """List every record of the store with its kind and status; name each bad file on stderr."""
    from .results import inspect_record, results_root, store_files

    root = Path(args.root) if args.root else results_root()
    if not root.is_dir():
        raise UsageError(f"--root {root}: no results store there")
    bad = []
    files = store_files(root)
    for path in files:
        record, problem = inspect_record(path)
        problem = problem or name_problem(record)
        status, kind = ("ok", record["kind"]) if problem is None else ("BAD", "?")
        print(f"{status:<4}{kind:<12}{path.relative_to(root)}" + (f"  ({problem})" if problem else ""))
        if problem:
            bad.append(f"{path}: {problem}")
    print(f"{len(files)} record file(s) in {root}, {len(bad)} bad", file=sys.stderr)
    for line in bad:
        print(f"fsa: error: {line}", file=sys.stderr)
    return EXIT_FAILURE if bad else 0


def run_results_compare(args: argparse.Namespace) -> int:
    """Each published group's interval against the same group in a rebuilt store."""
    from .report.rebuild import compare_stores
    from .results import results_root

    root = Path(args.root) if args.root else results_root()
    for where in (root, Path(args.rebuilt)):
        if not where.is_dir():
            raise UsageError(f"{where}: no results store there")
    table = compare_stores(root, args.rebuilt)
    if table.empty:
        raise UsageError(f"{root}: no group summary to compare")
    print(table.to_string(index=False))
    rebuilt = table[table["inside"] != "not rebuilt"]
    print(f"{int((rebuilt['inside'] == 'yes').sum())} of {len(rebuilt)} rebuilt groups inside the published 95 % "
          f"interval; {len(table) - len(rebuilt)} not rebuilt", file=sys.stderr)
    return 0


def run_results(args: argparse.Namespace) -> int:
    return run_results_compare(args) if args.action == "compare" else run_results_check(args)


# -------------------------------------------------------------------------------- models, prep
def run_models(args: argparse.Namespace) -> int:
    from .models.describe import describe_models, format_table

    rows = describe_models()
    print(json.dumps(rows, indent=1) if args.json else format_table(rows))
    return 0


#: Subcommands with a parser of their own (``fsa <cmd> --help`` shows their options): the module
#: whose ``main(argv)`` runs each, imported only when that subcommand runs.
DELEGATED = {"prep": "data_prep.prepare", "bench": "fsa.bench", "bars": "fsa.report.bars", "paper": "fsa.reproduce",
             "floors": "fsa.runs.floors", "difficulty": "fsa.runs.difficulty"}


def delegate(command: str, argv: Sequence[str]) -> int:
    """Run a :data:`DELEGATED` subcommand: its module's ``main``, loaded now."""
    module = importlib.import_module(DELEGATED[command])
    extra = {"prog": f"fsa {command}"} if command == "prep" else {}
    return int(module.main(list(argv), **extra) or 0)


# -------------------------------------------------------------------------------- parser
def _add_results_parser(sub) -> None:
    p = sub.add_parser("results", help="inspect the results store",
                       description="Commands on the results store (one JSON record per run).")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check", help="list every record with its kind and status; exit 1 naming each file that cannot be read",
        description="Read every <root>/<experiment>/*.json as the notebooks and the book do: list each with "
                    "its kind and status (ok, or BAD and why); a file that does not parse, is not a record or does "
                    "not fit its kind's schema (a field missing or of the wrong type) is named on stderr "
                    "and makes the exit status 1.")
    check.add_argument("--root", help="results store root (default $FSA_RESULTS or <repo>/results)")
    compare = actions.add_parser(
        "compare", help="each published group's 95 %% interval against the same group in a rebuilt store",
        description="For every k-fold, seeds and floor summary of the store: its mean accuracy and 95 %% interval, "
                    "the mean of the same group (same name) in a store rebuilt from empty, e.g. on another machine, "
                    "and whether it falls inside.")
    compare.add_argument("--rebuilt", required=True, help="the rebuilt results store")
    compare.add_argument("--root", help="the published store (default $FSA_RESULTS or <repo>/results)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="fsa", description="ECNN-FSA: video facial expression recognition "
                                 "with frame-level self-attention.")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    add_train_arguments(sub.add_parser(
        "train", help="train a model (one run or a CK+ k-fold run); records the run in the results store",
        description="Train with validation-based model selection, test once with the selected weights, "
                    "write <results>/<experiment>/<config-hash>.json. Under torchrun use python -m fsa.train."))

    add_pretrain_arguments(sub.add_parser(
        "pretrain", help="the still-image stage: train a model's frame encoder on FER2013 / SFEW / image folders",
        description="Train the ECNN frame encoder of --model (backbone + enhanced branch, with a per-frame head) "
                    "on labelled still face images, select the epoch on the validation split, record the run "
                    "like fsa train and print its checkpoint and its store: reference. A video run starts "
                    "from it with --set pretrained=store:<experiment>/<hash> --set pretrained_format=fsa."))

    p = sub.add_parser("eval", help="evaluate a checkpoint on a prepared dataset",
                       description="Score a checkpoint on a split of a prepared dataset; prints metrics as JSON.")
    p.add_argument("--checkpoint", required=True, help="best.pt / last.pt written by fsa train")
    p.add_argument("--data", help="prepared dataset root (default: the one the checkpoint was trained on)")
    p.add_argument("--split", default="test", help="test (default), val or train of the checkpoint's protocol")
    p.add_argument("--model", help="refuse a checkpoint that is not of this model")
    p.add_argument("--device", help="auto (default), cpu or cuda[:k]")
    p.add_argument("--out", help="also write the full result (with per-clip outputs) to this JSON file")

    p = sub.add_parser("predict", help="predict the expression of a raw video (JSON + PNG)",
                       description="Read a video with OpenCV, find and align faces with dlib, sample n frames "
                                   "per window (the whole clip unless it is much longer than --window), print "
                                   "probabilities, top class and per-frame attention with timestamps as JSON, "
                                   "and write <out>/<video>.predict.png.")
    p.add_argument("video", help="video file (avi, mp4, ...) or a folder of frame images")
    p.add_argument("--checkpoint", required=True, help="checkpoint written by fsa train")
    p.add_argument("--n", type=int, help="frames per window (default: the checkpoint's n)")
    p.add_argument("--window", type=float, default=3.0,
                   help="window length in seconds for long videos (default 3.0)")
    p.add_argument("--out", default=".", help="folder for the PNG (default: current folder)")
    p.add_argument("--model", help="refuse a checkpoint that is not of this model")
    p.add_argument("--device", help="auto (default), cpu or cuda[:k]")

    p = sub.add_parser("models", help="list the named models with parameters and FLOPs",
                       description="Every named model of the paper's tables: parameters and GFLOPs per frame "
                                   "at 224 px, width 1.")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")

    _add_results_parser(sub)

    sub.add_parser("prep", add_help=False, help="prepare a raw CK+/AFEW dataset (python -m data_prep.prepare; "
                                                "`fsa prep --help` for its options)")
    sub.add_parser("paper", add_help=False, help="the whole paper from the raw datasets: plan, prep, still-image "
                                                 "stage, every table, the book (`fsa paper --help`)")
    sub.add_parser("floors", add_help=False, help="classical floors (HOG, LBP, LBP-TOP) on a prepared set, on the "
                                                  "deep models' splits (`fsa floors --help`)")
    sub.add_parser("difficulty", add_help=False, help="the paper's Baseline on the embedded AFEW with each wild "
                                                      "knob off in turn (`fsa difficulty --help`)")
    sub.add_parser("bench", add_help=False, help="speed benchmark: ms per frame against the measured matmul peak, "
                                                 "data throughput (`fsa bench --help` for its options)")
    return ap


def fail(message: str, code: int) -> int:
    print(f"fsa: error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] and argv[0] in DELEGATED:
        return delegate(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    handlers = {"train": run_train, "pretrain": run_pretrain, "eval": run_eval, "predict": run_predict,
                "models": run_models, "results": run_results}
    try:
        return handlers[args.command](args)
    except (ConfigError, UsageError) as e:
        return fail(str(e), EXIT_USAGE)
    except expected_errors() as e:
        return fail(str(e), EXIT_FAILURE)


if __name__ == "__main__":
    raise SystemExit(main())
