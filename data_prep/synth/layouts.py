"""The synthetic datasets' on-disk layouts, their classes and sizes, and the random streams."""
from __future__ import annotations

import numpy as np

from ..labels import AFEW_FOLDERS, CK_CODES

VIDEO_LAYOUTS = ("ckplus", "afew")
#: Still-image layouts, made by :mod:`data_prep.synth.stills` from the same faces and expressions.
STILL_LAYOUTS = ("fer2013", "sfew")
LAYOUTS = VIDEO_LAYOUTS + STILL_LAYOUTS
SIZE_NAMES = ("smoke", "default")

#: The classes of the labelled CK+ sequences: CK+ labels none of them neutral.
CK_CLASSES = tuple(label for label in CK_CODES if label != "neutral")
AFEW_CLASSES = tuple(AFEW_FOLDERS)

CK_FRAME = (490, 640)  # (height, width), as CK+
AFEW_FRAME = (288, 360)
AFEW_FPS = 25.0
AFEW_FOURCC = "XVID"

#: AFEW 7.0's clips per class (Train 773, Val 383): the embedded AFEW's default size.
AFEW7_CLIPS = {"train": dict(anger=133, disgust=74, fear=81, happy=150, neutral=144, sadness=117, surprise=74),
               "val": dict(anger=64, disgust=40, fear=46, happy=63, neutral=63, sadness=61, surprise=46)}
#: Clips per subject in the embedded AFEW: AFEW's actors appear in a few clips each.
AFEW_CLIPS_PER_SUBJECT = 5


def afew_size(fraction: float = 1.0) -> dict:
    """An AFEW size with AFEW 7.0's class counts scaled by ``fraction`` and about
    :data:`AFEW_CLIPS_PER_SUBJECT` clips per subject, Train and Val subjects apart."""
    clips = {split: {c: max(2, round(n * fraction)) for c, n in counts.items()} for split, counts in AFEW7_CLIPS.items()}
    subjects = {split: max(3, sum(c.values()) // AFEW_CLIPS_PER_SUBJECT) for split, c in clips.items()}
    return dict(subjects=subjects, frames=(20, 40), clips=clips)


def afew_fraction(fraction: float) -> str:
    """The name of the AFEW size at ``fraction`` of AFEW 7.0's (:func:`afew_size`): ``default`` at 1,
    else ``afew7x<fraction>``, which this adds to :data:`SIZES` for :func:`~data_prep.synth.generate`."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction={fraction!r}: expected a share of AFEW 7.0's size in (0, 1]")
    if fraction == 1:
        return "default"
    name = f"afew7x{fraction:g}"
    SIZES["afew"].setdefault(name, afew_size(fraction))
    return name


#: Per layout and size: how many subjects, videos per class and frames per video.
#: The default CK+ counts are CK+'s (327 labelled of 593, 123 subjects) scaled down with their class
#: proportions kept; the default AFEW is AFEW 7.0's size (:func:`afew_size`).
SIZES = {
    "ckplus": {
        "smoke": dict(subjects=8, labelled=dict.fromkeys(CK_CLASSES, 8), unlabelled=4, frames=(10, 14)),
        "default": dict(subjects=40, labelled=dict(anger=25, contempt=10, disgust=32, fear=14,
                                                   happy=38, sadness=15, surprise=46),
                        unlabelled=60, frames=(10, 30)),
    },
    "afew": {
        "smoke": dict(subjects=dict(train=6, val=3), frames=(12, 16),
                      clips=dict(train=dict.fromkeys(AFEW_CLASSES, 3), val=dict.fromkeys(AFEW_CLASSES, 1))),
        "default": afew_size(),
    },
}

_LAYOUT_CODE = {"ckplus": 1, "afew": 2, "fer2013": 3, "sfew": 4}
SUBJECT_STREAM, VIDEO_STREAM, PLAN_STREAM = 0, 1, 2
#: The stream of the wild knobs the first embedded AFEW lacked (:mod:`.conditions`), keyed further
#: by the subject or video stream and its index, so that those knobs leave the other draws alone.
WILD_STREAM = 3
#: Range of the expression intensity at the apex (1 = the prototype's full AU displacement).
APEX = (0.85, 1.0)


def random_stream(seed: int, layout: str, *key: int) -> np.random.Generator:
    """The numpy generator of one random stream, seeded with ``(seed, layout, *key)``.

    ``key`` is a stream (subject, video, plan) and, for subjects and videos, their index. Each
    layout has its own code, so no two layouts share a subject's or a video's draws.
    """
    return np.random.default_rng([seed, _LAYOUT_CODE[layout], *key])
