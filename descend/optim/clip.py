"""Global-norm gradient clipping, as ``torch.nn.utils.clip_grad_norm_``.

All gradients are scaled by ``min(1, max_norm / (||g||_2 + 1e-6))``, where ``||g||_2`` is the
L2 norm of all gradients together (the concatenation of every parameter's gradient). The
``1e-6`` is PyTorch's; it keeps the coefficient finite for a zero gradient and makes the
clipped norm slightly below ``max_norm``.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

__all__ = ["clip_grad_norm_", "global_norm"]

CLIP_EPS = 1e-6


def global_norm(arrays: Iterable[np.ndarray]) -> float:
    """The L2 norm of the concatenation of ``arrays`` (accumulated in float64)."""
    total = 0.0
    for a in arrays:
        flat = a.reshape(-1)
        if flat.dtype != np.float64:
            flat = flat.astype(np.float64)
        total += float(np.dot(flat, flat))
    return math.sqrt(total)


def clip_flat_(buffers: Sequence[np.ndarray], max_norm: float) -> float:
    """Scale the (flat) gradient ``buffers`` in place; return the norm before clipping."""
    total = global_norm(buffers)
    coef = max_norm / (total + CLIP_EPS)
    if not coef >= 1.0:  # also for a non-finite norm, which (as in PyTorch) spreads NaN
        for b in buffers:
            np.multiply(b, coef, out=b)
    return total


def clip_grad_norm_(params: Iterable, max_norm: float) -> float:
    """Clip the gradients of ``params`` (tensors) in place to global norm ``max_norm``.

    Parameters whose ``grad`` is None are ignored. Returns the global norm before clipping.
    Optimizers do this themselves, over their flat buffers, with ``clip_norm=max_norm``.
    """
    if not (isinstance(max_norm, (int, float)) and not isinstance(max_norm, bool) and max_norm > 0):
        raise ValueError(f"clip_grad_norm_: invalid max_norm {max_norm!r}: must be in (0, inf)")
    grads = [p.grad for p in params if p.grad is not None]
    return clip_flat_(grads, float(max_norm))
