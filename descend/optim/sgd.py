"""Stochastic gradient descent, with (Nesterov) momentum and L2 weight decay.

PyTorch form (default), with ``g`` the gradient and ``t`` the update number::

    g <- g + weight_decay * theta
    v <- g                                   (t = 1)
    v <- momentum * v + (1 - dampening) * g  (t > 1)
    g <- g + momentum * v   if nesterov, else   g <- v
    theta <- theta - lr * g

Lecture form (``variant="lecture"``): momentum ``v <- beta v + g`` from ``v = 0`` (the same
thing), and Nesterov as the lecture writes it: at each iteration first the look-ahead
``theta <- theta - alpha beta v``, then the gradient at that point, ``v <- beta v + g`` and
``theta <- theta - alpha g``. An update (``step()``) finishes iteration t and makes the
look-ahead of iteration t+1 (with that iteration's learning rate), so the parameters are
always the point where the next gradient is evaluated. With a constant learning rate this is
PyTorch's Nesterov up to rounding (PyTorch's form is the lecture's, reparametrised).
"""

from __future__ import annotations

from typing import Any, Iterable

from .optimizer import Optimizer, Run, check_bool, check_lr, check_real, lr_value
from .transforms import (
    add_decayed_weights, apply_updates, chain, momentum, nesterov_lookahead,
    scale_by_learning_rate, trace,
)

__all__ = ["SGD"]


class SGD(Optimizer):
    """SGD: ``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False)``.

    PyTorch's names, defaults and formulas (``torch.optim.SGD``); ``variant="lecture"`` uses
    the lecture's Nesterov formulation. ``clip_norm`` clips the global gradient norm.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: Any = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        clip_norm: float | None = None,
        variant: str = "pytorch",
    ) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults, clip_norm=clip_norm, variant=variant)

    def _validate(self, hp: dict[str, Any], where: str) -> None:
        name = f"SGD{where}"
        check_lr(name, hp["lr"])
        momentum = check_real(name, "momentum", hp["momentum"], 0.0, 1.0)
        dampening = check_real(name, "dampening", hp["dampening"], 0.0, 1.0, high_closed=True)
        check_real(name, "weight_decay", hp["weight_decay"])
        nesterov = check_bool(name, "nesterov", hp["nesterov"])
        if nesterov and (momentum <= 0.0 or dampening != 0.0):
            raise ValueError(
                f"{name}: nesterov=True requires momentum in (0, 1) and dampening 0, got "
                f"momentum={hp['momentum']!r}, dampening={hp['dampening']!r}"
            )
        if self.variant == "lecture" and dampening != 0.0:
            raise ValueError(
                f"{name}: invalid dampening {hp['dampening']!r} for variant='lecture': the "
                "lecture's momentum v <- beta v + g has no dampening (use 0)"
            )

    def _update(self, hp: dict[str, Any], lr: float, t: int, run: Run) -> None:
        wd, mu, nesterov = hp["weight_decay"], hp["momentum"], hp["nesterov"]
        lecture = self.variant == "lecture"
        run.lr, run.t = lr, t
        if lecture and nesterov:  # the look-ahead of the next iteration uses its learning rate
            run.lr_next = lr_value(self._name, hp["lr"], self._step_count + 1)
        kernels = run.kernels()
        if kernels is None:
            if mu == 0.0:
                direction = None
            elif lecture:
                direction = trace(mu, keep_update=nesterov)
            else:
                direction = momentum(mu, hp["dampening"], nesterov)
            chain(
                add_decayed_weights(wd),
                direction,
                scale_by_learning_rate(),
                apply_updates(),
                nesterov_lookahead(mu) if lecture and nesterov and mu != 0.0 else None,
            )(run.g, run)
            return
        # The same chain as one pass (descend/kernels/_fused.c), with the same scalars.
        mode = 0 if mu == 0.0 else (2 if lecture else 1)
        kernels.sgd(
            run.p, run.g, run.state("momentum_buffer") if mode else None, run.is64, mode,
            wd != 0.0, t == 1, hp["dampening"] != 0.0, nesterov,
            wd, mu, 1.0 - hp["dampening"], run.step_size(), -run.lr_next * mu,
        )
