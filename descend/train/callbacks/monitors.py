"""Callbacks that watch a metric of the epoch logs: early stopping and reduce-LR-on-plateau.

Both read ``monitor`` (e.g. ``"dev:accuracy"``) from each epoch's logs and count the epochs
without improvement (by more than ``min_delta``; ``mode="auto"`` maximises accuracies and
minimises everything else; a NaN is never an improvement).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

from .base import Callback, TrainerLike

__all__ = ["EarlyStopping", "ReduceLROnPlateau", "ScaledSchedule", "MonitorCallback"]


def _mode_for(monitor: str, mode: str) -> str:
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise ValueError(f"mode must be 'min', 'max' or 'auto', got {mode!r}")
    name = monitor.rpartition(":")[2]
    return "max" if name in ("accuracy", "acc") or name.endswith("accuracy") else "min"


class MonitorCallback(Callback):
    """Shared logic: watch ``monitor`` in the epoch logs, tell improvements.

    A monitor of the dev set (``dev:...``) when ``fit`` got no dev set is refused when
    training begins, before any epoch is spent.
    """

    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"monitor must be a metric name such as 'dev:accuracy', got {monitor!r}")
        if not (isinstance(min_delta, (int, float)) and min_delta >= 0):
            raise ValueError(f"min_delta must be a number >= 0, got {min_delta!r}")
        self.monitor = monitor
        self.mode = _mode_for(monitor, mode)
        self.min_delta = float(min_delta)
        self.best: float | None = None
        self.best_epoch: int | None = None

    def on_train_begin(self, trainer: TrainerLike) -> None:
        if self.monitor.startswith("dev:") and not trainer.state.has_dev:
            raise ValueError(
                f"{type(self).__name__} monitors {self.monitor!r}, but fit got no dev set; pass a dev set to "
                "fit, or monitor a training metric such as 'loss'"
            )

    def _value(self, logs: Mapping[str, Any]) -> float:
        if self.monitor not in logs:
            available = ", ".join(k for k in logs if k not in ("epoch", "time"))
            raise ValueError(
                f"{type(self).__name__}: the monitored metric {self.monitor!r} is not in the epoch logs; "
                f"available: {available}"
            )
        return float(logs[self.monitor])

    def _improved(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best is None:
            return True
        if self.mode == "max":
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best = state.get("best")
        self.best_epoch = state.get("best_epoch")


class EarlyStopping(MonitorCallback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs; keep the best weights.

    With ``restore_best_weights`` (default) the model gets the weights of the best epoch back
    when training ends, whatever ends it: patience exhausted, the last epoch, a non-finite loss
    or an interruption.

    Args:
        monitor: a key of the epoch logs, e.g. ``"dev:accuracy"`` (default) or ``"dev:loss"``.
        patience: epochs without improvement before stopping (>= 1).
        mode: ``"max"``, ``"min"`` or ``"auto"`` (max for accuracies, min otherwise).
        min_delta: the smallest change that counts as an improvement.
    """

    def __init__(
        self, monitor: str = "dev:accuracy", patience: int = 5, mode: str = "auto",
        min_delta: float = 0.0, restore_best_weights: bool = True,
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"EarlyStopping: patience must be an integer >= 1, got {patience!r}")
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.wait = 0
        self.best_weights: dict[str, np.ndarray] | None = None
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, trainer: TrainerLike, epoch: int, logs: Mapping[str, Any]) -> None:
        value = self._value(logs)
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = trainer.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            trainer.stop_training = True
            trainer.note(
                f"Early stopping after epoch {epoch}: {self.monitor} has not improved for "
                f"{self.patience} epoch(s); best {self.monitor}={self.best:.4f} at epoch {self.best_epoch}."
            )

    def on_train_end(self, trainer: TrainerLike, logs: Mapping[str, Any]) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            if self.best_epoch != trainer.state.epochs_done or trainer.error is not None:
                trainer.model.load_state_dict(self.best_weights)
                trainer.note(f"Restored the weights of epoch {self.best_epoch} ({self.monitor}={self.best:.4f}).")

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.update(wait=self.wait, stopped_epoch=self.stopped_epoch, best_weights=self.best_weights)
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.wait = int(state.get("wait", 0))
        self.stopped_epoch = state.get("stopped_epoch")
        weights = state.get("best_weights")
        self.best_weights = dict(weights) if weights is not None else None


