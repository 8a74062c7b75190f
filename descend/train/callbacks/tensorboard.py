"""TensorBoard event files (``train/``, ``dev/``, ``test/`` under the run directory).

tensorboardX is optional (``pip install 'descend[tensorboard]'``): without it, a note on the
console and in logs.txt says that TensorBoard logging was skipped, once, and nothing else
happens. View the files with ``tensorboard --logdir RUN`` (``pip install tensorboard``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Mapping

from .base import Callback, TrainerLike

__all__ = ["TensorBoard"]

MISSING_NOTE = (
    "Note: TensorBoard logging skipped because tensorboardX is not installed "
    "(pip install 'descend[tensorboard]')."
)


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


class TensorBoard(Callback):
    """Scalars per epoch (step = epoch): ``loss`` etc. under ``train/``, ``dev:...`` under
    ``dev/``; an evaluation's ``test:...`` under ``test/`` (step = epochs done)."""

    order = -10
    root_only = True

    def __init__(self, logdir: str | os.PathLike[str], flush_secs: int = 10) -> None:
        self.logdir = Path(logdir)
        self.flush_secs = flush_secs
        self._writer_class: Any = None
        self._writers: dict[str, Any] = {}
        self.available: bool | None = None  # None: not tried yet

    def _writer(self, trainer: TrainerLike, split: str) -> Any:
        if self.available is None:
            try:
                self._writer_class = _import_summary_writer()
                self.available = True
            except ImportError:
                self.available = False
                trainer.note(MISSING_NOTE)
        if not self.available:
            return None
        if split not in self._writers:
            self._writers[split] = self._writer_class(str(self.logdir / split), flush_secs=self.flush_secs)
        return self._writers[split]

    def _scalars(self, trainer: TrainerLike, logs: Mapping[str, Any], step: int, default_split: str) -> None:
        for key, value in logs.items():
            if key in ("epoch", "time") or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            split, _, tag = key.rpartition(":")
            writer = self._writer(trainer, split or default_split)
            if writer is None:
                return
            writer.add_scalar(tag, float(value), step)
        for writer in self._writers.values():
            writer.flush()

    def on_epoch_end(self, trainer: TrainerLike, epoch: int, logs: Mapping[str, Any]) -> None:
        self._scalars(trainer, logs, epoch, "train")

    def on_evaluate_end(self, trainer: TrainerLike, name: str, logs: Mapping[str, float], seconds: float) -> None:
        self._scalars(trainer, logs, trainer.state.epochs_done, name)

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
