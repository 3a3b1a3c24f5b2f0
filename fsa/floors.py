"""Classical floors: HOG or LBP features + logistic regression, and the EmotiW baseline (LBP-TOP +
a χ² kernel SVM), on the deep models' clips and splits.

A deep result means little unless it clears what a hand-crafted descriptor and a linear
classifier reach on the same data (DESIGN: "a deep model below its floor is a bug to find,
not a result"). A floor here sees exactly what the deep models see:

* **Clips and splits**: :func:`fsa.data.make_clips` and :func:`fsa.data.split_clips` with the
  run's ``dataset``, ``protocol``, ``folds``, ``fold``, ``val_fraction`` and ``seed``, so its
  test clips are the deep model's test clips, fold by fold (the paired tests of
  :mod:`fsa.metrics` need that).
* **Frames**: read by :class:`fsa.data.ClipDataset` (its reading and its reduction of large
  frames) and resized to ``feature_size`` as evaluation resizes to ``image_size``, then
  converted to grey (OpenCV's luminance weights). CK+: the apex frame, i.e. the last frame
  of the clip — for the ``paper`` protocol's neutral clips the last frame of their onset
  range. AFEW: the per-frame features averaged over the ``n`` evaluation frames (the
  segment centres of :func:`fsa.data.sample_indices`).
* **Features**: ``hog`` — scikit-image's ``hog`` (9 orientations, 8×8-pixel cells, 2×2-cell
  blocks, L2-Hys), 1764 values at 64 px; ``lbp`` — uniform LBP (P = 8, R = 1) histograms over
  a ``lbp_grid × lbp_grid`` grid of cells, 8 × 8 by default (8-pixel cells at 64 px, like
  HOG's), by :func:`fsa.models.lbp.lbp_histogram`, the descriptor of Table 7's LBP model;
  ``lbp-top`` — the EmotiW 2017 challenge baseline on AFEW, the paper's "Baseline" row (Tables 3
  and 9, 38.81 % on AFEW 7.0 Val): LBP-TOP (:func:`fsa.models.lbp.lbp_top`, u2 LBP on the XY, XT
  and YT planes over a 4 × 4 grid of blocks) of the clip's whole aligned face sequence, every
  frame of it, at ``feature_size``.
* **Classifier** of ``lbp-top``: an SVM on the χ² kernel exp(-γ χ²(x, y)) of the histograms
  (scikit-learn ``SVC``, ``chi2_kernel``), γ = 1 / the mean χ² distance between training clips,
  its class scores the softmax of its one-vs-rest decision values, C picked from
  :data:`SVM_C_GRID` on the validation split by the rule below.
* **Classifier** of the others: scikit-learn ``StandardScaler`` + multinomial ``LogisticRegression``
  (lbfgs), fit on the training split. The inverse regularisation ``C`` is picked from
  ``c_grid`` on the validation split by the engine's rule (highest validation accuracy,
  ties by the lower validation log-loss, then the smaller C) and the model fit on the
  training split with it is tested once — the deep models' selection protocol, with C in
  place of the epoch; the floor never trains on the validation clips. The fits run with one
  BLAS thread: on shared cores a multi-threaded BLAS spins (40 s instead of 0.3 s for one
  fit on two busy cores), and one thread fixes the order of every sum.

Records go to the results store beside the deep runs of the same data (experiment
``<dataset>-<index hash>``): one ``kind = "floor"`` record per fit, like a deep run (config,
its hash — which includes the data's index hash —, provenance, metrics, ``per_clip`` rows
with the engine's fields), and for CK+ a ``kind = "floor-folds"`` k-fold summary made by the run
layer's group runner, as the deep groups' are (``folds-<hash>.json``). This module fits one floor
(:func:`run_fold`); the run layer (:mod:`fsa.runs.floors`) runs the folds, reads a stored record
instead of computing it again, and gives ``fsa floors`` its command line.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import cv2
import numpy as np
import torch
from threadpoolctl import threadpool_limits

from . import results as store
from .config import Config, ConfigError
from .metrics import classification_metrics

FEATURES = ("hog", "lbp", "lbp-top")
FEATURE_NAMES = {"hog": "HOG", "lbp": "LBP", "lbp-top": "LBP-TOP"}
#: The floors a page computes by default: the EmotiW baseline is an AFEW result.
PAGE_FEATURES = {"ckplus": ("hog", "lbp"), "afew": ("hog", "lbp", "lbp-top")}
#: The LBP-TOP baseline's grid of blocks, and the SVM's C tried on the validation split.
TOP_GRID = 4
SVM_C_GRID = (1.0, 10.0, 100.0, 1000.0)
#: scikit-image ``hog`` settings: Dalal & Triggs' cells and blocks.
HOG_PARAMS = dict(orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), block_norm="L2-Hys")
#: Inverse regularisation strengths tried on the validation split.
C_GRID = (0.001, 0.01, 0.1, 1.0)
#: Records of floors: one fit, and the k-fold summary of CK+.
KIND, FOLDS_KIND = "floor", "floor-folds"


@dataclass(frozen=True)
class FloorConfig:
    """Everything a floor's numbers depend on; the data fields mean what they mean in :class:`~fsa.config.Config`.

    ``n`` is the number of frames averaged per clip: the ``n`` of the deep runs on AFEW, 1 on
    CK+ (the apex frame).
    """

    features: str = "hog"
    feature_size: int = 64
    lbp_grid: int = 8
    c_grid: tuple[float, ...] = C_GRID
    dataset: str = "ckplus"
    data: str = ""
    protocol: str = "paper"
    folds: int = 5
    fold: int = 0
    val_fraction: float = 0.15
    seed: int = 0
    n: int = 1

    @classmethod
    def make(cls, features: str = "hog", **fields: Any) -> "FloorConfig":
        """A validated floor of ``features``. LBP-TOP reads a clip's whole sequence (``n`` = 1) and
        takes its own block and C grids (:data:`TOP_GRID`, :data:`SVM_C_GRID`) unless ``fields`` give them."""
        if features == "lbp-top":
            fields = {"lbp_grid": TOP_GRID, "c_grid": SVM_C_GRID, **fields, "n": 1}
        return cls(features=features, **fields).validate()

    @classmethod
    def from_config(cls, cfg: Config, features: str = "hog", feature_size: int = 64, **over) -> "FloorConfig":
        """The floor of a deep run's data, protocol and splits."""
        return cls.make(features, feature_size=feature_size, dataset=cfg.dataset, data=str(cfg.data),
                        protocol=cfg.protocol, folds=cfg.folds, fold=cfg.fold, val_fraction=cfg.val_fraction,
                        seed=cfg.seed, n=1 if cfg.dataset == "ckplus" else cfg.n, **over)

    def validate(self) -> "FloorConfig":
        if self.features not in FEATURES:
            raise ConfigError(f"features={self.features!r}: expected one of {', '.join(FEATURES)}")
        if self.feature_size < 16:
            raise ConfigError(f"feature_size={self.feature_size!r}: expected >= 16 (HOG blocks are 16 px)")
        if self.lbp_grid < 1:
            raise ConfigError(f"lbp_grid={self.lbp_grid!r}: expected >= 1")
        if not self.c_grid or any(not c > 0 for c in self.c_grid):
            raise ConfigError(f"c_grid={self.c_grid!r}: expected one or more C > 0")
        if self.dataset not in ("ckplus", "afew"):
            raise ConfigError(f"dataset={self.dataset!r}: expected 'ckplus' or 'afew'")
        if self.dataset == "ckplus" and self.n != 1:
            raise ConfigError(f"n={self.n!r}: a CK+ floor uses one frame per clip (the apex)")
        if self.n < 1:
            raise ConfigError(f"n={self.n!r}: a clip needs at least one frame")
        if self.folds < 2 or not 0 <= self.fold < self.folds:
            raise ConfigError(f"fold={self.fold!r}/folds={self.folds!r}: need 0 <= fold < folds, folds >= 2")
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"val_fraction={self.val_fraction!r}: expected 0 < val_fraction < 1")
        return self

    @property
    def name(self) -> str:
        return "lbp-top-svm" if self.features == "lbp-top" else f"{self.features}-logreg"

    @property
    def label(self) -> str:
        if self.features == "lbp-top":
            return "LBP-TOP + χ² SVM (EmotiW baseline, floor)"
        return f"{FEATURE_NAMES[self.features]} + logistic regression (floor)"

    def to_dict(self) -> dict:
        return {**asdict(self), "c_grid": list(self.c_grid)}

    @classmethod
    def from_dict(cls, d: dict) -> "FloorConfig":
        """The config of a record's ``config`` field."""
        return cls(**{**d, "c_grid": tuple(d["c_grid"])})

    def _digest(self, drop: Sequence[str], **extra) -> str:
        from .data import index_hash

        d = {k: v for k, v in self.to_dict().items() if k not in ("data", *drop)}
        d.update(kind=KIND, data_index_hash=index_hash(self.data), **extra)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]

    def hash(self) -> str:
        """Short hash of the settings and the data's identity (its index hash), not of its path."""
        return self._digest(())

    def folds_hash(self, folds: Sequence[int]) -> str:
        """Hash of a k-fold summary: the settings without the fold, the folds run, the data."""
        return self._digest(("fold",), folds_run=list(folds))


