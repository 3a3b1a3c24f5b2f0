"""Run ``python -m data_prep.prepare`` and SIGKILL the process right after a given number of
videos of the run are prepared, exactly like a machine that dies mid-run (the resume test's first
half; a plain rerun is the second)::

    python tests/prepare_killed.py K PREPARE-ARGUMENTS...

The count is taken where the run counts its prepared videos, on their progress bar, so the
prepare module carries no fault-injection hook; its pool workers are the caller's to end.
"""
from __future__ import annotations

import os
import signal
import sys

from tqdm import tqdm

from data_prep import prepare


def killing_bar(videos: int) -> type[tqdm]:
    """A ``tqdm`` whose ``videos``-th update kills this process (updates count when disabled too)."""
    class KillingBar(tqdm):
        done = 0

        def update(self, n: int = 1):
            KillingBar.done += n
            if KillingBar.done >= videos:
                os.kill(os.getpid(), signal.SIGKILL)
            return super().update(n)

    return KillingBar


if __name__ == "__main__":
    prepare.tqdm = killing_bar(int(sys.argv[1]))
    sys.exit(prepare.main(sys.argv[2:]))
