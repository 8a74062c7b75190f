"""Builders: a :class:`RunConfig` section -> the object it describes.

One function per concept — the data, the model, the schedule, the optimizer, the callbacks —
each a pure function of the configuration (plus what the data told us: the task, the sizes),
so library users can build any part of a run the way ``descend train`` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import ConfigError, RunConfig

__all__ = [
    "Seeds", "seeds", "load_data", "model_description", "build_model", "build_schedule",
    "build_optimizer", "monitor_callbacks", "data_description", "DATASET_NAMES",
]

#: The configuration's dataset names -> descend.data's.
DATASET_NAMES = {"mnist": "mnist", "fashion_mnist": "fashion-mnist"}


@dataclass(frozen=True)
class Seeds:
    """The run's independent random generators, all derived from ``--seed``."""

    init: np.random.Generator
    shuffle: np.random.Generator
    dropout: np.random.Generator


def seeds(seed: int) -> Seeds:
    """Three independent generators from one seed (``numpy.random.SeedSequence.spawn``), and
    descend's default generator reset to ``seed``."""
    from .. import random as ds_random

    ds_random.manual_seed(seed)
    init, shuffle, dropout = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    return Seeds(init, shuffle, dropout)


def load_data(config: RunConfig, *, progress: bool = True) -> Any:
    """The :class:`descend.data.Splits` the configuration names (a dataset or a table)."""
    from ..data import load_dataset

    d = config.data
    if d.data is not None:
        task = None if d.task == "auto" else d.task
        options: dict[str, Any] = {}
        if d.features is not None:
            options["features"] = list(d.features)
        if d.drop:
            options["drop"] = list(d.drop)
        return load_dataset(d.data, target=d.target, task=task, seed=config.training.seed, **options)
    return load_dataset(DATASET_NAMES[d.dataset or "mnist"], data_dir=d.data_dir, progress=progress)


def data_description(config: RunConfig, splits: Any) -> dict[str, Any]:
    """What a checkpoint stores about the data (to rebuild inputs for evaluate/predict)."""
    classes = None if splits.classes is None else [
        c if isinstance(c, (str, int, float)) else str(c) for c in splits.classes
    ]
    description: dict[str, Any] = {
        "task": splits.task, "classes": classes, "input_shape": list(splits.input_shape), "name": splits.name,
    }
    if splits.schema is not None:
        description.update(kind="tabular", path=str(Path(config.data.data).resolve()), schema=splits.schema.to_dict())
    else:
        description.update(kind="image", dataset=config.data.dataset or "mnist", data_dir=config.data.data_dir)
    return description


def model_description(config: RunConfig, splits: Any, task: Any) -> dict[str, Any]:
    """The JSON description of the MLP (see :func:`descend.train.models.mlp_config`)."""
    from ..train.models import mlp_config

    y = splits.train.y
    targets = 1 if y is None or y.ndim == 1 else int(y.shape[1])
    outputs = task.output_units(splits.num_classes, targets)
    m = config.model
    return mlp_config(splits.input_shape, outputs, list(m.hidden_layers), m.activation, m.dropout)


def build_model(description: dict[str, Any], generators: Seeds | None = None) -> Any:
    """The :class:`descend.nn.Sequential` of a model description."""
    from ..train.models import build_model as build

    if generators is None:
        return build(description)
    return build(description, rng=generators.init, dropout_rng=generators.dropout)


def build_schedule(config: RunConfig, total_steps: int) -> Any:
    """The learning rate: a float, or a schedule ``step -> lr`` over ``total_steps`` updates.

    Raises:
        ConfigError: ``--warmup_steps`` not below the number of updates.
    """
    from ..optim import schedules

    s = config.schedule
    lr = config.optimizer.learning_rate
    if s.warmup_steps >= total_steps and (s.warmup_steps or s.decay != "none"):
        raise ConfigError(
            f"--warmup_steps {s.warmup_steps} must be below the number of updates ({total_steps} = epochs * "
            "batches per epoch)"
        )
    steps = total_steps - s.warmup_steps
    final = s.learning_rate_final or 0.0
    makers = {
        "none": lambda: lr,
        "linear": lambda: schedules.linear(lr, final, steps),
        "exponential": lambda: schedules.exponential(lr, final=final, total_steps=steps),
        "cosine": lambda: schedules.cosine(lr, steps, final=final),
        "polynomial": lambda: schedules.polynomial(lr, final, steps, power=s.decay_power),
    }
    main = makers[s.decay]()
    return schedules.warmup(s.warmup_steps, main) if s.warmup_steps else main


def build_optimizer(config: RunConfig, params: Any, lr: Any) -> Any:
    """The optimizer of the configuration over ``params`` with learning rate ``lr``."""
    from .. import optim

    o = config.optimizer
    extra: dict[str, Any] = {"variant": o.variant}
    if o.weight_decay is not None:
        extra["weight_decay"] = o.weight_decay
    if o.optimizer == "SGD":
        return optim.SGD(params, lr=lr, momentum=o.momentum, nesterov=o.momentum > 0 and o.nesterov, **extra)
    if o.optimizer == "RMSprop":
        return optim.RMSprop(params, lr=lr, momentum=o.momentum, **extra)
    cls = {"Adam": optim.Adam, "AdamW": optim.AdamW, "Adagrad": optim.Adagrad}[o.optimizer]
    return cls(params, lr=lr, **extra)


def monitor_callbacks(config: RunConfig, task: Any, run_dir: Path | None,
                      metadata: dict[str, Any] | None = None) -> list[Any]:
    """Early stopping, learning-rate reduction and the best checkpoint, on ``--monitor``
    (``metadata``: what the best checkpoint stores to rebuild the model, as the rolling one)."""
    from ..train import EarlyStopping, ReduceLROnPlateau, SaveBest

    c = config.callbacks
    monitor = config.monitor_for(task)
    out: list[Any] = []
    if c.early_stopping:
        out.append(EarlyStopping(monitor, patience=c.early_stopping))
    if c.reduce_lr_on_plateau:
        out.append(ReduceLROnPlateau(monitor, factor=c.reduce_lr_factor, patience=c.reduce_lr_on_plateau))
    if c.save_best and run_dir is not None:
        out.append(SaveBest(run_dir / "best.safetensors", monitor=monitor, metadata=metadata))
    return out


def steps_per_epoch(config: RunConfig, train_size: int) -> int:
    """Updates per epoch (the last batch may be smaller; ``--limit_batches`` caps it)."""
    steps = math.ceil(train_size / config.training.batch_size)
    limit = config.training.limit_batches
    return min(steps, limit) if limit else steps
