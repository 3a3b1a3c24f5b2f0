"""The chain of a run, as the paper runs it: weights → the still-image stage → the video run; and a
run read from the results store or trained and recorded. The notebooks (through
:class:`fsa.report.Page`), ``fsa train --chain`` and ``make book`` ask this module for their runs,
so that a preset means the same chain wherever a run is asked for.

On the embedded data every video model starts from the still-image stage, as the paper's do
(VGG-Face → FER2013 / SFEW → video): :func:`start_from_stills` sets a configuration's
``pretrained`` to the ``store:`` reference of the still-image run of its encoder and head on the
embedded :data:`EMBEDDED_STILLS` set (same preset, same seed; :func:`fsa.stills.pretrain_config`),
which :func:`obtain` reads from the store or trains first. Real data take their weights
explicitly (``pretrained=`` a file, or the ``store:`` reference ``fsa pretrain`` prints), or their
own still-image stages (``stills=``, :func:`still_chain`).

**A seed replicates the whole chain.** Seed s of a configuration starts from the still-image runs
of seed s (:func:`reseeded`), so the seeds of an AFEW group (:func:`replica_runs`) differ in their
still-image stage as well as in their video run, and the group's interval holds the spread of both.
A still-image run's training depends on the machine's arithmetic (its thread count, its CPU); a
group whose seeds all started from one still-image run would leave that spread out of its interval,
and a rebuild on another machine could fall far outside it. CK+'s folds share their seed's chain:
they replicate the data, not the training.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from data_prep.stills import FORMATS, read_stills

from .. import results as store
from ..checkpoint import checkpoint_dir
from ..config import STORE_PREFIX, Config, ConfigError
from ..data import index_hash
from ..embedded import embedded_dataset
from ..engine import train
from ..stills import pretrain, pretrain_config
from . import pool
from .groups import group_hash, recorded_run, replicates, run_group

#: The still-image set every run on the embedded data starts from: its synthetic FER2013 set (the
#: paper's FER2013 / SFEW stage, ``fsa pretrain``), trained once per encoder, preset and seed.
EMBEDDED_STILLS = "fer2013"


@dataclass(frozen=True)
class Still:
    """The still-image run a video run starts from: its config and its experiment."""

    cfg: Config
    experiment: str

    @property
    def reference(self) -> str:
        return f"{STORE_PREFIX}{self.experiment}/{self.cfg.hash()}"


def experiment_name(cfg: Config) -> str:
    """``<dataset>-<index hash>``: the store folder of every run on one prepared dataset (the
    identity rule, :mod:`fsa.identity`)."""
    return f"{cfg.dataset}-{index_hash(cfg.data)}"


def parse_stages(text: str) -> list[tuple[str, str]]:
    """The still-image stages of a chain, ``"fer2013=PATH,sfew=PATH"`` (in training order), checked
    without reading them: a known format, an existing path, each format once."""
    stages = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        fmt, sep, path = item.partition("=")
        if not sep or fmt not in FORMATS or not path:
            raise ConfigError(f"stills={text!r}: expected FORMAT=PATH[,FORMAT=PATH] with FORMAT one of "
                              f"{', '.join(FORMATS)}")
        if not Path(path).exists():
            raise ConfigError(f"stills={text!r}: {path}: no such file or folder (the {fmt} set)")
        if fmt in dict(stages):
            raise ConfigError(f"stills={text!r}: {fmt} twice")
        stages.append((fmt, path))
    if not stages:
        raise ConfigError(f"stills={text!r}: no stage")
    return stages


def still_chain(cfg: Config, preset: str, stages: Sequence[tuple[str, str]], weights: str = "",
                weights_format: str = "vggface") -> tuple[Config, list[Still]]:
    """``cfg`` started from the last of its still-image runs, one per stage (``(format, data)``), each
    run started from the one before and the first from ``weights`` (``weights_format``; none:
    random) — the paper's VGG-Face → FER2013 → SFEW → video. Each model has its own runs: they
    train its encoder and head (:func:`fsa.stills.encoder_config`), with ``cfg``'s seed. The video
    model sees its frames scaled as the first still-image model's weights expect (``input_norm``),
    as each stage does."""
    stills: list[Still] = []
    start = dict(pretrained=weights, pretrained_format=weights_format) if weights else dict(input_norm=cfg.input_norm)
    for fmt, data in stages:
        experiment = f"stills-{fmt}-{read_stills(fmt, data).data_hash()}"
        still = Still(pretrain_config(cfg.model, preset, fmt, data, device=cfg.device, seed=cfg.seed, **start),
                      experiment)
        stills.append(still)
        start = dict(pretrained=still.reference, pretrained_format="fsa", input_norm=still.cfg.input_norm)
    return cfg.override(**start).validate(), stills


def start_from_stills(cfg: Config, preset: str) -> tuple[Config, Still]:
    """``cfg`` started from its still-image run on the embedded set (:func:`still_chain` of one
    stage, from random weights), and that run."""
    root = str(embedded_dataset(EMBEDDED_STILLS))
    cfg, (still,) = still_chain(cfg, preset, [(EMBEDDED_STILLS, root)])
    return cfg, still


def reseeded(cfg: Config, stills: Sequence[Still], seed: int) -> tuple[Config, list[Still]]:
    """``cfg``'s chain at ``seed``: each still-image run of ``stills`` with that seed, started from the
    one before (the first from the weights it had), and ``cfg`` with that seed started from the last.
    Without still-image runs, ``cfg`` with that seed."""
    out: list[Still] = []
    for still in stills:
        start = dict(pretrained=out[-1].reference) if out else {}
        out.append(Still(still.cfg.override(seed=seed, **start), still.experiment))
    return cfg.override(seed=seed, **(dict(pretrained=out[-1].reference) if out else {})), out


def replica_runs(cfg: Config, stills: Sequence[Still] = ()) -> tuple[str, list[tuple[int, Config, list[Still]]]]:
    """The runs of ``cfg``'s group (:func:`fsa.runs.replicates`), each with the still-image runs it
    starts from: CK+'s folds share ``cfg``'s chain; each AFEW seed has its own (:func:`reseeded`)."""
    key, values = replicates(cfg)
    if key == "seed":
        return key, [(v, *reseeded(cfg, stills, v)) for v in values]
    return key, [(v, cfg.override(**{key: v}), list(stills)) for v in values]


def group_record_name(cfg: Config, stills: Sequence[Still] = ()) -> str:
    """The store name of the group a configuration's number is the mean of."""
    key, runs = replica_runs(cfg, stills)
    return store.group_name(f"{key}s", group_hash(cfg, key, [v for v, _, _ in runs], [c for _, c, _ in runs]))


