"""Exceptions of the trainer and its checkpoints.

Every failure :mod:`descend.train` reports on purpose is a :class:`TrainingError`, so the
command line can catch one class and print its message (which says what went wrong and what
to do about it) instead of a traceback. Those that end a run which can be continued carry
``checkpoint``: the last good checkpoint on disk (or None), for a ``--resume`` hint.
"""

from __future__ import annotations

__all__ = ["TrainingError", "CheckpointError", "NonFiniteLossError", "LossDivergedError", "RunWriteError"]


class TrainingError(Exception):
    """Base class of the errors :mod:`descend.train` raises on purpose."""


class CheckpointError(TrainingError):
    """A checkpoint cannot be read or does not fit: truncated, not a safetensors file, written
    by another program, of another format version, or for a different model/optimizer."""


class NonFiniteLossError(TrainingError, FloatingPointError):
    """Training stopped because the loss (or the weights, or the dev loss) became NaN or
    infinite. Nothing non-finite was written: the last good checkpoint is kept.

    Attributes:
        epoch: the 1-based epoch in which it happened.
        step: the 1-based step (minibatch) within that epoch (0: at the epoch's end).
        global_step: the number of optimizer updates done before that step.
        value: the offending value (nan, inf, -inf; for :class:`LossDivergedError` the
            running loss).
        checkpoint: the path of the last good checkpoint on disk, or None.
    """

    def __init__(
        self, message: str, *, epoch: int, step: int, global_step: int, value: float,
        checkpoint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.step = step
        self.global_step = global_step
        self.value = value
        self.checkpoint = checkpoint


class LossDivergedError(NonFiniteLossError):
    """Training stopped because the loss diverged: still finite, but orders of magnitude above
    its best (see :class:`descend.train.callbacks.NonFiniteGuard`). A subclass of
    :class:`NonFiniteLossError`, so whatever handles one handles both."""


class RunWriteError(TrainingError):
    """A file of the run (a checkpoint, metrics.csv, logs.txt, ...) could not be written, e.g.
    the disk is full. The message names the file and says that its previous version, and the
    last checkpoint, are intact.

    Attributes:
        path: the file that could not be written.
        errno: the operating system's error number (``errno.ENOSPC`` for a full disk), or None.
        checkpoint: the path of the last good checkpoint on disk, or None.
    """

    def __init__(self, message: str, *, path: str, errno: int | None = None, checkpoint: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.errno = errno
        self.checkpoint = checkpoint
