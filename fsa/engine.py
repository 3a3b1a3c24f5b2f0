"""One training / evaluation loop for every model of the family.

Protocol (paper §2.1, and where the paper is silent, the choices below):

* **Optimiser**: SGD, momentum 0.9, weight decay ``cfg.weight_decay``, initial lr
  ``cfg.lr`` (0.001 in the paper) decayed per epoch — ``step`` (×``gamma`` every
  ``step_size`` epochs) or ``cosine`` (to 0 over ``epochs``). Loss: cross-entropy on the
  clip logits. Batches of ``cfg.batch_size`` clips (48 in the paper).
* **Model selection** uses the validation split only (carved from the training data by
  :func:`fsa.data.build_datasets`): with ``selection="val"`` the selected epoch has the
  highest validation accuracy, ties broken by the lower validation loss, and early stopping
  (``patience`` > 0) watches the same criterion; with ``selection="last"`` the last epoch is
  tested (a cosine schedule ends at lr 0, on converged weights) and the validation split is only
  scored — for validation carves of a dozen clips, where one clip moves the accuracy by 8 points
  and the "best" epoch is often an early, lucky one. The test split — the held-out CK+ fold, AFEW Val, or the
  test split of a still-image set (:mod:`fsa.stills`) — is evaluated once, with the
  selected weights (``best.pt``). ``track_test=True`` also scores the test split after
  every epoch, stored apart as ``test_per_epoch`` and never used for selection: peers
  report "best epoch on test", and a notebook may show it, labelled as such.
* **Determinism**: ``torch.manual_seed(seed)`` before the model is built; every epoch
  reseeds torch from (seed, epoch, rank) (dropout) and draws its clip order from a
  generator seeded by (seed, epoch); the datasets draw frames from (seed, epoch, index).
  So a run, a resumed run and a run on K processes see the same clips in the same global
  batches, and on the CPU two runs with one seed give identical numbers.
* **Data parallel** (``torchrun``): every epoch has one global permutation cut into global
  batches of ``batch_size``; rank r takes the r-th of K near-equal slices of each global
  batch (so a K-process run sees exactly the global batches of a 1-process run). Each rank's
  loss is its summed cross-entropy × K / (global batch size); DDP averages gradients over
  the K ranks, so the update is that of the global batch mean whatever K is. A final
  global batch with fewer clips than processes is dropped (never, for one process).
  Evaluation shards clips over ranks and gathers the outputs on every rank, so the
  selection and early-stopping decisions agree; only rank 0 writes files.
* **Memory format** (:mod:`fsa.models.memory_format`): channels_last on CUDA; on the CPU, NCHW
  for training and channels_last (NCHW branch conv) for evaluation. They change strides,
  not values. CUDA also runs under bf16 autocast (the loss in float32).
* **Timings**: ``train_ms_per_frame`` is the wall time of the training loop (loading,
  forward, backward, update) per input frame (clips × n), over all epochs;
  ``test_ms_per_frame`` the forward-pass time per frame on the test split.
* A non-finite loss stops the run with :class:`TrainingDiverged` before the update is
  applied; ``last.pt`` still holds the last completed epoch.
* **A run's data**: the record and the checkpoints carry the data's index hash
  (``data_index_hash``). ``resume`` refuses a ``last.pt`` of other data; a record of the same
  configuration on other data is kept (:class:`RunConflict`) unless ``force``; and the process
  that trains a run holds an exclusive lock on ``<checkpoint folder>/.lock`` (its pid inside)
  until it returns, so two processes cannot write one record or one checkpoint folder at once.
"""
from __future__ import annotations

import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.distributed as torch_dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from . import results as store
from .checkpoint import (
    CheckpointError,
    checkpoint_dir,
    load_checkpoint,
    load_weights,
    save_checkpoint,
    unwrap,
)
from .config import SELECTIONS, Config, ConfigError
from .distributed import DistInfo, autocast, barrier, init_distributed, resolve_device, set_determinism, sync
from .evaluation import EvalOutput, evaluate, to_device
from .identity import PixelPrint, split_pixels
from .models import build_model
from .models.backbone import freeze_convs
from .models.memory_format import set_memory_format
from .safeguards import (
    check_record_data,
    check_resume_data,
    check_splits,
    config_index_hash,
    file_digest,
    lock_run,
    run_data_hash,
    split_ids,
)
from .spec import check_name
from .still_data import build_splits

log = logging.getLogger("fsa.engine")

