"""A run is named after the architecture and knobs it has (fsa.models.registry.model_name): the
name is derived where the config is assembled, refused as an override, checked before a run is
trained, and checked in the store by ``fsa results check``."""
from __future__ import annotations

import json

import pytest

from fsa.cli import EXIT_FAILURE, EXIT_USAGE, main
from fsa.config import ConfigError
from fsa.engine import train
from fsa.models.registry import REGISTRY
from fsa.spec import knobs, make_config, model_name
from fsa.stills import encoder_config


def test_a_varied_knob_gives_the_row_it_makes_or_a_name_that_lists_it():
    assert make_config("ecnn-fsa-2048-fc1-s0.1", "smoke", s=0.2).model.name == "ecnn-fsa-2048-fc1-s0.2"
    assert make_config("ecnn-fsa-2048-fc1-s0.1", "smoke", s=0.5).model.name == "ecnn-fsa[s=0.5]"
    assert make_config("ecnn-fsa", "smoke", s="0.5", fc_layers="2").model.name == "ecnn-fsa[s=0.5, fc_layers=2]"
    assert make_config("cnn-lstm", "smoke", branch=True).model.name == "cnn-lstm[branch=True]"
    # one model under two rows' names keeps the name it was asked by; a preset's scale is no knob
    assert make_config("cnn-lstm-2048-2048", "cpu").model.name == "cnn-lstm-2048-2048"
    assert make_config("cnn-lstm", "cpu", width=0.5, dropout=0.2).model.name == "cnn-lstm"


def test_every_row_of_the_registry_is_named_by_itself():
    for name, row in REGISTRY.items():
        assert model_name(row.config, prefer=name) == name
        assert knobs(REGISTRY[model_name(row.config)].config) == knobs(row.config)


def test_the_still_image_model_is_named_after_its_encoder():
    assert encoder_config(REGISTRY["ecnn-fsa"].config).name == "score-fusion"
    assert encoder_config(REGISTRY["cnn-lstm"].config).name == "score-fusion[branch=False]"


def test_a_name_is_not_an_override(capsys):
    with pytest.raises(ConfigError, match="name='cnn-lstm': a run's name is derived"):
        make_config("ecnn-fsa", "smoke", name="cnn-lstm")
    assert main(["train", "--model", "ecnn-fsa", "--dataset", "ckplus", "--data", "/nowhere", "--preset", "smoke",
                 "--set", "name=cnn-lstm"]) == EXIT_USAGE
    assert "a run's name is derived" in capsys.readouterr().err


def test_a_run_under_another_models_name_is_refused_before_training(tmp_path):
    cfg = make_config("ecnn-fsa", "smoke", dataset="ckplus", data=str(tmp_path))
    with pytest.raises(ConfigError, match="a model named 'cnn-lstm' with these knobs is 'ecnn-fsa'"):
        train(cfg.override(name="cnn-lstm"), "x", results_root=tmp_path / "store")
    assert not (tmp_path / "store").exists()


def test_results_check_names_a_record_whose_name_disagrees(tmp_path, capsys):
    cfg = make_config("ecnn-fsa", "smoke", dataset="ckplus", data="d")
    rec = {"kind": "run", "experiment": "ckplus-x", "model": "cnn-lstm", "config": cfg.to_dict(),
           "config_hash": cfg.hash(), "per_clip": [],
           "metrics": {"accuracy": 0.5, "uar": 0.5, "macro_f1": 0.5, "classes": ["a"], "confusion": [[1]]}}
    (tmp_path / "ckplus-x").mkdir()
    path = tmp_path / "ckplus-x" / f"{cfg.hash()}.json"
    path.write_text(json.dumps(rec))
    assert main(["results", "check", "--root", str(tmp_path)]) == EXIT_FAILURE
    assert "model: 'cnn-lstm' is not its config's model 'ecnn-fsa'" in capsys.readouterr().err
    rec["model"] = rec["config"]["model"]["name"] = "cnn-lstm"
    path.write_text(json.dumps(rec))
    assert main(["results", "check", "--root", str(tmp_path)]) == EXIT_FAILURE
    assert "a model named 'cnn-lstm' with these knobs is 'ecnn-fsa'" in capsys.readouterr().err
    rec["model"] = rec["config"]["model"]["name"] = "ecnn-fsa"
    path.write_text(json.dumps(rec))
    assert main(["results", "check", "--root", str(tmp_path)]) == 0
