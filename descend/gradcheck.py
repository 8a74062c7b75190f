"""Finite-difference verification of gradients computed by ``backward()``."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .autograd import no_grad
from .tensor import Tensor

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Raised when an analytical gradient disagrees with its finite-difference estimate."""


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Compare ``backward()`` with central differences, in float64.

    Every floating-point input with ``requires_grad`` is copied to float64. The output is
    contracted with a fixed random tensor ``r`` (so non-scalar outputs are checked too), and
    for each element x_k the derivative of ``L = sum(r * fn(...))`` is estimated as
    ``(L(x_k + eps) - L(x_k - eps)) / (2 eps)`` and compared with the gradient from
    ``backward()``: ``|numeric - analytic| <= atol + rtol * |numeric|`` must hold everywhere.

    Returns True, or raises ``GradcheckError`` naming the input and its worst element.
    """
    inputs = [
        Tensor(t.data, dtype=np.float64, requires_grad=True)
        if isinstance(t, Tensor) and t.requires_grad else t
        for t in inputs
    ]
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck needs at least one input with requires_grad=True")

    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    weights = np.random.default_rng(seed).standard_normal(out.shape)

    def objective() -> float:
        with no_grad():
            return float(np.sum(weights * fn(*inputs).data))

    (out * Tensor(weights, dtype=np.float64)).sum().backward()
    for i in checked:
        x = inputs[i]
        analytic = np.zeros_like(x.data) if x.grad is None else x.grad
        numeric = np.zeros_like(x.data)
        flat = x.data.reshape(-1)  # a view: perturbing it perturbs the input
        for k in range(flat.size):
            original = flat[k]
            flat[k] = original + eps
            plus = objective()
            flat[k] = original - eps
            minus = objective()
            flat[k] = original
            numeric.reshape(-1)[k] = (plus - minus) / (2 * eps)
        error = np.abs(numeric - analytic) - (atol + rtol * np.abs(numeric))
        if np.any(error > 0) or not np.all(np.isfinite(analytic)):
            worst = np.unravel_index(np.argmax(np.where(np.isfinite(error), error, np.inf)), x.shape)
            raise GradcheckError(
                f"gradient of input {i} (shape {x.shape}) is wrong at index {tuple(map(int, worst))}: "
                f"backward() gave {analytic[worst]!r}, finite differences give {numeric[worst]!r} "
                f"(atol={atol}, rtol={rtol})"
            )
    return True
