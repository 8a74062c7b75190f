"""Adam (Kingma & Ba, 2014) and AdamW (Loshchilov & Hutter, 2019).

PyTorch form (default; ``eps`` outside the square root, default 1e-8), update number ``t``::

    Adam:  g <- g + weight_decay * theta          AdamW: theta <- theta (1 - lr weight_decay)
    s <- beta1 s + (1 - beta1) g                   (PyTorch's lerp)
    r <- beta2 r + (1 - beta2) g^2
    r_max <- max(r_max, r); use r_max for r        (amsgrad only)
    theta <- theta - (lr / (1 - beta1^t)) s / (sqrt(r) / sqrt(1 - beta2^t) + eps)

Lecture form (``variant="lecture"``; ``eps`` inside the square root, default 1e-7)::

    s <- beta1 s + (1 - beta1) g;   r <- beta2 r + (1 - beta2) g^2
    s_hat <- s / (1 - beta1^t);      r_hat <- r / (1 - beta2^t)
    theta <- theta - alpha / sqrt(r_hat + eps) * s_hat
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .optimizer import Optimizer, Run, check_bool, check_lr, check_real, lerp_

__all__ = ["Adam", "AdamW"]

EPS = {"pytorch": 1e-8, "lecture": 1e-7}


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=None, weight_decay=0, amsgrad=False)``.

    ``weight_decay`` is L2 regularisation added to the gradient (PyTorch's Adam); see
    ``AdamW`` for decoupled weight decay. ``eps=None`` means the variant's default: 1e-8
    (PyTorch) or 1e-7 (lecture).
    """

    _decoupled = False
    _default_weight_decay = 0.0

    def __init__(
        self,
        params: Iterable[Any],
        lr: Any = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float | None = None,
        weight_decay: float | None = None,
        amsgrad: bool = False,
        *,
        clip_norm: float | None = None,
        variant: str = "pytorch",
    ) -> None:
        if eps is None:
            eps = EPS.get(variant, EPS["pytorch"])
        if weight_decay is None:
            weight_decay = self._default_weight_decay
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults, clip_norm=clip_norm, variant=variant)

    def _validate(self, hp: dict[str, Any], where: str) -> None:
        name = f"{type(self).__name__}{where}"
        check_lr(name, hp["lr"])
        betas = hp["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        check_real(name, "betas[0]", betas[0], 0.0, 1.0)
        check_real(name, "betas[1]", betas[1], 0.0, 1.0)
        check_real(name, "eps", hp["eps"])
        check_real(name, "weight_decay", hp["weight_decay"])
        check_bool(name, "amsgrad", hp["amsgrad"])

    def _update(self, hp: dict[str, Any], lr: float, t: int, run: Run) -> None:
        p, g = run.p, run.g
        beta1, beta2 = hp["betas"]
        eps, wd = hp["eps"], hp["weight_decay"]
        lecture = self.variant == "lecture"
        d = g
        if wd != 0.0:
            if self._decoupled:
                np.multiply(p, 1 - lr * wd, out=p)
            else:
                d = run.tmp(0)
                np.multiply(p, wd, out=d)
                np.add(g, d, out=d)
        s = run.state("exp_avg")
        r = run.state("exp_avg_sq")
        a = run.tmp(1)
        if lecture:
            np.multiply(s, beta1, out=s)
            np.multiply(d, 1 - beta1, out=a)
            np.add(s, a, out=s)  # s <- beta1 s + (1 - beta1) g
            np.multiply(d, d, out=a)
            np.multiply(a, 1 - beta2, out=a)
        else:
            lerp_(s, d, 1 - beta1, a)
            np.multiply(d, 1 - beta2, out=a)
            np.multiply(a, d, out=a)
        np.multiply(r, beta2, out=r)
        np.add(r, a, out=r)  # r <- beta2 r + (1 - beta2) g^2
        if hp["amsgrad"]:
            r_max = run.state("max_exp_avg_sq")
            np.maximum(r_max, r, out=r_max)
            r = r_max
        bias_correction1 = 1 - beta1**t
        bias_correction2 = 1 - beta2**t
        if lecture:
            b = run.tmp(2)
            np.divide(r, bias_correction2, out=a)  # r_hat
            np.add(a, eps, out=a)
            np.sqrt(a, out=a)
            np.divide(lr, a, out=a)  # alpha / sqrt(r_hat + eps)
            np.divide(s, bias_correction1, out=b)  # s_hat
            np.multiply(a, b, out=a)
            np.subtract(p, a, out=p)
            return
        # (lr / bc1) s / (sqrt(r) / c + eps) = (lr c / bc1) s / (sqrt(r) + eps c), c = sqrt(bc2):
        # the same update with one pass fewer over the buffers (five instead of six).
        c = bias_correction2**0.5
        np.sqrt(r, out=a)
        np.add(a, eps * c, out=a)
        np.divide(s, a, out=a)
        np.multiply(a, -lr * c / bias_correction1, out=a)
        np.add(p, a, out=p)


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=None, weight_decay=1e-2, amsgrad=False)``.

    Adam with decoupled weight decay: ``theta <- theta (1 - lr weight_decay)`` before the Adam
    update (PyTorch's AdamW; the lecture variant decays the same way, then takes the lecture's
    Adam step).
    """

    _decoupled = True
    _default_weight_decay = 1e-2
