"""``fsa paper``: the whole paper from the raw datasets, in one resumable command.

    fsa paper --ckplus RAW --afew RAW --fer2013 CSV --sfew DIR --vggface FILE [--work DIR] [--preset paper]

It prints its plan first — every stage and every run, each with its state (in the store, or to
train) and its time, estimated from one training step measured on this device — then runs it:

1. **prep**: the raw CK+ and AFEW copies → aligned faces (:func:`data_prep.prepare.prepare`, checked
   against the published counts), into ``<work>/prepared/<dataset>``;
2. **stills**: for every model of the tables, its still-image stage, VGG-Face → FER2013 → SFEW
   (:func:`fsa.runs.chain.still_chain`; models with one encoder and head share their runs), once the
   data are prepared (the plan lists them then);
3. **tables**: every table's runs, through its notebook (executed in ``<work>/book``, a copy of the
   book, with ``data``, ``preset``, ``pretrained`` and ``stills`` set), each run read from the
   store or trained (:func:`fsa.runs.chain.obtain`);
4. **book**: ``jupyter-book build <work>/book``.

Everything is recorded in the results store (``<work>/results`` unless ``--results``) as it
finishes, so a killed ``fsa paper`` started again skips what the store holds and continues.
``dataset`` (the embedded data's page) and ``table8`` (speed: ``fsa bench`` on the device) keep
their committed pages. ``--nproc K`` trains every run with ``torchrun`` on K processes (one per
GPU, data-parallel; :data:`fsa.runs.groups.NPROC_ENV`), recorded under the key one process gives it.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from .book import NOTEBOOKS
from .config import PRESETS, Config, ConfigError
from .runs.groups import NPROC_ENV

#: The notebooks ``fsa paper`` executes, in order, and the dataset each one reads.
PAPER_NOTEBOOKS = {"table1": None, "table2": "afew", "table3": "afew", "table4": "ckplus", "table5": "ckplus",
                   "table6": "afew", "table7": "afew", "table9": "afew", "table10": "afew", "attention": "ckplus"}
#: The most training steps the plan measures a model with.
MAX_STEPS = 12
#: The notebooks that show one model, ECNN-FSA (the confusion matrices, the attention page).
ONE_MODEL = ("table5", "table10", "attention")
#: The published sizes, for the estimate of a run's time before the data are prepared: labelled
#: CK+ sequences (``data_prep.ckplus.PUBLISHED``) and AFEW 7.0 Train clips.
PUBLISHED_TRAIN = {"ckplus": 327, "afew": 773}


@dataclass
class Inputs:
    """What ``fsa paper`` was given, and where it works."""

    raw: dict[str, Path]  # ckplus, afew
    stills: list[tuple[str, str]]  # (format, path) in training order
    vggface: str
    work: Path
    preset: str = "paper"
    device: str = "auto"
    jobs: int = 1
    notebooks: tuple[str, ...] = tuple(PAPER_NOTEBOOKS)

    @property
    def prepared(self) -> dict[str, Path]:
        return {name: self.work / "prepared" / name for name in self.raw}

    def parameters(self, name: str) -> dict:
        """The papermill parameters of one notebook."""
        dataset = PAPER_NOTEBOOKS[name]
        if dataset is None:
            return {}
        out = {"preset": self.preset, "device": self.device, "data": str(self.prepared[dataset]),
               "stills": ",".join(f"{fmt}={path}" for fmt, path in self.stills)}
        if self.vggface:
            out.update(pretrained=self.vggface, pretrained_format="vggface")
        return out


@dataclass
class Line:
    """One line of the plan: a stage, what it is, whether it is done, and its estimated seconds."""

    stage: str
    what: str
    done: bool
    seconds: float = 0.0
    same_as: str = ""  # the page whose line counts this run (two pages, one run)

    def text(self) -> str:
        if self.same_as:
            state = f"the run of {self.same_as}"
        elif self.done:
            state = "done (in the store)"
        else:
            state = f"to run, about {self.seconds / 60:.1f} min" if self.seconds else "to run"
        return f"{self.stage:<7}{self.what:<60} {state}"


def measured_ms_per_frame(cfg: Config, cache: dict) -> float:
    """Milliseconds per input frame of one training step of ``cfg``'s model on its device, measured
    (the fastest step once two steps in a row agree within 20 %: the first steps of a process warm
    up its kernels and run many times slower; at most :data:`MAX_STEPS`), once per model and input size."""
    key = (replace(cfg.model, name=""), cfg.image_size, cfg.n, cfg.frozen_convs, cfg.device)  # one model, two names
    if key not in cache:
        import torch

        from .distributed import resolve_device
        from .models import build_model
        from .models.backbone import freeze_convs

        device = resolve_device(cfg.device)
        model = build_model(cfg.model)
        freeze_convs(model, cfg.frozen_convs)
        model = model.to(device).train()
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.0)
        x = torch.randn(2, cfg.n, 3, cfg.image_size, cfg.image_size, device=device)
        y = torch.zeros(2, dtype=torch.long, device=device)
        times: list[float] = []
        while len(times) < 2 or (abs(times[-1] - times[-2]) > 0.2 * min(times[-2:]) and len(times) < MAX_STEPS):
            t0 = time.perf_counter()
            loss = torch.nn.functional.cross_entropy(model(x).logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - t0)
        cache[key] = 1000 * min(times) / x.shape[0] / x.shape[1]
    return cache[key]


def run_seconds(cfg: Config, train_clips: int, ms_per_frame: float, replicates: int) -> float:
    """A group's training time: epochs × its training clips × n frames at the measured rate, per replicate."""
    return replicates * cfg.epochs * train_clips * cfg.n * ms_per_frame / 1000


