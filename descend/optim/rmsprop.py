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

from .optimizer import Optimizer, Run, check_bool, check_lr, check_real
from .transforms import (
    add_decayed_weights, apply_updates, chain, scale_by_learning_rate, scale_by_rms, trace,
)

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
        alpha, eps, wd = hp["alpha"], hp["eps"], hp["weight_decay"]
        mu, centered = hp["momentum"], hp["centered"]
        lecture = self.variant == "lecture"
        run.lr, run.t = lr, t
        kernels = run.kernels()
        if kernels is None:
            chain(
                add_decayed_weights(wd),
                scale_by_rms(alpha, eps, centered, lecture),
                trace(mu) if mu > 0.0 else None,
                scale_by_learning_rate(),
                apply_updates(),
            )(run.g, run)
            return
        # The same chain as one pass (descend/kernels/_fused.c), with the same scalars.
        w = 1 - alpha
        kernels.rmsprop(
            run.p, run.g, run.state("square_avg"), run.state("grad_avg") if centered else None,
            run.state("momentum_buffer") if mu > 0.0 else None, run.is64, lecture, wd != 0.0,
            centered, abs(w) >= 0.5, mu > 0.0, wd, alpha, w, 1 - w, eps, mu, run.step_size(),
        )
