"""The console: the course's epoch line on stdout, notes on stderr, and a progress bar.

``Epoch 1/10 1.4s loss=0.8300 accuracy=0.7960 dev:loss=0.3780 dev:accuracy=0.9060`` (with
``lr=`` when the learning rate can change), ``Evaluation 0.3s test:loss=... test:accuracy=...``
after :meth:`Trainer.evaluate`, and every note (early stopping, a missing optional package,
...) on stderr. The progress bar (tqdm, on stderr) shows the running training loss and metrics
of the epoch in progress, as the course's npfl138 and Keras do.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Mapping, TextIO

from ..formatting import epoch_line, evaluation_line, format_logs
from .base import Callback, TrainerLike, lr_can_change, shown_logs

__all__ = ["ConsoleLog", "ProgressBar"]


class ConsoleLog(Callback):
    """Epoch and evaluation lines on stdout, notes on stderr.

    Args:
        stdout, stderr: the streams (default: ``sys.stdout``/``sys.stderr`` when written to).
        show_lr: show ``lr=`` in the epoch line; default (None) when the lr can change (a
            schedule, or a callback such as :class:`ReduceLROnPlateau`).
    """

    order = -20
    root_only = True

    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None, show_lr: bool | None = None) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.show_lr = show_lr
        self._show_lr = bool(show_lr)

    def _print(self, line: str, stream: TextIO | None) -> None:
        print(line, file=stream, flush=True)

    def on_train_begin(self, trainer: TrainerLike) -> None:
        self._show_lr = lr_can_change(trainer) if self.show_lr is None else self.show_lr

    def on_epoch_end(self, trainer: TrainerLike, epoch: int, logs: Mapping[str, Any]) -> None:
        epochs = trainer.state.epochs or epoch
        line = epoch_line(epoch, epochs, float(logs.get("time", 0.0)), shown_logs(logs, self._show_lr))
        self._print(line, self.stdout or sys.stdout)

    def on_evaluate_end(self, trainer: TrainerLike, name: str, logs: Mapping[str, float], seconds: float) -> None:
        self._print(evaluation_line(seconds, logs), self.stdout or sys.stdout)

    def on_note(self, trainer: TrainerLike, text: str) -> None:
        self._print(text, self.stderr or sys.stderr)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class ProgressBar(Callback):
    """A tqdm bar per epoch on stderr with the running loss and metrics.

    Args:
        enabled: True, False, or None: only when stderr is a terminal.
        refresh: seconds between updates of the shown metrics (computing them costs a little).

    Without tqdm installed there is no bar (a note says so once).
    """

    order = -30  # closes its bar before the epoch line is printed
    root_only = True

    def __init__(self, enabled: bool | None = None, refresh: float = 0.25) -> None:
        self.enabled = enabled
        self.refresh = float(refresh)
        self._bar: Any = None
        self._shown_at = 0.0
        self._warned = False

    def _active(self) -> bool:
        return _is_terminal(sys.stderr) if self.enabled is None else bool(self.enabled)

    def on_epoch_begin(self, trainer: TrainerLike, epoch: int) -> None:
        if not self._active():
            return
        try:
            from tqdm import tqdm
        except ImportError:
            if not self._warned:
                self._warned = True
                trainer.note("Note: no progress bar because tqdm is not installed (pip install 'descend[train]').")
            return
        state = trainer.state
        self._bar = tqdm(
            total=state.steps_per_epoch, initial=state.step, desc=f"Epoch {epoch}/{state.epochs}", file=sys.stderr,
            leave=False, unit="batch", dynamic_ncols=True, mininterval=0.2,
        )
        self._shown_at = time.monotonic()

    def on_batch_end(self, trainer: TrainerLike, step: int, logs: Mapping[str, Any]) -> None:
        bar = self._bar
        if bar is None:
            return
        bar.update(1)
        now = time.monotonic()
        if now - self._shown_at >= self.refresh:
            self._shown_at = now
            bar.set_postfix_str(format_logs(trainer.state.metrics.compute()))

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def on_epoch_end(self, trainer: TrainerLike, epoch: int, logs: Mapping[str, Any]) -> None:
        self._close()

    def on_train_end(self, trainer: TrainerLike, logs: Mapping[str, Any]) -> None:
        self._close()