def train_clips(dataset: str, root: Path, cfg: Config) -> int:
    """The training clips of a run: counted in the prepared index, else the published count."""
    from .data import load_index

    if (root / "index.csv").is_file():
        n = len(load_index(root))
    else:
        n = PUBLISHED_TRAIN[dataset]
    share = (cfg.folds - 1) / cfg.folds if dataset == "ckplus" else 1.0
    return max(1, round(n * share * (1 - cfg.val_fraction)))


def page_plan(name: str, inputs: Inputs, cache: dict, stills: dict, seen: dict) -> list[Line]:
    """The runs of one notebook, each read from the store or to train, with its estimate; the
    still-image runs they start from are added to ``stills`` (by store reference), and its groups to
    ``seen`` (a group two pages show is trained once)."""
    from .models.registry import REGISTRY
    from .report.page import KEY_ROWS, Page
    from .runs.chain import experiment_name, group_record_name, replica_runs, stored
    from .spec import knobs

    dataset = PAPER_NOTEBOOKS[name]
    if dataset is None:
        return [Line("tables", f"{name}: the architectures (no training)", True)]
    table = "4" if name == "attention" else name[len("table"):]
    data = inputs.prepared[dataset]
    one = name in ONE_MODEL
    if not (data / "index.csv").is_file():
        lines = []
        for model in ("ecnn-fsa",) if one else KEY_ROWS[table]:
            what = f"{name}: {model} (once {dataset} is prepared)"
            same = (dataset, tuple(knobs(REGISTRY[model].config).items()))  # two rows' names, one model
            if same in seen:
                lines.append(Line("tables", what, True, same_as=seen[same]))
                continue
            seen[same] = name
            lines.append(Line("tables", what, False, _estimate(model, dataset, data, inputs, cache)))
        return lines
    params = inputs.parameters(name)
    page = Page(table, preset=inputs.preset, data=data, device=inputs.device, stills=params["stills"],
                pretrained=params.get("pretrained"), pretrained_format=params.get("pretrained_format"))
    configs = [page.config("ecnn-fsa")] if one else page.configs()
    lines = []
    for cfg in configs:
        chain = page.stills_of(cfg)
        key, runs = replica_runs(cfg, chain)
        group = (experiment_name(cfg), group_record_name(cfg, chain))
        what = f"{name}: {cfg.model.name} ({len(runs)} {key}s)"
        if group in seen:
            lines.append(Line("tables", what, True, same_as=seen[group]))
            continue
        seen[group] = name
        seconds = run_seconds(cfg, train_clips(dataset, data, cfg), measured_ms_per_frame(cfg, cache), len(runs))
        lines.append(Line("tables", what, stored(cfg, chain) is not None, seconds))
        for _, _, run_stills in runs:
            for still in run_stills:
                stills.setdefault(still.reference, still)
    return lines


