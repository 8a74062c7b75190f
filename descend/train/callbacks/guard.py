"""``NonFiniteGuard``: stop training when the loss becomes NaN or infinite, or diverges.

Checked on every batch, after the forward pass and before backward and the update, so the
weights in memory are still those of the last good update and nothing non-finite is written:

* **non-finite loss** (NaN, inf): :class:`~descend.train.NonFiniteLossError`. Its message
  tells the likely cause. Before any update has been made, or when the batch itself holds NaN
  or inf, the learning rate cannot be the cause: the message points at the data (e.g. a target
  of 1e30 overflows the float32 forward pass) and shows the batch's ranges. Otherwise the
  learning rate is probably too high.
* **divergence** (``divergence`` is not None): the loss can explode and stay finite (on MNIST
  with ``--learning_rate 1e6`` it jumps from 2.3 to 1e27 and then sits around 4e5, at chance
  accuracy). With the running loss ``r_t = s r_(t-1) + (1 - s) loss_t`` (``s`` =
  ``smoothing``, ``r_1 = loss_1``), training stops with
  :class:`~descend.train.LossDivergedError` (a ``NonFiniteLossError``) when

      r_t > divergence * min(r_1 .. r_t)   and   r_t > loss_1,

  i.e. the smoothed loss is orders of magnitude (default 100x) above its best *and* worse than
  the untrained model's. The second condition keeps a warm restart of a schedule, which can
  raise a tiny loss a hundredfold, from counting as divergence; the smoothing keeps single
  noisy batches from counting.

While it is active, NumPy's overflow/invalid warnings are silenced: the guard reports the
outcome once and clearly. Its running values are saved in checkpoints.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from ..errors import LossDivergedError, NonFiniteLossError
from .base import Callback, TrainerLike

__all__ = ["NonFiniteGuard"]


def _range(values: Any) -> str:
    array = np.asarray(values)
    if array.dtype.kind not in "fiub" or array.size == 0:
        return "(not numeric)" if array.size else "(empty)"
    array = array.astype(np.float64, copy=False)
    bad = int(np.count_nonzero(~np.isfinite(array)))
    finite = array[np.isfinite(array)]
    text = f"[{finite.min():.4g}, {finite.max():.4g}]" if finite.size else "(no finite value)"
    return text + (f" with {bad} NaN/inf" if bad else "")


HUGE = 1e18  # the square of a larger value overflows float32 (3.4e38)


def _data_is_suspect(x: Any, y: Any) -> bool:
    """Whether the batch holds NaN/inf, or values whose squares overflow float32."""
    for values in (x, y):
        array = np.asarray(values)
        if array.dtype.kind != "f" or array.size == 0:
            continue
        if not np.isfinite(array).all() or np.abs(array).max() > HUGE:
            return True
    return False


class NonFiniteGuard(Callback):
    """Stops training on a non-finite or diverging loss (see the module's docstring).

    Args:
        divergence: the factor by which the running loss must exceed its best (and the first
            loss) to count as diverged; None checks only for NaN/inf.
        smoothing: the running loss's decay ``s`` in (0, 1) (0.9: about the last 10 batches).
    """

    def __init__(self, divergence: float | None = 100.0, smoothing: float = 0.9) -> None:
        if divergence is not None and not (isinstance(divergence, (int, float)) and divergence > 1):
            raise ValueError(f"NonFiniteGuard: divergence must be a number > 1 or None, got {divergence!r}")
        if not (isinstance(smoothing, (int, float)) and 0 <= smoothing < 1):
            raise ValueError(f"NonFiniteGuard: smoothing must be in [0, 1), got {smoothing!r}")
        self.divergence = None if divergence is None else float(divergence)
        self.smoothing = float(smoothing)
        self.first: float | None = None
        self.running: float | None = None
        self.best: float | None = None
        self._errors: dict[str, str] | None = None

    def on_train_begin(self, trainer: TrainerLike) -> None:
        self._errors = np.seterr(over="ignore", invalid="ignore", divide="ignore")

    def on_train_end(self, trainer: TrainerLike, logs: Mapping[str, Any]) -> None:
        if self._errors is not None:
            np.seterr(**self._errors)
            self._errors = None

    def on_before_update(self, trainer: TrainerLike, loss: float, x: Any, y: Any) -> None:
        if not math.isfinite(loss):
            raise self._non_finite(trainer, loss, x, y)
        if self.divergence is None:
            return
        if self.running is None:
            self.first = self.running = self.best = loss
            return
        self.running = self.smoothing * self.running + (1.0 - self.smoothing) * loss
        self.best = min(self.best, self.running)
        if self.running > self.divergence * self.best and self.running > self.first:
            raise self._diverged(trainer)

    def _where(self, trainer: TrainerLike) -> str:
        state = trainer.state
        return f"epoch {state.epoch}, step {state.step} (update {state.global_step + 1})"

    def _non_finite(self, trainer: TrainerLike, loss: float, x: Any, y: Any) -> NonFiniteLossError:
        state = trainer.state
        kept = trainer.describe_last_checkpoint()
        head = f"non-finite loss ({loss}) at {self._where(trainer)}; training stopped before that update; {kept}."
        if state.global_step == 0 or _data_is_suspect(x, y):
            when = "before any update was made" if state.global_step == 0 else "on a batch with NaN/inf or huge values"
            cause = (
                f" The loss is non-finite {when}, so the learning rate is not the cause: the data probably "
                f"is. This batch's inputs range over {_range(x)}, its targets over {_range(y)}; values that "
                "large overflow the forward pass (float32 ends near 3.4e38, squares of 2e19), NaN and inf "
                "propagate. Standardise or rescale the columns, or remove the bad rows."
            )
        else:
            cause = f" The learning rate ({trainer.current_lr():.4g}) is probably too high."
        return NonFiniteLossError(
            head + cause, epoch=state.epoch, step=state.step, global_step=state.global_step, value=loss,
            checkpoint=_checkpoint_path(trainer),
        )

    def _diverged(self, trainer: TrainerLike) -> LossDivergedError:
        state = trainer.state
        kept = trainer.describe_last_checkpoint()
        return LossDivergedError(
            f"the loss diverged at {self._where(trainer)}: its running mean {self.running:.4g} is more than "
            f"{self.divergence:g} times its best ({self.best:.4g}) and above the first loss ({self.first:.4g}); "
            f"training stopped before that update; {kept}. The learning rate ({trainer.current_lr():.4g}) is "
            "probably too high.",
            epoch=state.epoch, step=state.step, global_step=state.global_step, value=float(self.running),
            checkpoint=_checkpoint_path(trainer),
        )

    def state_dict(self) -> dict[str, Any]:
        return {"first": self.first, "running": self.running, "best": self.best}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.first = state.get("first")
        self.running = state.get("running")
        self.best = state.get("best")


def _checkpoint_path(trainer: TrainerLike) -> str | None:
    last = trainer.last_checkpoint
    return None if last is None else str(last.path)
