"""The still-image stage made under the wild AFEW's conditions: does it transfer better?

Real FER2013 and SFEW come from the web and from films, as AFEW does; the embedded stills every
model starts from are made under the classic conditions (:data:`fsa.runs.chain.EMBEDDED_STILLS`).
The same still set made under the wild AFEW's conditions (:data:`WILD_STILLS`: pose, occlusion,
illumination, degradation, subtle expressions, more people; not the knobs of a clip's time,
:func:`data_prep.synth.stills.still_conditions`) starts a second chain of the same model on the
same AFEW; the two are judged on the same Val clips and seeds with the paired test of every claim.
"""
from __future__ import annotations

import pandas as pd

from ..embedded import embedded_dataset
from ..models.registry import REGISTRY
from ..runs.chain import EMBEDDED_STILLS
from .matching import start_of
from .page import Page
from .verdicts import claim_table, verdict

#: The conditions of the wild still set (:func:`fsa.embedded.embedded_dataset`'s ``conditions``).
WILD_STILLS = "afew7"


def wild_stills() -> str:
    """A page's ``stills`` parameter for the embedded still set made under :data:`WILD_STILLS`
    (made on first use, at the embedded data's size)."""
    return f"{EMBEDDED_STILLS}={embedded_dataset(EMBEDDED_STILLS, conditions=WILD_STILLS)}"


def stills_transfer(classic: Page, wild: Page, model: str = "ecnn-fsa") -> pd.DataFrame:
    """The claim "``model`` started from the wild stills is more accurate than started from the
    classic ones", judged on the two pages' runs of ``model`` (read from the store or trained); its
    source names the two still-image runs' store folders, the comparison tables' ``start``."""
    runs = [page.run(page.config(model)) for page in (wild, classic)]
    claim = f"{REGISTRY[model].paper_label}: from {WILD_STILLS} stills > from classic stills"
    starts = " vs ".join(start_of(r["config"]) for r in runs)
    return claim_table([(claim, f"the still-image stage ({starts})", verdict(*runs))])