_SAMPLER_TAG, _DROPOUT_TAG = 1, 2


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message names the epoch, step and kept checkpoint."""


# --------------------------------------------------------------------------------------
# results
@dataclass
class RunResult:
    experiment: str
    config: Config
    config_hash: str
    metrics: dict  # test split, selected epoch
    val_metrics: dict
    selected_epoch: int  # 1-based
    history: list[dict]
    per_clip: list[dict]
    checkpoint: Path  # best.pt (selected weights)
    result_path: Path | None  # None on ranks other than 0
    record: dict = field(repr=False, default_factory=dict)


def seed_for(*keys: int) -> int:
    """A 32-bit seed derived from integer keys (numpy's SeedSequence mixing)."""
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1)[0])


def epoch_batches(n_items: int, batch_size: int, seed: int, epoch: int, rank: int = 0, world: int = 1
                  ) -> list[tuple[list[int], int]]:
    """This rank's slices of the epoch's global batches, each with the global batch size.

    The permutation depends on (seed, epoch) only, so every K sees the same global batches.
    """
    gen = torch.Generator().manual_seed(seed_for(seed, epoch, _SAMPLER_TAG))
    perm = torch.randperm(n_items, generator=gen).tolist()
    out = []
    for start in range(0, n_items, batch_size):
        glob = perm[start:start + batch_size]
        if len(glob) < world:
            continue
        out.append(([int(i) for i in np.array_split(glob, world)[rank]], len(glob)))
    return out


# --------------------------------------------------------------------------------------
# loop pieces
def _loader(dataset: Dataset, batches: list[list[int]], cfg: Config, device: torch.device) -> DataLoader:
    return DataLoader(
        dataset, batch_sampler=batches, num_workers=cfg.num_workers,
        pin_memory=device.type == "cuda", persistent_workers=False,
    )


def make_optimizer(model: nn.Module, cfg: Config) -> tuple[torch.optim.Optimizer, Any]:
    """SGD with momentum and weight decay, and the per-epoch lr schedule."""
    trained = [p for p in model.parameters() if p.requires_grad]  # not the frozen layers (Config.frozen_convs)
    opt = torch.optim.SGD(trained, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.schedule == "step":
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma)
    else:
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    return opt, sched


def _train_epoch(model: nn.Module, dataset: Dataset, optimizer: torch.optim.Optimizer, cfg: Config, epoch: int,
                 device: torch.device, dist: DistInfo, progress: bool, last_good: str) -> dict:
    model.train()
    fmt = set_memory_format(unwrap(model), device, train=True)
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(epoch)
    torch.manual_seed(seed_for(cfg.seed, epoch, dist.rank, _DROPOUT_TAG))
    plan = epoch_batches(len(dataset), cfg.batch_size, cfg.seed, epoch, dist.rank, dist.world)
    loader = _loader(dataset, [b for b, _ in plan], cfg, device)
    totals = torch.zeros(3, dtype=torch.float64)  # summed loss, correct, clips (global)
    frames = 0
    t0 = time.perf_counter()
    bar = tqdm(zip(loader, (g for _, g in plan)), total=len(plan), desc=f"epoch {epoch + 1}/{cfg.epochs}",
               leave=False, disable=not progress, file=sys.stderr)
    for step, (batch, global_size) in enumerate(bar):
        x = to_device(batch["frames"], device, fmt)
        y = batch["label"].to(device, non_blocking=True)
        with autocast(device):
            out = model(x)
        loss_sum = F.cross_entropy(out.logits.float(), y, reduction="sum")
        optimizer.zero_grad(set_to_none=True)
        (loss_sum * (dist.world / global_size)).backward()
        stats = torch.stack([loss_sum.detach().double(), (out.logits.argmax(1) == y).sum().double(),
                             torch.tensor(float(len(y)), dtype=torch.float64, device=y.device)])
        if dist.active:
            torch_dist.all_reduce(stats)
        stats = stats.cpu()
        if not math.isfinite(float(stats[0])):
            raise TrainingDiverged(
                f"loss is {float(stats[0])} at epoch {epoch + 1}, step {step + 1}; stopped before the update. "
                f"Last good checkpoint: {last_good}"
            )
        optimizer.step()
        totals += stats
        frames += int(stats[2]) * x.shape[1]
        bar.set_postfix(loss=f"{float(stats[0] / stats[2]):.3f}")
    sync(device)
    seconds = time.perf_counter() - t0
    return {"train_loss": float(totals[0] / totals[2]), "train_accuracy": float(totals[1] / totals[2]),
            "train_s": seconds, "train_frames": frames}


def _better(a: dict, best: dict | None, selection: str) -> bool:
    """Whether epoch ``a`` replaces the selected one (:data:`fsa.config.SELECTIONS`)."""
    if best is None or selection == "last":
        return True
    return (a["val_accuracy"], -a["val_loss"]) > (best["val_accuracy"], -best["val_loss"])