def stored(cfg: Config, stills: Sequence[Still] = ()) -> dict | None:
    """The group summary of ``cfg`` (started from ``stills``) in the results store, or ``None``
    (nothing is trained)."""
    return store.find_run(experiment_name(cfg), group_record_name(cfg, stills))


def _stored_still(still: Still, results_root: str | os.PathLike | None = None) -> dict | None:
    """The record of a still-image run when the store holds it and its checkpoint is on this machine."""
    found = store.find_run(still.experiment, still.cfg.hash(), results_root)
    if found is not None and (checkpoint_dir(still.cfg, still.experiment, results_root) / "best.pt").is_file():
        return found
    return None


def obtain_still(still: Still, results_root: str | os.PathLike | None = None) -> dict:
    """The record of a still-image run, trained first when it is not in the store or its checkpoint
    is not on this machine (checkpoints are not committed)."""
    found = _stored_still(still, results_root)
    if found is not None:
        return found
    store.check_may_train(f"the still-image run {still.cfg.model.name}",
                          store.experiment_dir(still.experiment, results_root) / f"{still.cfg.hash()}.json")
    return pretrain(still.cfg, experiment=still.experiment, results_root=results_root, progress=False).run.record


def _may_train(cfg: Config, stills: Sequence[Still]) -> None:
    store.check_may_train(f"the group of {cfg.model.name} (seed {cfg.seed})",
                          store.experiment_dir(experiment_name(cfg)) / f"{group_record_name(cfg, stills)}.json")