# -- features ----------------------------------------------------------------------------
def frame_features(gray: np.ndarray, features: str, lbp_grid: int = 8) -> np.ndarray:
    """The descriptor of one grey ``uint8 [S, S]`` frame (see the module docstring)."""
    if features == "hog":
        from skimage.feature import hog

        return hog(gray, **HOG_PARAMS, feature_vector=True).astype(np.float64)
    from .models.lbp import lbp_histogram

    return lbp_histogram(gray, lbp_grid).astype(np.float64)


def clip_frames(clip, dataset: str, n: int, features: str = "hog") -> np.ndarray:
    """0-based frames of a prepared video that a floor describes: every frame of the clip (LBP-TOP),
    the apex (CK+) or the ``n`` evaluation frames (AFEW)."""
    from .data import sample_indices

    if features == "lbp-top":
        return np.arange(clip.start, clip.end)
    if dataset == "ckplus":
        return np.array([clip.end - 1])
    return clip.start + sample_indices(clip.length, n)


def clip_features(fcfg: FloorConfig, clips: Sequence, classes: Sequence[str]) -> tuple[np.ndarray, list[list[int]]]:
    """``[clips, D]`` features (per-frame descriptors averaged over the clip's frames) and the
    frames each clip used."""
    from torchvision.transforms.v2 import functional as TF

    from .data import ClipDataset

    reader = ClipDataset(fcfg.data, clips, classes, n=fcfg.n, image_size=fcfg.feature_size)
    size = [fcfg.feature_size] * 2
    feats, used = [], []
    for clip in clips:
        idx = clip_frames(clip, fcfg.dataset, fcfg.n, fcfg.features)
        x = torch.from_numpy(np.stack(reader.read_frames(clip.video_id, idx))).permute(0, 3, 1, 2)
        if list(x.shape[-2:]) != size:  # the resize of ClipDataset's evaluation path
            x = TF.resize(x, size, antialias=True)
        rgb = x.permute(0, 2, 3, 1).contiguous().numpy()
        grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in rgb]
        if fcfg.features == "lbp-top":
            from .models.lbp import lbp_top

            # a clip shorter than LBP-TOP's 3 frames is its frames repeated: a still sequence
            volume = np.stack(grey if len(grey) >= 3 else [grey[i % len(grey)] for i in range(3)])
            feats.append(lbp_top(volume, fcfg.lbp_grid).astype(np.float64))
        else:
            feats.append(np.mean([frame_features(g, fcfg.features, fcfg.lbp_grid) for g in grey], axis=0))
        used.append([int(k) for k in idx])
    return np.stack(feats), used


