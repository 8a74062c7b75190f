"""Callbacks: everything the training loop does besides training (see :mod:`.base` for the
hooks and the order in which callbacks run).

=====================  =========================================================================
``ConsoleLog``         the course's epoch line and the evaluation line on stdout, notes on stderr
``ProgressBar``        a tqdm bar per epoch with the running loss and metrics (stderr)
``LogFile``            logs.txt: every console line, notes, how training ended (never via a symlink)
``CSVLogger``          metrics.csv: one row per epoch, rewritten atomically
``TensorBoard``        event files (tensorboardX; a note when it is missing)
``Plots``              loss/accuracy per epoch and the learning rate per update, as PNG, at the end
``Checkpoint``         the rolling checkpoint (epoch ends, every N updates, the end)
``SaveBest``           a checkpoint of the best epoch by a monitored metric
``EarlyStopping``      stop when a metric stops improving; restore the best weights
``ReduceLROnPlateau``  lower the learning rate when a metric stops improving
``NonFiniteGuard``     stop on a NaN/inf or diverging loss, before the update
=====================  =========================================================================
"""

from .base import Callback, TrainerLike, lr_can_change, shown_logs
from .checkpointing import Checkpoint, SaveBest
from .console import ConsoleLog, ProgressBar
from .files import CSVLogger, LogFile, history_csv
from .guard import NonFiniteGuard
from .monitors import EarlyStopping, MonitorCallback, ReduceLROnPlateau, ScaledSchedule
from .plots import Plots, write_plots
from .tensorboard import TensorBoard

__all__ = [
    "Callback", "TrainerLike", "ConsoleLog", "ProgressBar", "LogFile", "CSVLogger", "TensorBoard", "Plots",
    "Checkpoint", "SaveBest", "EarlyStopping", "ReduceLROnPlateau", "NonFiniteGuard", "MonitorCallback",
    "ScaledSchedule", "write_plots", "history_csv", "lr_can_change", "shown_logs",
]
