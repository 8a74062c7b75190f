"""Networks the trainer can rebuild from a JSON description (stored in every checkpoint).

The course's networks are multilayer perceptrons: ``Flatten -> [Linear -> activation ->
Dropout] * hidden -> Linear``. :func:`mlp_config` describes one as a small dict (which a
checkpoint stores, so ``descend evaluate``/``predict`` can rebuild the model), and
:func:`build_model` turns such a dict into a :class:`descend.nn.Sequential`.

A description read from a file is not trusted: :func:`model_from_checkpoint` validates it and
compares the parameter shapes it implies (:func:`parameter_shapes`) with the tensors the
checkpoint actually stores, from the file's header, *before* building anything. A 6 KB file
whose metadata asks for 20000x20000 layers is refused in milliseconds instead of allocating
gigabytes.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

__all__ = [
    "ACTIVATIONS", "mlp_config", "build_model", "output_units", "parameter_shapes", "check_model_config",
    "check_description",
    "model_from_checkpoint", "describe",
]

ACTIVATIONS = ("relu", "tanh", "sigmoid")


def output_units(task: Any, num_classes: int | None, num_targets: int = 1) -> int:
    """Output width for ``task`` (see :meth:`descend.train.tasks.Task.output_units`)."""
    from .tasks import get_task

    return get_task(task).output_units(num_classes, num_targets)


def mlp_config(
    input_shape: Sequence[int],
    outputs: int,
    hidden_layers: Sequence[int] = (128,),
    activation: str = "relu",
    dropout: float = 0.0,
) -> dict[str, Any]:
    """The JSON description of an MLP (validated)."""
    shape = _positive_ints("input_shape", input_shape, "input_shape must be positive sizes")
    if not shape:
        raise ValueError(f"input_shape must be positive sizes, got {list(input_shape)}")
    hidden = _positive_ints("hidden_layers", hidden_layers, "hidden layer sizes must be positive integers")
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float, np.floating, np.integer)):
        raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")
    dropout = float(dropout)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    (outputs,) = _positive_ints("outputs", [outputs], "outputs must be a positive integer")
    return {
        "kind": "mlp",
        "input_shape": shape,
        "hidden_layers": hidden,
        "activation": activation,
        "dropout": dropout,
        "outputs": int(outputs),
    }


def _positive_ints(name: str, values: Any, message: str) -> list[int]:
    try:
        items = list(values)
    except TypeError:
        raise ValueError(f"{message}, got {values!r}") from None
    if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in items):
        raise ValueError(f"{message}, got {items!r}")
    return [int(v) for v in items]


def parameter_shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """``{parameter name: shape}`` of the model :func:`build_model` would build from
    ``config``, computed without building it (names as in ``model.state_dict()``)."""
    if config.get("kind") != "mlp":
        raise ValueError(f"unknown model kind {config.get('kind')!r} (this version of descend builds 'mlp')")
    width = math.prod(config["input_shape"])
    per_layer = 3 if config.get("dropout", 0.0) > 0 else 2  # Linear, activation[, Dropout]
    shapes: dict[str, tuple[int, ...]] = {}
    index = 1  # 0 is the Flatten
    for units in [*config["hidden_layers"], config["outputs"]]:
        shapes[f"{index}.weight"] = (width, units)
        shapes[f"{index}.bias"] = (units,)
        width = units
        index += per_layer
    return shapes


def check_model_config(config: Any, stored: dict[str, tuple[int, ...]] | None = None, where: str = "the model") -> dict[str, Any]:
    """Validate a model description read from a file; return it normalised.

    Every field is checked as :func:`mlp_config` checks it. With ``stored`` (``{parameter
    name: shape}`` of the weights that come with the description) the shapes the
    description implies must be exactly the stored ones, so that a description can never make
    descend build something larger than the weights it came with.

    Raises:
        ValueError: naming the field or the parameter that does not fit.
    """
    if not isinstance(config, dict):
        raise ValueError(f"{where}: the model description is not a JSON object")
    if config.get("kind") != "mlp":
        raise ValueError(f"{where}: unknown model kind {config.get('kind')!r} (this version of descend builds 'mlp')")
    missing = [k for k in ("input_shape", "hidden_layers", "outputs") if k not in config]
    if missing:
        raise ValueError(f"{where}: the model description lacks {', '.join(missing)}")
    try:
        checked = mlp_config(config["input_shape"], config["outputs"], config["hidden_layers"],
                             config.get("activation", "relu"), config.get("dropout", 0.0))
    except ValueError as error:
        raise ValueError(f"{where}: invalid model description: {error}") from None
    if stored is not None:
        expected = parameter_shapes(checked)
        if set(expected) != set(stored):
            raise ValueError(
                f"{where}: the model description implies the parameters {sorted(expected)}, but the file "
                f"stores {sorted(stored)}"
            )
        for name, shape in expected.items():
            if tuple(stored[name]) != shape:
                raise ValueError(
                    f"{where}: the model description implies {name} of shape {shape}, but the file stores "
                    f"{tuple(stored[name])}; the file is corrupted or was edited"
                )
    return checked


def check_description(config: Any, weights: Any = None, where: str = "the model") -> dict[str, Any]:
    """:func:`check_model_config` for a description read from a checkpoint, against its stored
    ``weights`` (``{parameter name: array or shape}``, e.g. ``state["model"]``), before the
    model is built.

    Raises:
        descend.train.CheckpointError: the description is invalid or does not fit the weights.
    """
    from .errors import CheckpointError

    stored = None
    if weights is not None:
        stored = {str(k): tuple(np.shape(v) if hasattr(v, "shape") else v) for k, v in dict(weights).items()}
    try:
        return check_model_config(config, stored, where=where)
    except ValueError as error:
        raise CheckpointError(str(error)) from None


def model_from_checkpoint(path: Any, key: str = "model", rng: np.random.Generator | None = None) -> tuple[Any, dict[str, Any]]:
    """The model stored in a checkpoint, and the checkpoint's state.

    The description is ``state["config"][key]`` (what ``descend train`` stores); it is
    validated against the shapes of the stored ``model/...`` tensors, read from the file's
    header, before the model is built and the weights are loaded. The model is in eval mode.

    Raises:
        descend.train.CheckpointError: unreadable file, no (or an invalid) description, or
            weights that do not fit it.
    """
    from .checkpoint import load_checkpoint, read_metadata, tensor_shapes
    from .errors import CheckpointError

    state = read_metadata(path)
    config = (state.get("config") or {}).get(key) if isinstance(state.get("config"), dict) else None
    if config is None:
        raise CheckpointError(f"{path} has no model description (config.{key}); it was not written by 'descend train'")
    stored = {name[len("model/"):]: shape for name, (_, shape) in tensor_shapes(path).items() if name.startswith("model/")}
    config = check_description(config, stored, where=str(path))
    state = load_checkpoint(path)
    # A throwaway generator: the initial weights are overwritten, and descend's default
    # generator must not move (it would change what a seeded script draws next).
    model = build_model(config, rng=rng or np.random.default_rng(0), dropout_rng=np.random.default_rng(0))
    try:
        model.load_state_dict(state["model"])
    except (ValueError, TypeError, KeyError) as error:
        raise CheckpointError(f"{path}: the stored weights do not fit its model: {error}") from None
    model.eval()
    return model, state


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