# -- the classifier ----------------------------------------------------------------------
def _fit(X: np.ndarray, y: np.ndarray, C: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000)).fit(X, y)


class Chi2SVM:
    """An SVM on the χ² kernel of histogram features, γ = 1 / the mean χ² distance of the training
    clips (the kernel's scale set by the data, not tuned). Its class probabilities are the softmax of
    its one-vs-rest decision values: a ranking of the classes, not calibrated probabilities."""

    def __init__(self, C: float):
        self.C = C

    def fit(self, X: np.ndarray, y: np.ndarray) -> "Chi2SVM":
        from sklearn.metrics.pairwise import additive_chi2_kernel, chi2_kernel
        from sklearn.svm import SVC

        distance = -additive_chi2_kernel(X)
        self.gamma = 1.0 / max(float(distance[np.triu_indices(len(X), 1)].mean()), 1e-12)
        self.X = X
        self.svc = SVC(C=self.C, kernel="precomputed", decision_function_shape="ovr")
        self.svc.fit(chi2_kernel(X, gamma=self.gamma), y)
        self.classes_ = self.svc.classes_
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        from scipy.special import softmax
        from sklearn.metrics.pairwise import chi2_kernel

        scores = self.svc.decision_function(chi2_kernel(X, self.X, gamma=self.gamma))
        if scores.ndim == 1:  # two classes: one decision value, for the second class
            scores = np.stack([-scores, scores], axis=1)
        return softmax(scores, axis=1)


def class_probs(model, X: np.ndarray, k: int) -> np.ndarray:
    """``[clips, k]`` probabilities over all ``k`` classes (0 for a class absent from training)."""
    probs = np.zeros((len(X), k))
    probs[:, model.classes_] = model.predict_proba(X)
    return probs


