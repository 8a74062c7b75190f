"""Networks the trainer can rebuild from a JSON description (stored in every checkpoint).

The course's networks are multilayer perceptrons: ``Flatten -> [Linear -> activation ->
Dropout] * hidden -> Linear``. :func:`mlp_config` describes one as a small dict (which a
checkpoint stores, so ``descend evaluate``/``predict`` can rebuild the model), and
:func:`build_model` turns such a dict into a :class:`descend.nn.Sequential`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

__all__ = ["ACTIVATIONS", "mlp_config", "build_model", "output_units"]

ACTIVATIONS = ("relu", "tanh", "sigmoid")


def output_units(task: str, num_classes: int | None, num_targets: int = 1) -> int:
    """Output width: one logit per class (multiclass), one logit (binary), one value per
    regression target."""
    if task == "multiclass":
        if not num_classes or num_classes < 2:
            raise ValueError(f"a multiclass task needs at least 2 classes, got {num_classes}")
        return int(num_classes)
    if task == "binary":
        return 1
    if task == "regression":
        return int(num_targets)
    raise ValueError(f"unknown task {task!r}; use 'multiclass', 'binary' or 'regression'")


def mlp_config(
    input_shape: Sequence[int],
    outputs: int,
    hidden_layers: Sequence[int] = (128,),
    activation: str = "relu",
    dropout: float = 0.0,
) -> dict[str, Any]:
    """The JSON description of an MLP (validated)."""
    shape = [int(n) for n in input_shape]
    if not shape or any(n < 1 for n in shape):
        raise ValueError(f"input_shape must be positive sizes, got {list(input_shape)}")
    hidden = [int(n) for n in hidden_layers]
    if any(n < 1 for n in hidden):
        raise ValueError(f"hidden layer sizes must be positive integers, got {list(hidden_layers)}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    dropout = float(dropout)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if int(outputs) < 1:
        raise ValueError(f"outputs must be a positive integer, got {outputs}")
    return {
        "kind": "mlp",
        "input_shape": shape,
        "hidden_layers": hidden,
        "activation": activation,
        "dropout": dropout,
        "outputs": int(outputs),
    }


def build_model(
    config: dict[str, Any],
    rng: np.random.Generator | None = None,
    dropout_rng: np.random.Generator | None = None,
) -> Any:
    """A :class:`descend.nn.Sequential` from :func:`mlp_config`'s description.

    Weights are Glorot-uniform drawn from ``rng`` layer by layer, biases zero; dropout masks
    come from ``dropout_rng`` (both default to ``descend.random.default_rng()``).
    """
    from .. import nn

    kind = config.get("kind")
    if kind != "mlp":
        raise ValueError(f"unknown model kind {kind!r} (this version of descend builds 'mlp')")
    activation = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[config["activation"]]
    layers: list[Any] = [nn.Flatten()]
    width = math.prod(config["input_shape"])
    for units in config["hidden_layers"]:
        layers.append(nn.Linear(width, units, rng=rng))
        layers.append(activation())
        if config.get("dropout", 0.0) > 0:
            layers.append(nn.Dropout(config["dropout"], rng=dropout_rng))
        width = units
    layers.append(nn.Linear(width, config["outputs"], rng=rng))
    return nn.Sequential(*layers)


def describe(config: dict[str, Any]) -> str:
    """``784-128-10 relu`` style summary."""
    sizes = [math.prod(config["input_shape"]), *config["hidden_layers"], config["outputs"]]
    text = "-".join(str(n) for n in sizes) + f" {config['activation']}"
    if config.get("dropout"):
        text += f" dropout {config['dropout']}"
    return text
