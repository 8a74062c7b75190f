"""``LoopState``: everything about the progress of training that a resumed run needs.

One object holds the position (epochs done, the step within the epoch in progress, the number
of updates), the plan (epochs, batch size), the history of epoch logs, the states of the random
generators (the shuffling generator, its state at the start of the epoch in progress, descend's
default generator, the generators of the model's layers such as dropout), the running training
metrics, the callbacks' states and whether the run finished. ``state_dict()`` is all a
checkpoint stores about the loop, and ``load_state_dict()`` all that resuming reads.

The keys of ``state_dict()`` are those of the checkpoints of earlier versions (``epochs_done``,
``step_in_epoch``, ``global_step``, ``epochs``, ``batch_size``, ``finished``, ``history``,
``rng``, ``train_metrics``, ``callbacks``), so their checkpoints still resume.

Resuming in the middle of an epoch: the shuffling generator is set back to its state at the
start of that epoch, the epoch's permutation is drawn again, the ``step_in_epoch`` batches
already done are skipped, and the running metrics continue from their saved sums, so the
resumed run is bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from .errors import CheckpointError, TrainingError

__all__ = ["LoopState", "callback_keys", "module_generators"]


def module_generators(model: Any) -> dict[str, np.random.Generator]:
    """Every numpy Generator held by a module of ``model`` (e.g. Dropout's ``rng``), by
    ``<module name>.<attribute>``."""
    found: dict[str, np.random.Generator] = {}
    named = model.named_modules() if hasattr(model, "named_modules") else [("", model)]
    for name, module in named:
        for attr, value in vars(module).items():
            if isinstance(value, np.random.Generator):
                found[f"{name}.{attr}" if name else attr] = value
    return found


def callback_keys(callbacks: Iterable[Any]) -> list[tuple[str, Any]]:
    """``("<class name>.<n>", callback)`` pairs: the n-th callback of its class, 1-based."""
    counts: dict[str, int] = {}
    keys = []
    for cb in callbacks:
        name = type(cb).__name__
        counts[name] = counts.get(name, 0) + 1
        keys.append((f"{name}.{counts[name]}", cb))
    return keys


def _copy_state(generator: np.random.Generator) -> dict[str, Any]:
    return copy.deepcopy(generator.bit_generator.state)


class LoopState:
    """The training loop's state (see the module's docstring).

    Args:
        rng: the generator that shuffles the training set.
        metrics: the running training metrics (a :class:`~descend.train.metrics.MetricList`).
        model: the model whose layers' generators are saved and restored.
        metric_state: ``metrics -> state`` of the running metrics over all processes (the
            strategy's :meth:`~descend.train.strategy.Strategy.metric_state`).
        load_metric_state: ``(metrics, state) -> None``, the inverse.

    Attributes:
        epochs_done: completed epochs.
        epoch: the 1-based epoch in progress (or the last one).
        step: batches done in the epoch in progress (0 at an epoch boundary).
        global_step: optimizer updates done.
        epochs, batch_size: of the current (or last) ``fit``.
        steps_per_epoch: batches per epoch of the current ``fit`` (after ``limit_batches``).
        history: one dict of logs per completed epoch.
        finished: the last ``fit`` ran to its end (all epochs, or stopped by a callback).
        has_dev: the current ``fit`` has a dev set.
        callbacks: the callbacks whose states are saved (the trainer sets them).
    """

    def __init__(
        self, rng: np.random.Generator, metrics: Any, model: Any = None,
        metric_state: Callable[[Any], dict[str, Any]] | None = None,
        load_metric_state: Callable[[Any, Mapping[str, Any]], None] | None = None,
    ) -> None:
        self.rng = rng
        self.metrics = metrics
        self.model = model
        self.metric_state = metric_state or (lambda metrics: metrics.state_dict())
        self.load_metric_state = load_metric_state or (lambda metrics, state: metrics.load_state_dict(dict(state)))
        self.epochs_done = 0
        self.epoch = 0
        self.step = 0
        self.global_step = 0
        self.epochs: int | None = None
        self.batch_size: int | None = None
        self.steps_per_epoch: int | None = None
        self.history: list[dict[str, Any]] = []
        self.finished = False
        self.has_dev = False
        self.callbacks: list[Any] = []
        self.epoch_start_rng: dict[str, Any] | None = None
        self._position: dict[str, Any] | None = None  # a restored mid-epoch position
        self._callback_states: dict[str, Any] = {}

    # ------------------------------------------------------------------ the loop's events
    def begin_fit(self, epochs: int, batch_size: int, steps_per_epoch: int, has_dev: bool) -> None:
        """Start (or continue) training towards ``epochs`` epochs in total."""
        position = self._position
        if position is not None and position["step"] and position["batch_size"] != batch_size:
            raise TrainingError(
                f"the checkpoint was written mid-epoch with batch_size {position['batch_size']}; resume it "
                f"with the same batch size (got {batch_size})"
            )
        self.epochs = epochs
        self.batch_size = batch_size
        self.steps_per_epoch = steps_per_epoch
        self.has_dev = has_dev
        self.finished = False

    def restore_callbacks(self, callbacks: Iterable[Any], consume: bool = False) -> None:
        """Give restored states to ``callbacks`` (they become the callbacks saved from now on);
        ``consume``: forget the restored states afterwards (``fit`` does, so that a later
        ``fit`` does not set its callbacks back)."""
        self.callbacks = list(callbacks)
        for key, cb in callback_keys(self.callbacks):
            if key in self._callback_states:
                cb.load_state_dict(self._callback_states[key])
        if consume:
            self._callback_states = {}

    def begin_epoch(self, epoch: int) -> int:
        """Start epoch ``epoch`` (1-based); return the number of its batches already done (a
        restored mid-epoch position), which the loop skips."""
        self.epoch = epoch
        position, self._position = self._position, None
        self.metrics.reset()
        skip = 0
        if position is not None and position["step"]:
            skip = int(position["step"])
            self.rng.bit_generator.state = position["epoch_rng"]
            self.load_metric_state(self.metrics, position["metrics"] or {})
        self.epoch_start_rng = _copy_state(self.rng)
        self.step = skip
        return skip

    def end_epoch(self, logs: dict[str, Any]) -> None:
        """Record a completed epoch's logs."""
        self.history.append(logs)
        self.epochs_done = self.epoch
        self.step = 0

    # ------------------------------------------------------------------ saving / restoring
    def _rng_state(self) -> dict[str, Any]:
        from .. import random as ds_random

        modules = module_generators(self.model) if self.model is not None else {}
        return {
            "shuffle": _copy_state(self.rng),
            "epoch_start": copy.deepcopy(self.epoch_start_rng),
            "default": _copy_state(ds_random.default_rng()),
            "modules": {k: _copy_state(g) for k, g in modules.items()},
        }

    def state_dict(self) -> dict[str, Any]:
        """The loop's state (the key names of a checkpoint, see the module's docstring). In the
        middle of an epoch it includes the running metrics over all processes."""
        mid_epoch = self.step > 0
        return {
            "epochs_done": self.epochs_done,
            "step_in_epoch": self.step,
            "global_step": self.global_step,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "finished": self.finished,
            "history": [dict(row) for row in self.history],
            "rng": self._rng_state(),
            "train_metrics": self.metric_state(self.metrics) if mid_epoch else None,
            "callbacks": {key: cb.state_dict() for key, cb in callback_keys(self.callbacks)},
        }

    def _restore_generators(self, rng: Mapping[str, Any]) -> None:
        from .. import random as ds_random

        self.rng.bit_generator.state = rng["shuffle"]
        if rng.get("default") is not None:
            ds_random.default_rng().bit_generator.state = rng["default"]
        generators = module_generators(self.model) if self.model is not None else {}
        for key, value in (rng.get("modules") or {}).items():
            if key in generators:
                generators[key].bit_generator.state = value

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` (or an earlier version's checkpoint).

        Raises:
            CheckpointError: a field is missing or invalid.
        """
        try:
            self._restore_generators(state["rng"])
            history = [dict(row) for row in state["history"]]
            epochs_done, global_step = int(state["epochs_done"]), int(state["global_step"])
            step = int(state.get("step_in_epoch") or 0)
        except (ValueError, TypeError, KeyError) as error:
            raise CheckpointError(f"the checkpoint's training state is invalid: {error!r}") from None
        if step and not state["rng"].get("epoch_start"):
            raise CheckpointError("the checkpoint was written mid-epoch but lacks that epoch's generator state")
        self.history = history
        self.epochs_done = epochs_done
        self.epoch = epochs_done
        self.global_step = global_step
        self.step = 0
        self.epochs = state.get("epochs")
        self.batch_size = state.get("batch_size")
        self.finished = bool(state.get("finished"))
        self.epoch_start_rng = copy.deepcopy(state["rng"].get("epoch_start"))
        self._position = {
            "step": step,
            "batch_size": state.get("batch_size"),
            "epoch_rng": state["rng"].get("epoch_start"),
            "metrics": state.get("train_metrics") or {},
        }
        self._callback_states = dict(state.get("callbacks") or {})
        self.restore_callbacks(self.callbacks)

    @property
    def resume_step(self) -> int:
        """Batches of epoch ``epochs_done + 1`` done before the checkpoint that was restored (0:
        it was written at an epoch's end, or nothing was restored)."""
        return int(self._position["step"]) if self._position is not None else 0
