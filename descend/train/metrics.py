"""Streaming metrics: ``reset()``, ``update(...)`` once per batch, ``compute()`` at the end.

Every metric sees the same three things per batch, so a trainer can treat them alike:

* ``outputs``: the model's raw outputs for the batch as an ndarray (logits for classification);
* ``targets``: the batch's targets (class indices, 0/1 labels, or regression values);
* ``loss``: the batch's mean loss as a float.

Sums are kept as Python floats (float64), weighted by the number of examples, so a metric over
an epoch is the mean over its examples whatever the batch sizes. ``state_dict()`` /
``load_state_dict()`` save and restore the running sums (checkpoints taken mid-epoch use them
so that a resumed epoch reports exactly what an uninterrupted one would).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

__all__ = ["Metric", "MeanLoss", "Accuracy", "MeanSquaredError", "MetricList", "metrics_for_task"]


class Metric:
    """Base class: a named mean of per-example values.

    Subclasses implement :meth:`values`, returning the batch's sum of per-example values and
    the number of examples; :meth:`compute` is their running ratio.
    """

    name = "metric"

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            self.name = name
        self.total = 0.0
        self.count = 0

    def reset(self) -> None:
        self.total = 0.0
        self.count = 0

    def values(self, outputs: np.ndarray, targets: Any, loss: float) -> tuple[float, int]:
        raise NotImplementedError

    def update(self, outputs: np.ndarray, targets: Any, loss: float) -> None:
        total, count = self.values(outputs, targets, loss)
        self.total += float(total)
        self.count += int(count)

    def compute(self) -> float:
        """The mean so far (NaN before any update)."""
        return self.total / self.count if self.count else float("nan")

    def state_dict(self) -> dict[str, Any]:
        return {"total": self.total, "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.total = float(state["total"])
        self.count = int(state["count"])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class MeanLoss(Metric):
    """The mean loss per example (each batch's mean loss weighted by its size)."""

    name = "loss"

    def values(self, outputs: np.ndarray, targets: Any, loss: float) -> tuple[float, int]:
        n = len(outputs)
        return float(loss) * n, n


class Accuracy(Metric):
    """Fraction of correct predictions.

    Multiclass outputs ``(N, C)`` with ``C > 1``: the predicted class is the argmax (of logits
    or probabilities alike). Binary outputs ``(N,)`` or ``(N, 1)``: logits, predicted positive
    when ``> threshold`` (0 for logits; pass 0.5 for probabilities); targets 0/1.
    """

    name = "accuracy"

    def __init__(self, name: str | None = None, threshold: float = 0.0) -> None:
        super().__init__(name)
        self.threshold = threshold

    def values(self, outputs: np.ndarray, targets: Any, loss: float) -> tuple[float, int]:
        outputs = np.asarray(outputs)
        targets = np.asarray(targets)
        if outputs.ndim >= 2 and outputs.shape[-1] > 1:
            predicted = outputs.argmax(axis=-1)
            correct = predicted == targets.reshape(predicted.shape)
        else:
            predicted = outputs.reshape(len(outputs)) > self.threshold
            correct = predicted == (targets.reshape(len(outputs)) > 0.5)
        return float(np.count_nonzero(correct)), len(outputs)


class MeanSquaredError(Metric):
    """Mean over examples of the mean squared difference between outputs and targets.

    ``scale`` multiplies the outputs and targets first (e.g. the standard deviation of a
    standardised regression target, to report the error in the original units).
    """

    name = "mse"

    def __init__(self, name: str | None = None, scale: float = 1.0) -> None:
        super().__init__(name)
        self.scale = float(scale)

    def values(self, outputs: np.ndarray, targets: Any, loss: float) -> tuple[float, int]:
        outputs = np.asarray(outputs, dtype=np.float64)
        targets = np.asarray(targets, dtype=np.float64).reshape(outputs.shape)
        diff = (outputs - targets) * self.scale
        per_example = (diff * diff).reshape(len(outputs), -1).mean(axis=1)
        return float(per_example.sum()), len(outputs)


class MetricList:
    """Several metrics updated together; ``compute()`` gives an ordered dict name -> value."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self.metrics: list[Metric] = list(metrics)
        names = [m.name for m in self.metrics]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"two metrics have the same name {duplicates[0]!r}; give one another name")

    def reset(self) -> None:
        for metric in self.metrics:
            metric.reset()

    def update(self, outputs: np.ndarray, targets: Any, loss: float) -> None:
        for metric in self.metrics:
            metric.update(outputs, targets, loss)

    def compute(self) -> dict[str, float]:
        return {metric.name: metric.compute() for metric in self.metrics}

    def state_dict(self) -> dict[str, Any]:
        return {metric.name: metric.state_dict() for metric in self.metrics}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for metric in self.metrics:
            if metric.name in state:
                metric.load_state_dict(state[metric.name])

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.metrics]


def metrics_for_task(task: Any) -> list[Metric]:
    """The task's metrics (see :meth:`descend.train.tasks.Task.metrics`); just the loss without
    a task."""
    if task is None:
        return [MeanLoss()]
    from .tasks import get_task

    return get_task(task).metrics()


def make_metric(spec: str | Metric) -> Metric:
    """A metric from a name (``"loss"``, ``"accuracy"``, ``"mse"``) or a Metric instance."""
    if isinstance(spec, Metric):
        return spec
    table = {"loss": MeanLoss, "accuracy": Accuracy, "mse": MeanSquaredError}
    if spec not in table:
        raise ValueError(f"unknown metric {spec!r}; use one of {', '.join(table)} or a Metric instance")
    return table[spec]()


def make_metrics(specs: Sequence[str | Metric]) -> list[Metric]:
    return [make_metric(s) for s in specs]
