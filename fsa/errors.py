"""The user-facing errors: bad input that the ``fsa`` commands and the notebooks report in one line."""
from __future__ import annotations


def expected_errors() -> tuple[type[BaseException], ...]:
    """The errors of bad input that every entry point (CLI, torchrun, notebooks) reports in one line,
    not a traceback; imported when asked, so that importing this module stays cheap."""
    from data_prep.atomic import DiskFullError
    from data_prep.faces import NoFaceError
    from data_prep.video import VideoReadError

    from .checkpoint import CheckpointError
    from .data import DataError
    from .engine import TrainingDiverged
    from .models.pretrained import PretrainedError
    from .results import NotStored
    from .safeguards import RunConflict

    return (CheckpointError, DataError, DiskFullError, NotStored, RunConflict, TrainingDiverged, NoFaceError,
            PretrainedError, VideoReadError)
