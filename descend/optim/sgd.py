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

import numpy as np

from .optimizer import Optimizer, Run, check_bool, check_lr, check_real, lr_value

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
        p, g = run.p, run.g
        wd = hp["weight_decay"]
        momentum = hp["momentum"]
        if wd != 0.0:
            d = run.tmp(0)
            np.multiply(p, wd, out=d)
            np.add(g, d, out=d)  # g + wd * theta (a new array: p.grad is left as it was)
        else:
            d = g
        if momentum == 0.0:
            step = run.tmp(1)
            np.multiply(d, -lr, out=step)
            np.add(p, step, out=p)
            return
        buf = run.state("momentum_buffer")
        if self.variant == "lecture":
            if hp["nesterov"]:  # the look-ahead of the next iteration uses its learning rate
                lr_next = lr_value(self._name, hp["lr"], self._step_count + 1)
            np.multiply(buf, momentum, out=buf)
            np.add(buf, d, out=buf)  # v <- beta v + g
            step = run.tmp(1)
            if not hp["nesterov"]:
                np.multiply(buf, lr, out=step)
                np.subtract(p, step, out=p)  # theta <- theta - alpha v
                return
            np.multiply(d, lr, out=step)
            np.subtract(p, step, out=p)  # theta <- theta - alpha g
            np.multiply(buf, lr_next * momentum, out=step)
            np.subtract(p, step, out=p)  # theta <- theta - alpha beta v
            return
        if t == 1:
            np.copyto(buf, d)
        else:
            np.multiply(buf, momentum, out=buf)
            if hp["dampening"] != 0.0:
                step = run.tmp(1)
                np.multiply(d, 1.0 - hp["dampening"], out=step)
                np.add(buf, step, out=buf)
            else:
                np.add(buf, d, out=buf)
        step = run.tmp(1)
        if hp["nesterov"]:
            np.multiply(buf, momentum, out=step)
            np.add(d, step, out=step)  # g + momentum * v
            np.multiply(step, -lr, out=step)
        else:
            np.multiply(buf, -lr, out=step)
        np.add(p, step, out=p)
