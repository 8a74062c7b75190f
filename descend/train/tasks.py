"""What each task (the output distribution of the lecture) means for training.

=============  =====================  ==========================  ======================
task           output distribution    loss (NLL) on the outputs   metrics
=============  =====================  ==========================  ======================
multiclass     Categorical (softmax)  ``cross_entropy`` on logits  loss, accuracy
binary         Bernoulli (sigmoid)    BCE with logits              loss, accuracy
regression     Normal, fixed sigma    ``mse_loss``                 loss, mse
=============  =====================  ==========================  ======================
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = ["TASKS", "loss_for_task", "decode_outputs"]

TASKS = ("multiclass", "binary", "regression")


def _check_task(task: str) -> str:
    if task == "classification":
        return "multiclass"
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    return task


def loss_for_task(task: str, label_smoothing: float = 0.0) -> Callable[[Any, np.ndarray], Any]:
    """``loss(outputs, targets) -> scalar Tensor`` for ``task``.

    ``label_smoothing`` eps: multiclass targets become ``(1 - eps) onehot + eps / C``; binary
    targets ``(1 - eps) y + eps / 2``; not defined for regression.
    """
    from .. import losses

    task = _check_task(task)
    smoothing = float(label_smoothing)
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    if task == "multiclass":
        if smoothing:
            return lambda outputs, targets: losses.cross_entropy(outputs, targets, label_smoothing=smoothing)
        return losses.cross_entropy
    if task == "binary":
        def binary_loss(outputs: Any, targets: np.ndarray) -> Any:
            targets = np.asarray(targets, dtype=outputs.data.dtype).reshape(outputs.shape)
            if smoothing:
                targets = targets * (1.0 - smoothing) + 0.5 * smoothing
            return losses.binary_cross_entropy_with_logits(outputs, targets)

        return binary_loss
    if smoothing:
        raise ValueError("label_smoothing applies to classification, not to a regression task")

    def regression_loss(outputs: Any, targets: np.ndarray) -> Any:
        targets = np.asarray(targets, dtype=outputs.data.dtype).reshape(outputs.shape)
        return losses.mse_loss(outputs, targets)

    return regression_loss


def decode_outputs(task: str, outputs: np.ndarray) -> dict[str, np.ndarray]:
    """Raw model outputs -> predictions: for classification the predicted class index
    (``"class"``) and class probabilities (``"probabilities"``, (N, C); binary: (N, 2) for
    classes 0 and 1), for regression the predicted values (``"value"``, (N,) or (N, K))."""
    task = _check_task(task)
    outputs = np.asarray(outputs, dtype=np.float64)
    if task == "multiclass":
        shifted = outputs - outputs.max(axis=-1, keepdims=True)
        p = np.exp(shifted)
        p /= p.sum(axis=-1, keepdims=True)
        return {"class": outputs.argmax(axis=-1), "probabilities": p}
    if task == "binary":
        z = outputs.reshape(len(outputs))
        p1 = np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))
        return {"class": (z > 0).astype(np.int64), "probabilities": np.stack([1.0 - p1, p1], axis=1)}
    values = outputs[:, 0] if outputs.ndim == 2 and outputs.shape[1] == 1 else outputs
    return {"value": values}
