"""Plans: which subjects a dataset has and which videos each of them shows, drawn before rendering."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from .. import facs
from ..hashing import stable_hash
from .conditions import CLASSIC, Conditions
from .layouts import AFEW_FOLDERS, CK_CLASSES, PLAN_STREAM, SIZES, random_stream


@dataclass
class VideoPlan:
    """One video to render: its identity in the dataset and the expression it shows."""

    index: int  # global video index: seeds the video's random stream
    video_id: str
    subject: str
    label: str  # official label ('' for unlabelled CK+ sequences)
    aus: dict  # the expression rendered, AU code -> intensity at apex
    split: str  # 'train'/'val' for AFEW, '' for CK+
    n_frames: int
    path: str  # relative to the output root: sequence folder (CK+) or clip file (AFEW)


@dataclass
class SubjectPlan:
    """A synthetic subject and its videos; the unit of work of one worker process."""

    index: int
    name: str
    videos: list = field(default_factory=list)


def spread_subjects(rng: np.random.Generator, counts: dict, subjects: Sequence[int]) -> list[tuple[str, int]]:
    """(label, subject) pairs: each class's videos go round a fresh permutation of the subjects."""
    out = []
    for label, n in counts.items():
        perm = rng.permutation(np.asarray(subjects))
        out += [(label, int(perm[k % len(perm)])) for k in range(n)]
    return out


def plan_ckplus(size: str, seed: int) -> list[SubjectPlan]:
    spec = SIZES["ckplus"][size]
    rng = random_stream(seed, "ckplus", PLAN_STREAM)
    numbers = np.sort(rng.choice(np.arange(5, 1000), spec["subjects"], replace=False))
    subjects = [SubjectPlan(i, f"S{n:03d}") for i, n in enumerate(numbers)]
    ids = range(len(subjects))
    seqs = [(label, s, dict(facs.EXPRESSIONS[label])) for label, s in spread_subjects(rng, spec["labelled"], ids)]
    for _, s in spread_subjects(rng, {"": spec["unlabelled"]}, ids):
        a, b = rng.choice(CK_CLASSES, 2, replace=False)
        blend: dict = {}
        for code, w in [*facs.EXPRESSIONS[a].items(), *facs.EXPRESSIONS[b].items()]:
            blend[code] = blend.get(code, 0.0) + 0.5 * w
        seqs.append(("", s, blend))
    per_subject: dict[int, list] = {i: [] for i in ids}
    for seq in seqs:
        per_subject[seq[1]].append(seq)
    lo, hi = spec["frames"]
    index = 0
    for subj in subjects:
        mine = per_subject[subj.index]
        for k in rng.permutation(len(mine)):
            label, _, aus = mine[k]
            seq = f"{len(subj.videos) + 1:03d}"
            subj.videos.append(VideoPlan(
                index=index, video_id=f"{subj.name}_{seq}", subject=subj.name, label=label, aus=aus,
                split="", n_frames=int(rng.integers(lo, hi + 1)),
                path=f"cohn-kanade-images/{subj.name}/{seq}"))
            index += 1
    return subjects


def plan_afew(size: str, seed: int, cond: Conditions = CLASSIC) -> list[SubjectPlan]:
    """AFEW's subjects, Train and Val apart, and their clips. Clips made under conditions other than
    ``classic`` get other file stems (shifted by a hash of the conditions), so that two sets of the
    same plan under different conditions are two datasets to the identity rule (their indexes
    differ), as their pixels do."""
    spec = SIZES["afew"][size]
    rng = random_stream(seed, "afew", PLAN_STREAM)
    subjects, clips = [], []
    for split in ("train", "val"):
        first = len(subjects)
        subjects += [SubjectPlan(first + i, f"A{first + i + 1:03d}") for i in range(spec["subjects"][split])]
        clips += [(split, label, s) for label, s in
                  spread_subjects(rng, spec["clips"][split], range(first, len(subjects)))]
    stems = rng.choice(np.arange(1, 10**6), len(clips), replace=False)
    if cond != CLASSIC:
        stems = (stems + int(stable_hash(asdict(cond)), 16)) % 10**9
    lo, hi = spec["frames"]
    for index, ((split, label, s), stem) in enumerate(zip(clips, stems)):
        folder = "Train" if split == "train" else "Val"
        subjects[s].videos.append(VideoPlan(
            index=index, video_id=f"{split}_{stem:09d}", subject=subjects[s].name, label=label,
            aus=dict(facs.EXPRESSIONS[label]), split=split, n_frames=int(rng.integers(lo, hi + 1)),
            path=f"{folder}/{AFEW_FOLDERS[label]}/{stem:09d}.avi"))
    return subjects


PLANNERS = {"ckplus": plan_ckplus, "afew": plan_afew}
