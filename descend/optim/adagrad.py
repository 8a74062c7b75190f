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

from .optimizer import Optimizer, Run, check_lr, check_real
from .transforms import (
    add_decayed_weights, apply_updates, chain, scale_by_adagrad, scale_by_learning_rate,
)

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
        wd, eps = hp["weight_decay"], hp["eps"]
        lecture = self.variant == "lecture"
        run.lr = lr / (1 + (t - 1) * hp["lr_decay"])  # the decayed learning rate clr
        run.t = t
        initial = hp["initial_accumulator_value"]
        kernels = run.kernels()
        if kernels is None:
            chain(
                add_decayed_weights(wd),
                scale_by_adagrad(eps, lecture, initial),
                scale_by_learning_rate(),
                apply_updates(),
            )(run.g, run)
            return
        # The same chain as one pass (descend/kernels/_fused.c), with the same scalars.
        kernels.adagrad(run.p, run.g, run.state("sum", initial), run.is64, lecture, wd != 0.0,
                        wd, eps, run.step_size())
