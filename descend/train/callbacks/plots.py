"""PNG plots of a run: ``loss.png``, ``accuracy.png`` (or ``mse.png``) per epoch, and
``lr.png``: the learning rate of every update.

The plots are drawn once, when training ends (however it ends), with matplotlib's Agg canvas
on one reused figure (no pyplot, no display, no global backend switch), and written
atomically. Importing matplotlib is most of the cost (about 0.8 s, then about 0.1 s per plot,
on a loaded 2-core machine; benchmarks/trainer_callbacks.py measures it). Importing it in a
background thread or drawing in a helper process while training runs were both measured and
both made the run slower overall (the thread competes for the interpreter lock, the process
for the cores), so the plots are drawn here, once.

The learning rate is recorded at every update (a float per update, kept in the checkpoint so a
resumed run plots its whole history); the x axis of every plot is in epochs.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .base import Callback, TrainerLike

__all__ = ["Plots", "write_plots"]

_METRICS = (("loss", "loss"), ("accuracy", "accuracy"), ("mse", "mean squared error"))


def _series(history: Sequence[Mapping[str, Any]], metric: str) -> dict[str, list[float]]:
    series = {}
    for split, key in (("train", metric), ("dev", f"dev:{metric}")):
        values = [row.get(key) for row in history]
        if any(isinstance(v, (int, float)) and math.isfinite(v) for v in values if v is not None):
            series[split] = [float("nan") if v is None else float(v) for v in values]
    return series


def _save(fig: Any, path: Path) -> Path:
    from ...fileio import atomic_write

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return atomic_write(path, buffer.getvalue())


def write_plots(
    logdir: str | os.PathLike[str], history: Sequence[Mapping[str, Any]],
    lr: Sequence[float] | None = None, steps_per_epoch: int | None = None, first_update: int = 0,
) -> list[Path]:
    """Draw the plots of ``history`` (one row per epoch) into ``logdir``; ``lr`` is the
    learning rate of each update from update ``first_update`` on (``steps_per_epoch``
    converts updates to epochs; without ``lr`` the lr of each epoch row is drawn). Returns the
    files written."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    logdir = Path(logdir)
    fig = Figure(figsize=(6, 4), dpi=80)
    FigureCanvasAgg(fig)
    epochs = [row.get("epoch", i + 1) for i, row in enumerate(history)]
    written = []
    for metric, label in _METRICS:
        series = _series(history, metric)
        if not series:
            continue
        fig.clear()
        ax = fig.add_subplot()
        for split, values in series.items():
            ax.plot(epochs, values, marker="o", markersize=3, label=split)
        ax.legend()
        written.append(_finish(fig, ax, label, f"{label} per epoch", logdir / f"{metric}.png"))
    if lr is not None and len(lr) and steps_per_epoch:
        x = (first_update + np.arange(1, len(lr) + 1)) / steps_per_epoch
        values = np.asarray(lr, dtype=np.float64)
    else:
        x, values = np.asarray(epochs, dtype=np.float64), np.asarray([row.get("lr", np.nan) for row in history], dtype=np.float64)
    if np.isfinite(values).any():
        fig.clear()
        ax = fig.add_subplot()
        ax.plot(x, values, linewidth=1.2)
        positive = values[np.isfinite(values) & (values > 0)]
        if positive.size and positive.max() / positive.min() > 100:
            ax.set_yscale("log")
        written.append(_finish(fig, ax, "learning rate", "learning rate per update", logdir / "lr.png"))
    return written


def _finish(fig: Any, ax: Any, ylabel: str, title: str, path: Path) -> Path:
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.set_title(title)
    # Fixed margins rather than tight_layout(), which draws the whole figure once more just to
    # measure it.
    fig.subplots_adjust(left=0.15, right=0.97, bottom=0.12, top=0.92)
    return _save(fig, path)


class Plots(Callback):
    """Writes the run's PNG plots into ``logdir`` when training ends (see the module)."""

    order = -10
    root_only = True

    def __init__(self, logdir: str | os.PathLike[str]) -> None:
        self.logdir = Path(logdir)
        self.lr: list[float] = []
        self.first_update = 0  # the global step before the first recorded update

    def on_train_begin(self, trainer: TrainerLike) -> None:
        recorded_until = self.first_update + len(self.lr)
        if recorded_until != trainer.state.global_step:  # a checkpoint without this record
            self.lr = []
            self.first_update = trainer.state.global_step

    def on_batch_end(self, trainer: TrainerLike, step: int, logs: Mapping[str, Any]) -> None:
        self.lr.append(float(logs.get("lr", math.nan)))

    def on_train_end(self, trainer: TrainerLike, logs: Mapping[str, Any]) -> None:
        if not trainer.history:
            return
        try:
            write_plots(self.logdir, trainer.history, self.lr, trainer.state.steps_per_epoch, self.first_update)
        except ImportError:
            trainer.note("Note: plots skipped because matplotlib is not installed (pip install 'descend[train]').")
        except Exception as error:  # plots must never hide the real outcome of a run
            trainer.note(f"Note: could not write the plots: {error}")

    def state_dict(self) -> dict[str, Any]:
        return {"first_update": self.first_update, "lr": np.asarray(self.lr, dtype=np.float64)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.first_update = int(state.get("first_update", 0))
        self.lr = [float(v) for v in np.asarray(state.get("lr", []), dtype=np.float64)]