def still_lines(stills: dict, cache: dict) -> list[Line]:
    """One line per still-image run: in the store, or to train (its images × epochs at the measured rate)."""
    from data_prep.stills import read_stills

    from . import results as store

    lines, sizes = [], {}
    for still in stills.values():
        cfg = still.cfg
        if cfg.protocol not in sizes:
            sizes[cfg.protocol] = len(read_stills(cfg.protocol, cfg.data).items)
        done = store.find_run(still.experiment, cfg.hash()) is not None
        lines.append(Line("stills", f"{cfg.protocol}: {cfg.model.name} ({still.reference})", done,
                          run_seconds(cfg, sizes[cfg.protocol], measured_ms_per_frame(cfg, cache), 1)))
    return lines


def _estimate(model: str, dataset: str, data: Path, inputs: Inputs, cache: dict) -> float:
    from .runs import replicates
    from .spec import make_config

    cfg = make_config(model, inputs.preset, dataset=dataset, data=str(data), device=inputs.device,
                      **({"protocol": "afew"} if dataset == "afew" else {}))
    _, values = replicates(cfg)
    return run_seconds(cfg, train_clips(dataset, data, cfg), measured_ms_per_frame(cfg, cache), len(values))


def make_plan(inputs: Inputs) -> tuple[list[Line], list]:
    """Every stage of ``fsa paper`` on ``inputs``, with its state and estimate, and the still-image
    runs of the tables (:class:`fsa.runs.chain.Still`)."""
    cache: dict = {}
    stills: dict = {}
    seen: dict = {}
    prep = [Line("prep", f"{dataset}: {raw} -> {inputs.prepared[dataset]}",
                 (inputs.prepared[dataset] / "index.csv").is_file()) for dataset, raw in inputs.raw.items()]
    tables = [line for name in inputs.notebooks for line in page_plan(name, inputs, cache, stills, seen)]
    book = [Line("book", f"jupyter-book build {inputs.work / 'book'}", False)]
    return [*prep, *still_lines(stills, cache), *tables, *book], list(stills.values())


def copy_book(work: Path) -> Path:
    """``<work>/book``: the repository's book with its notebooks copied in (not linked), made once."""
    target = work / "book"
    if not (target / "_config.yml").is_file():
        tmp = work / ".book-copy"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(NOTEBOOKS.parent / "book", tmp, symlinks=False,
                        ignore=shutil.ignore_patterns("_build", ".*.running.ipynb", ".*.reads"))
        os.replace(tmp, target)
    return target


def run(inputs: Inputs, log=print) -> int:
    """Run every stage of the plan, skipping what is done; returns the book build's exit status."""
    from data_prep.prepare import prepare

    from . import book

    for dataset, raw in inputs.raw.items():
        if not (inputs.prepared[dataset] / "index.csv").is_file():
            log(f"prep {dataset}: {raw}")
            prepare(dataset, raw, inputs.prepared[dataset], jobs=inputs.jobs, progress=False)
    from .runs.chain import obtain_still

    _, stills = make_plan(inputs)
    for still in stills:
        log(f"stills {still.cfg.protocol}: {still.cfg.model.name}")
        obtain_still(still)
    folder = copy_book(inputs.work) / "notebooks"
    for name in inputs.notebooks:
        book.execute([name], inputs.parameters(name), log=log, folder=folder)
    return subprocess.call([str(Path(sys.executable).with_name("jupyter-book")), "build", str(folder.parent)])


