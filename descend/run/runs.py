"""Finished runs: ``load_run(path)``, then ``evaluate(run, ...)`` and ``predict(run, ...)``.

A run directory's checkpoint holds the model's weights, its description (to rebuild it),
what the data were (a named dataset and where it was found, or a table's path and its
preprocessing) and the run configuration. Evaluation and prediction need no optimizer: they
rebuild the model and run it in eval mode, with the data location stored with the run
unless another is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import builders
from .config import ConfigError, RunConfig

__all__ = [
    "Run", "load_run", "evaluate", "predict", "Predictions", "find_checkpoint", "read_checkpoint_config",
    "RunError",
]

CHECKPOINT_NAME = "checkpoint.safetensors"


class RunError(ConfigError):
    """A run (directory or checkpoint) cannot be used as asked."""


def find_checkpoint(path: str | Path) -> Path:
    """The checkpoint of a run directory (``<dir>/checkpoint.safetensors``) or the file itself."""
    path = Path(path).expanduser()
    if path.is_dir():
        candidate = path / CHECKPOINT_NAME
        if not candidate.is_file():
            raise RunError(f"{path} is a directory without a {CHECKPOINT_NAME}; it holds no (checkpointed) run")
        return candidate
    if not path.exists():
        raise RunError(f"{path} does not exist (give a run directory or its checkpoint.safetensors)")
    return path


def read_checkpoint_config(checkpoint: Path) -> tuple[RunConfig, dict[str, Any]]:
    """The run configuration stored in ``checkpoint`` (either layout) and its JSON state."""
    from ..train.checkpoint import read_metadata

    state = read_metadata(checkpoint)
    stored = state.get("config") or {}
    if state.get("kind") != "descend.train.Trainer" or "model" not in stored:
        raise RunError(f"{checkpoint} is a descend checkpoint without a model description; it was not written by "
                       "'descend train'")
    layout = stored.get("run") if stored.get("run") is not None else stored.get("options") or {}
    try:
        config = RunConfig.from_dict(layout)
    except ConfigError as error:
        raise RunError(f"{checkpoint}: {error}") from None
    return config, state


@dataclass
class Run:
    """A trained model with what it was trained on; see :func:`load_run`."""

    path: Path
    config: RunConfig
    model: Any
    task: Any
    data: dict[str, Any]
    model_description: dict[str, Any]

    @property
    def schema(self) -> Any:
        """The table's preprocessing (:class:`descend.data.TabularSchema`), or None."""
        if self.data.get("kind") != "tabular":
            return None
        from ..data.tabular import TabularSchema

        return TabularSchema.from_dict(self.data["schema"])

    @property
    def classes(self) -> list[Any] | None:
        return self.data.get("classes")


def load_run(path: str | Path) -> Run:
    """The model of a run directory (or checkpoint), rebuilt and loaded, in eval mode.

    Raises:
        RunError / descend.train.CheckpointError: no checkpoint, not a run's, corrupted, or
            its model description does not fit its weights (checked before anything is built).
    """
    from ..train.checkpoint import load_checkpoint
    from ..train.errors import CheckpointError
    from ..train.models import check_model_config
    from ..train.tasks import get_task

    checkpoint = find_checkpoint(path)
    config, _ = read_checkpoint_config(checkpoint)
    state = load_checkpoint(checkpoint)
    meta = state["config"]
    shapes = {name: tuple(np.shape(value)) for name, value in state["model"].items()}
    check_model_config(meta["model"], shapes, where=str(checkpoint))
    try:
        model = builders.build_model(meta["model"])
        model.load_state_dict(state["model"])
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"{checkpoint}: cannot rebuild its model: {error}") from None
    model.eval()
    return Run(checkpoint, config, model, get_task(meta["data"]["task"]), meta["data"], meta["model"])


# ------------------------------------------------------------------------------ data
def _stored_split(run: Run, split: str, data_dir: str | None) -> tuple[Any, str]:
    from ..data import load_dataset

    d = run.data
    if d.get("kind") == "tabular":
        path = d["path"]
        if not Path(path).exists():
            raise RunError(f"the run's training file {path} no longer exists; give the data (--data FILE)")
        c = run.config
        options: dict[str, Any] = {}
        if c.data.features is not None:
            options["features"] = list(c.data.features)
        if c.data.drop:
            options["drop"] = list(c.data.drop)
        task = None if c.data.task == "auto" else c.data.task
        splits = load_dataset(path, target=d["schema"]["target"], task=task, seed=c.training.seed, **options)
        source = path
    else:
        name = builders.DATASET_NAMES[d.get("dataset") or "mnist"]
        stored_dir = data_dir if data_dir is not None else d.get("data_dir", run.config.data.data_dir)
        splits = load_dataset(name, data_dir=stored_dir)
        source = splits.name
    data = getattr(splits, split)
    if data is None:
        raise RunError(f"{source} has no {split} split")
    return data, f"{source} ({split})"


