"""How metric values and epoch lines are printed (the course's console format).

``Epoch 1/10 1.4s loss=0.8300 accuracy=0.7960 dev:loss=0.3780 dev:accuracy=0.9060``: values
with four decimals (``#.4f``), or two-digit scientific notation (``#.2e``) when they are
nonzero but smaller than 2e-4 in magnitude, so that small learning rates stay readable.
"""

from __future__ import annotations

import math
from typing import Mapping

__all__ = ["format_value", "format_logs", "epoch_line", "evaluation_line"]


def format_value(value: float) -> str:
    """``#.4f``, or ``#.2e`` when ``0 < |value| < 2e-4``; integers print as integers."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if math.isfinite(value) and 0 < abs(value) < 2e-4:
        return f"{value:#.2e}"
    return f"{value:#.4f}"


def format_logs(logs: Mapping[str, float]) -> str:
    """``name=value`` pairs separated by spaces, in the mapping's order."""
    return " ".join(f"{name}={format_value(value)}" for name, value in logs.items())


def epoch_line(epoch: int, epochs: int, seconds: float, logs: Mapping[str, float]) -> str:
    """``Epoch 1/10 1.4s loss=...`` (``epoch`` is 1-based)."""
    text = f"Epoch {epoch}/{epochs} {seconds:.1f}s"
    body = format_logs(logs)
    return f"{text} {body}" if body else text


def evaluation_line(seconds: float, logs: Mapping[str, float]) -> str:
    """``Evaluation 0.3s test:loss=... test:accuracy=...``."""
    body = format_logs(logs)
    return f"Evaluation {seconds:.1f}s {body}" if body else f"Evaluation {seconds:.1f}s"
