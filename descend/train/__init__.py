"""Training: the ``Trainer`` loop (fit / evaluate / predict), tasks, metrics, callbacks,
strategies and checkpoints.

>>> from descend.train import Trainer, ConsoleLog, Checkpoint, EarlyStopping, NonFiniteGuard
>>> trainer = Trainer(model, optimizer, task="multiclass",
...                   callbacks=[ConsoleLog(), NonFiniteGuard(), EarlyStopping("dev:accuracy", patience=3),
...                              Checkpoint("logs/run/checkpoint.safetensors")])   # doctest: +SKIP
>>> trainer.fit(train, dev, epochs=10, batch_size=50)                          # doctest: +SKIP
>>> trainer.evaluate(test)                                                      # doctest: +SKIP

See docs/training.md. Optional packages (tqdm, matplotlib, safetensors, tensorboardX) are
imported only where used.
"""

from .callbacks import (
    Callback,
    Checkpoint,
    ConsoleLog,
    CSVLogger,
    EarlyStopping,
    LogFile,
    NonFiniteGuard,
    Plots,
    ProgressBar,
    ReduceLROnPlateau,
    SaveBest,
    TensorBoard,
    write_plots,
)
from .checkpoint import is_checkpoint, load_checkpoint, read_metadata, save_checkpoint, tensor_shapes
from .errors import CheckpointError, LossDivergedError, NonFiniteLossError, RunWriteError, TrainingError
from .formatting import format_logs, format_value
from .loop_state import LoopState
from .metrics import Accuracy, MeanLoss, MeanSquaredError, Metric, MetricList
from .models import build_model, check_model_config, mlp_config, model_from_checkpoint, parameter_shapes
from .strategy import SingleProcess, Strategy
from .tasks import TASKS, Bernoulli, Categorical, Normal, Task, decode_outputs, get_task, loss_for_task
from .trainer import CheckpointRecord, Trainer

__all__ = [
    "Trainer", "LoopState", "CheckpointRecord", "Strategy", "SingleProcess",
    "Task", "Categorical", "Bernoulli", "Normal", "TASKS", "get_task", "loss_for_task", "decode_outputs",
    "Callback", "ConsoleLog", "ProgressBar", "LogFile", "CSVLogger", "TensorBoard", "Plots", "Checkpoint",
    "SaveBest", "EarlyStopping", "ReduceLROnPlateau", "NonFiniteGuard", "write_plots",
    "Metric", "MeanLoss", "Accuracy", "MeanSquaredError", "MetricList", "format_value", "format_logs",
    "save_checkpoint", "load_checkpoint", "read_metadata", "tensor_shapes", "is_checkpoint",
    "TrainingError", "CheckpointError", "NonFiniteLossError", "LossDivergedError", "RunWriteError",
    "build_model", "mlp_config", "check_model_config", "parameter_shapes", "model_from_checkpoint",
]