# --------------------------------------------------------------------------------------
# training
@dataclass
class _Run:
    """What every part of one training run reads: its configuration, where it runs, its data
    and its two checkpoints (``last.pt`` to resume from, ``best.pt`` the selected weights)."""
    cfg: Config
    device: torch.device
    dist: DistInfo
    splits: Any
    classes: list[str]
    last_path: Path
    best_path: Path
    progress: bool
    data_hash: str | None  # the identity of the run's data (:func:`run_data_hash`), kept in its checkpoints
    pixels: PixelPrint | None  # the digest and sample of its pixels, recorded beside it (:mod:`fsa.identity`)

    def evaluate(self, model: nn.Module, split: str) -> EvalOutput:
        """Score ``model`` on the ``val`` or ``test`` split."""
        return evaluate(model, getattr(self.splits, split), self.classes, device=self.device,
                        batch_size=self.cfg.batch_size, num_workers=self.cfg.num_workers, dist=self.dist,
                        progress=self.progress, desc=split)


@dataclass
class _Progress:
    """Where training stands: the epochs done, the best so far, whether early stopping fired.
    ``last.pt`` holds it, so a resumed run continues from it exactly."""
    start_epoch: int = 0
    history: list[dict] = field(default_factory=list)
    best: dict | None = None
    stopped: bool = False
    resumed_from: int | None = None  # the first epoch run after a resume (0-based), None if not resumed


def _prepare_run(cfg: Config, experiment: str, results_root: str | os.PathLike | None, splits: Any,
                 progress: bool | None, dist: DistInfo) -> _Run:
    """The device, the checked splits and the checkpoint paths of a run."""
    device = resolve_device(cfg.device, dist)
    set_determinism(device)
    if progress is None:
        progress = sys.stderr.isatty()
    if splits is None:
        splits = build_splits(cfg)
    check_splits(splits)
    classes = list(splits.classes)
    if len(classes) != cfg.model.num_classes:
        raise ConfigError(f"num_classes={cfg.model.num_classes}: the dataset has {len(classes)} classes")
    ckdir = checkpoint_dir(cfg, experiment, results_root)
    return _Run(cfg, device, dist, splits, classes, ckdir / "last.pt", ckdir / "best.pt", progress and dist.is_main,
                run_data_hash(cfg, splits), split_pixels(splits) if dist.is_main else None)


def run_label(cfg: Config) -> str:
    """How the log names a run: its model, fold (CK+'s k-fold protocols) and seed."""
    fold = f" fold {cfg.fold}" if cfg.dataset == "ckplus" else ""
    return f"{cfg.model.name}{fold} seed {cfg.seed}"


def _build(run: _Run, results_root: str | os.PathLike | None) -> nn.Module:
    """The model of ``cfg.seed``, with its pretrained weights, on the run's device."""
    cfg = run.cfg
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model)
    if cfg.pretrained:
        from .models.pretrained import load_pretrained, resolve_reference

        loaded = load_pretrained(model, cfg.pretrained, cfg.pretrained_format, results_root, cfg.pretrained_head,
                                 cfg.input_norm)
        if run.dist.is_main:
            path = resolve_reference(cfg.pretrained, results_root)
            total = len(model.state_dict())
            log.info("%s: initial weights from %s (%s format, sha256 %s): %d of the model's %d tensors loaded, "
                     "the other %d at their initialisation", run_label(cfg), path, cfg.pretrained_format,
                     file_digest(path), len(loaded), total, total - len(loaded))
    freeze_convs(model, cfg.frozen_convs)
    model.to(run.device)
    set_memory_format(model, run.device, train=True)
    return model


def _resume(run: _Run, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any) -> _Progress:
    """The weights, optimizer and schedule of ``last.pt`` when it is there, and where it stood."""
    path = run.last_path
    if not path.is_file():
        if run.dist.is_main:
            log.info("no checkpoint at %s: starting from scratch", path)
        return _Progress()
    ckpt = load_checkpoint(path, map_location=run.device)
    if ckpt["config_hash"] != run.cfg.hash():
        raise CheckpointError(f"{path}: checkpoint of config {ckpt['config_hash']}, not {run.cfg.hash()}")
    check_resume_data(ckpt, run.data_hash, path)
    load_weights(model, ckpt, path)
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    if run.dist.is_main:
        log.info("resuming %s from %s after epoch %d", run.cfg.hash(), path, ckpt["epoch"] + 1)
    start = ckpt["epoch"] + 1
    return _Progress(start, list(ckpt["history"]), ckpt["best"], bool(ckpt["stopped_early"]), start)


