"""RMSProp (Tieleman & Hinton, 2012): steps scaled by a moving average of squared gradients.

PyTorch form (default; ``eps`` outside the square root; alpha 0.99, eps 1e-8)::

    g <- g + weight_decay * theta
    r <- alpha r + (1 - alpha) g^2
    centered:  m <- alpha m + (1 - alpha) g;   d <- sqrt(r - m^2) + eps
    otherwise: d <- sqrt(r) + eps
    momentum > 0: b <- momentum b + g / d;  theta <- theta - lr b
    otherwise:    theta <- theta - lr g / d

Lecture form (``variant="lecture"``; ``eps`` inside the square root; alpha (the lecture's
beta) 0.9, eps 1e-7)::

    r <- beta r + (1 - beta) g^2
    theta <- theta - alpha / sqrt(r + eps) * g

with the same extensions (centered: ``sqrt(r - m^2 + eps)``; momentum:
``b <- momentum b + g / sqrt(r + eps)``, ``theta <- theta - lr b``).
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .optimizer import Optimizer, Run, check_bool, check_lr, check_real, lerp_

__all__ = ["RMSprop"]

ALPHA = {"pytorch": 0.99, "lecture": 0.9}
EPS = {"pytorch": 1e-8, "lecture": 1e-7}


class RMSprop(Optimizer):
    """``RMSprop(params, lr=1e-2, alpha=None, eps=None, weight_decay=0, momentum=0, centered=False)``.

    ``alpha=None`` / ``eps=None`` mean the variant's defaults: 0.99 / 1e-8 (PyTorch) or
    0.9 / 1e-7 (lecture).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: Any = 1e-2,
        alpha: float | None = None,
        eps: float | None = None,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        clip_norm: float | None = None,
        variant: str = "pytorch",
    ) -> None:
        if alpha is None:
            alpha = ALPHA.get(variant, ALPHA["pytorch"])
        if eps is None:
            eps = EPS.get(variant, EPS["pytorch"])
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered)
        super().__init__(params, defaults, clip_norm=clip_norm, variant=variant)

    def _validate(self, hp: dict[str, Any], where: str) -> None:
        name = f"RMSprop{where}"
        check_lr(name, hp["lr"])
        check_real(name, "alpha", hp["alpha"], 0.0, 1.0)
        check_real(name, "eps", hp["eps"])
        check_real(name, "weight_decay", hp["weight_decay"])
        check_real(name, "momentum", hp["momentum"], 0.0, 1.0)
        check_bool(name, "centered", hp["centered"])

    def _update(self, hp: dict[str, Any], lr: float, t: int, run: Run) -> None:
        p, g = run.p, run.g
        alpha, eps = hp["alpha"], hp["eps"]
        wd = hp["weight_decay"]
        lecture = self.variant == "lecture"
        if wd != 0.0:
            d = run.tmp(0)
            np.multiply(p, wd, out=d)
            np.add(g, d, out=d)
        else:
            d = g
        r = run.state("square_avg")
        a = run.tmp(1)
        if lecture:
            np.multiply(d, d, out=a)
            np.multiply(a, 1 - alpha, out=a)
        else:
            np.multiply(d, 1 - alpha, out=a)
            np.multiply(a, d, out=a)
        np.multiply(r, alpha, out=r)
        np.add(r, a, out=r)  # r <- alpha r + (1 - alpha) g^2
        if hp["centered"]:
            m = run.state("grad_avg")
            if lecture:
                np.multiply(m, alpha, out=m)
                np.multiply(d, 1 - alpha, out=a)
                np.add(m, a, out=m)
            else:
                lerp_(m, d, 1 - alpha, a)
            np.multiply(m, m, out=a)
            np.subtract(r, a, out=a)  # r - m^2
            if lecture:
                np.add(a, eps, out=a)
            np.sqrt(a, out=a)
        elif lecture:
            np.add(r, eps, out=a)
            np.sqrt(a, out=a)
        else:
            np.sqrt(r, out=a)
        if not lecture:
            np.add(a, eps, out=a)
        # a is now the denominator
        momentum = hp["momentum"]
        if momentum > 0.0:
            buf = run.state("momentum_buffer")
            np.multiply(buf, momentum, out=buf)
            np.divide(d, a, out=a)
            np.add(buf, a, out=buf)
            np.multiply(buf, -lr, out=a)
            np.add(p, a, out=p)
        elif lecture:
            np.divide(lr, a, out=a)
            np.multiply(a, d, out=a)
            np.subtract(p, a, out=p)
        else:
            b = run.tmp(2)
            np.multiply(d, -lr, out=b)
            np.divide(b, a, out=b)
            np.add(p, b, out=p)
