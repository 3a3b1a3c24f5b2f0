"""``python -m fsa.train``: the ``fsa train`` command as a module, for ``torchrun``.

    torchrun --nproc_per_node=K -m fsa.train --model ecnn-fsa --dataset ckplus --data DIR ...

takes exactly the options of ``fsa train``. Every process runs this; the engine joins the
process group torchrun describes (gloo on the CPU, nccl on GPUs), trains with
DistributedDataParallel, and only rank 0 prints, writes results and checkpoints.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .cli import EXIT_FAILURE, EXIT_USAGE, UsageError, add_train_arguments, fail, run_train
from .config import ConfigError
from .errors import expected_errors


def main(argv: Sequence[str] | None = None) -> int:
    parser = add_train_arguments(argparse.ArgumentParser(
        prog="python -m fsa.train", description="Train a model (same options as `fsa train`); torchrun-ready."))
    args = parser.parse_args(argv)
    try:
        return run_train(args)
    except (ConfigError, UsageError) as e:
        return fail(str(e), EXIT_USAGE)
    except expected_errors() as e:
        return fail(str(e), EXIT_FAILURE)


if __name__ == "__main__":
    sys.exit(main())
