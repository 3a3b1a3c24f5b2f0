"""The paper's claims judged on the recorded runs, with paired tests on the same test clips.

:func:`claims` judges each ordering of the paper's rows ("A > B") and every model against
each floor of the same data, by :func:`verdict`: the paired bootstrap and McNemar's test of
:func:`fsa.metrics.claim_verdict` on the two records' common test clips.
"""
from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np
import pandas as pd

from ..config import ConfigError
from ..metrics import claim_verdict, detectable_difference, independent_discordance
from ..models.registry import REGISTRY
from ..paper import paper_table, real_test_clips
from .confidence import per_clip_rows, replicate_rows
from .matching import architecture, paper_row_label
from .records import FLOOR_KIND


def verdict(record_a: dict, record_b: dict, alpha: float = 0.05) -> dict:
    """The claim "A is more accurate than B" judged on the two records' common test clips
    (:func:`fsa.metrics.claim_verdict`). Two seeds summaries are paired clip by clip within each
    seed; a single run or floor against a seeds summary is paired with each seed's predictions,
    so its clips count once per seed and McNemar's p is then optimistic (the pairs of one clip
    are not independent); the bootstrap still resamples pairs, not clips."""
    return pooled_verdict([(record_a, record_b)], alpha)


def pooled_verdict(pairs: Sequence[tuple[dict, dict]], alpha: float = 0.05) -> dict:
    """:func:`verdict` over several replicates at once: each ``(record_a, record_b)`` pair is one
    replicate of the comparison (e.g. one seed's k-fold runs of a model and of a floor on the same
    folds), and every clip of every replicate is one paired observation."""
    rows_a: list[dict] = []
    rows_b: list[dict] = []
    for i, (record_a, record_b) in enumerate(pairs):
        ra, rb = replicate_rows(record_a), replicate_rows(record_b)
        if list(ra) == ["all"]:
            ra = dict.fromkeys(rb, ra["all"])
        if list(rb) == ["all"]:
            rb = dict.fromkeys(ra, rb["all"])
        if set(ra) != set(rb):
            raise ConfigError(f"cannot pair {sorted(ra)} with {sorted(rb)}: the two records ran different seeds")
        suffix = f"#{i}" if len(pairs) > 1 else ""
        rows_a += _tagged(ra, suffix)
        rows_b += _tagged(rb, suffix)
    return claim_verdict(rows_a, rows_b, alpha=alpha)


def _tagged(rows: dict[str, list[dict]], suffix: str) -> list[dict]:
    """Every replicate's rows, each clip id tagged with its replicate (and pair), so that the same
    clip in two replicates is two paired observations."""
    return [{**c, "clip_id": f"{c['clip_id']}@{k}{suffix}"} for k in sorted(rows) for c in rows[k]]


#: The columns of a claims table; ``{level}`` is the confidence level. ``detectable Δ`` is the power
#: of the claim's paired test (:func:`fsa.metrics.detectable_difference`): the smallest difference it
#: detects four times in five at these clips and this discordance. A claim of the paper's own rows
#: adds the paper's difference and the smallest one the real test set (AFEW 7.0 Val, CK+'s labelled
#: sequences: :func:`fsa.paper.real_test_clips`) could detect at the discordance of two models whose
#: errors are independent (:func:`fsa.metrics.independent_discordance`), and whether it could
#: detect the paper's.
CLAIM_COLUMNS = ["claim", "source", "verdict", "A acc %", "B acc %", "Δ acc (pp)", "Δ {level} CI", "McNemar p",
                 "only A right", "only B right", "clips", "detectable Δ (pp)"]
PAPER_POWER_COLUMNS = ["paper Δ (pp)", "real set detects (pp)", "real set can settle it"]
#: Power of the paired tests, as the columns state it.
POWER = 0.8


def claim_table(judged: Sequence[tuple], alpha: float = 0.05, real_clips: int | None = None) -> pd.DataFrame:
    """A claims table from ``(claim, source, verdict)`` triples (:func:`verdict`'s dicts), each with
    its power (``detectable Δ``); ``(claim, source, verdict, (paper A %, paper B %))`` for a claim of
    the paper's rows adds, given the real test set's size ``real_clips``, whether that set could
    settle the paper's own difference."""
    columns = [c.format(level=f"{100 * (1 - alpha):g} %") for c in CLAIM_COLUMNS]
    if real_clips is not None:
        columns += PAPER_POWER_COLUMNS
    rows = []
    for claim, source, v, *paper in judged:
        discordance = (v["b"] + v["c"]) / v["n_clips"]
        row = [claim, source, v["verdict"], round(100 * v["accuracy_a"], 2), round(100 * v["accuracy_b"], 2),
               round(100 * v["diff"], 2), f"[{100 * v['low']:.1f}, {100 * v['high']:.1f}]",
               float(f"{v['mcnemar_p']:.3g}"), v["b"], v["c"], v["n_clips"],
               _pp(detectable_difference(v["n_clips"], discordance, alpha, POWER))]
        if real_clips is not None:
            row += paper_power(*paper[0], real_clips, alpha) if paper and paper[0] else [None, None, None]
        rows.append(dict(zip(columns, row)))
    return pd.DataFrame(rows, columns=columns)


