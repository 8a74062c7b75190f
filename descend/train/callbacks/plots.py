"""PNG plots of a run: ``loss.png``, ``accuracy.png`` (or ``mse.png``) per epoch, and
``lr.png``: the learning rate of every update.

The plots are drawn once, when training ends (however it ends), with matplotlib's Agg canvas
on one reused figure (no pyplot, no display, no global backend switch), and written
atomically. Importing matplotlib and loading its fonts is most of the cost (about 0.3 s on an
idle 2-core machine, 0.8 s on a loaded one; then about 0.03 s per plot), so by default a small
helper process (:func:`serve`) does it while the run trains, on the core that training (one
BLAS thread by default) leaves idle, then waits; at the end it gets the history and draws. If
the helper cannot start or fails, the plots are drawn in this process, as they are with
``background=False`` and under MPI. (A thread was measured too: importing competes with
training for the interpreter lock and made runs slower.) benchmarks/plots_cost.py measures
what the plots cost a whole run.

The learning rate is recorded at every update (a float per update, kept in the checkpoint so a
resumed run plots its whole history); the x axis of every plot is in epochs.
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .base import Callback, TrainerLike

__all__ = ["Plots", "write_plots", "serve"]

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


class _Helper:
    """A process that imports matplotlib while training runs, then draws one set of plots."""

    def __init__(self) -> None:
        code = ("import json, sys; sys.path[:] = json.loads(sys.stdin.readline()); "
                "from descend.train.callbacks.plots import serve; serve()")
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, start_new_session=True,  # Ctrl-C goes to the run, which decides
        )
        self._send(sys.path)

    def _send(self, value: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(value, default=float) + "\n")
        self.process.stdin.flush()

    def draw(self, job: dict[str, Any], timeout: float = 120.0) -> list[Path]:
        """Send the job; the written paths, or an exception (the caller then draws itself)."""
        try:
            self._send(job)
            out, _ = self.process.communicate(timeout=timeout)
        except BaseException:
            self.close()
            raise
        reply = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"error": "the helper ended"}
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return [Path(p) for p in reply["written"]]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _warm_up() -> None:
    """Import matplotlib's canvas and draw once, so that its fonts are loaded."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 2), dpi=40)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], marker="o", label="x")
    axes.set_title("x")
    axes.legend()
    figure.canvas.draw()


def serve() -> None:
    """The helper process: warm matplotlib up, read one job (a JSON line) from stdin, draw it,
    and answer ``{"written": [...]}`` or ``{"error": ...}`` on stdout."""
    try:
        _warm_up()
    except ImportError:
        pass  # write_plots reports it below
    line = sys.stdin.readline()
    if not line.strip():
        return  # the run ended without plots (or died)
    job = json.loads(line)
    try:
        written = write_plots(job["logdir"], job["history"], job["lr"], job["steps_per_epoch"], job["first_update"])
        reply: dict[str, Any] = {"written": [str(p) for p in written]}
    except Exception as error:  # noqa: BLE001 (reported to the run, which draws itself)
        reply = {"error": f"{type(error).__name__}: {error}"}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()


def _under_mpi() -> bool:
    return any(k in os.environ for k in ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS"))


def _start_helper() -> _Helper | None:
    if _under_mpi():
        return None
    try:
        return _Helper()
    except OSError:
        return None  # drawn in this process at the end


class Plots(Callback):
    """Writes the run's PNG plots into ``logdir`` when training ends (see the module).

    ``background``: let a helper process import matplotlib while training runs (default).
    """

    order = -10
    root_only = True
    _spare: _Helper | None = None  # started by prestart(), taken by the next Plots

    @classmethod
    def prestart(cls) -> None:
        """Start the helper process now (e.g. before the data are read), so that matplotlib is
        ready when training ends; the next ``Plots`` with ``background`` takes it."""
        if cls._spare is None:
            cls._spare = _start_helper()

    def __init__(self, logdir: str | os.PathLike[str], background: bool = True) -> None:
        self.logdir = Path(logdir)
        self.background = background
        self.lr: list[float] = []
        self.first_update = 0  # the global step before the first recorded update
        self._helper: _Helper | None = None

    def on_train_begin(self, trainer: TrainerLike) -> None:
        if self.background and self._helper is None:
            self._helper, Plots._spare = Plots._spare, None
            if self._helper is None:
                self._helper = _start_helper()
        recorded_until = self.first_update + len(self.lr)
        if recorded_until != trainer.state.global_step:  # a checkpoint without this record
            self.lr = []
            self.first_update = trainer.state.global_step

    def on_batch_end(self, trainer: TrainerLike, step: int, logs: Mapping[str, Any]) -> None:
        self.lr.append(float(logs.get("lr", math.nan)))

    def _draw(self, trainer: TrainerLike) -> None:
        job = {
            "logdir": str(self.logdir), "history": [dict(row) for row in trainer.history], "lr": self.lr,
            "steps_per_epoch": trainer.state.steps_per_epoch, "first_update": self.first_update,
        }
        helper, self._helper = self._helper, None
        if helper is not None:
            try:
                helper.draw(job)
                return
            except Exception:  # noqa: BLE001 (the helper failed or lacks matplotlib: draw here)
                pass
        write_plots(**job)

    def on_train_end(self, trainer: TrainerLike, logs: Mapping[str, Any]) -> None:
        if not trainer.history:
            if self._helper is not None:
                self._helper.close()
                self._helper = None
            return
        try:
            self._draw(trainer)
        except ImportError:
            trainer.note("Note: plots skipped because matplotlib is not installed (pip install 'descend[train]').")
        except Exception as error:  # plots must never hide the real outcome of a run
            trainer.note(f"Note: could not write the plots: {error}")

    def state_dict(self) -> dict[str, Any]:
        return {"first_update": self.first_update, "lr": np.asarray(self.lr, dtype=np.float64)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.first_update = int(state.get("first_update", 0))
        self.lr = [float(v) for v in np.asarray(state.get("lr", []), dtype=np.float64)]
