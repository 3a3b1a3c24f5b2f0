"""A seed replicates the whole chain (:mod:`fsa.runs.chain`): seed s of an AFEW group starts from the
still-image runs of seed s, each stage from the one before, whether the group is trained here or by
a pool; CK+'s folds share their seed's chain and keep their group's name."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from fsa import results as store
from fsa.config import Config
from fsa.runs import chain, group_hash, pool
from fsa.runs.chain import Still, group_record_name, replica_runs
from fsa.spec import make_config
from fsa.stills import pretrain_config


@pytest.fixture
def prepared(tmp_path):
    """A folder that passes for a prepared set: its identity is its ``index.csv``."""
    (tmp_path / "index.csv").write_text("video_id,label\n")
    return tmp_path


def video(dataset: str, data) -> Config:
    return make_config("ecnn-fsa", "smoke", dataset=dataset, data=str(data),
                       **({"protocol": "afew"} if dataset == "afew" else {}))


def chain_at(cfg: Config, seed: int) -> tuple[Config, list[Still]]:
    """``cfg``'s two-stage chain (FER2013, then SFEW) built afresh at ``seed``: what every seed's
    run must start from."""
    fer = Still(pretrain_config(cfg.model, "smoke", "fer2013", "fer.csv", seed=seed), "stills-fer2013-f")
    sfew = Still(pretrain_config(cfg.model, "smoke", "sfew", "sfew", seed=seed, pretrained=fer.reference,
                                 pretrained_format="fsa"), "stills-sfew-s")
    return cfg.override(seed=seed, pretrained=sfew.reference, pretrained_format="fsa"), [fer, sfew]


def test_each_seed_of_a_group_starts_from_its_own_still_image_runs(prepared):
    cfg, stills = chain_at(video("afew", prepared), 0)
    key, runs = replica_runs(cfg, stills)
    assert key == "seed" and [v for v, _, _ in runs] == [0, 1, 2]
    for seed, run, run_stills in runs:
        assert (run, run_stills) == chain_at(video("afew", prepared), seed)
    assert len({s.reference for _, _, run_stills in runs for s in run_stills}) == 6
    assert group_record_name(cfg, stills) != group_record_name(cfg)  # seeds from one still-image run: another group

    ck, ck_stills = chain_at(video("ckplus", prepared), 0)
    key, runs = replica_runs(ck, ck_stills)
    assert key == "fold" and all(run_stills == ck_stills and run.pretrained == ck.pretrained
                                 for _, run, run_stills in runs)
    assert group_record_name(ck, ck_stills) == f"folds-{group_hash(ck, 'fold', list(range(ck.folds)))}"


def trained_here(monkeypatch, cfg: Config, stills: list[Still]) -> tuple[list[str], dict[int, Config]]:
    """What :func:`~fsa.runs.chain.obtain_all` trains in this process (one worker): the still-image
    runs it obtains, and the configuration of each seed of the group."""
    obtained, started = [], {}
    monkeypatch.setattr(chain, "obtain_still", lambda still, root=None: obtained.append(still.reference))

    def group(cfg, experiment, key, values, configure, **kwargs):
        started.update({v: configure(v) for v in values})
        return SimpleNamespace(summary={})

    monkeypatch.setattr(chain, "run_group", group)
    monkeypatch.setenv(pool.WORKERS_ENV, "1")
    chain.obtain_all([(cfg, stills)])
    return sorted(obtained), started


def trained_by_a_pool(monkeypatch, cfg: Config, stills: list[Still]) -> tuple[list[str], list[Config]]:
    """What :func:`~fsa.runs.chain.obtain_all` hands a pool of two workers: the still-image runs,
    stage by stage, then the video runs."""
    jobs = []
    monkeypatch.setattr(pool, "run", lambda js, n: jobs.append([args for _, args in js]))
    monkeypatch.setattr(chain, "obtain", lambda *args, **kwargs: {})
    monkeypatch.setenv(pool.WORKERS_ENV, "2")
    chain.obtain_all([(cfg, stills)])
    fer_jobs, sfew_jobs, video_jobs = jobs
    return (sorted(Still(Config.from_dict(c), e).reference for c, e in fer_jobs + sfew_jobs),
            [Config.from_dict(c) for c, _, _ in video_jobs])


def test_a_group_trains_each_seed_from_its_own_chain_here_and_in_a_pool(prepared, tmp_path, monkeypatch):
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path / "store"))
    cfg, stills = chain_at(video("afew", prepared), 0)
    expected = [chain_at(cfg, seed) for seed in (0, 1, 2)]
    every_still = sorted(s.reference for _, run_stills in expected for s in run_stills)

    obtained, started = trained_here(monkeypatch, cfg, stills)
    assert started == {seed: run for seed, (run, _) in zip((0, 1, 2), expected)}
    assert obtained == every_still

    pooled_stills, pooled_runs = trained_by_a_pool(monkeypatch, cfg, stills)
    assert pooled_stills == every_still
    assert sorted(c.hash() for c in pooled_runs) == sorted(run.hash() for run, _ in expected)


def test_a_recorded_seed_keeps_its_still_image_runs_untouched(prepared, tmp_path, monkeypatch):
    """Only the seeds to train have their still-image runs trained: training a recorded seed's again
    (its checkpoint is not committed) would rewrite the record of the run it started from."""
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path / "store"))
    cfg, stills = chain_at(video("afew", prepared), 0)
    recorded = chain_at(cfg, 1)[0].hash()
    monkeypatch.setattr(chain, "recorded_run", lambda run, experiment: object() if run.hash() == recorded else None)
    to_train = sorted(s.reference for seed in (0, 2) for s in chain_at(cfg, seed)[1])

    assert trained_here(monkeypatch, cfg, stills)[0] == to_train
    pooled_stills, pooled_runs = trained_by_a_pool(monkeypatch, cfg, stills)
    assert pooled_stills == to_train and sorted(c.seed for c in pooled_runs) == [0, 2]
