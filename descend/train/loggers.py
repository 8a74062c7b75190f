"""Where a training run reports: the console and a run directory.

:class:`RunLogger` prints exactly one line per epoch and one ``Evaluation`` line on stdout (in
the course's format, see :mod:`descend.train.formatting`); notes (resuming, a missing optional
package, ...) go to stderr. With a ``logdir`` it also keeps the run directory:

* ``logs.txt``: every line printed, stdout and notes alike;
* ``options.json``: the options of the run;
* ``metrics.csv``: one full row per epoch (``epoch``, ``time``, ``lr``, train and dev metrics);
* ``train/``, ``dev/``, ``test/``: TensorBoard event files (if ``tensorboardX`` is installed;
  otherwise a note in ``logs.txt`` and nothing else);
* ``loss.png``, ``accuracy.png``, ``lr.png``: the metrics per epoch (matplotlib, Agg backend),
  drawn when the run ends, however it ends.

Optional packages are imported only when used, so ``import descend`` stays NumPy-only.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence, TextIO

from .formatting import epoch_line, evaluation_line

__all__ = ["RunLogger", "write_plots"]


class RunLogger:
    """Console output and (optionally) a run directory.

    Args:
        logdir: the run directory (created if needed); None for console output only.
        options: written to ``options.json`` (JSON-able values; others are stored as strings).
        stdout: where epoch and evaluation lines go (default ``sys.stdout``); None to silence.
        stderr: where notes go (default ``sys.stderr``); None to silence.
        tensorboard: write TensorBoard event files when tensorboardX is available.
        plots: draw PNG plots when the run ends.
        append: continue an existing run directory (resuming): append to ``logs.txt``.
    """

    def __init__(
        self,
        logdir: str | os.PathLike[str] | None = None,
        options: Mapping[str, Any] | None = None,
        stdout: TextIO | None | bool = True,
        stderr: TextIO | None | bool = True,
        tensorboard: bool = True,
        plots: bool = True,
        append: bool = False,
    ) -> None:
        self.logdir = Path(logdir) if logdir is not None else None
        self._stdout = stdout
        self._stderr = stderr
        self.tensorboard = tensorboard
        self.plots = plots
        self._writers: dict[str, Any] | None = None
        self._log_file: TextIO | None = None
        if self.logdir is not None:
            self.logdir.mkdir(parents=True, exist_ok=True)
            self._log_file = open(self.logdir / "logs.txt", "a" if append else "w", encoding="utf-8")
            if options is not None:
                self.write_options(options)

    # ------------------------------------------------------------------ streams
    @property
    def stdout(self) -> TextIO | None:
        return sys.stdout if self._stdout is True else (self._stdout or None)

    @property
    def stderr(self) -> TextIO | None:
        return sys.stderr if self._stderr is True else (self._stderr or None)

    def _to_log(self, line: str) -> None:
        if self._log_file is not None:
            self._log_file.write(line + "\n")
            self._log_file.flush()

    def print(self, line: str) -> None:
        """A result line: stdout and logs.txt."""
        stream = self.stdout
        if stream is not None:
            print(line, file=stream, flush=True)
        self._to_log(line)

    def record(self, line: str) -> None:
        """A line for logs.txt only."""
        self._to_log(line)

    def note(self, line: str) -> None:
        """A note: stderr and logs.txt."""
        stream = self.stderr
        if stream is not None:
            print(line, file=stream, flush=True)
        self._to_log(line)

    # ------------------------------------------------------------------ files
    def write_options(self, options: Mapping[str, Any]) -> None:
        if self.logdir is None:
            return
        text = json.dumps(dict(options), indent=2, sort_keys=True, default=str)
        _atomic_write(self.logdir / "options.json", text + "\n")

    def write_history(self, history: Sequence[Mapping[str, Any]]) -> None:
        """Rewrite ``metrics.csv`` from the history (one row per epoch)."""
        if self.logdir is None or not history:
            return
        columns: list[str] = []
        for row in history:
            for key in row:
                if key not in columns:
                    columns.append(key)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for row in history:
            writer.writerow([_csv_value(row.get(c, "")) for c in columns])
        _atomic_write(self.logdir / "metrics.csv", buffer.getvalue())

    # ------------------------------------------------------------------ tensorboard
    def _tb(self, split: str) -> Any:
        if not self.tensorboard or self.logdir is None:
            return None
        if self._writers is None:
            self._writers = {}
            try:
                SummaryWriter = _import_summary_writer()  # optional extra
            except ImportError:
                self._to_log(
                    "Note: TensorBoard logging skipped because tensorboardX is not installed "
                    "(pip install 'descend[tensorboard]')."
                )
                self.tensorboard = False
                return None
            self._summary_writer = SummaryWriter
        if split not in self._writers:
            self._writers[split] = self._summary_writer(str(self.logdir / split), flush_secs=10)
        return self._writers[split]

    def _tb_scalars(self, logs: Mapping[str, Any], step: int, default_split: str) -> None:
        if not self.tensorboard or self.logdir is None:
            return
        for key, value in logs.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            split, _, tag = key.rpartition(":")
            writer = self._tb(split or default_split)
            if writer is None:
                return
            writer.add_scalar(tag, float(value), step)

    # ------------------------------------------------------------------ events
    def log_epoch(
        self, epoch: int, epochs: int, seconds: float, logs: Mapping[str, float], show: Sequence[str] | None = None
    ) -> None:
        """One epoch (1-based): the console line (keys in ``show``, default all), TensorBoard."""
        shown = logs if show is None else {k: logs[k] for k in show if k in logs}
        self.print(epoch_line(epoch, epochs, seconds, shown))
        self._tb_scalars(logs, epoch, "train")
        self._flush_tb()

    def log_evaluation(self, seconds: float, logs: Mapping[str, float], step: int = 0) -> None:
        self.print(evaluation_line(seconds, logs))
        self._tb_scalars(logs, step, "test")
        self._flush_tb()

    def _flush_tb(self) -> None:
        for writer in (self._writers or {}).values():
            writer.flush()

    def write_plots(self, history: Sequence[Mapping[str, Any]]) -> None:
        """Draw the PNG plots of the history into the run directory (if any)."""
        if not self.plots or self.logdir is None or not history:
            return
        try:
            write_plots(self.logdir, history)
        except ImportError:
            self._to_log("Note: plots skipped because matplotlib is not installed.")

    def close(self) -> None:
        """Close the event files and logs.txt."""
        for writer in (self._writers or {}).values():
            writer.close()
        if self._writers is not None:
            self._writers = {}
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> RunLogger:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _import_summary_writer() -> Any:
    """``tensorboardX.SummaryWriter``, imported without PyTorch.

    tensorboardX imports ``torch`` when it is installed, only to recognise torch tensors,
    which costs seconds; descend logs Python floats, so unless torch is already loaded the
    import is made to see no torch (``sys.modules["torch"] = None`` for its duration).
    """
    if "tensorboardX" in sys.modules or "torch" in sys.modules:
        from tensorboardX import SummaryWriter

        return SummaryWriter
    sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        from tensorboardX import SummaryWriter
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return SummaryWriter


def _csv_value(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value)
    return value


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_plots(logdir: str | os.PathLike[str], history: Sequence[Mapping[str, Any]]) -> list[Path]:
    """``loss.png``, ``accuracy.png`` and ``lr.png`` of the per-epoch history (those that have
    data), with one line per split (train, dev). Returns the files written."""
    # A bare Figure with the Agg canvas: no pyplot, no global backend switch, no display.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    logdir = Path(logdir)
    epochs = [row.get("epoch", i + 1) for i, row in enumerate(history)]
    written = []
    for metric, ylabel in (("loss", "loss"), ("accuracy", "accuracy"), ("mse", "mean squared error"), ("lr", "learning rate")):
        series = {}
        for split, key in (("train", metric), ("dev", f"dev:{metric}")):
            values = [row.get(key) for row in history]
            if any(isinstance(v, (int, float)) and math.isfinite(v) for v in values if v is not None):
                series[split] = [float("nan") if v is None else float(v) for v in values]
        if not series:
            continue
        fig = Figure(figsize=(6, 4), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        for split, values in series.items():
            ax.plot(epochs, values, marker="o", markersize=3, label=split if metric != "lr" else "lr")
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        if metric == "lr":
            positive = [v for v in series.get("train", []) if v > 0]
            if positive and max(positive) / min(positive) > 100:
                ax.set_yscale("log")
        else:
            ax.legend()
        ax.grid(True, alpha=0.3)
        ax.set_title(f"{ylabel} per epoch")
        # Fixed margins rather than tight_layout(), which draws the whole figure once more
        # just to measure it (a third of the plotting time of a short run).
        fig.subplots_adjust(left=0.15, right=0.97, bottom=0.12, top=0.92)
        path = logdir / f"{metric}.png"
        fig.savefig(path)
        written.append(path)
    return written
