"""FACS action units as displacements of the 68 dlib landmarks, and the expressions built from them.

The synthetic dataset (:mod:`data_prep.synth`) animates real photographs by moving their 68 dlib
landmarks and warping the image piecewise-affinely. This module is the table behind it:

* :data:`ACTION_UNITS` — each action unit (AU) of the Facial Action Coding System (Ekman & Friesen,
  2002) that the expressions use, with its FACS name, the muscles behind it, and the landmark
  displacements at full intensity (FACS level E, "maximum"). Displacements are in units of the
  inter-ocular distance (IOD: distance between the two eye centres), in a frontal, upright face
  frame with x to the image right and y down, so they scale with the face and can be rotated with
  its roll.
* :data:`EXPRESSIONS` — each of the eight class names (the seven CK+ emotions plus neutral) as AUs
  with intensities in [0, 1]. The prototypes follow the EMFACS / CK+ emotion criteria (Lucey et al.,
  CVPR-W 2010, Table 2): e.g. happy = AU6+12+25, surprise = AU1+2+5+27, contempt = unilateral R12A+R14.

Interpretations made here (no landmark-level AU model is standard):

* A landmark displacement is the visible, first-order geometric effect of the AU on the 68 points
  (brows, lids, nose wings, lips, jaw line). The appearance changes that landmarks cannot carry
  (mouth interior and teeth, eye whites, wrinkles, furrows, bulges) are drawn by the generator
  (:mod:`data_prep.synth.appearance`) from the same AU intensities, not here.
* Magnitudes are chosen so that an apex is a strong, unambiguous prototype like a posed CK+ apex,
  clearly visible and measurable by dlib's 68-point predictor at CK+ resolution (IOD ~ 100 px):
  about 0.05–0.2 IOD for brows, lids and lip corners, about 0.1 IOD for parted lips, about
  0.3 IOD for the jaw drop (AU26) and 0.45 IOD for the mouth stretch (AU27). Happy parts the lips
  fully (AU25) with a slight jaw drop and the upper lip carried up by the corners, so that the
  upper teeth show; surprise widens the eyes fully (AU5 at E rather than CK+'s "at most B"), so
  that the white shows above the iris, and drops the jaw into a tall oval (EMFACS 1+2+5+26/27),
  far more than fear's stretched, less open mouth.
* Intensities combine linearly: the displacement of an expression is the intensity-weighted sum of
  its AUs, and a video frame at expression intensity ``t`` uses ``t`` times that sum.
* Unilateral AUs (prefix ``R``/``L``) move only the subject's right/left half; the subject's right
  is the image left in a non-mirrored frontal photo (dlib points 0–7, 17–21, 31–32, 36–41,
  48–50, 58–61, 67). Points on the midline move at half weight.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

N_LANDMARKS = 68

#: Left/right partner points of the dlib 68-point layout, the subject's right (image left) first.
_PAIRS = (
    [(i, 16 - i) for i in range(8)]
    + [(17, 26), (18, 25), (19, 24), (20, 23), (21, 22)]
    + [(31, 35), (32, 34)]
    + [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]
    + [(48, 54), (49, 53), (50, 52), (59, 55), (58, 56)]
    + [(60, 64), (61, 63), (67, 65)]
)
#: Index permutation that maps the landmarks of a horizontally flipped face back to dlib order.
MIRROR = np.arange(N_LANDMARKS)
for _a, _b in _PAIRS:
    MIRROR[_a], MIRROR[_b] = _b, _a
#: Points of the subject's right half (image left; first of each pair above) and of the midline.
RIGHT_HALF = frozenset(a for a, _ in _PAIRS)
MIDLINE = frozenset(i for i in range(N_LANDMARKS) if MIRROR[i] == i)


@dataclass(frozen=True)
class ActionUnit:
    """One FACS action unit.

    ``moves`` maps a landmark of the subject's right half or of the midline to ``(lateral, up)``
    at full intensity, in IOD units: ``lateral`` > 0 moves away from the facial midline, ``up`` > 0
    moves towards the forehead. The subject's left half mirrors it.
    """

    code: str
    name: str
    muscles: str
    meaning: str
    moves: Mapping[int, tuple[float, float]]


def _au(code, name, muscles, meaning, moves):
    return code, ActionUnit(code, name, muscles, meaning, moves)


#: The action units used by :data:`EXPRESSIONS`, keyed by FACS number.
ACTION_UNITS: dict[str, ActionUnit] = dict([
    _au("1", "Inner brow raiser", "frontalis, pars medialis",
        "raises the inner corners of the brows, giving them an oblique shape",
        {21: (0.01, 0.17), 20: (0.0, 0.13), 19: (0.0, 0.07), 18: (0.0, 0.03)}),
    _au("2", "Outer brow raiser", "frontalis, pars lateralis",
        "raises the lateral part of the brows, arching them",
        {17: (0.0, 0.12), 18: (0.0, 0.12), 19: (0.0, 0.08), 20: (0.0, 0.03)}),
    _au("4", "Brow lowerer", "corrugator supercilii, depressor supercilii, procerus",
        "lowers the brows and pulls them together (frown)",
        {21: (-0.14, -0.13), 20: (-0.10, -0.12), 19: (-0.05, -0.09), 18: (-0.02, -0.06),
         17: (0.0, -0.03), 37: (0.0, -0.02), 38: (0.0, -0.02)}),
    _au("5", "Upper lid raiser", "levator palpebrae superioris",
        "raises the upper eyelid, widening the eye opening",
        {37: (0.0, 0.08), 38: (0.0, 0.08), 36: (0.0, 0.015), 39: (0.0, 0.015)}),
    _au("6", "Cheek raiser", "orbicularis oculi, pars orbitalis",
        "lifts the cheeks, pushes the lower lids up and narrows the eye from below",
        {40: (0.0, 0.065), 41: (0.0, 0.065), 36: (0.0, 0.015), 39: (0.0, 0.01), 17: (0.0, -0.02),
         1: (0.01, 0.03), 2: (0.015, 0.035), 3: (0.01, 0.02)}),
    _au("7", "Lid tightener", "orbicularis oculi, pars palpebralis",
        "tightens the lids, raising the lower lid and narrowing the eye",
        {40: (0.0, 0.035), 41: (0.0, 0.035), 37: (0.0, -0.015), 38: (0.0, -0.015)}),
    _au("41", "Lid droop", "levator palpebrae superioris relaxed",
        "lowers the upper eyelid, so that the eyes look heavy and half covered",
        {37: (0.0, -0.035), 38: (0.0, -0.035), 36: (0.0, -0.005), 39: (0.0, -0.005)}),
    _au("9", "Nose wrinkler", "levator labii superioris alaeque nasi",
        "wrinkles the nose, raising the nose wings and upper lip and lowering the inner brows",
        {31: (0.0, 0.05), 32: (0.0, 0.04), 33: (0.0, 0.03), 30: (0.0, 0.02), 50: (0.0, 0.04),
         51: (0.0, 0.04), 61: (0.0, 0.03), 62: (0.0, 0.03), 21: (-0.02, -0.04), 20: (0.0, -0.03),
         40: (0.0, 0.02), 41: (0.0, 0.02)}),
    _au("10", "Upper lip raiser", "levator labii superioris",
        "raises the upper lip",
        {48: (0.0, 0.03), 49: (0.0, 0.09), 50: (0.0, 0.12), 51: (0.0, 0.11), 61: (0.0, 0.10),
         62: (0.0, 0.09), 60: (0.0, 0.03), 31: (0.0, 0.03), 32: (0.0, 0.02)}),
    _au("12", "Lip corner puller", "zygomaticus major",
        "pulls the lip corners up and back (smile)",
        {48: (0.14, 0.17), 60: (0.12, 0.14), 49: (0.07, 0.11), 59: (0.06, 0.09), 50: (0.02, 0.06),
         51: (0.0, 0.03), 58: (0.02, 0.03), 61: (0.04, 0.08), 62: (0.0, 0.04), 67: (0.03, 0.05),
         3: (0.01, 0.03), 4: (0.01, 0.03)}),
    _au("14", "Dimpler", "buccinator",
        "tightens the lip corners and pulls them inward, dimpling the cheek",
        {48: (-0.03, 0.05), 60: (-0.03, 0.04), 49: (-0.01, 0.02), 59: (-0.01, 0.02)}),
    _au("15", "Lip corner depressor", "depressor anguli oris (triangularis)",
        "pulls the lip corners down",
        {48: (-0.01, -0.15), 60: (-0.01, -0.12), 49: (0.0, -0.06), 59: (0.0, -0.06), 61: (0.0, -0.02)}),
    _au("16", "Lower lip depressor", "depressor labii inferioris",
        "pulls the lower lip down",
        {59: (0.0, -0.04), 58: (0.0, -0.07), 57: (0.0, -0.08), 67: (0.0, -0.05), 66: (0.0, -0.06)}),
    _au("17", "Chin raiser", "mentalis",
        "pushes the chin boss and lower lip up",
        {8: (0.0, 0.07), 7: (0.0, 0.06), 6: (0.0, 0.04), 57: (0.0, 0.06), 58: (0.0, 0.055),
         59: (0.0, 0.03), 66: (0.0, 0.03), 67: (0.0, 0.03), 62: (0.0, 0.03), 61: (0.0, 0.03),
         51: (0.0, 0.015), 50: (0.0, 0.015)}),
    _au("20", "Lip stretcher", "risorius with platysma",
        "stretches the lips horizontally, pulling the corners sideways",
        {48: (0.12, -0.03), 60: (0.10, -0.025), 49: (0.05, -0.01), 59: (0.05, -0.015), 58: (0.02, -0.01),
         50: (0.02, 0.0)}),
    _au("23", "Lip tightener", "orbicularis oris",
        "tightens and narrows the lips, making the red parts thinner",
        {48: (-0.05, 0.0), 60: (-0.04, 0.0), 49: (-0.015, -0.025), 50: (0.0, -0.03),
         51: (0.0, -0.03), 59: (-0.015, 0.025), 58: (0.0, 0.03), 57: (0.0, 0.03)}),
    _au("24", "Lip pressor", "orbicularis oris",
        "presses the lips together",
        {50: (0.0, -0.02), 51: (0.0, -0.02), 58: (0.0, 0.03), 57: (0.0, 0.03), 48: (-0.02, 0.0)}),
    _au("25", "Lips part", "depressor labii inferioris, or relaxation of mentalis / orbicularis oris",
        "parts the lips",
        {66: (0.0, -0.07), 67: (0.0, -0.06), 62: (0.0, 0.03), 61: (0.0, 0.025), 57: (0.0, -0.05),
         58: (0.0, -0.045), 59: (0.0, -0.025), 51: (0.0, 0.015), 50: (0.0, 0.012)}),
    _au("26", "Jaw drop", "masseter, temporalis and internal pterygoid relaxed",
        "lets the mandible drop, opening the mouth",
        {8: (0.0, -0.33), 7: (0.0, -0.31), 6: (0.0, -0.25), 5: (0.0, -0.16), 4: (0.0, -0.08),
         3: (0.0, -0.03), 57: (0.0, -0.31), 58: (0.0, -0.29), 59: (0.0, -0.20), 66: (0.0, -0.31),
         67: (0.0, -0.27), 48: (-0.04, -0.09), 60: (-0.04, -0.09)}),
    _au("27", "Mouth stretch", "pterygoids and digastric",
        "pulls the mandible far down, stretching the mouth open into a tall oval",
        {8: (0.0, -0.45), 7: (0.0, -0.42), 6: (0.0, -0.33), 5: (0.0, -0.21), 4: (0.0, -0.1),
         3: (0.0, -0.04), 57: (0.0, -0.43), 58: (0.0, -0.40), 59: (0.0, -0.28), 66: (0.0, -0.43),
         67: (0.0, -0.38), 48: (-0.07, -0.13), 60: (-0.07, -0.13), 49: (-0.02, 0.01), 61: (-0.01, 0.02),
         62: (0.0, 0.03), 51: (0.0, 0.02)}),
])

#: Class name -> {AU code: intensity in [0, 1]}; "R"/"L" prefixes mark unilateral AUs.
EXPRESSIONS: dict[str, dict[str, float]] = {
    "anger": {"4": 1.0, "5": 0.4, "7": 1.0, "17": 0.6, "23": 1.0, "24": 1.0},
    "contempt": {"R12": 0.6, "R14": 1.0},
    "disgust": {"9": 1.0, "10": 1.0, "15": 0.4, "16": 0.4, "25": 0.5},
    "fear": {"1": 1.0, "2": 0.8, "4": 0.6, "5": 1.0, "20": 1.0, "25": 0.8, "26": 0.4},
    "happy": {"6": 1.0, "12": 1.0, "25": 1.0, "26": 0.25},
    "neutral": {},
    "sadness": {"1": 1.0, "4": 0.6, "15": 1.0, "17": 1.0, "41": 0.8},
    "surprise": {"1": 1.0, "2": 1.0, "5": 1.0, "25": 0.6, "27": 1.0},
}


def au_displacement(code: str) -> np.ndarray:
    """(68, 2) displacement of an AU at full intensity, IOD units, x right / y down.

    ``code`` is a FACS number ("12") or a unilateral one ("R12", "L12").
    """
    side = code[0] if code[:1] in ("R", "L") else ""
    number = code[1:] if side else code
    if number not in ACTION_UNITS:
        raise KeyError(f"unknown action unit {code!r}; known: {', '.join(ACTION_UNITS)}")
    d = np.zeros((N_LANDMARKS, 2))
    for idx, (lateral, up) in ACTION_UNITS[number].moves.items():
        # Subject's right half is the image left: away from the midline is -x there.
        right = np.array([-lateral, -up]) if idx in RIGHT_HALF else np.array([0.0, -up])
        left = np.array([lateral, -up])
        if idx in MIDLINE:
            d[idx] += right * (0.5 if side else 1.0)
            continue
        if side in ("", "R"):
            d[idx] += right
        if side in ("", "L"):
            d[MIRROR[idx]] += left
    return d


def expression_displacement(aus: Mapping[str, float]) -> np.ndarray:
    """(68, 2) intensity-weighted sum of AU displacements, IOD units."""
    d = np.zeros((N_LANDMARKS, 2))
    for code, weight in aus.items():
        d += weight * au_displacement(code)
    return d


def class_displacement(label: str) -> np.ndarray:
    """(68, 2) displacement of an expression class at its apex, IOD units."""
    if label not in EXPRESSIONS:
        raise KeyError(f"unknown expression {label!r}; known: {', '.join(EXPRESSIONS)}")
    return expression_displacement(EXPRESSIONS[label])


def describe() -> str:
    """Human-readable table: each class with its AUs, and each AU with its FACS meaning."""
    lines = ["Expression prototypes (AU: intensity)"]
    for label, aus in EXPRESSIONS.items():
        body = ", ".join(f"{c[0] + ' ' if c[0] in 'RL' else ''}AU{c.lstrip('RL')}:{w:g}"
                         for c, w in aus.items()) or "(no AU)"
        lines.append(f"  {label:9s} {body}")
    lines.append("Action units (FACS name; muscles; effect)")
    for au in ACTION_UNITS.values():
        lines.append(f"  AU{au.code:3s} {au.name}; {au.muscles}; {au.meaning}")
    return "\n".join(lines)
