"""Runs: the typed run configuration and training, evaluation and prediction as library functions.

>>> from descend.run import RunConfig, train, resume, load_run, evaluate, predict
>>> config = RunConfig.from_flat({"epochs": 2, "optimizer": "Adam", "learning_rate": 1e-3})
>>> result = train(config)                       # doctest: +SKIP
>>> run = load_run(result.run_dir)               # doctest: +SKIP
>>> evaluate(run)                                # doctest: +SKIP   {'test:loss': ..., ...}

``descend train``, ``evaluate`` and ``predict`` are these functions behind a command line. See
docs/architecture.md.
"""

from .config import (
    CallbacksConfig, ConfigError, DataConfig, ModelConfig, OptimizerConfig, RunConfig, RuntimeConfig,
    ScheduleConfig, TrainingConfig, field_infos,
)
from .runs import Predictions, Run, RunError, evaluate, load_run, predict
from .training import TrainResult, resume, train

__all__ = [
    "RunConfig", "DataConfig", "ModelConfig", "OptimizerConfig", "ScheduleConfig", "CallbacksConfig",
    "TrainingConfig", "RuntimeConfig", "ConfigError", "field_infos",
    "train", "resume", "TrainResult", "load_run", "evaluate", "predict", "Run", "Predictions", "RunError",
]