def _wrap(model: nn.Module, run: _Run) -> tuple[nn.Module, nn.Module]:
    """The model to evaluate and save, and the module to train: under DDP (and ``torch.compile``)."""
    net: nn.Module = model
    if run.dist.active:
        if run.device.type == "cuda":
            # K processes then normalise over the global batch, as one process does. PyTorch's
            # SyncBatchNorm is GPU-only: on the CPU each process normalises its own share.
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[run.device.index] if run.device.type == "cuda" else None)
    if run.cfg.compile:
        net = torch.compile(net)
    return model, net


def _epoch(net: nn.Module, model: nn.Module, optimizer: torch.optim.Optimizer, run: _Run, epoch: int,
           track_test: bool) -> dict:
    """One epoch's history row: training, then the validation scores (and the test's, if tracked)."""
    last_good = f"{run.last_path} (epoch {epoch})" if epoch > 0 else "none (no epoch completed)"
    row = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"]}
    row.update(_train_epoch(net, run.splits.train, optimizer, run.cfg, epoch, run.device, run.dist, run.progress,
                            last_good))
    t0 = time.perf_counter()
    val = run.evaluate(model, "val")
    row.update(val_loss=val.loss, val_accuracy=val.metrics["accuracy"], val_uar=val.metrics["uar"],
               val_macro_f1=val.metrics["macro_f1"], val_s=time.perf_counter() - t0)
    if track_test:
        test = run.evaluate(model, "test")
        row.update(test_accuracy=test.metrics["accuracy"], test_uar=test.metrics["uar"])
    return row


def _save_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, run: _Run, state: _Progress,
                epoch: int, improved: bool) -> None:
    """Rank 0 writes ``best.pt`` when the epoch improved, and ``last.pt`` after every epoch."""
    row, cfg = state.history[-1], run.cfg
    if improved:
        save_checkpoint(run.best_path, model=model, cfg=cfg, classes=run.classes, epoch=epoch, best=state.best,
                        data_index_hash=run.data_hash)
    save_checkpoint(run.last_path, model=model, cfg=cfg, classes=run.classes, epoch=epoch,
                    data_index_hash=run.data_hash,
                    optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(),
                    history=state.history, best=state.best, stopped_early=state.stopped)
    log.info("%s epoch %d/%d  train loss %.4f acc %.3f | val loss %.4f acc %.3f uar %.3f%s", run_label(cfg),
             row["epoch"], cfg.epochs, row["train_loss"], row["train_accuracy"], row["val_loss"],
             row["val_accuracy"], row["val_uar"], "  *" if improved else "")


def _fit(net: nn.Module, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, run: _Run,
         state: _Progress, track_test: bool, on_epoch_end: Callable[[int], None] | None) -> _Progress:
    """The epochs from ``state`` on, until ``cfg.epochs`` or early stopping, each checkpointed."""
    for epoch in range(state.start_epoch, run.cfg.epochs):
        if state.stopped:
            break
        row = _epoch(net, model, optimizer, run, epoch, track_test)
        scheduler.step()
        state.history.append(row)
        improved = _better(row, state.best, run.cfg.selection)
        if improved:
            state.best = {k: row[k] for k in ("epoch", "val_accuracy", "val_loss", "val_uar")}
        state.stopped = run.cfg.patience > 0 and row["epoch"] - state.best["epoch"] >= run.cfg.patience
        if run.dist.is_main:
            _save_epoch(model, optimizer, scheduler, run, state, epoch, improved)
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1)
    return state


