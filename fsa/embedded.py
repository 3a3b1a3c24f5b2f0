"""The embedded synthetic datasets, generated and prepared on first use.

The synthetic raw videos are written in the real CK+ / AFEW on-disk formats (and the stills in
FER2013's and SFEW's) and go through the same dlib preparation as the real datasets
(:mod:`data_prep`), so everything that runs on them runs unchanged on a real preparation.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sys
from pathlib import Path

from data_prep.prepare import NO_FACE
from data_prep.video import DataError

from .config import ConfigError
from .results import REPO_ROOT

#: Environment variable the notebooks read when a size is left at ``None``: the size of the
#: embedded dataset (``default``; ``smoke`` in the nbval tests).
DATA_SIZE_ENV = "FSA_DATA_SIZE"
#: Where the embedded synthetic dataset is generated and prepared on first use.
DATA_ROOT_ENV = "FSA_DATA"


def embedded_root() -> Path:
    """Where the embedded datasets are made: ``$FSA_DATA``, else ``data/embedded`` in the checkout."""
    return Path(os.environ.get(DATA_ROOT_ENV, REPO_ROOT / "data" / "embedded"))


def embedded_dataset(layout: str, size: str | None = None, jobs: int = 2, conditions: str | None = None) -> Path:
    """The embedded dataset of ``layout``, made on first use: for ``ckplus`` | ``afew`` the
    prepared root, for the still-image layouts ``fer2013`` | ``sfew`` the set as written.

    The synthetic raw videos are written in the real CK+ / AFEW on-disk formats and go
    through the same dlib preparation as the real datasets. A killed preparation resumes. A set
    that another generator made is set aside and made afresh (:func:`set_aside_stale`).
    ``conditions``: a still set made under other conditions than its layout's default
    (``afew7``: the wild AFEW's, :func:`data_prep.synth.stills.still_conditions`), in a folder of
    its own (``fer2013-default-afew7``); the video layouts are made under their defaults only.
    """
    from data_prep import prepare, synth

    size = size or os.environ.get(DATA_SIZE_ENV) or "default"
    if layout not in synth.LAYOUTS:
        raise ConfigError(f"layout={layout!r}: expected one of {', '.join(synth.LAYOUTS)}")
    if size not in synth.SIZE_NAMES:
        raise ConfigError(f"embedded dataset size={size!r}: expected one of {', '.join(synth.SIZE_NAMES)}")
    cond = _conditions(layout, conditions)
    base = embedded_root() / "-".join([layout, size] + ([cond.name] if cond is not None else []))
    raw, prepared = base / "raw", base / "prepared"
    with _exclusive(base.with_name(f"{base.name}.lock")):
        set_aside_stale(base)
        if not (raw / "synth_meta.csv").is_file():
            synth.generate(layout, raw, size=size, seed=0, workers=jobs, cond=cond)
        if layout not in synth.VIDEO_LAYOUTS:
            return raw
        if not (prepared / "index.csv").is_file():
            prepare.prepare(layout, raw, prepared, jobs=jobs, progress=False)
    _check_prepared(prepared)
    return prepared


def _conditions(layout: str, name: str | None):
    """The conditions ``name`` of a still set, or ``None`` for the layout's default (its own folder)."""
    from data_prep import synth
    from data_prep.synth.conditions import conditions, default_conditions

    if name is None or name == default_conditions(layout).name:
        return None
    if layout not in synth.STILL_LAYOUTS:
        raise ConfigError(f"conditions={name!r}: the embedded {layout} set is made under "
                          f"{default_conditions(layout).name} only")
    try:
        return conditions(name)
    except ValueError as e:
        raise ConfigError(str(e)) from None


@contextlib.contextmanager
def _exclusive(lock: Path):
    """One process at a time makes an embedded set: a second one (another notebook, a test run)
    waits for the first to finish and then finds the set made, instead of writing beside it."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_prepared(prepared: Path) -> None:
    """Every generated video of an embedded set must decode and prepare: a failure there is a
    broken set (a deleted or truncated file), not a video to skip, so it is an error naming the
    report. One exception: a wild clip whose every frame hides the face (turned away, in the dark,
    off camera) is left out, as it would be from real AFEW; :func:`faceless_clips` counts them and
    the dataset page reports them."""
    report_path = prepared / "prep_report.json"
    if not report_path.is_file():
        return
    report = json.loads(report_path.read_text())
    failed = [f for f in report.get("failed") or [] if f.get("problem") != NO_FACE]
    if failed:
        first = failed[0]
        raise DataError(f"{report_path}: {len(failed)} of the embedded videos failed to prepare (e.g. "
                        f"{first.get('video_id')}: {first.get('reason')}); delete {prepared.parent} to make it again")


def faceless_clips(prepared: Path) -> list[str]:
    """The ids of the videos of a prepared set left out because no frame showed a face."""
    report_path = prepared / "prep_report.json"
    if not report_path.is_file():
        return []
    return [f["video_id"] for f in json.loads(report_path.read_text()).get("failed") or [] if f.get("problem") == NO_FACE]


def set_aside_stale(base: Path) -> Path | None:
    """Move the embedded set at ``base`` to ``<base>.stale-<old fingerprint>`` (replacing an older
    stale copy) when the generator fingerprint in its ``raw/README.txt`` is not the current one or
    is missing; returns where it went, or ``None`` when it is current (or there is nothing there).

    Why: runs are keyed by the prepared index's hash, which sees ids, labels and frame counts but
    not pixels, so a set left by an older generator would be reused and its runs named like runs
    on the current frames. The move is one rename, so ``base`` is either the old set or absent.
    """
    from data_prep import synth

    if not base.is_dir() or not any(base.iterdir()):
        return None
    old, current = synth.readme_fingerprint(base / "raw"), synth.generator_fingerprint()
    if old == current:
        return None
    stale = base.with_name(f"{base.name}.stale-{old or 'none'}")
    if stale.exists():
        shutil.rmtree(stale)
    os.replace(base, stale)
    print(f"{base}: made by generator {old or '(no fingerprint)'}, the current one is {current}: "
          f"moved to {stale.name}, made afresh", file=sys.stderr)
    return stale
