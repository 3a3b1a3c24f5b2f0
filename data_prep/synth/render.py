"""Rendering: a face animated along its expression intensities, and the CK+ ("lab") sequences."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .. import facs
from .appearance import Appearance, levels
from .geometry import displacement_field, to_image
from .layouts import CK_CODES, CK_FRAME, SUBJECT_STREAM, VIDEO_STREAM, random_stream
from .plans import SubjectPlan, VideoPlan
from .profiles import ck_profile
from .subjects import Subject


class _Animator:
    """Frames of one face at given expression intensities: remap by the scaled apex field, then
    draw the appearance changes of the frame's AU intensities (:mod:`.appearance`)."""

    def __init__(self, base: np.ndarray, lm: np.ndarray, aus: dict, extra: dict | None = None):
        self.base, self.lm, self.aus, self.extra = base, lm, aus, extra
        shape = base.shape[:2]
        self.disp = to_image(facs.expression_displacement(aus), lm)
        self.field = displacement_field(lm, self.disp, shape)
        self.extra_disp = to_image(facs.expression_displacement(extra), lm) if extra else None
        self.extra_field = displacement_field(lm, self.extra_disp, shape) if extra else None
        gy, gx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
        self.grid = np.dstack([gx, gy])
        self.look = Appearance(base, lm)

    def landmarks(self, t: float, extra: float = 0.0, shift=(0.0, 0.0)) -> np.ndarray:
        """The (68, 2) landmarks of :meth:`frame` with the same arguments."""
        lm = self.lm + t * self.disp + np.asarray(shift)
        if extra and self.extra_field is not None:
            lm = lm + extra * self.extra_disp
        return lm

    def frame(self, t: float, extra: float = 0.0, shift=(0.0, 0.0)) -> np.ndarray:
        m = cv2.scaleAdd(self.field, float(t), self.grid)
        if extra and self.extra_field is not None:
            m = cv2.scaleAdd(self.extra_field, float(extra), m)
        if any(shift):
            m = cv2.add(m, (-float(shift[0]), -float(shift[1]), 0.0, 0.0))
        out = cv2.remap(self.base, m, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        self.look.render(out, self.landmarks(t, extra, shift), levels(self.aus, t, self.extra, extra))
        return out


def _render_ckplus_subject(root: Path, seed: int, subj: SubjectPlan) -> list[tuple[VideoPlan, np.ndarray]]:
    rng = random_stream(seed, "ckplus", SUBJECT_STREAM, subj.index)
    subject = Subject.draw(rng, subj.index)
    h, w = CK_FRAME
    base, lm = subject.render(CK_FRAME, iod=float(rng.uniform(95, 125)),
                              centre=(w / 2 + rng.uniform(-30, 30), h / 2 + rng.uniform(-10, 25)),
                              roll_deg=float(rng.uniform(-4, 4)))
    gray = cv2.cvtColor(base, cv2.COLOR_RGB2GRAY)
    out = []
    for v in subj.videos:
        vr = random_stream(seed, "ckplus", VIDEO_STREAM, v.index)
        gain = float(vr.uniform(0.92, 1.08))
        seq_base = cv2.convertScaleAbs(gray, alpha=gain)
        anim = _Animator(seq_base, lm, v.aus)
        intensity = ck_profile(vr, v.n_frames)
        drift = vr.uniform(-2.5, 2.5, 2)  # small head motion over the sequence
        folder = root / v.path
        folder.mkdir(parents=True, exist_ok=True)
        stem = v.video_id
        for k, t in enumerate(intensity):
            img = anim.frame(float(t), shift=drift * k / max(1, v.n_frames - 1))
            imwrite(folder / f"{stem}_{k + 1:08d}.png", img)
        if v.label:
            emo = root / "Emotion" / v.path.split("/", 1)[1]
            emo.mkdir(parents=True, exist_ok=True)
            (emo / f"{stem}_{v.n_frames:08d}_emotion.txt").write_text(f"   {CK_CODES[v.label]:.7e}\n")
        out.append((v, intensity))
    return out


# PNG encoding dominates the CK+ cost; one fixed filter with Huffman-only coding halves it
# at about the default file size.
_PNG_PARAMS = [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP, cv2.IMWRITE_PNG_COMPRESSION, 1,
               cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY]


def imwrite(path: Path, img: np.ndarray) -> None:
    if not cv2.imwrite(str(path), img, _PNG_PARAMS):
        raise OSError(f"{path}: OpenCV could not write the image")
