"""Train one configuration and SIGKILL the process right after the checkpoints of a given number
of completed epochs are on disk, exactly like a machine that dies mid-run (the resume test's
first half; ``fsa train --resume`` is the second)::

    python tests/train_killed.py CONFIG.json EXPERIMENT RESULTS --kill-after-epoch K [--track-test]

``CONFIG.json`` holds :meth:`fsa.config.Config.to_dict` of the configuration.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
from pathlib import Path
from typing import Callable

from fsa.config import Config
from fsa.engine import train


def kill_after(epochs: int) -> Callable[[int], None]:
    """An ``on_epoch_end`` callback of :func:`fsa.engine.train` that kills this process after ``epochs``."""
    def on_epoch_end(completed: int) -> None:
        if completed == epochs:
            os.kill(os.getpid(), signal.SIGKILL)

    return on_epoch_end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("experiment")
    parser.add_argument("results", type=Path)
    parser.add_argument("--kill-after-epoch", type=int, required=True)
    parser.add_argument("--track-test", action="store_true")
    args = parser.parse_args()
    cfg = Config.from_dict(json.loads(args.config.read_text()))
    train(cfg, args.experiment, args.results, track_test=args.track_test, progress=False,
          on_epoch_end=kill_after(args.kill_after_epoch))


if __name__ == "__main__":
    main()
