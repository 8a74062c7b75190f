"""Checkpoints: the rolling one a run resumes from, and the best epoch's.

Both write through :meth:`Trainer.save_checkpoint`, which guarantees that a checkpoint on disk
is a good one:

* it is written atomically (temporary file, fsync, rename): a kill or a full disk leaves the
  previous checkpoint intact, and a full disk is a :class:`~descend.train.RunWriteError`
  naming the file;
* it is never written with non-finite weights or a non-finite loss in the epoch's logs:
  training stops with :class:`~descend.train.NonFiniteLossError` instead, naming the last good
  checkpoint (which is kept);
* an interrupt (Ctrl-C, SIGTERM) during the write is deferred until the write is done.

They run after every other callback (``order`` 90 and 100), so the states they save include
what the other callbacks did at the same epoch's end.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from .base import Callback, TrainerLike
from .monitors import MonitorCallback

__all__ = ["Checkpoint", "SaveBest"]


def _metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if metadata is None:
        return None
    import json

    try:  # refuse what a checkpoint cannot store now, not at the end of the first epoch
        json.dumps(metadata, allow_nan=True)
    except (TypeError, ValueError) as error:
        raise ValueError(f"checkpoint metadata must be JSON-able: {error}") from None
    return dict(metadata)


class Checkpoint(Callback):
    """The rolling checkpoint: at every epoch end, every ``every`` updates (mid-epoch), and
    when training finishes (marked ``finished``).

    Args:
        path: the checkpoint file (a run directory's ``checkpoint.safetensors``).
        every: also write every this many updates (a resumed run restarts mid-epoch exactly).
        metadata: a JSON-able dict stored in the file (``state["config"]``), e.g. the run's
            configuration, so that the model can be rebuilt from the file alone.
    """

    order = 100

    def __init__(self, path: str | os.PathLike[str], every: int | None = None, metadata: Mapping[str, Any] | None = None) -> None:
        if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise ValueError(f"Checkpoint: every must be a positive integer, got {every!r}")
        self.path = Path(path)
        self.every = every
        self.metadata = _metadata(metadata)

    def on_batch_end(self, trainer: TrainerLike, step: int, logs: Mapping[str, Any]) -> None:
        state = trainer.state
        if self.every is None or state.global_step % self.every:
            return
        if step < (state.steps_per_epoch or 0):  # the epoch's end writes one anyway
            trainer.save_checkpoint(self.path, metadata=self.metadata)

    def on_epoch_end(self, trainer: TrainerLike, epoch: int, logs: Mapping[str, Any]) -> None:
        trainer.save_checkpoint(self.path, metadata=self.metadata)

    def on_train_end(self, trainer: TrainerLike, logs: Mapping[str, Any]) -> None:
        if trainer.state.finished and trainer.error is None and trainer.history:
            trainer.save_checkpoint(self.path, finished=True, metadata=self.metadata)


class SaveBest(MonitorCallback):
    """A complete checkpoint of the best epoch so far (by ``monitor``) at ``path`` (a run
    directory's ``best.safetensors``; ``descend evaluate`` reads it like any checkpoint).

    ``metadata`` defaults to that of the run's :class:`Checkpoint` callback (if any), so the
    best checkpoint describes its model as the rolling one does.
    """

    order = 90

    def __init__(
        self, path: str | os.PathLike[str], monitor: str = "dev:accuracy", mode: str = "auto",
        min_delta: float = 0.0, metadata: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        self.path = Path(path)
        self.metadata = _metadata(metadata)

    def on_train_begin(self, trainer: TrainerLike) -> None:
        super().on_train_begin(trainer)
        if self.metadata is None:
            rolling = [cb for cb in trainer.active_callbacks if isinstance(cb, Checkpoint)]
            self.metadata = rolling[0].metadata if rolling else None

    def on_epoch_end(self, trainer: TrainerLike, epoch: int, logs: Mapping[str, Any]) -> None:
        value = self._value(logs)
        if not self._improved(value):
            return
        trainer.save_checkpoint(self.path, metadata=self.metadata, resumable=False)
        self.best, self.best_epoch = value, epoch
