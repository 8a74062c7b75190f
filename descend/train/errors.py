"""Exceptions of the trainer and its checkpoints.

Every failure :mod:`descend.train` reports on purpose is a :class:`TrainingError`, so the
command line can catch one class and print its message (which says what went wrong and what
to do about it) instead of a traceback.
"""

from __future__ import annotations

__all__ = ["TrainingError", "CheckpointError", "NonFiniteLossError"]


class TrainingError(Exception):
    """Base class of the errors :mod:`descend.train` raises on purpose."""


class CheckpointError(TrainingError):
    """A checkpoint cannot be read or does not fit: truncated, not a safetensors file, written
    by another program, of another format version, or for a different model/optimizer."""


class NonFiniteLossError(TrainingError, FloatingPointError):
    """Training stopped because the loss became NaN or infinite.

    Attributes:
        epoch: the 1-based epoch in which it happened.
        step: the 1-based step (minibatch) within that epoch.
        global_step: the number of optimizer updates done before that step.
        value: the loss value (nan, inf or -inf).
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
