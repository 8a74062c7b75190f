"""The run directory's text files: ``logs.txt`` and ``metrics.csv``.

``logs.txt`` receives every line the console shows (epoch and evaluation lines, notes) and how
training ended; it is appended to through :func:`descend.fileio.open_append`, which never
follows a symlink. ``metrics.csv`` has one full row per epoch and is rewritten atomically
(:func:`descend.fileio.atomic_write`) after every epoch, so it is always complete.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import IO, Any, Mapping, Sequence

from ..formatting import epoch_line, evaluation_line
from .base import Callback, TrainerLike, lr_can_change, shown_logs

__all__ = ["LogFile", "CSVLogger", "history_csv"]


class LogFile(Callback):
    """Appends the console's lines, notes and the end of training to ``path`` (logs.txt).

    :meth:`write` adds a line of your own (e.g. a description of the run). The file is opened
    at the first line and stays open until :meth:`close` (the trainer's ``close()``).

    Args:
        path: the log file.
        show_lr: as :class:`ConsoleLog`'s (the two write the same epoch lines).
    """

    order = -10
    root_only = True

    def __init__(self, path: str | os.PathLike[str], show_lr: bool | None = None) -> None:
        self.path = Path(path)
        self.show_lr = show_lr
        self._show_lr = bool(show_lr)
        self._file: IO[str] | None = None

    def write(self, line: str) -> None:
        """Append ``line`` (and a newline); flushed at once."""
        from ...fileio import open_append

        if self._file is None:
            self._file = open_append(self.path)
        self._file.write(line + "\n")
        self._file.flush()

    def on_train_begin(self, trainer: TrainerLike) -> None:
        self._show_lr = lr_can_change(trainer) if self.show_lr is None else self.show_lr

    def on_epoch_end(self, trainer: TrainerLike, epoch: int, logs: Mapping[str, Any]) -> None:
        epochs = trainer.state.epochs or epoch
        self.write(epoch_line(epoch, epochs, float(logs.get("time", 0.0)), shown_logs(logs, self._show_lr)))

    def on_evaluate_end(self, trainer: TrainerLike, name: str, logs: Mapping[str, float], seconds: float) -> None:
        self.write(evaluation_line(seconds, logs))

    def on_note(self, trainer: TrainerLike, text: str) -> None:
        self.write(text)

    def on_train_end(self, trainer: TrainerLike, logs: Mapping[str, Any]) -> None:
        error = trainer.error
        if isinstance(error, KeyboardInterrupt):
            state = trainer.state
            where = f"in epoch {state.epoch}, step {state.step}" if state.step else f"after epoch {state.epochs_done}"
            self.write(f"Interrupted {where}.")
        elif error is not None:
            self.write(f"Error: {error}")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def history_csv(history: Sequence[Mapping[str, Any]]) -> str:
    """The history as CSV text: a header with every key (in order of appearance), one row per
    epoch; floats written with ``repr`` so they read back exactly."""
    columns: list[str] = []
    for row in history:
        for key in row:
            if key not in columns:
                columns.append(key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in history:
        writer.writerow([repr(v) if isinstance(v, float) else v for v in (row.get(c, "") for c in columns)])
    return buffer.getvalue()


class CSVLogger(Callback):
    """Rewrites ``path`` (metrics.csv) from the history after every epoch, atomically."""

    order = -10
    root_only = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def _write(self, trainer: TrainerLike) -> None:
        from ...fileio import atomic_write

        if trainer.history:
            atomic_write(self.path, history_csv(trainer.history))

    def on_epoch_end(self, trainer: TrainerLike, epoch: int, logs: Mapping[str, Any]) -> None:
        self._write(trainer)

    def on_train_end(self, trainer: TrainerLike, logs: Mapping[str, Any]) -> None:
        self._write(trainer)  # with what callbacks added to the last epoch's logs
