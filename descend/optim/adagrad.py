"""AdaGrad (Duchi et al., 2011): per-coordinate steps scaled by the accumulated squared gradients.

PyTorch form (default; ``eps`` outside the square root, default 1e-10)::

    g <- g + weight_decay * theta
    clr <- lr / (1 + (t - 1) * lr_decay)
    r <- r + g^2                       (r starts at initial_accumulator_value)
    theta <- theta - clr * g / (sqrt(r) + eps)

Lecture form (``variant="lecture"``; ``eps`` inside the square root, default 1e-7)::

    r <- r + g^2
    theta <- theta - alpha / sqrt(r + eps) * g
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .optimizer import Optimizer, Run, check_lr, check_real

__all__ = ["Adagrad"]

EPS = {"pytorch": 1e-10, "lecture": 1e-7}


class Adagrad(Optimizer):
    """``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=None)``.

    ``eps=None`` means the variant's default: 1e-10 (PyTorch) or 1e-7 (lecture).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: Any = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float | None = None,
        *,
        clip_norm: float | None = None,
        variant: str = "pytorch",
    ) -> None:
        if eps is None:
            eps = EPS.get(variant, EPS["pytorch"])
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, defaults, clip_norm=clip_norm, variant=variant)

    def _validate(self, hp: dict[str, Any], where: str) -> None:
        name = f"Adagrad{where}"
        check_lr(name, hp["lr"])
        check_real(name, "lr_decay", hp["lr_decay"])
        check_real(name, "weight_decay", hp["weight_decay"])
        check_real(name, "initial_accumulator_value", hp["initial_accumulator_value"])
        check_real(name, "eps", hp["eps"])

    def _update(self, hp: dict[str, Any], lr: float, t: int, run: Run) -> None:
        p, g = run.p, run.g
        wd = hp["weight_decay"]
        if wd != 0.0:
            d = run.tmp(0)
            np.multiply(p, wd, out=d)
            np.add(g, d, out=d)
        else:
            d = g
        clr = lr / (1 + (t - 1) * hp["lr_decay"])
        r = run.state("sum", hp["initial_accumulator_value"])
        a = run.tmp(1)
        np.multiply(d, d, out=a)
        np.add(r, a, out=r)  # r <- r + g^2
        if self.variant == "lecture":
            np.add(r, hp["eps"], out=a)
            np.sqrt(a, out=a)
            np.divide(clr, a, out=a)  # alpha / sqrt(r + eps)
            np.multiply(a, d, out=a)
            np.subtract(p, a, out=p)
            return
        np.sqrt(r, out=a)
        np.add(a, hp["eps"], out=a)  # sqrt(r) + eps
        b = run.tmp(2)
        np.multiply(d, -clr, out=b)
        np.divide(b, a, out=b)
        np.add(p, b, out=p)
