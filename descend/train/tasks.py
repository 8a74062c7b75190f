"""Tasks: the lecture's output distributions, and everything training needs to know about them.

A task is the distribution the model's outputs parametrise. Its negative log-likelihood is the
loss, and it decides the metrics, the number of output units, how raw outputs are decoded into
predictions, and which metric a run watches by default. No other module switches on a task
name: they ask the task object.

===========  =====================  ===============================  ================  ============
task         distribution           loss (the NLL of the outputs)    metrics           monitor
===========  =====================  ===============================  ================  ============
multiclass   Categorical (softmax)  ``cross_entropy`` on C logits    loss, accuracy    dev:accuracy
binary       Bernoulli (sigmoid)    BCE with logits on 1 logit       loss, accuracy    dev:accuracy
regression   Normal, fixed sigma    ``mse_loss`` on K values         loss, mse         dev:loss
===========  =====================  ===============================  ================  ============

>>> task = get_task("binary")
>>> task.distribution, task.metric_names, task.output_units(2)
('Bernoulli', ('loss', 'accuracy'), 1)
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from .metrics import Accuracy, MeanLoss, MeanSquaredError, Metric

__all__ = [
    "Task", "Categorical", "Bernoulli", "Normal", "TASKS", "ALIASES", "get_task", "loss_for_task",
    "decode_outputs",
]

LossFunction = Callable[[Any, np.ndarray], Any]


class Task:
    """Base class of the output distributions (see the module's table).

    Attributes:
        name: the task's name on the command line and in checkpoints.
        distribution: the lecture's name of the output distribution.
        metric_names: the names of :meth:`metrics`, in order (the first is the loss), so a
            configuration can check a monitor such as ``dev:accuracy`` before training.
        default_monitor: the epoch-log key a run watches unless told otherwise.
        supports_label_smoothing: whether :meth:`loss` accepts ``label_smoothing > 0``.
    """

    name: str = ""
    distribution: str = ""
    metric_names: tuple[str, ...] = ("loss",)
    default_monitor: str = "dev:loss"
    supports_label_smoothing: bool = False

    def loss(self, label_smoothing: float = 0.0) -> LossFunction:
        """``loss(outputs, targets) -> scalar Tensor``: the mean NLL of the targets."""
        raise NotImplementedError

    def metrics(self) -> list[Metric]:
        """Fresh metric objects, the loss first."""
        raise NotImplementedError

    def output_units(self, num_classes: int | None, num_targets: int = 1) -> int:
        """The width of the model's last layer."""
        raise NotImplementedError

    def decode(self, outputs: np.ndarray) -> dict[str, np.ndarray]:
        """Raw outputs -> predictions (``"class"`` and ``"probabilities"``, or ``"value"``)."""
        raise NotImplementedError

    def _smoothing(self, label_smoothing: float) -> float:
        smoothing = float(label_smoothing)
        if smoothing and not self.supports_label_smoothing:
            raise ValueError(
                f"label_smoothing applies to classification; the {self.name} task's {self.distribution} "
                "outputs have no labels to smooth"
            )
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        return smoothing

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Task) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Categorical(Task):
    """Multiclass classification: C logits, softmax gives the class distribution.

    Loss ``-log softmax(z)_y`` (:func:`descend.losses.cross_entropy`); label smoothing eps uses
    the target ``(1 - eps) onehot(y) + eps / C``.
    """

    name = "multiclass"
    distribution = "Categorical"
    metric_names = ("loss", "accuracy")
    default_monitor = "dev:accuracy"
    supports_label_smoothing = True

    def loss(self, label_smoothing: float = 0.0) -> LossFunction:
        from .. import losses

        smoothing = self._smoothing(label_smoothing)
        if not smoothing:
            return losses.cross_entropy

        def smoothed_cross_entropy(outputs: Any, targets: np.ndarray) -> Any:
            return losses.cross_entropy(outputs, targets, label_smoothing=smoothing)

        return smoothed_cross_entropy

    def metrics(self) -> list[Metric]:
        return [MeanLoss(), Accuracy()]

    def output_units(self, num_classes: int | None, num_targets: int = 1) -> int:
        if not num_classes or num_classes < 2:
            raise ValueError(f"a multiclass task needs at least 2 classes, got {num_classes}")
        return int(num_classes)

    def decode(self, outputs: np.ndarray) -> dict[str, np.ndarray]:
        from ..ops.softmax import softmax_array

        z = np.asarray(outputs, dtype=np.float64)
        return {"class": z.argmax(axis=-1), "probabilities": softmax_array(z, -1)}