class ScaledSchedule:
    """``factor * schedule(step)``: how :class:`ReduceLROnPlateau` lowers a scheduled lr."""

    def __init__(self, schedule: Callable[[int], float], factor: float) -> None:
        self.schedule = schedule
        self.factor = float(factor)

    def __call__(self, step: Any) -> Any:
        return self.schedule(step) * self.factor

    def __repr__(self) -> str:
        return f"{self.factor!r} * {self.schedule!r}"


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved for
    ``patience`` epochs (then wait ``cooldown`` epochs), never going below ``min_lr``.

    Works with a constant lr and with a schedule (which is then scaled as a whole), through
    the optimizer's public ``param_groups``. The accumulated scale is part of the checkpoint,
    so a resumed run continues with it.
    """

    changes_lr = True

    def __init__(
        self, monitor: str = "dev:loss", factor: float = 0.1, patience: int = 2, mode: str = "auto",
        min_delta: float = 0.0, cooldown: int = 0, min_lr: float = 0.0,
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        if not (isinstance(factor, (int, float)) and 0 < factor < 1):
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor!r}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"ReduceLROnPlateau: patience must be an integer >= 1, got {patience!r}")
        if isinstance(cooldown, bool) or not isinstance(cooldown, int) or cooldown < 0:
            raise ValueError(f"ReduceLROnPlateau: cooldown must be an integer >= 0, got {cooldown!r}")
        if not (isinstance(min_lr, (int, float)) and min_lr >= 0):
            raise ValueError(f"ReduceLROnPlateau: min_lr must be a number >= 0, got {min_lr!r}")
        self.factor = float(factor)
        self.patience = patience
        self.cooldown = cooldown
        self.min_lr = float(min_lr)
        self.wait = 0
        self.cooldown_left = 0
        self.scale = 1.0
        self._base: list[Any] | None = None

    def on_train_begin(self, trainer: TrainerLike) -> None:
        super().on_train_begin(trainer)
        base = []
        for i, group in enumerate(trainer.optimizer.param_groups):
            lr = group["lr"]
            if isinstance(lr, ScaledSchedule):
                lr = lr.schedule
            elif not callable(lr) and self._base is not None and i < len(self._base) and self._base[i] is not None:
                lr = self._base[i]  # restored from a checkpoint: the unscaled value
            base.append(lr)
        self._base = base
        self._apply(trainer)

    def _apply(self, trainer: TrainerLike) -> None:
        assert self._base is not None
        for group, base in zip(trainer.optimizer.param_groups, self._base):
            if callable(base):
                group["lr"] = base if self.scale == 1.0 else ScaledSchedule(base, self.scale)
            else:
                group["lr"] = base if self.scale == 1.0 else base * self.scale

    def on_epoch_end(self, trainer: TrainerLike, epoch: int, logs: Mapping[str, Any]) -> None:
        value = self._value(logs)
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            return
        if self.cooldown_left > 0:
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        current = trainer.optimizer.lr
        if current <= self.min_lr:
            return
        new_scale = self.scale * self.factor
        if self.min_lr > 0 and current * self.factor < self.min_lr:
            new_scale = self.scale * (self.min_lr / current)
        self.scale = new_scale
        self._apply(trainer)
        self.wait = 0
        self.cooldown_left = self.cooldown
        trainer.note(
            f"Reducing the learning rate after epoch {epoch}: {self.monitor} has not improved for "
            f"{self.patience} epoch(s); lr {current:.3g} -> {trainer.optimizer.lr:.3g}."
        )

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.update(wait=self.wait, cooldown_left=self.cooldown_left, scale=self.scale)
        state["base_lrs"] = None if self._base is None else [None if callable(b) else b for b in self._base]
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.wait = int(state.get("wait", 0))
        self.cooldown_left = int(state.get("cooldown_left", 0))
        self.scale = float(state.get("scale", 1.0))
        self._base = state.get("base_lrs")