def _file_data(run: Run, path: Path, need_targets: bool, split: str, data_dir: str | None) -> tuple[Any, str]:
    from ..data import load_dataset

    if not path.exists():
        raise RunError(f"data file {path} does not exist")
    schema = run.schema
    if schema is not None:
        return schema.load(path, require_target=need_targets), str(path)
    if path.suffix.lower() != ".npz":
        raise RunError(
            f"the run's model was trained on {run.data.get('name') or 'an image dataset'}; the data must be an "
            "MNIST-style .npz archive (or a named dataset)"
        )
    splits = load_dataset(str(path), data_dir=data_dir)
    return getattr(splits, split), f"{path} ({split})"


def run_data(run: Run, data: Any = None, *, split: str = "test", dataset: str | None = None,
             data_dir: str | None = None, need_targets: bool = True) -> tuple[Any, str]:
    """The examples to evaluate/predict on and a description, checked against the model.

    ``data``: None (the run's own data: its dataset or table, ``split``), a path (a table with
    the training columns, preprocessed as the training data were, or an MNIST-style .npz), or
    a :class:`descend.data.Dataset`. ``dataset``: another named dataset.
    """
    from ..data import Dataset, load_dataset

    if isinstance(data, Dataset):
        found, source = data, "the given data"
    elif data is not None:
        found, source = _file_data(run, Path(data).expanduser(), need_targets, split, data_dir)
    elif dataset is not None:
        if run.schema is not None:
            raise RunError("this run was trained on a table; give --data FILE")
        splits = load_dataset(builders.DATASET_NAMES[dataset], data_dir=data_dir)
        found, source = getattr(splits, split), f"{splits.name} ({split})"
    else:
        found, source = _stored_split(run, split, data_dir)
    if found is None or len(found) == 0:
        raise RunError(f"{source} has no examples")
    expected = tuple(run.model_description["input_shape"])
    got = tuple(found.x.shape[1:])
    if math.prod(got) != math.prod(expected):
        raise RunError(f"the run's model takes inputs of shape {expected}, but {source} has examples of shape {got}")
    return found, source


def _trainer(run: Run, batch_size: int, callbacks: Any = ()) -> Any:
    from ..train import Trainer

    return Trainer(run.model, task=run.task, label_smoothing=run.config.training.label_smoothing,
                   eval_batch_size=batch_size, callbacks=list(callbacks))


def evaluate(run: Run, data: Any = None, *, split: str = "test", name: str | None = None, batch_size: int = 1000,
             dataset: str | None = None, data_dir: str | None = None, callbacks: Any = ()) -> dict[str, float]:
    """The run's metrics on ``data`` (default: the test split of its own data), keyed
    ``<name>:<metric>`` (``name`` defaults to the split)."""
    found, _ = run_data(run, data, split=split, dataset=dataset, data_dir=data_dir, need_targets=True)
    if found.y is None:
        raise RunError("the data have no targets to evaluate against; use predict")
    return _trainer(run, batch_size, callbacks).evaluate(found, name=name or split)


@dataclass
class Predictions:
    """Decoded predictions: ``columns`` (the CSV header) and ``rows``; ``outputs`` raw."""

    columns: list[str]
    rows: list[list[Any]]
    outputs: np.ndarray


def _rows(run: Run, decoded: dict[str, np.ndarray]) -> tuple[list[str], list[list[Any]]]:
    if "value" in decoded:
        values = decoded["value"]
        schema = run.schema
        if schema is not None and hasattr(schema, "decode_target"):
            values = schema.decode_target(values)  # back to the target's own units
        if values.ndim == 1:
            return ["prediction"], [[f"{float(v):.7g}"] for v in values]
        return [f"prediction_{j}" for j in range(values.shape[1])], [[f"{float(v):.7g}" for v in row] for row in values]
    probabilities = decoded["probabilities"]
    labels = run.classes if run.classes is not None else list(range(probabilities.shape[1]))
    header = ["prediction"] + [f"probability_{label}" for label in labels]
    rows = [[labels[int(c)]] + [f"{p:.6g}" for p in probs] for c, probs in zip(decoded["class"], probabilities)]
    return header, rows


def predict(run: Run, data: Any = None, *, split: str = "test", batch_size: int = 1000, dataset: str | None = None,
            data_dir: str | None = None) -> Predictions:
    """The run's predictions for ``data``: the class and class probabilities, or the value
    (for a table's regression target, in the target's own units)."""
    found, _ = run_data(run, data, split=split, dataset=dataset, data_dir=data_dir, need_targets=False)
    outputs = _trainer(run, batch_size).predict(found)
    header, rows = _rows(run, run.task.decode(outputs))
    return Predictions(header, rows, outputs)
