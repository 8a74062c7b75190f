"""Training: ``Trainer`` (fit / evaluate / predict), metrics, callbacks, run logging, checkpoints.

>>> from descend.train import Trainer, EarlyStopping
>>> trainer = Trainer(model, optimizer, task="multiclass", logdir="logs/run",
...                   callbacks=[EarlyStopping("dev:accuracy", patience=3)])   # doctest: +SKIP
>>> trainer.fit(train, dev, epochs=10, batch_size=50)                           # doctest: +SKIP
>>> trainer.evaluate(test)                                                      # doctest: +SKIP

See docs/training.md. Optional packages (tqdm, matplotlib, safetensors, tensorboardX) are
imported only where used.
"""

from .callbacks import Callback, EarlyStopping, ReduceLROnPlateau, SaveBest
from .checkpoint import is_checkpoint, load_checkpoint, read_metadata, save_checkpoint
from .errors import CheckpointError, NonFiniteLossError, TrainingError
from .formatting import format_logs, format_value
from .loggers import RunLogger, write_plots
from .metrics import Accuracy, MeanLoss, MeanSquaredError, Metric, MetricList
from .models import build_model, mlp_config
from .tasks import decode_outputs, loss_for_task
from .trainer import Trainer

__all__ = [
    "Trainer", "Callback", "EarlyStopping", "SaveBest", "ReduceLROnPlateau",
    "Metric", "MeanLoss", "Accuracy", "MeanSquaredError", "MetricList",
    "RunLogger", "write_plots", "format_value", "format_logs",
    "save_checkpoint", "load_checkpoint", "read_metadata", "is_checkpoint",
    "TrainingError", "CheckpointError", "NonFiniteLossError",
    "build_model", "mlp_config", "loss_for_task", "decode_outputs",
]
