"""How wild the AFEW-like clips (and the stills, :mod:`.stills`) are: every difficulty of clips
cut from films as a named knob.

A :class:`Conditions` holds the numbers of every knob; :data:`CONDITIONS` names the sets of them a
dataset can be made with, and :data:`KNOBS` says what switching one knob off means (the
``--without`` option of ``python -m data_prep.synth``, and the difficulty table of the dataset
page: the baseline's accuracy with each knob off in turn).

* ``subtle`` — the apex intensity of a clip (1 = the prototype's full AU displacement) spreads
  down to faint expressions.
* ``brief`` — the apex is a short plateau inside long neutral stretches (onset and offset ramps,
  plateau, as fractions of the clip).
* ``talking`` — speech-like mouth motion, unrelated to the label, in a share of the clips of every
  class, neutral included.
* ``pose`` — head pose held through a clip (yaw up to ``yaw`` degrees, pitch up to ``pitch``) by a
  rotation of the face's landmarks on a head-shaped depth model, plus head motion: a roll walk and
  a translation walk over the clip.
* ``occlusion`` — an occluder over part of the face for a stretch of frames: the lower-face
  ellipse of the first embedded sets (``lower``), or a hand, hair or an object anywhere on the
  face.
* ``illumination`` — exposure (dim shots), a linear side light, a hard side light that leaves
  half the face in shadow, colour casts and flicker.
* ``degradation`` — focus blur, motion-blurred frames, low resolution (downscaled, then
  upscaled), sensor noise and JPEG quality before the MPEG-4 coding.
* ``missed`` — a stretch of frames where the face is lost to the detector: the camera pans off it
  or the shot goes dark.
* ``cuts`` — a camera cut: the clip continues in another shot of the same person (new framing,
  background, light and camera).
* ``identity`` — more distinct-looking people than the three photographs give: glasses, beards,
  hair fringes, a wider range of skin tones and face shapes.
* ``blends`` — the expression blends in a second class at a lower weight (the label is the
  dominant one).

``classic`` is the set the first embedded AFEW was made with (its clips, pixel for pixel: every
knob it has draws from the clip's random stream in the same order, and the knobs it lacks draw
from a stream of their own only when they are on). ``afew7`` is calibrated so that the paper's
Baseline (LBP-TOP + a χ² SVM) scores on the embedded Val as the EmotiW 2017 baseline scored on
AFEW 7.0 Val (38.81 %).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

#: Occluder kinds: the lower-face ellipse of ``classic``; a hand, hair, an object anywhere on the face.
OCCLUDERS = ("lower", "hand", "hair", "object")


@dataclass(frozen=True)
class Conditions:
    """The numbers of every knob (see the module's list); ``(lo, hi)`` pairs are uniform ranges."""

    name: str
    # subtle
    apex: tuple[float, float] = (0.85, 1.0)
    # brief
    ramp: tuple[float, float] = (0.08, 0.18)
    plateau: tuple[float, float] = (0.1, 0.25)
    # talking
    talking: float = 0.3
    # pose
    yaw: float = 0.0
    pitch: float = 0.0
    roll: tuple[float, float] = (2.0, 6.0)
    motion: float = 1.0  # scale of the translation walk (0.15 x 0.1 IOD at 1)
    # occlusion
    occlusion: float = 0.3
    occluders: tuple[str, ...] = ("lower",)
    # illumination
    exposure: tuple[float, float] = (0.75, 1.2)
    side_light: float = 0.25
    hard_light: float = 0.0
    colour_cast: tuple[float, float] = (0.85, 1.15)  # per-channel gains
    flicker: float = 0.2
    # degradation
    focus_blur: float = 0.5
    motion_blur: float = 0.1
    low_res: tuple[float, float] = (1.0, 1.0)
    noise: tuple[float, float] = (1.0, 6.0)
    jpeg: tuple[int, int] = (20, 70)
    # missed faces
    missed: float = 0.0
    # camera cuts
    cuts: float = 0.0
    # identity variation
    identity: float = 0.0
    # blends
    blends: float = 0.0

    def __post_init__(self) -> None:
        for key, value in asdict(self).items():
            if isinstance(value, float) and key not in ("yaw", "pitch", "motion", "side_light") and not 0 <= value <= 1:
                raise ValueError(f"conditions {self.name}: {key}={value!r}: expected a share in [0, 1]")
        for kind in self.occluders:
            if kind not in OCCLUDERS:
                raise ValueError(f"conditions {self.name}: occluder {kind!r}: expected one of {', '.join(OCCLUDERS)}")

    def without(self, *knobs: str) -> "Conditions":
        """These conditions with ``knobs`` switched off (:data:`KNOBS`)."""
        changes: dict = {}
        for knob in knobs:
            if knob not in KNOBS:
                raise ValueError(f"knob {knob!r}: expected one of {', '.join(KNOBS)}")
            changes.update(KNOBS[knob])
        return replace(self, name=f"{self.name}-without-{'-'.join(knobs)}", **changes) if knobs else self

    @property
    def wild(self) -> bool:
        """Whether a knob ``classic`` lacks is on (such clips record their conditions per frame)."""
        return any(getattr(self, k) for k in ("yaw", "pitch", "hard_light", "missed", "cuts", "identity",
                                              "blends")) or self.low_res != (1.0, 1.0) or self.occluders != ("lower",)


#: Each knob, and the values that switch it off: the clip without that difficulty.
KNOBS: dict[str, dict] = {
    "subtle": dict(apex=(0.85, 1.0)),
    "brief": dict(ramp=(0.08, 0.18), plateau=(0.4, 0.6)),
    "talking": dict(talking=0.0),
    "pose": dict(yaw=0.0, pitch=0.0, roll=(0.0, 0.0), motion=0.0),
    "occlusion": dict(occlusion=0.0),
    "illumination": dict(exposure=(1.0, 1.0), side_light=0.0, hard_light=0.0, colour_cast=(1.0, 1.0), flicker=0.0),
    "degradation": dict(focus_blur=0.0, motion_blur=0.0, low_res=(1.0, 1.0), noise=(0.0, 0.0), jpeg=(90, 91)),
    "missed": dict(missed=0.0),
    "cuts": dict(cuts=0.0),
    "identity": dict(identity=0.0),
    "blends": dict(blends=0.0),
}

CLASSIC = Conditions("classic")
AFEW7 = Conditions(
    "afew7", apex=(0.6, 1.0), ramp=(0.08, 0.2), plateau=(0.1, 0.6), talking=0.15, yaw=36.0, pitch=12.0,
    roll=(3.0, 9.0), motion=1.3, occlusion=0.3, occluders=OCCLUDERS, exposure=(0.55, 1.2), side_light=0.3,
    hard_light=0.25, colour_cast=(0.8, 1.2), flicker=0.25, focus_blur=0.5, motion_blur=0.05, low_res=(0.6, 1.0),
    noise=(0.5, 3.0), jpeg=(20, 60), missed=0.1, cuts=0.1, identity=0.9, blends=0.25)
#: The conditions a dataset can be made with, by name.
CONDITIONS = {c.name: c for c in (CLASSIC, AFEW7)}


def readme_lines(cond: Conditions) -> tuple[str, str]:
    """The generator's options that make a set under ``cond`` (``--conditions afew7 --without
    pose,talking``; empty for ``classic``) and the README line that names them, which
    :func:`data_prep.sidecars.generator_conditions` reads back (empty for ``classic``)."""
    if cond == CLASSIC:
        return "", ""
    base, _, off = cond.name.partition("-without-")
    options = f" --conditions {base}" + (f" --without {off.replace('-', ',')}" if off else "")
    numbers = ", ".join(f"{k}={v}" for k, v in asdict(cond).items() if k != "name")
    return options, f"conditions: {cond.name} ({numbers});"


def default_conditions(layout: str) -> Conditions:
    """The conditions a layout is made with unless told otherwise: the embedded AFEW is ``afew7``,
    calibrated on the paper's Baseline (:mod:`fsa.runs.difficulty`); the other layouts are
    ``classic`` (CK+ takes no other; the stills may be made under others, :mod:`.stills`)."""
    return AFEW7 if layout == "afew" else CLASSIC


def conditions(name: str, without: tuple[str, ...] = ()) -> Conditions:
    """The named conditions (:data:`CONDITIONS`), with ``without`` knobs switched off."""
    if name not in CONDITIONS:
        raise ValueError(f"conditions={name!r}: expected one of {', '.join(CONDITIONS)}")
    return CONDITIONS[name].without(*without)