def select_and_fit(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
                   k: int, c_grid: Sequence[float], svm: bool = False) -> tuple[object, float, list[dict]]:
    """Fit one model per C on the training split (the χ² SVM with ``svm``, else logistic
    regression); keep the best on validation (see the module docstring)."""
    from sklearn.metrics import log_loss

    scores = []
    for C in sorted(c_grid):
        model = Chi2SVM(C).fit(X_train, y_train) if svm else _fit(X_train, y_train, C)
        probs = class_probs(model, X_val, k)
        scores.append({"C": float(C), "val_accuracy": float(np.mean(probs.argmax(1) == y_val)),
                       "val_loss": float(log_loss(y_val, probs, labels=np.arange(k))), "model": model})
    best = max(scores, key=lambda s: (s["val_accuracy"], -s["val_loss"]))  # max keeps the first (smaller C)
    return best["model"], best["C"], [{k_: v for k_, v in s.items() if k_ != "model"} for s in scores]


# -- runs --------------------------------------------------------------------------------
def default_experiment(fcfg: FloorConfig) -> str:
    """``<dataset>-<index hash>``: the store folder of the deep runs on the same data."""
    from .data import index_hash

    return f"{fcfg.dataset}-{index_hash(fcfg.data)}"


class Features:
    """A dataset's clips, classes and floor features, computed once for all folds."""

    def __init__(self, fcfg: FloorConfig):
        from .data import dataset_clips, index_hash
        from .truth import set_conditions_name

        self.clips, self.classes = dataset_clips(fcfg)
        self.index_hash = index_hash(fcfg.data)
        self.conditions = set_conditions_name(fcfg.data)
        t0 = time.perf_counter()
        self.X, self.frames = clip_features(fcfg, self.clips, self.classes)
        self.features_s = time.perf_counter() - t0
        self.y = np.array([self.classes.index(c.label) for c in self.clips])


def run_fold(fcfg: FloorConfig, experiment: str | None = None, results_root: str | os.PathLike | None = None,
             features: Features | None = None) -> dict:
    """Fit and test one floor (one CK+ fold, or AFEW Train → Val) and record it."""
    from .data import split_clips

    fcfg = fcfg.validate()
    wall0, started = time.perf_counter(), store.utc_now()
    feats = features or Features(fcfg)
    experiment = experiment or default_experiment(fcfg)
    train, val, test = split_clips(feats.clips, fcfg.protocol, fcfg.folds, fcfg.fold, fcfg.val_fraction, fcfg.seed)
    k = len(feats.classes)
    t0 = time.perf_counter()
    with threadpool_limits(1):
        model, C, c_scores = select_and_fit(feats.X[train], feats.y[train], feats.X[val], feats.y[val], k,
                                            fcfg.c_grid, svm=fcfg.features == "lbp-top")
        probs = {name: class_probs(model, feats.X[ids], k) for name, ids in (("val", val), ("test", test))}
    fit_s = time.perf_counter() - t0
    per_clip = [{
        "index": j, "video_id": feats.clips[i].video_id, "clip_id": feats.clips[i].clip_id,
        "label": feats.classes[feats.y[i]], "pred": feats.classes[int(p.argmax())],
        "probs": [round(float(v), 6) for v in p], "attention": None, "frame_indices": feats.frames[i],
    } for j, (i, p) in enumerate(zip(test, probs["test"]))]
    record = {
        "kind": KIND,
        "experiment": experiment,
        "model": fcfg.name,
        "label": fcfg.label,
        "dataset": fcfg.dataset,
        "protocol": fcfg.protocol,
        "fold": fcfg.fold if fcfg.dataset == "ckplus" else None,
        "test_split": f"fold {fcfg.fold} of {fcfg.folds}" if fcfg.dataset == "ckplus" else "AFEW Val",
        "config": fcfg.to_dict(),
        "config_hash": fcfg.hash(),
        **store.provenance("cpu"),
        "seed": fcfg.seed,
        "started_at": started,
        "finished_at": store.utc_now(),
        "timings": {"features_s": feats.features_s, "fit_s": fit_s, "wall_s": time.perf_counter() - wall0},
        "n_clips": {"train": len(train), "val": len(val), "test": len(test)},
        "data_index_hash": feats.index_hash,
        "data_conditions": feats.conditions,
        "selected_C": C,
        "selection": "C of the highest validation accuracy, ties by lower validation log-loss, then smaller C",
        "c_scores": c_scores,
        "val_metrics": classification_metrics(feats.y[val], probs["val"].argmax(1), feats.classes),
        "metrics": classification_metrics(feats.y[test], probs["test"].argmax(1), feats.classes),
        "per_clip": per_clip,
    }
    store.record(experiment, record, results_root)
    return record