def paper_power(a: float, b: float, real_clips: int, alpha: float = 0.05) -> list:
    """The paper's difference of two accuracies (%), the smallest difference a paired test on the
    real test set's ``real_clips`` detects at the discordance of independent errors, and whether
    the paper's difference reaches it."""
    detectable = detectable_difference(real_clips, independent_discordance(a / 100, b / 100), alpha, POWER)
    diff = round(a - b, 2)
    return [diff, _pp(detectable), "yes" if abs(diff) >= 100 * detectable else "no"]


def _pp(delta: float) -> float | None:
    return None if np.isnan(delta) else round(100 * delta, 1)


def claims(table: int | str, records: Sequence[dict], alpha: float = 0.05) -> pd.DataFrame:
    """The verdict on every claim a table's records can test, with the numbers behind it.

    Claims: each pair of the paper's rows that both have a record, in the order of the paper's
    accuracies ("A > B"); and each of those rows against each floor record (DESIGN: every deep
    model clears its floor). A paper row with several records is judged by the last one. The
    accuracies are those of the paired clips (pooled over folds on CK+).
    """
    spec = paper_table(table)
    floors = [r for r in records if r.get("kind") in FLOOR_KIND.values()]
    deep = [r for r in records if r.get("kind") not in FLOOR_KIND.values()]
    found = []
    for prow in spec["rows"]:
        if prow.get("model") is None:
            continue
        arch = architecture(REGISTRY[prow["model"]].config)
        matches = [r for r in deep if architecture(r["config"]["model"]) == arch]
        if matches:
            found.append((prow.get("label") or paper_row_label(prow), prow.get("accuracy"), matches[-1]))
    pairs = []
    for a, b in itertools.combinations(found, 2):
        if a[1] is None or b[1] is None or a[1] == b[1]:
            continue
        (la, pa, ra), (lb, pb, rb) = (a, b) if a[1] > b[1] else (b, a)
        pairs.append((f"{la} > {lb}", f"paper: {pa:g} > {pb:g}", ra, rb, (pa, pb)))
    pairs += [(f"{label} > {f['label']}", "clears the floor", r, f, None) for label, _, r in found for f in floors]
    return claim_table([(claim, source, verdict(ra, rb, alpha), paper) for claim, source, ra, rb, paper in pairs],
                       alpha, real_test_clips(spec.get("dataset", "ckplus")))


def frame_view(record: dict, frame: int = -1) -> dict:
    """A score-fusion record read as its frame classifier alone on one sampled frame of each
    clip (``frame=-1``: the last, the one nearest the CK+ apex): each clip's prediction is the
    argmax of that frame's recorded probabilities (``frame_probs``). The view has the record's
    clips, so it pairs with any record of them (:func:`verdict`)."""
    rows = per_clip_rows(record)
    missing = [c["clip_id"] for c in rows if not c.get("frame_probs")]
    name = record.get("label") or record.get("model")
    if missing:
        raise ConfigError(f"{name}: {len(missing)} test clip(s) (e.g. {missing[0]}) have no per-frame probabilities; "
                          "only models that classify each frame (score fusion) record them")
    classes = record["metrics"].get("classes") or record["metrics"]["pooled"]["classes"]
    view = [{**c, "pred": classes[int(np.argmax(c["frame_probs"][frame]))]} for c in rows]
    return {"kind": "run", "label": f"{name}, frame {frame} only", "model": record.get("model"), "per_clip": view}


def frame_claims(records: Sequence[dict], floor_records: Sequence[dict] = (), alpha: float = 0.05) -> pd.DataFrame:
    """What averaging costs score fusion: its frame classifier alone on the last sampled frame
    (:func:`frame_view`) against the fused clip prediction and against each floor, which sees the
    last frame too. Empty when no record is score fusion's."""
    arch = architecture(REGISTRY["score-fusion"].config)
    fusion = [r for r in records if architecture(r["config"]["model"]) == arch]
    if not fusion:
        return claim_table([], alpha)
    record = fusion[-1]
    view = frame_view(record)
    fused = record.get("label") or record["model"]
    judged = [(f"{view['label']} > {fused}", "averaging the n frames", verdict(view, record, alpha))]
    judged += [(f"{view['label']} > {f['label']}", "the floor's frame", verdict(view, f, alpha)) for f in floor_records]
    return claim_table(judged, alpha)


#: The columns of a claims table the book's first page shows (:func:`glue_findings`).
FINDINGS_COLUMNS = ["claim", "verdict", "Δ acc (pp)", "detectable Δ (pp)", *PAPER_POWER_COLUMNS]


def glue_findings(claims_table: pd.DataFrame) -> pd.DataFrame:
    """The page's claims in brief — verdict, difference and power — glued into the notebook under
    ``findings`` for the book's first page (MyST-NB's ``glue``, pasted there with ``:doc:``);
    returns ``claims_table`` for the page to show whole."""
    from myst_nb import glue

    brief = claims_table[[c for c in FINDINGS_COLUMNS if c in claims_table.columns]]
    glue("findings", brief.style.hide(axis="index").format(precision=1, na_rep="—"), display=False)
    return claims_table
