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

#: Per layout and size: how many subjects, videos per class and frames per video.
#: The default counts are CK+ (327 labelled of 593, 123 subjects) and AFEW 7.0 (773 / 383)
#: scaled down with their class proportions kept.
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
        "default": dict(subjects=dict(train=30, val=15), frames=(20, 40),
                        clips=dict(train=dict(anger=41, disgust=23, fear=25, happy=47, neutral=45,
                                              sadness=36, surprise=23),
                                   val=dict(anger=20, disgust=13, fear=14, happy=20, neutral=20,
                                            sadness=19, surprise=14))),
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