def _inputs(args: argparse.Namespace) -> Inputs:
    raw = {k: Path(v) for k, v in (("ckplus", args.ckplus), ("afew", args.afew)) if v}
    for name, path in raw.items():
        if not path.is_dir():
            raise ConfigError(f"--{name} {path}: no such folder")
    stills = [(fmt, path) for fmt, path in (("fer2013", args.fer2013), ("sfew", args.sfew)) if path]
    for fmt, path in stills:
        if not Path(path).exists():
            raise ConfigError(f"--{fmt} {path}: no such file or folder")
    if not stills:
        raise ConfigError("--fer2013 / --sfew: the still-image stage needs at least one of them")
    if args.vggface and not Path(args.vggface).is_file():
        raise ConfigError(f"--vggface {args.vggface}: no such file")
    if args.preset not in PRESETS:
        raise ConfigError(f"--preset {args.preset}: expected one of {', '.join(PRESETS)}")
    notebooks = [n for n in args.only.split(",") if n] or list(PAPER_NOTEBOOKS)
    unknown = sorted(set(notebooks) - set(PAPER_NOTEBOOKS))
    if unknown:
        raise ConfigError(f"--only {','.join(unknown)}: expected some of {', '.join(PAPER_NOTEBOOKS)}")
    needed = {PAPER_NOTEBOOKS[n] for n in notebooks} - {None}
    missing = sorted(needed - set(raw))
    if missing:
        raise ConfigError(f"--{missing[0]}: the tables asked for ({', '.join(notebooks)}) need it")
    return Inputs(raw, stills, args.vggface or "", Path(args.work).resolve(), args.preset, args.device, args.jobs,
                  tuple(notebooks))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="fsa paper", description=__doc__.splitlines()[0])
    ap.add_argument("--ckplus", help="the raw CK+ copy (cohn-kanade-images/, Emotion/)")
    ap.add_argument("--afew", help="the raw AFEW 7.0 copy (Train/, Val/)")
    ap.add_argument("--fer2013", help="fer2013.csv (or its folder)")
    ap.add_argument("--sfew", help="the SFEW 2.0 root (Train/, Val/)")
    ap.add_argument("--vggface", help="the VGG-Face weights (vgg_face_dag.pth); none: random initial weights")
    ap.add_argument("--work", default="paper", help="where the preparations and the book go (default: %(default)s)")
    ap.add_argument("--results", help="the results store (default <work>/results)")
    ap.add_argument("--preset", default="paper", help=f"{', '.join(PRESETS)} (default paper)")
    ap.add_argument("--device", default="auto", help="auto (default), cpu or cuda[:k]")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="preparation worker processes (default 1)")
    ap.add_argument("--only", default="", help=f"comma list of notebooks (default all: {', '.join(PAPER_NOTEBOOKS)})")
    ap.add_argument("--nproc", type=int, default=1,
                    help="processes per training run: more than 1 trains each run with torchrun (one per GPU)")
    ap.add_argument("--plan", action="store_true", help="print the plan and stop")
    args = ap.parse_args(argv)
    try:
        inputs = _inputs(args)
    except ConfigError as e:
        print(f"fsa paper: error: {e}", file=sys.stderr)
        return 2
    if args.nproc < 1:
        print(f"fsa paper: error: --nproc {args.nproc}: expected 1 or more", file=sys.stderr)
        return 2
    os.environ["FSA_RESULTS"] = str(Path(args.results).resolve() if args.results else inputs.work / "results")
    os.environ[NPROC_ENV] = str(args.nproc)
    print(f"fsa paper: results store {os.environ['FSA_RESULTS']}, work folder {inputs.work}, "
          f"{args.nproc} process{'es' if args.nproc > 1 else ''} per run")
    lines, _ = make_plan(inputs)
    for line in lines:
        print(line.text())
    todo = sum(line.seconds for line in lines if not line.done)
    print(f"to run: about {todo / 3600:.1f} h of training on this device (measured steps; preparation and "
          "evaluation not included)")
    if args.plan:
        return 0
    return run(inputs)