class Bernoulli(Task):
    """Binary classification: one logit z, ``p(y=1) = sigmoid(z)``.

    Loss ``-y log sigmoid(z) - (1 - y) log sigmoid(-z)``
    (:func:`descend.losses.binary_cross_entropy_with_logits`); label smoothing eps uses the
    target ``(1 - eps) y + eps / 2``.
    """

    name = "binary"
    distribution = "Bernoulli"
    metric_names = ("loss", "accuracy")
    default_monitor = "dev:accuracy"
    supports_label_smoothing = True

    def loss(self, label_smoothing: float = 0.0) -> LossFunction:
        from .. import losses

        smoothing = self._smoothing(label_smoothing)

        def binary_loss(outputs: Any, targets: np.ndarray) -> Any:
            targets = np.asarray(targets, dtype=outputs.data.dtype).reshape(outputs.shape)
            if smoothing:
                targets = targets * (1.0 - smoothing) + 0.5 * smoothing
            return losses.binary_cross_entropy_with_logits(outputs, targets)

        return binary_loss

    def metrics(self) -> list[Metric]:
        return [MeanLoss(), Accuracy()]

    def output_units(self, num_classes: int | None, num_targets: int = 1) -> int:
        return 1

    def decode(self, outputs: np.ndarray) -> dict[str, np.ndarray]:
        from ..ops.activations import sigmoid_array

        z = np.asarray(outputs, dtype=np.float64).reshape(len(outputs))
        p1 = sigmoid_array(z)
        return {"class": (z > 0).astype(np.int64), "probabilities": np.stack([1.0 - p1, p1], axis=1)}


class Normal(Task):
    """Regression: K outputs are the means of a Normal with a fixed sigma.

    Its NLL is, up to constants, the squared error: loss :func:`descend.losses.mse_loss`.
    """

    name = "regression"
    distribution = "Normal"
    metric_names = ("loss", "mse")
    default_monitor = "dev:loss"
    supports_label_smoothing = False

    def loss(self, label_smoothing: float = 0.0) -> LossFunction:
        from .. import losses

        self._smoothing(label_smoothing)

        def regression_loss(outputs: Any, targets: np.ndarray) -> Any:
            targets = np.asarray(targets, dtype=outputs.data.dtype).reshape(outputs.shape)
            return losses.mse_loss(outputs, targets)

        return regression_loss

    def metrics(self) -> list[Metric]:
        return [MeanLoss(), MeanSquaredError()]

    def output_units(self, num_classes: int | None, num_targets: int = 1) -> int:
        if int(num_targets) < 1:
            raise ValueError(f"a regression task needs at least one target, got {num_targets}")
        return int(num_targets)

    def decode(self, outputs: np.ndarray) -> dict[str, np.ndarray]:
        values = np.asarray(outputs)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        return {"value": values}


TASKS: Mapping[str, type[Task]] = {"multiclass": Categorical, "binary": Bernoulli, "regression": Normal}
ALIASES: Mapping[str, str] = {"classification": "multiclass"}


def get_task(task: str | Task | type[Task]) -> Task:
    """The task object for a name (``"multiclass"``, ``"binary"``, ``"regression"``, or the
    alias ``"classification"``), a Task class, or a Task (returned as it is)."""
    if isinstance(task, Task):
        return task
    if isinstance(task, type) and issubclass(task, Task):
        return task()
    name = ALIASES.get(task, task) if isinstance(task, str) else task
    if name not in TASKS:
        raise ValueError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    return TASKS[name]()


def loss_for_task(task: str | Task, label_smoothing: float = 0.0) -> LossFunction:
    """``get_task(task).loss(label_smoothing)`` (the name of earlier versions)."""
    return get_task(task).loss(label_smoothing)


def decode_outputs(task: str | Task, outputs: np.ndarray) -> dict[str, np.ndarray]:
    """``get_task(task).decode(outputs)`` (the name of earlier versions)."""
    return get_task(task).decode(outputs)
