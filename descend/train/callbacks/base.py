"""The callback protocol: code the trainer runs at fixed points of training.

A callback subclasses :class:`Callback` and overrides any of these hooks (``trainer`` is the
:class:`~descend.train.Trainer`; callbacks never import its module, they use the attributes
listed in :class:`TrainerLike`):

* ``on_train_begin(trainer)`` / ``on_train_end(trainer, logs)``: ``on_train_end`` runs however
  training ends (finished, stopped early, non-finite loss, Ctrl-C); ``trainer.error`` is the
  exception that ended it, or None;
* ``on_epoch_begin(trainer, epoch)`` / ``on_epoch_end(trainer, epoch, logs)``: ``epoch`` is
  1-based; ``logs`` is the epoch's row of the history (``loss``, ``dev:accuracy``, ``lr``, ...);
* ``on_before_update(trainer, loss, x, y)``: the batch's mean loss (a float) after the forward
  pass, before backward and the update; raising here stops training with the weights unchanged;
* ``on_batch_end(trainer, step, logs)``: ``step`` is 1-based within the epoch; ``logs`` has the
  batch's ``loss``, ``outputs`` and the ``lr`` its update used;
* ``on_evaluate_end(trainer, name, logs, seconds)``: after :meth:`Trainer.evaluate` (``logs``
  keyed ``<name>:<metric>``);
* ``on_note(trainer, text)``: a note for the user (:meth:`Trainer.note`).

Set ``trainer.stop_training = True`` to end training after the current epoch. A callback with
state that matters for resuming implements ``state_dict()``/``load_state_dict()``; the trainer
stores it in every checkpoint (keyed ``<class name>.<n>``).

Class attributes the trainer and the strategy read:

* ``order``: callbacks run in increasing ``order``, in the given order among equals: the
  console and log files first (-20, -10), then monitors such as early stopping (0), then the
  checkpoints (90, 100), which therefore save the others' updated states;
* ``root_only``: with several processes only rank 0 runs it (printing, logging);
* ``changes_lr``: it may change the learning rate (so the epoch line shows ``lr=``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

__all__ = ["Callback", "TrainerLike", "lr_can_change", "shown_logs"]


class TrainerLike(Protocol):
    """What callbacks use of the trainer (see :class:`descend.train.Trainer`)."""

    model: Any
    optimizer: Any
    state: Any  # a LoopState
    strategy: Any
    stop_training: bool
    error: BaseException | None
    last_checkpoint: Any

    @property
    def history(self) -> list[dict[str, Any]]: ...

    @property
    def active_callbacks(self) -> Sequence[Any]: ...

    def note(self, text: str) -> None: ...

    def current_lr(self) -> float: ...

    def save_checkpoint(
        self, path: str | Path, *, finished: bool = False, metadata: Mapping[str, Any] | None = None,
        resumable: bool = True,
    ) -> Path: ...

    def describe_last_checkpoint(self) -> str: ...


class Callback:
    """Base class; every hook does nothing."""

    order: int = 0
    root_only: bool = False
    changes_lr: bool = False

    def on_train_begin(self, trainer: TrainerLike) -> None:
        pass

    def on_epoch_begin(self, trainer: TrainerLike, epoch: int) -> None:
        pass

    def on_before_update(self, trainer: TrainerLike, loss: float, x: Any, y: Any) -> None:
        pass

    def on_batch_end(self, trainer: TrainerLike, step: int, logs: Mapping[str, Any]) -> None:
        pass

    def on_epoch_end(self, trainer: TrainerLike, epoch: int, logs: Mapping[str, Any]) -> None:
        pass

    def on_train_end(self, trainer: TrainerLike, logs: Mapping[str, Any]) -> None:
        pass

    def on_evaluate_end(self, trainer: TrainerLike, name: str, logs: Mapping[str, float], seconds: float) -> None:
        pass

    def on_note(self, trainer: TrainerLike, text: str) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        pass


def lr_can_change(trainer: TrainerLike) -> bool:
    """Whether the learning rate can change during training: a schedule in the optimizer, or a
    callback that changes it (``changes_lr``)."""
    optimizer = trainer.optimizer
    groups = getattr(optimizer, "param_groups", None) or []
    if any(callable(group.get("lr")) for group in groups):
        return True
    return any(getattr(cb, "changes_lr", False) for cb in trainer.active_callbacks)


def shown_logs(logs: Mapping[str, Any], show_lr: bool) -> dict[str, Any]:
    """The part of an epoch's logs that the epoch line shows: all but ``epoch`` and ``time``,
    and ``lr`` only when ``show_lr``."""
    return {k: v for k, v in logs.items() if k not in ("epoch", "time") and (k != "lr" or show_lr)}