def _untrained(items: Sequence[tuple[Config, Sequence[Still]]], reuse: bool) -> list[tuple[str, Config, list[Still]]]:
    """The runs of the groups of ``items`` (``(cfg, stills)``) that training must make — every one,
    or with ``reuse`` those the store lacks — each with its experiment and the still-image runs it
    starts from. A recorded run's still-image runs are left alone: training one again on another
    machine would rewrite the record of the run it started from."""
    runs = []
    for cfg, stills in items:
        experiment = experiment_name(cfg)
        for _, run, chain in replica_runs(cfg, stills)[1]:
            if not reuse or recorded_run(run, experiment) is None:
                runs.append((experiment, run, chain))
    return runs


def obtain(cfg: Config, stills: Sequence[Still] = (), retrain: bool = False, track_test: bool = False,
           progress: bool | None = False, reuse: bool | None = None) -> dict:
    """The group summary of ``cfg``: read from the store when there (unless ``retrain``; a stored
    summary that cannot be read is warned about and trained again), else trained — the still-image
    runs of each run to train first, in their order — and recorded. CK+ configurations run every
    fold (the k-fold summary); AFEW ones train on Train and test on Val once per seed,
    :data:`fsa.runs.AFEW_SEEDS` seeds from the configuration's, each from its own still-image runs
    (the seeds summary, :func:`replica_runs`). ``reuse`` (default: unless ``retrain``): a fold or
    seed the store already holds is read, not trained again."""
    found = None if retrain else stored(cfg, stills)
    if found is not None:
        return found
    _may_train(cfg, stills)
    reuse = not retrain if reuse is None else reuse
    for still in {s.reference: s for _, _, chain in _untrained([(cfg, stills)], reuse) for s in chain}.values():
        obtain_still(still)
    key, runs = replica_runs(cfg, stills)
    configs = {v: c for v, c, _ in runs}
    return run_group(cfg, experiment_name(cfg), key, list(configs), track_test=track_test, progress=progress,
                     reuse=reuse, configure=configs.__getitem__).summary


def _pretrain_job(cfg: dict, experiment: str) -> None:
    pretrain(Config.from_dict(cfg), experiment=experiment, progress=False)


def _train_job(cfg: dict, experiment: str, track_test: bool) -> None:
    train(Config.from_dict(cfg), experiment, track_test=track_test, progress=False)


def obtain_all(items: Sequence[tuple[Config, Sequence[Still]]], retrain: bool = False, track_test: bool = False
               ) -> list[dict]:
    """The group summary of each ``(cfg, stills)`` (:func:`obtain`). On more than one worker
    (:func:`fsa.runs.pool.workers`), the runs the store lacks are trained first by the pool: the
    still-image runs, stage by stage, then every fold or seed of every configuration; the groups
    are then made of the recorded runs."""
    todo = [(cfg, stills) for cfg, stills in items if retrain or stored(cfg, stills) is None]
    n_workers = pool.workers(todo[0][0].device) if todo else 1
    if n_workers > 1:
        for cfg, stills in todo:
            _may_train(cfg, stills)
        runs = _untrained(todo, reuse=not retrain)
        for stage in range(max((len(chain) for _, _, chain in runs), default=0)):
            missing = {s.reference: s for _, _, chain in runs for s in chain[stage:stage + 1] if _stored_still(s) is None}
            pool.run([(_pretrain_job, (s.cfg.to_dict(), s.experiment)) for s in missing.values()], n_workers)
        jobs = {(experiment, run.hash()): (_train_job, (run.to_dict(), experiment, track_test))
                for experiment, run, _ in runs}  # by run: two rows of a page may be one configuration
        pool.run(list(jobs.values()), n_workers)
    return [obtain(cfg, stills, retrain, track_test, reuse=n_workers > 1 or not retrain) for cfg, stills in items]
