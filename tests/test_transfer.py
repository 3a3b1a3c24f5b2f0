"""The still-image stage under the wild AFEW's conditions against the classic one: the same model, on
the same AFEW, its chain differing in the still set alone; the claim judged wild-over-classic."""
from __future__ import annotations

import pytest

from fsa.report import Page, stills_transfer, wild_stills
from fsa.report.transfer import WILD_STILLS


@pytest.fixture(scope="module")
def pages() -> tuple[Page, Page]:
    return Page(9, preset="smoke"), Page(9, preset="smoke", stills=wild_stills())


def test_the_two_chains_differ_in_their_still_set_alone(pages):
    classic, wild = pages
    a, b = (p.config("ecnn-fsa") for p in pages)
    da, db = a.to_dict(), b.to_dict()
    assert {k for k in da if da[k] != db[k]} == {"pretrained"}
    (sa,), (sb,) = classic._stills[a.pretrained], wild._stills[b.pretrained]
    assert sa.experiment != sb.experiment  # two still sets ...
    ca, cb = sa.cfg.to_dict(), sb.cfg.to_dict()
    assert {k for k in ca if ca[k] != cb[k]} == {"data"}  # ... trained alike
    assert cb["data"].endswith(f"fer2013-smoke-{WILD_STILLS}/raw")


def _record(correct: int, clips: int = 60) -> dict:
    return {"per_clip": [{"clip_id": f"c{i}", "label": "happy", "pred": "happy" if i < correct else "sadness"}
                         for i in range(clips)]}


def test_the_claim_is_wild_over_classic(pages, monkeypatch):
    classic, wild = pages
    wild_ref = wild.config("ecnn-fsa").pretrained
    monkeypatch.setattr(Page, "run", lambda self, cfg, **kw: {**_record(48 if cfg.pretrained == wild_ref else 30),
                                                              "config": cfg.to_dict()})
    row = stills_transfer(classic, wild).iloc[0]
    starts = [p.config("ecnn-fsa").pretrained.split(":")[1].split("/")[0] for p in (wild, classic)]
    assert row["source"] == f"the still-image stage ({starts[0]} vs {starts[1]})"
    assert row["claim"] == f"Proposed ECNN-FSA: from {WILD_STILLS} stills > from classic stills"
    assert (row["verdict"], row["A acc %"], row["B acc %"], row["only A right"], row["clips"]) == \
        ("supported", 80.0, 50.0, 18, 60)