def _run_record(experiment: str, run: _Run, state: _Progress, val: EvalOutput, test: EvalOutput, started: str,
                wall0: float, track_test: bool) -> dict:
    """The results-store record of a finished run (``kind = "run"``)."""
    cfg, splits, history = run.cfg, run.splits, state.history
    train_frames = sum(h["train_frames"] for h in history)
    data = splits.record or {
        "test_split": f"fold {cfg.fold} of {cfg.folds}" if cfg.dataset == "ckplus" else "AFEW Val",
        "data_index_hash": config_index_hash(cfg),
    }
    record = {
        "kind": "run",
        "experiment": experiment,
        "model": cfg.model.name,
        "dataset": cfg.dataset,
        "protocol": cfg.protocol,
        "fold": cfg.fold if cfg.dataset == "ckplus" else None,
        **data,
        "data_pixels": None if run.pixels is None else run.pixels.digest,
        "config": cfg.to_dict(),
        "config_hash": cfg.hash(),
        **store.provenance(str(run.device)),
        "world_size": run.dist.world,
        "threads": torch.get_num_threads(),  # a run's last bits depend on it (fsa.runs.pool)
        "seed": cfg.seed,
        "started_at": started,
        "finished_at": store.utc_now(),
        "resumed_from_epoch": state.resumed_from,
        "timings": {
            "train_ms_per_frame": 1000.0 * sum(h["train_s"] for h in history) / max(train_frames, 1),
            "test_ms_per_frame": test.ms_per_frame,
            "wall_s": time.perf_counter() - wall0,
        },
        "n_clips": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
        "splits": split_ids(splits),
        "history": history,
        "epochs_run": len(history),
        "stopped_early": state.stopped,
        "selected_epoch": state.best["epoch"],
        "selection": SELECTIONS[cfg.selection],
        "val_metrics": val.metrics,
        "metrics": test.metrics,
        "per_clip": test.per_clip,
        "checkpoint": str(run.best_path),
        "last_checkpoint": str(run.last_path),
    }
    if track_test:
        record["test_per_epoch"] = {
            "note": "diagnostic only: test scored after every epoch, never used for model selection",
            "accuracy": [h["test_accuracy"] for h in history],
            "uar": [h["test_uar"] for h in history],
        }
    return record


def train(cfg: Config, experiment: str, results_root: str | os.PathLike | None = None, resume: bool = False,
          track_test: bool = False, splits: Any = None, progress: bool | None = None,
          on_epoch_end: Callable[[int], None] | None = None, force: bool = False, keep_last: bool = False
          ) -> RunResult:
    """Train ``cfg`` with validation-based model selection, test once, record the run.

    ``splits`` (a :class:`fsa.data.Splits`) skips :func:`fsa.still_data.build_splits`; its
    ``record`` entries, when set, describe the data in the run record. ``resume`` continues
    from ``last.pt`` of the same configuration if there is one. ``cfg.pretrained`` is loaded
    by :func:`fsa.models.pretrained.load_pretrained` (a ``store:`` reference is resolved in
    ``results_root``). ``on_epoch_end`` is called on rank 0 with the number of completed epochs,
    once that epoch's checkpoints are on disk (the resume test kills the process there).
    ``force`` replaces a record of this configuration made on other data. A finished run keeps its
    selected weights (``best.pt``) only: ``last.pt``, with the optimizer's state (twice the weights'
    size: 510 MB at the paper's size), is for resuming an unfinished run, and is deleted once the run is
    recorded unless ``keep_last``.
    Under ``torchrun`` every rank calls this; only rank 0 writes files (and holds the run's lock).
    """
    cfg = cfg.validate().check_start()
    check_name(cfg.model)  # recorded under the name its architecture and knobs give
    wall0 = time.perf_counter()
    started = store.utc_now()
    dist, owns_group = init_distributed(cfg.device)
    lock = None
    try:
        run = _prepare_run(cfg, experiment, results_root, splits, progress, dist)
        if dist.is_main:
            log.info("%s: results store %s, record %s/%s.json, checkpoints %s", run_label(cfg),
                     store.results_root() if results_root is None else Path(results_root), experiment, cfg.hash(),
                     run.last_path.parent)
        lock = lock_run(run.last_path.parent, dist)
        check_record_data(cfg, experiment, results_root, run.data_hash, force)
        model = _build(run, results_root)
        optimizer, scheduler = make_optimizer(model, cfg)
        state = _resume(run, model, optimizer, scheduler) if resume else _Progress()
        model, net = _wrap(model, run)
        state = _fit(net, model, optimizer, scheduler, run, state, track_test, on_epoch_end)
        barrier(dist)

        # The selected weights: best.pt, written by rank 0 (before the barrier above).
        load_weights(model, load_checkpoint(run.best_path, map_location=run.device), run.best_path)
        val, test = run.evaluate(model, "val"), run.evaluate(model, "test")
        record = _run_record(experiment, run, state, val, test, started, wall0, track_test)
        if not keep_last:
            record["last_checkpoint"] = None
        path = None
        if dist.is_main:
            if run.pixels is not None:
                store.record_pixels(experiment, run.pixels, str(run.device), results_root)
            path = store.record(experiment, record, results_root)
        barrier(dist)
        if dist.is_main and not keep_last:
            run.last_path.unlink(missing_ok=True)
        return RunResult(experiment, cfg, cfg.hash(), test.metrics, val.metrics, state.best["epoch"], state.history,
                         test.per_clip, run.best_path, path, record)
    finally:
        if lock is not None:
            lock.close()
        if owns_group:
            torch_dist.destroy_process_group()


