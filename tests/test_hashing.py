"""``data_prep.hashing.stable_hash``: the name of configurations, k-fold sets and splits in the store."""
from __future__ import annotations

import hashlib
from pathlib import Path

from data_prep.hashing import stable_hash
from fsa.config import Config


def test_the_hash_of_canonical_json():
    canonical = '{"a": [1, 2.5, null], "b": {"c": "x", "d": true}}'  # keys sorted, json.dumps' separators
    expected = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    assert stable_hash({"b": {"d": True, "c": "x"}, "a": [1, 2.5, None]}) == expected
    assert stable_hash({"a": [1, 2.5, None], "b": {"c": "x", "d": True}}) == expected


def test_values_json_cannot_encode_hash_as_their_str():
    expected = hashlib.sha256(b'{"data": "/data/ck"}').hexdigest()[:12]
    assert stable_hash({"data": Path("/data/ck")}) == expected


def test_config_hash_is_the_stable_hash_of_its_numbers():
    cfg = Config(lr=0.01)
    numbers = cfg.to_dict()
    for k in Config.EXECUTION_FIELDS:
        del numbers[k]
    del numbers["model"]["name"]
    del numbers["input_norm"], numbers["frozen_convs"]  # fields added later, at their default (Config.LATER_FIELDS)
    assert cfg.hash() == stable_hash(numbers)
    assert Config(lr=0.02).hash() != cfg.hash() and Config(lr=0.01, device="cpu").hash() == cfg.hash()
