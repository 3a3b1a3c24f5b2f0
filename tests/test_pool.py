"""Several runs at once (:mod:`fsa.runs.pool`) and groups made of the runs the store holds: a pool's
runs are the runs this process trains on the same threads, a failing run stops the pool with its
error, and a group reads its recorded folds instead of training them again, unless retrained."""
from __future__ import annotations

import math

import pytest
import torch

from fsa import results as store
from fsa.config import ConfigError
from fsa.runs import chain, groups, pool
from fsa.runs.chain import experiment_name, obtain, obtain_all
from fsa.spec import make_config

TINY = dict(image_size=32, width=0.0625, epochs=2, batch_size=8, folds=2)

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(ck, **kw):
    return make_config("ecnn-fsa", "smoke", dataset="ckplus", data=str(ck), **{**TINY, **kw})


def fold_records(cfg, root):
    return [store.find_run(experiment_name(cfg), cfg.override(fold=k).hash(), root) for k in range(cfg.folds)]


@pytest.fixture(scope="module")
def pooled(ck, tmp_path_factory):
    """The tiny configuration's two folds trained by a pool of two workers (one thread each)."""
    root = tmp_path_factory.mktemp("pooled")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(store.ENV_VAR, str(root))
        mp.setenv(pool.WORKERS_ENV, "2")
        summary = obtain_all([(tiny(ck), ())])[0]
    return summary, root


def test_a_pool_trains_the_runs_this_process_trains_on_the_same_threads(pooled, ck, tmp_path, monkeypatch):
    summary, root = pooled
    runs = fold_records(tiny(ck), root)
    assert [r["threads"] for r in runs] == [1, 1]
    assert summary["fold_config_hashes"] == [r["config_hash"] for r in runs]
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path))
    monkeypatch.setenv(pool.WORKERS_ENV, "1")
    assert torch.get_num_threads() == 1
    here = obtain_all([(tiny(ck), ())])[0]
    again = fold_records(tiny(ck), tmp_path)
    assert [[c["probs"] for c in r["per_clip"]] for r in again] == [[c["probs"] for c in r["per_clip"]] for r in runs]
    assert here["metrics"] == summary["metrics"]


def test_a_group_reads_its_recorded_folds_and_retrain_trains_them_again(pooled, ck, monkeypatch):
    summary, root = pooled
    cfg = tiny(ck)
    monkeypatch.setenv(store.ENV_VAR, str(root))
    (store.experiment_dir(experiment_name(cfg)) / f"{chain.group_record_name(cfg)}.json").unlink()

    def no_training(*args, **kwargs):
        raise AssertionError("trained a fold the store holds")

    monkeypatch.setattr(groups, "train", no_training)
    assert obtain(cfg)["metrics"] == summary["metrics"]  # the summary written again from the folds
    with pytest.raises(AssertionError, match="trained a fold"):
        obtain(cfg, retrain=True)


def test_two_rows_of_one_configuration_are_trained_once(ck, tmp_path, monkeypatch):
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path))
    monkeypatch.setenv(pool.WORKERS_ENV, "2")
    jobs, run = [], pool.run
    monkeypatch.setattr(pool, "run", lambda js, n: (jobs.extend(js), run(js, n)))
    cfg = tiny(ck, epochs=1)
    first, second = obtain_all([(cfg, ()), (cfg, ())])
    assert len(jobs) == cfg.folds  # one job per fold, not one per row
    assert (first["folds_hash"], first["metrics"]) == (second["folds_hash"], second["metrics"])


def test_a_failing_run_stops_the_pool_with_its_error():
    with pytest.raises(ValueError, match="math domain error"):
        pool.run([(math.sqrt, (4.0,)), (math.sqrt, (-1.0,))], 2)


def test_workers_one_per_two_cores_on_the_cpu_and_a_bad_count_is_named(monkeypatch):
    monkeypatch.delenv(pool.WORKERS_ENV, raising=False)
    monkeypatch.setattr(pool, "cores", lambda: 8)
    assert pool.workers("cpu") == 4
    monkeypatch.setattr(pool, "cores", lambda: 2)
    assert pool.workers("cpu") == 1
    monkeypatch.setattr(pool, "cores", lambda: 8)
    monkeypatch.setenv(groups.NPROC_ENV, "2")
    assert pool.workers("cpu") == 1
    monkeypatch.setenv(pool.WORKERS_ENV, "0")
    with pytest.raises(ConfigError, match="FSA_WORKERS='0'"):
        pool.workers("cpu")
